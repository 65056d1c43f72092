//! The cheapest fix of a stuck plan: the fewest added hosts, then the fewest and smallest
//! raises of limits and counts, each candidate checked by planning the changed document again.

use super::describe;
use super::elastic::{self, Raise};
use crate::Deadline;
use vksplan_model::fix::{AddedHost, Change};
use vksplan_model::{self as model, Constraint, Plan, Status};

/// How many hosts beyond the fewest the totals allow [`cheapest_fix`] tries (packing,
/// anti-affinity and rules can need more than the totals).
pub const MAX_ADDED_HOSTS: usize = 4;

/// Rounds of raises [`cheapest_fix`] makes for one host count (a raise can uncover the next
/// shortage of an upgrade).
const FIX_ROUNDS: usize = 4;

/// Whether a plan places everything it must and, when asked, sequences the upgrade.
pub(crate) fn fits(plan: &Plan) -> bool {
    let found = |status: Status| matches!(status, Status::Optimal | Status::Feasible);
    found(plan.status) && plan.upgrade.as_ref().is_none_or(|u| found(u.status))
}

/// Whether the plan is stuck: no placement exists, or no upgrade sequence (a time-out is not
/// stuck: nothing is known to be missing).
pub(crate) fn stuck(plan: &Plan) -> bool {
    plan.status == Status::Infeasible
        || plan
            .upgrade
            .as_ref()
            .is_some_and(|u| u.status == Status::Infeasible)
}

/// One change of a fix: hosts added, or a quantity raised.
#[derive(Debug, Clone)]
enum Step {
    /// Copies of a host in service (`like`).
    AddHosts {
        /// The host copied.
        like: String,
        /// The copies.
        hosts: Vec<AddedHost>,
    },
    /// A raise of a limit or a count.
    Raise(Raise),
}

impl Step {
    /// The owning layer and subject of its entry.
    fn owner(&self) -> (model::Layer, &str) {
        match self {
            Step::AddHosts { like, .. } => (model::Layer::Infrastructure, like),
            Step::Raise(raise) => (raise.layer, raise.quantity.subject()),
        }
    }

    /// The step in words.
    fn describe(&self) -> String {
        match self {
            Step::AddHosts { like, hosts } => describe::added_hosts(hosts.len(), like),
            Step::Raise(raise) => describe::raise(raise),
        }
    }

    /// Its `--what-if` changes, in order.
    fn what_if(&self) -> Vec<model::document::what_if::Change> {
        match self {
            Step::AddHosts { hosts, .. } => hosts.iter().map(AddedHost::what_if).collect(),
            Step::Raise(raise) => vec![raise.change().what_if()],
        }
    }

    /// Its `--what-if` assignments, in order, as a fix writes them.
    fn assignments(&self) -> Vec<String> {
        match self {
            Step::AddHosts { hosts, .. } => hosts.iter().map(AddedHost::to_string).collect(),
            Step::Raise(raise) => vec![raise.change().to_string()],
        }
    }
}

