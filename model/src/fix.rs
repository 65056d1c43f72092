//! The typed vocabulary of fixes: a quantity of the document a fix can change ([`Quantity`]),
//! one change of it ([`Change`]) and a host a fix adds ([`AddedHost`]). Their `Display` is the
//! `--what-if` assignment that makes the change (`namespaces.apps.limits.memory=65536`), and
//! [`Change::what_if`] / [`AddedHost::what_if`] give the same change as a
//! [`crate::document::what_if::Change`] without going through text. How they read in English is the
//! solver's (its `diagnosis::describe`). They live in the model, the vocabulary the solver's
//! diagnosis and its independent verifier share, so that neither imports the other.

use crate::document::what_if;
use crate::{Constraint, Inventory, Layer};
use serde_json::Value;
use std::fmt;

/// What the values of a [`Quantity`] count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// MHz of CPU.
    Mhz,
    /// Bytes (written as whole MiB, rounded up, in an assignment).
    Bytes,
    /// IP addresses.
    Addresses,
}

/// A quantity of the document that a fix can raise, named as the document names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Quantity {
    /// A namespace's CPU limit, in MHz (`namespaces.NS.limits.cpu_mhz`).
    CpuLimit {
        /// The namespace.
        namespace: String,
    },
    /// A namespace's memory limit, in bytes (`namespaces.NS.limits.memory`, in MiB).
    MemoryLimit {
        /// The namespace.
        namespace: String,
    },
    /// A namespace's storage limit on a storage policy, in bytes
    /// (`namespaces.NS.limits.storage.POLICY`, in MiB).
    StorageLimit {
        /// The namespace.
        namespace: String,
        /// The storage policy.
        policy: String,
    },
    /// A storage policy's capacity, in bytes (`storage_policies.POLICY.capacity`, in MiB).
    StorageCapacity {
        /// The storage policy.
        policy: String,
    },
    /// A network's address count (`networks.NETWORK.ips`).
    Addresses {
        /// The network.
        network: String,
    },
}

impl Quantity {
    /// What its values count.
    pub fn unit(&self) -> Unit {
        match self {
            Quantity::CpuLimit { .. } => Unit::Mhz,
            Quantity::MemoryLimit { .. }
            | Quantity::StorageLimit { .. }
            | Quantity::StorageCapacity { .. } => Unit::Bytes,
            Quantity::Addresses { .. } => Unit::Addresses,
        }
    }

    /// The constraint group a raise of it relaxes (`memory_limit`, `ip_addresses`...).
    pub fn constraint(&self) -> Constraint {
        match self {
            Quantity::CpuLimit { .. } => Constraint::CpuLimit,
            Quantity::MemoryLimit { .. } => Constraint::MemoryLimit,
            Quantity::StorageLimit { .. } => Constraint::StorageLimit,
            Quantity::StorageCapacity { .. } => Constraint::StorageCapacity,
            Quantity::Addresses { .. } => Constraint::IpAddresses,
        }
    }

    /// The entity that owns it: the namespace, storage policy or network.
    pub fn subject(&self) -> &str {
        match self {
            Quantity::CpuLimit { namespace }
            | Quantity::MemoryLimit { namespace }
            | Quantity::StorageLimit { namespace, .. } => namespace,
            Quantity::StorageCapacity { policy } => policy,
            Quantity::Addresses { network } => network,
        }
    }

    /// The owning layer (docs/output-and-upgrades.md) and today's value in `inventory`;
    /// `None` when the inventory has no such entity or the quantity is not set (no limit).
    pub fn today(&self, inventory: &Inventory) -> Option<(Layer, u128)> {
        let namespace = |name: &str| inventory.namespaces.iter().find(|n| n.name == name);
        match self {
            Quantity::CpuLimit { namespace: ns } => {
                Some((Layer::Namespace, u128::from(namespace(ns)?.cpu_mhz_limit?)))
            }
            Quantity::MemoryLimit { namespace: ns } => {
                Some((Layer::Namespace, u128::from(namespace(ns)?.memory_limit?.0)))
            }
            Quantity::StorageLimit {
                namespace: ns,
                policy,
            } => {
                let index = inventory
                    .storage_policies
                    .iter()
                    .position(|p| p.name == *policy)?;
                let limit = (*namespace(ns)?.storage_limits.get(index)?)?;
                Some((Layer::Namespace, u128::from(limit.0)))
            }
            Quantity::StorageCapacity { policy } => {
                let spec = inventory
                    .storage_policies
                    .iter()
                    .find(|p| p.name == *policy)?;
                Some((Layer::Infrastructure, u128::from(spec.capacity?.0)))
            }
            Quantity::Addresses { network } => {
                let index = inventory.networks.iter().position(|n| n.name == *network)?;
                Some((
                    inventory.network_layer(index),
                    u128::from(inventory.networks[index].ips),
                ))
            }
        }
    }
}

impl fmt::Display for Quantity {
    /// The `--what-if` path (`namespaces.apps.limits.memory`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::CpuLimit { namespace } => write!(f, "namespaces.{namespace}.limits.cpu_mhz"),
            Quantity::MemoryLimit { namespace } => {
                write!(f, "namespaces.{namespace}.limits.memory")
            }
            Quantity::StorageLimit { namespace, policy } => {
                write!(f, "namespaces.{namespace}.limits.storage.{policy}")
            }
            Quantity::StorageCapacity { policy } => write!(f, "storage_policies.{policy}.capacity"),
            Quantity::Addresses { network } => write!(f, "networks.{network}.ips"),
        }
    }
}

/// One change of a fix: a quantity set to a value, in the quantity's [`Unit`] (bytes for
/// memory and storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changes.
    pub quantity: Quantity,
    /// The new value, in the quantity's unit.
    pub value: u128,
}

