//! The cheapest fix of a stuck plan: the fewest added hosts, then the fewest and smallest
//! raises of limits and counts, each candidate checked by planning the changed document again.

use crate::Deadline;
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

/// One change of a fix.
struct Change {
    layer: model::Layer,
    subject: String,
    text: String,
    /// `(path, value)` assignments in `--what-if` form.
    assignments: Vec<(String, String)>,
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
        |changes: &[Change]| -> Result<Option<(model::Inventory, Plan)>, crate::SolverError> {
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
        let added: Vec<Change> = added_hosts(document, added).into_iter().collect();
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
        let mut changes: Vec<Change> = added_hosts(document, added).into_iter().collect();
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
            let raises: Vec<crate::diagnosis::elastic::Raise> = if plan.status == Status::Infeasible
            {
                if hosts_short(&inventory) {
                    // No raise of a limit or a count can help: more hosts.
                    break;
                }
                match crate::diagnosis::elastic::cheapest_fix(&inventory, remaining()) {
                    crate::diagnosis::elastic::Outcome::Raise(raises) => raises,
                    crate::diagnosis::elastic::Outcome::NotEnough => Vec::new(),
                    crate::diagnosis::elastic::Outcome::Unknown => return Ok(Vec::new()),
                }
            } else {
                // A stuck upgrade: what its blocking tasks need.
                plan.diagnosis
                    .iter()
                    .flat_map(|d| &d.fix)
                    .filter_map(|f| {
                        crate::diagnosis::elastic::Raise::from_assignment(&inventory, f)
                    })
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
fn changed_inventory(document: &serde_json::Value, changes: &[Change]) -> Option<model::Inventory> {
    let assignments = changes
        .iter()
        .flat_map(|c| &c.assignments)
        .map(|(path, value)| model::what_if::Change::parse_assignment(&format!("{path}={value}")))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    let changed = model::what_if::apply(document, &assignments).ok()?;
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
fn merge(changes: &mut Vec<Change>, raises: Vec<crate::diagnosis::elastic::Raise>) -> bool {
    let mut changed = false;
    for raise in raises {
        let value = raise
            .assignment()
            .split_once('=')
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let change = Change {
            layer: raise.layer,
            subject: raise.subject.clone(),
            text: raise.describe(),
            assignments: vec![(raise.path.clone(), value.clone())],
        };
        match changes
            .iter_mut()
            .find(|c| c.assignments.iter().any(|(p, _)| *p == raise.path))
        {
            Some(existing) => {
                let larger = |a: &str, b: &str| a.parse::<u128>().ok() > b.parse::<u128>().ok();
                if larger(&value, &existing.assignments[0].1) {
                    *existing = change;
                    changed = true;
                }
            }
            None => {
                changes.push(change);
                changed = true;
            }
        }
    }
    changed
}

/// `added` copies of the first host in service with the most cores, as one change.
fn added_hosts(document: &serde_json::Value, added: usize) -> Option<Change> {
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
    let assignments = (1..=added)
        .map(|n| {
            let new_name = format!("{name}-added-{n}");
            let mut host = template.clone();
            host["name"] = serde_json::Value::from(new_name.clone());
            (format!("hosts.{new_name}"), host.to_string())
        })
        .collect();
    Some(Change {
        layer: model::Layer::Infrastructure,
        subject: name.to_string(),
        text: format!("add {added} host(s) like `{name}`"),
        assignments,
    })
}

/// One entry per change, each carrying the whole fix.
fn fix_entries(changes: &[Change]) -> Vec<model::Diagnostic> {
    let fix: Vec<String> = changes
        .iter()
        .flat_map(|c| &c.assignments)
        .map(|(path, value)| format!("{path}={value}"))
        .collect();
    changes
        .iter()
        .map(|change| {
            let rest: Vec<&str> = changes
                .iter()
                .filter(|c| c.text != change.text)
                .map(|c| c.text.as_str())
                .collect();
            let with = if rest.is_empty() {
                String::new()
            } else {
                format!("; with the other change(s) of the fix: {}", rest.join("; "))
            };
            let mut entry = model::Diagnostic::new(
                change.layer,
                &change.subject,
                Constraint::CheapestFix,
                format!(
                    "the cheapest fix (checked by planning again with it applied): {}{with}",
                    change.text
                ),
                change.text.clone(),
            );
            entry.fix = fix.clone();
            entry
        })
        .collect()
}