/// The cheapest fix of a document (validated as `inventory`) whose plan `first` is stuck (no placement, or no upgrade
/// sequence), as diagnosis entries (one per change, each carrying the whole fix); empty when
/// none is found by `deadline`.
///
/// Cheapest means: the fewest added hosts (copies of the largest host in service: from the
/// fewest the totals of vCPUs, memory, HA admission, devices and anti-affinity allow, up to
/// [`MAX_ADDED_HOSTS`] more; hardware is the dearest change), then the fewest raised quantities,
/// then the smallest raises. For each host count, an infeasible placement gets the elastic
/// model's raises (`diagnosis::elastic::cheapest_fix`); a stuck upgrade, the raise its blocking
/// task needs. Every candidate is checked by planning the changed document again, placement
/// and upgrade; only a fix that makes it fit is returned.
pub fn cheapest_fix(
    document: &serde_json::Value,
    inventory: &model::Inventory,
    first: &Plan,
    deadline: Deadline,
    options: &crate::Options,
) -> Result<Vec<model::Diagnostic>, crate::SolverError> {
    crate::progress::set("diagnosis: cheapest fix");
    let remaining = || deadline.remaining();
    let plan_with =
        |changes: &[Step]| -> Result<Option<(model::Inventory, Plan)>, crate::SolverError> {
            let Some(inventory) = changed_inventory(document, changes) else {
                return Ok(None);
            };
            let quiet = crate::Options {
                find_conflicts: false,
                time_limit_s: Some(remaining().as_secs_f64()),
                ..options.clone()
            };
            let plan = crate::plan(&inventory, &quiet)?;
            Ok(Some((inventory, plan)))
        };
    // The fewest added hosts the totals allow (hosts_short grows no worse with more hosts):
    // doubling, then bisection.
    let short_with = |added: usize| {
        if added == 0 {
            return hosts_short(inventory);
        }
        let added: Vec<Step> = added_hosts(document, added).into_iter().collect();
        changed_inventory(document, &added).is_none_or(|inventory| hosts_short(&inventory))
    };
    let most = (4 * inventory.hosts.len()).max(64);
    let mut fewest = 0;
    if short_with(0) {
        let mut high = 1;
        while high < most && short_with(high) {
            high *= 2;
        }
        let (mut low, mut high) = (high / 2, high.min(most));
        if short_with(high) {
            return Ok(Vec::new());
        }
        // short_with(low) holds (or low is 0, checked above), short_with(high) does not.
        while high - low > 1 {
            let middle = (low + high) / 2;
            if short_with(middle) {
                low = middle;
            } else {
                high = middle;
            }
        }
        fewest = high;
    }
    for added in fewest..=fewest + MAX_ADDED_HOSTS {
        let mut changes: Vec<Step> = added_hosts(document, added).into_iter().collect();
        if added > 0 && changes.is_empty() {
            // No host in service to copy.
            break;
        }
        let (mut inventory, mut plan) = if added == 0 {
            (inventory.clone(), first.clone())
        } else {
            match plan_with(&changes)? {
                Some(planned) => planned,
                None => return Ok(Vec::new()),
            }
        };
        for round in 0..=FIX_ROUNDS {
            if std::env::var_os("VKSPLAN_TRACE").is_some() {
                eprintln!(
                    "vksplan: fix search: {added} host(s) added, {} change(s): {} ({:.2}s left)",
                    changes.len(),
                    plan.status.as_str(),
                    remaining().as_secs_f64()
                );
            }
            if fits(&plan) {
                return Ok(fix_entries(&changes));
            }
            if remaining().is_zero() || !stuck(&plan) {
                // Out of time, or a re-plan that timed out: nothing is proven.
                return Ok(Vec::new());
            }
            if round == FIX_ROUNDS {
                break;
            }
            let raises: Vec<Raise> = if plan.status == Status::Infeasible {
                if hosts_short(&inventory) {
                    // No raise of a limit or a count can help: more hosts.
                    break;
                }
                match elastic::cheapest_fix(&inventory, remaining()) {
                    elastic::Outcome::Raise(raises) => raises,
                    elastic::Outcome::NotEnough => Vec::new(),
                    elastic::Outcome::Unknown => return Ok(Vec::new()),
                }
            } else {
                // A stuck upgrade: what its blocking tasks need, read from the fixes its
                // entries carry in the plan.
                plan.diagnosis
                    .iter()
                    .flat_map(|d| &d.fix)
                    .filter_map(|f| Raise::of(&inventory, Change::parse(f)?))
                    .collect()
            };
            if !merge(&mut changes, raises) {
                break;
            }
            match plan_with(&changes)? {
                Some(planned) => (inventory, plan) = planned,
                None => return Ok(Vec::new()),
            }
        }
    }
    Ok(Vec::new())
}

/// The document with `changes` applied, validated; `None` if a change does not apply or the
/// result is invalid.
fn changed_inventory(document: &serde_json::Value, changes: &[Step]) -> Option<model::Inventory> {
    let assignments: Vec<model::document::what_if::Change> =
        changes.iter().flat_map(Step::what_if).collect();
    let changed = model::document::what_if::apply(document, &assignments).ok()?;
    model::load_value(&changed).ok()
}

/// Whether the hosts are short by arithmetic, whatever the limits and counts: the necessary
/// conditions on host totals, HA admission, devices or anti-affinity fail.
fn hosts_short(inventory: &model::Inventory) -> bool {
    crate::diagnosis::diagnose::necessary_conditions(inventory, None)
        .iter()
        .any(|d| {
            matches!(
                d.constraint,
                Constraint::HostVcpus
                    | Constraint::HostMemory
                    | Constraint::HaAdmission
                    | Constraint::Devices
                    | Constraint::AntiAffinity
            )
        })
}

