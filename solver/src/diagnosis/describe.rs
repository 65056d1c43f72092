//! The English of the diagnosis: how its typed values (quantities and their raises, the hosts a
//! fix adds, the groups of a conflict, the owners of a stuck task) read in the entries of a
//! plan. The searches (`elastic`, `fix`, `conflict`, `upgrade::stuck`) build typed values and
//! leave the words to this module, as pubgrub keeps its derivation tree apart from its reporter.

use super::elastic::Raise;
use crate::mip::Owner;
use vksplan_model::fix::{Quantity, Unit};
use vksplan_model::{Bytes, Constraint, Layer};

/// How a quantity reads in a sentence: "the memory limit of namespace `team-a`".
pub fn quantity(quantity: &Quantity) -> String {
    match quantity {
        Quantity::StorageLimit { namespace, policy } => {
            format!("the `{policy}` storage limit of namespace `{namespace}`")
        }
        _ => group(&quantity.constraint(), quantity.subject()),
    }
}

/// A raise in words: "raise the memory limit of namespace `team-a` by 16 GiB (from 48 GiB to
/// 64 GiB)", or "add 4 address(es) to network `workload` (12 -> 16)".
pub fn raise(raise: &Raise) -> String {
    let show = |value: u128| match raise.quantity.unit() {
        Unit::Mhz => format!("{value} MHz"),
        Unit::Bytes => Bytes(value.min(u128::from(u64::MAX)) as u64).to_string(),
        Unit::Addresses => format!("{value}"),
    };
    if let Quantity::Addresses { network } = &raise.quantity {
        return format!(
            "add {} address(es) to network `{network}` ({} -> {})",
            raise.to - raise.from,
            raise.from,
            raise.to
        );
    }
    format!(
        "raise {} by {} (from {} to {})",
        quantity(&raise.quantity),
        show(raise.to - raise.from),
        show(raise.from),
        show(raise.to)
    )
}

/// Hosts a fix adds, in words: "add 2 host(s) like `esx-01`".
pub fn added_hosts(count: usize, like: &str) -> String {
    format!("add {count} host(s) like `{like}`")
}

/// The message of a cheapest-fix entry: its change (`change`, in words) and the other changes
/// of the fix.
pub fn cheapest_fix(change: &str, others: &[&str]) -> String {
    let with = if others.is_empty() {
        String::new()
    } else {
        format!(
            "; with the other change(s) of the fix: {}",
            others.join("; ")
        )
    };
    format!("the cheapest fix (checked by planning again with it applied): {change}{with}")
}

/// How a group of rows reads in a sentence.
pub fn owner(owner: &Owner) -> String {
    group(&owner.constraint, &owner.subject)
}

/// How a group (a constraint and its subject, as in a diagnosis entry) reads in a sentence.
pub fn group(constraint: &Constraint, subject: &str) -> String {
    match constraint {
        Constraint::Admission if subject == "supervisor" => "the Supervisor must run".to_string(),
        Constraint::Admission => format!("`{subject}` must run (it has no priority)"),
        Constraint::HostCapacity => format!("the capacity of host `{subject}`"),
        Constraint::HostVcpus => format!("the vCPU capacity of host `{subject}`"),
        Constraint::HostMemory => format!("the memory of host `{subject}`"),
        Constraint::HostReservedVcpus | Constraint::HostReservedMemory => {
            format!("the reservable capacity of host `{subject}`")
        }
        Constraint::Devices => format!("the devices of host `{subject}`"),
        Constraint::Maintenance => format!("host `{subject}` is in maintenance"),
        Constraint::HaAdmission => "HA admission control".to_string(),
        Constraint::AntiAffinity => format!("the control-plane anti-affinity of `{subject}`"),
        Constraint::ZonePinning => format!("the zone pin of node pool `{subject}`"),
        Constraint::CpuLimit => format!("the CPU limit of namespace `{subject}`"),
        Constraint::MemoryLimit => format!("the memory limit of namespace `{subject}`"),
        Constraint::StorageLimit => format!("the storage limit of namespace `{subject}`"),
        Constraint::StorageCapacity => format!("the capacity of storage policy `{subject}`"),
        Constraint::IpAddresses => format!("the addresses of network `{subject}`"),
        Constraint::Rules => format!("rule `{subject}`"),
        other => format!("{other} of `{subject}`"),
    }
}

/// How the owner of a stuck upgrade task (the roll or the patch that needs it: layer, subject,
/// constraint) reads.
pub fn task_owner(owner: &Owner) -> String {
    match owner.constraint {
        Constraint::Patch => format!("patching host `{}`", owner.subject),
        _ if owner.layer == Layer::Supervisor => "the Supervisor roll".to_string(),
        _ => format!("the roll of `{}`", owner.subject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raised(quantity: Quantity, from: u128, to: u128) -> String {
        raise(&Raise {
            layer: Layer::Namespace,
            quantity,
            from,
            to,
        })
    }

    #[test]
    fn raises_read_as_before() {
        let ns = || "team-a".to_string();
        assert_eq!(
            raised(Quantity::CpuLimit { namespace: ns() }, 1000, 3000),
            "raise the CPU limit of namespace `team-a` by 2000 MHz (from 1000 MHz to 3000 MHz)"
        );
        assert_eq!(
            raised(
                Quantity::StorageLimit {
                    namespace: ns(),
                    policy: "gold".to_string()
                },
                1 << 30,
                3 << 30
            ),
            "raise the `gold` storage limit of namespace `team-a` by 2 GiB (from 1 GiB to 3 GiB)"
        );
        assert_eq!(
            raised(
                Quantity::Addresses {
                    network: "workload".to_string()
                },
                12,
                16
            ),
            "add 4 address(es) to network `workload` (12 -> 16)"
        );
    }

    #[test]
    fn a_fix_entry_names_the_other_changes() {
        assert_eq!(
            cheapest_fix("add 1 host(s) like `esx-01`", &[]),
            "the cheapest fix (checked by planning again with it applied): add 1 host(s) like `esx-01`"
        );
        assert_eq!(
            cheapest_fix("a", &["b", "c"]),
            "the cheapest fix (checked by planning again with it applied): a; with the other change(s) of the fix: b; c"
        );
    }
}
