//! # vksplan
//!
//! A placement engine for vSphere Kubernetes Service platforms: it reads a topology document
//! (hosts, Supervisor, vSphere Namespaces, workload clusters, rules), validates it, and plans
//! where every VM goes. This crate is the facade over [`model`] (domain types, validation) and
//! [`solver`] (MIP placement and verification), and the home of the `vksplan` CLI.
//!
//! ```
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/lab-1-host.json"))?;
//! let inventory = vksplan::model::load(&text)?;
//! assert_eq!(inventory.vms.len(), 4); // 1 Supervisor VM, 1 control plane, 2 workers
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod generate;

pub use vksplan_model as model;
pub use vksplan_solver as solver;

use model::{Plan, Status};

/// Plans a topology document given as bytes: validation, then placement (and the upgrade
/// sequence when asked). Bad input is an `Ok` plan with status `invalid`; `Err` is reserved for
/// vksplan's own failures. When no placement or no upgrade sequence exists and no diagnosis
/// entry carries a fix, it also looks for the fewest hosts to add ([`host_fix`]).
pub fn plan_bytes(document: &[u8], options: &solver::Options) -> Result<Plan, solver::SolverError> {
    let inventory = match model::load_bytes(document) {
        Err(invalid) => return Ok(Plan::invalid(invalid)),
        Ok(inventory) => inventory,
    };
    let mut plan = solver::plan(&inventory, options)?;
    let stuck = plan.status == Status::Infeasible
        || plan
            .upgrade
            .as_ref()
            .is_some_and(|u| u.status == Status::Infeasible);
    if stuck && plan.diagnosis.iter().all(|d| d.fix.is_empty()) {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(document) {
            plan.diagnosis.extend(host_fix(&value, options)?);
        }
    }
    Ok(plan)
}

/// The most hosts [`host_fix`] tries to add.
pub const MAX_ADDED_HOSTS: usize = 4;

/// Whether a plan places everything it must and, when asked, sequences the upgrade.
fn fits(plan: &Plan) -> bool {
    matches!(plan.status, Status::Optimal | Status::Feasible)
        && plan
            .upgrade
            .as_ref()
            .is_none_or(|u| u.status != Status::Infeasible)
}

/// The fewest copies (up to [`MAX_ADDED_HOSTS`]) of the largest host in service that make the
/// document fit, found by re-planning with each count; as a diagnosis entry whose `fix` adds
/// them. `None` when no count up to the limit helps.
pub fn host_fix(
    document: &serde_json::Value,
    options: &solver::Options,
) -> Result<Option<model::Diagnostic>, solver::SolverError> {
    let hosts = document
        .get("hosts")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let cores = |host: &serde_json::Value| {
        host.get("cpu_cores")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let in_service = hosts
        .iter()
        .filter(|h| h.get("maintenance").and_then(serde_json::Value::as_bool) != Some(true));
    // The first of the hosts with the most cores.
    let Some(template) = in_service.rev().max_by_key(|h| cores(h)) else {
        return Ok(None);
    };
    let Some(name) = template.get("name").and_then(serde_json::Value::as_str) else {
        return Ok(None);
    };
    let quiet = solver::Options {
        find_conflicts: false,
        ..options.clone()
    };
    let mut assignments = Vec::new();
    for added in 1..=MAX_ADDED_HOSTS {
        let mut host = template.clone();
        let new_name = format!("{name}-added-{added}");
        host["name"] = serde_json::Value::from(new_name.clone());
        assignments.push(format!("hosts.{new_name}={host}"));
        let changes: Vec<model::what_if::Change> = assignments
            .iter()
            .filter_map(|a| model::what_if::Change::parse_assignment(a).ok())
            .collect();
        let Ok(changed) = model::what_if::apply(document, &changes) else {
            return Ok(None);
        };
        let Ok(inventory) = model::load_value(&changed) else {
            return Ok(None);
        };
        if fits(&solver::plan(&inventory, &quiet)?) {
            let mut entry = model::Diagnostic::new(
                model::Layer::Infrastructure,
                name,
                "add_hosts",
                format!(
                    "adding {added} host(s) like `{name}` makes it fit (checked by planning again)"
                ),
                "add the hosts, or relax one of the constraints the other entries name",
            );
            entry.fix = assignments;
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

/// The exit code the CLI uses for a plan: 0 plan found, 1 infeasible or timeout, 2 invalid.
pub fn exit_code(plan: &Plan) -> i32 {
    plan.status.exit_code()
}

/// Plans a document with `changes` applied (see [`model::what_if`]) and reports in the plan's
/// `what_if` block how it differs from the plan of the document as it is: status, admissions,
/// objective, VMs that change host, upgrade waves.
pub fn plan_what_if(
    document: &[u8],
    changes: &[model::what_if::Change],
    options: &solver::Options,
) -> Result<Plan, solver::SolverError> {
    let value: serde_json::Value = match serde_json::from_slice(document) {
        Ok(value) => value,
        Err(_) => return plan_bytes(document, options),
    };
    let changed = match model::what_if::apply(&value, changes) {
        Ok(changed) => changed,
        Err(errors) => return Ok(Plan::without_placement(Status::Invalid, errors)),
    };
    let before = match model::load_value(&value) {
        Err(invalid) => return Ok(Plan::invalid(invalid)),
        Ok(inventory) => solver::plan(&inventory, options)?,
    };
    let mut after = match model::load_value(&changed) {
        Err(invalid) => return Ok(Plan::invalid(invalid)),
        Ok(inventory) => solver::plan(&inventory, options)?,
    };
    after.what_if = Some(difference(&before, &after, changes));
    Ok(after)
}

fn summary(plan: &Plan) -> serde_json::Value {
    serde_json::json!({
        "status": plan.status,
        "rejected": plan.rejected,
        "objective": plan.objective,
        "upgrade": plan.upgrade.as_ref().map(|u| serde_json::json!({ "status": u.status, "waves": u.waves.len(),
                                                                      "lower_bound_waves": u.lower_bound_waves })),
    })
}

fn difference(
    before: &Plan,
    after: &Plan,
    changes: &[model::what_if::Change],
) -> serde_json::Value {
    let newly_admitted: Vec<&String> = before
        .rejected
        .iter()
        .filter(|u| !after.rejected.contains(u))
        .collect();
    let newly_rejected: Vec<&String> = after
        .rejected
        .iter()
        .filter(|u| !before.rejected.contains(u))
        .collect();
    let moved: std::collections::BTreeMap<&String, serde_json::Value> = after
        .placement
        .iter()
        .filter(|(vm, host)| before.placement.get(*vm).is_some_and(|old| old != *host))
        .map(|(vm, host)| {
            (
                vm,
                serde_json::json!({ "from": before.placement[vm], "to": host }),
            )
        })
        .collect();
    let placed: Vec<&String> = after
        .placement
        .keys()
        .filter(|vm| !before.placement.contains_key(*vm))
        .collect();
    let removed: Vec<&String> = before
        .placement
        .keys()
        .filter(|vm| !after.placement.contains_key(*vm))
        .collect();
    serde_json::json!({
        "changes": changes.iter().map(model::what_if::Change::describe).collect::<Vec<_>>(),
        "before": summary(before),
        "after": summary(after),
        "difference": {
            "status": (before.status != after.status).then(|| format!("{} -> {}", before.status.as_str(), after.status.as_str())),
            "admitted": newly_admitted,
            "rejected": newly_rejected,
            "vms_placed": placed,
            "vms_removed": removed,
            "vms_moved": moved,
        },
    })
}