/// Adds `raises` to `changes` (a larger raise of the same quantity replaces a smaller one);
/// whether anything changed.
fn merge(changes: &mut Vec<Step>, raises: Vec<Raise>) -> bool {
    let mut changed = false;
    for raise in raises {
        let existing = changes.iter_mut().find_map(|step| match step {
            Step::Raise(existing) if existing.quantity == raise.quantity => Some(existing),
            _ => None,
        });
        match existing {
            Some(existing) => {
                // Compared as the document is given them (whole MiB for bytes).
                if raise.change().written() > existing.change().written() {
                    *existing = raise;
                    changed = true;
                }
            }
            None => {
                changes.push(Step::Raise(raise));
                changed = true;
            }
        }
    }
    changed
}

/// `added` copies of the first host in service with the most cores, as one change.
fn added_hosts(document: &serde_json::Value, added: usize) -> Option<Step> {
    if added == 0 {
        return None;
    }
    let hosts = document.get("hosts")?.as_array()?;
    let cores = |host: &serde_json::Value| {
        host.get("cpu_cores")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let template = hosts
        .iter()
        .filter(|h| h.get("maintenance").and_then(serde_json::Value::as_bool) != Some(true))
        .rev()
        .max_by_key(|h| cores(h))?;
    let name = template.get("name")?.as_str()?;
    let hosts = (1..=added)
        .map(|n| {
            let new_name = format!("{name}-added-{n}");
            let mut host = template.clone();
            host["name"] = serde_json::Value::from(new_name.clone());
            AddedHost {
                name: new_name,
                host,
            }
        })
        .collect();
    Some(Step::AddHosts {
        like: name.to_string(),
        hosts,
    })
}

/// One entry per change, each carrying the whole fix.
fn fix_entries(changes: &[Step]) -> Vec<model::Diagnostic> {
    let fix: Vec<String> = changes.iter().flat_map(Step::assignments).collect();
    let texts: Vec<String> = changes.iter().map(Step::describe).collect();
    changes
        .iter()
        .zip(&texts)
        .map(|(change, text)| {
            let rest: Vec<&str> = texts
                .iter()
                .filter(|t| *t != text)
                .map(String::as_str)
                .collect();
            let (layer, subject) = change.owner();
            let mut entry = model::Diagnostic::new(
                layer,
                subject,
                Constraint::CheapestFix,
                describe::cheapest_fix(text, &rest),
                text.clone(),
            );
            entry.fix = fix.clone();
            entry
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vksplan_model::fix::Quantity;

    fn memory(to_mib: u128) -> Raise {
        Raise {
            layer: model::Layer::Namespace,
            quantity: Quantity::MemoryLimit {
                namespace: "team-a".to_string(),
            },
            from: 8 << 20,
            to: to_mib << 20,
        }
    }

    #[test]
    fn a_larger_raise_of_the_same_quantity_replaces_a_smaller_one() {
        let mut changes = Vec::new();
        assert!(merge(&mut changes, vec![memory(9)]));
        // 10 MiB is larger than 9 MiB as a number (not as text).
        assert!(merge(&mut changes, vec![memory(10)]));
        assert!(!merge(&mut changes, vec![memory(9)]));
        assert!(!merge(&mut changes, vec![memory(10)]));
        let fix: Vec<String> = changes.iter().flat_map(Step::assignments).collect();
        assert_eq!(fix, ["namespaces.team-a.limits.memory=10"]);
    }

    #[test]
    fn fix_entries_carry_the_whole_fix() {
        let document = serde_json::json!({
            "hosts": [{"name": "esx-01", "cpu_cores": 16}, {"name": "esx-02", "cpu_cores": 32}]
        });
        let mut changes: Vec<Step> = added_hosts(&document, 2).into_iter().collect();
        assert!(merge(&mut changes, vec![memory(10)]));
        let entries = fix_entries(&changes);
        let fix = [
            r#"hosts.esx-02-added-1={"name":"esx-02-added-1","cpu_cores":32}"#,
            r#"hosts.esx-02-added-2={"name":"esx-02-added-2","cpu_cores":32}"#,
            "namespaces.team-a.limits.memory=10",
        ];
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| e.fix == fix));
        assert_eq!(entries[0].subject, "esx-02");
        assert_eq!(entries[0].hint, "add 2 host(s) like `esx-02`");
        assert_eq!(
            entries[1].message,
            "the cheapest fix (checked by planning again with it applied): raise the memory limit of namespace `team-a` by 2 MiB (from 8 MiB to 10 MiB); with the other change(s) of the fix: add 2 host(s) like `esx-02`"
        );
    }
}