impl Change {
    /// `quantity` set to `value` (in its unit).
    pub fn new(quantity: Quantity, value: impl Into<u128>) -> Change {
        Change {
            quantity,
            value: value.into(),
        }
    }

    /// The number the document is given: the value, bytes as whole MiB rounded up.
    pub fn written(&self) -> u128 {
        match self.quantity.unit() {
            Unit::Bytes => self.value.div_ceil(1 << 20),
            Unit::Mhz | Unit::Addresses => self.value,
        }
    }

    /// The change as a `--what-if` change of the document (what parsing its `Display` gives).
    pub fn what_if(&self) -> what_if::Change {
        let written = self.written();
        // serde_json reads an integer beyond u64 as the nearest f64.
        let value =
            u64::try_from(written).map_or_else(|_| Value::from(written as f64), Value::from);
        what_if::Change::Set {
            path: self.quantity.to_string(),
            value,
        }
    }

    /// Reads back a change from a `fix` assignment of a plan's diagnosis
    /// (`namespaces.apps.limits.memory=65536`, MiB for bytes), the inverse of `Display`;
    /// `None` for any other assignment. This is the one place a fix's text is parsed: where the
    /// fix search reads the fixes a stuck upgrade's entries carry in the plan document.
    pub fn parse(assignment: &str) -> Option<Change> {
        let (path, value) = assignment.split_once('=')?;
        let value: u128 = value.trim().parse().ok()?;
        let parts: Vec<&str> = path.split('.').collect();
        let name = |name: &&str| name.to_string();
        let quantity = match parts.as_slice() {
            ["namespaces", ns, "limits", "cpu_mhz"] => Quantity::CpuLimit {
                namespace: name(ns),
            },
            ["namespaces", ns, "limits", "memory"] => Quantity::MemoryLimit {
                namespace: name(ns),
            },
            ["namespaces", ns, "limits", "storage", policy] => Quantity::StorageLimit {
                namespace: name(ns),
                policy: name(policy),
            },
            ["storage_policies", policy, "capacity"] => Quantity::StorageCapacity {
                policy: name(policy),
            },
            ["networks", network, "ips"] => Quantity::Addresses {
                network: name(network),
            },
            _ => return None,
        };
        let value = match quantity.unit() {
            Unit::Bytes => value << 20,
            Unit::Mhz | Unit::Addresses => value,
        };
        Some(Change { quantity, value })
    }
}

impl fmt::Display for Change {
    /// The `--what-if` assignment (`namespaces.apps.limits.memory=65536`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.quantity, self.written())
    }
}

/// A host a fix adds: a copy of a host in service under a new name.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedHost {
    /// The new host's name.
    pub name: String,
    /// The host as the document writes it (with `name` set to the new name).
    pub host: Value,
}

impl AddedHost {
    /// The addition as a `--what-if` change of the document (appending to `hosts`).
    pub fn what_if(&self) -> what_if::Change {
        what_if::Change::Set {
            path: format!("hosts.{}", self.name),
            value: self.host.clone(),
        }
    }
}

impl fmt::Display for AddedHost {
    /// The `--what-if` assignment (`hosts.esx-01-added-1={...}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hosts.{}={}", self.name, self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantities() -> Vec<Quantity> {
        let ns = || "team-a".to_string();
        vec![
            Quantity::CpuLimit { namespace: ns() },
            Quantity::MemoryLimit { namespace: ns() },
            Quantity::StorageLimit {
                namespace: ns(),
                policy: "gold".to_string(),
            },
            Quantity::StorageCapacity {
                policy: "gold".to_string(),
            },
            Quantity::Addresses {
                network: "workload".to_string(),
            },
        ]
    }

    #[test]
    fn assignments_read_as_before() {
        let written: Vec<String> = quantities()
            .into_iter()
            .map(|q| Change::new(q, 3u128 << 20).to_string())
            .collect();
        assert_eq!(
            written,
            [
                "namespaces.team-a.limits.cpu_mhz=3145728",
                "namespaces.team-a.limits.memory=3",
                "namespaces.team-a.limits.storage.gold=3",
                "storage_policies.gold.capacity=3",
                "networks.workload.ips=3145728",
            ]
        );
        // Bytes are written as whole MiB, rounded up.
        let memory = Change::new(quantities()[1].clone(), (3u128 << 20) + 1);
        assert_eq!(memory.to_string(), "namespaces.team-a.limits.memory=4");
    }

    #[test]
    fn parse_inverts_display_and_what_if_matches_the_text() {
        for quantity in quantities() {
            let change = Change::new(quantity, 5u128 << 20);
            let text = change.to_string();
            assert_eq!(Change::parse(&text), Some(change.clone()), "{text}");
            match what_if::Change::parse_assignment(&text) {
                Ok(parsed) => assert_eq!(parsed, change.what_if(), "{text}"),
                Err(error) => panic!("{text}: {error}"),
            }
        }
        assert_eq!(Change::parse("hosts.esx-01.maintenance=true"), None);
        assert_eq!(Change::parse("networks.workload.ips"), None);
    }

    #[test]
    fn an_added_host_reads_as_its_assignment() {
        let added = AddedHost {
            name: "esx-01-added-1".to_string(),
            host: serde_json::json!({"name": "esx-01-added-1", "cpu_cores": 32, "cost": 1.5}),
        };
        let text = added.to_string();
        assert_eq!(
            text,
            r#"hosts.esx-01-added-1={"name":"esx-01-added-1","cpu_cores":32,"cost":1.5}"#
        );
        match what_if::Change::parse_assignment(&text) {
            Ok(parsed) => assert_eq!(parsed, added.what_if()),
            Err(error) => panic!("{text}: {error}"),
        }
    }
}
