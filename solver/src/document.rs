//! The entry points over a topology document as bytes: read and validate it, plan it, and when
//! the plan is stuck add the cheapest fix; or plan it with `--what-if` changes and report the
//! difference. One [`Deadline`] covers the whole run, validation included.

use crate::diagnosis::fix::{cheapest_fix, stuck};
use crate::{Deadline, Options, SolverError};
use std::time::Instant;
use vksplan_model::plan::{Difference, Move, PlanSummary, UpgradeSummary, WhatIf};
use vksplan_model::{self as model, Plan, Status};

/// Plans a topology document given as bytes: validation, then placement (and the upgrade
/// sequence when asked). Bad input is an `Ok` plan with status `invalid`; `Err` is reserved for
/// vksplan's own failures. When no placement or no upgrade sequence exists, it also looks for
/// the cheapest fix ([`cheapest_fix`]); only that fix, checked by planning again, is offered as
/// `fix` then.
pub fn plan_bytes(document: &[u8], options: &Options) -> Result<Plan, SolverError> {
    let started = Instant::now();
    match model::load_document(document) {
        Err(invalid) => Ok(Plan::invalid(invalid)),
        Ok((inventory, value)) => match deadline_of(&inventory, options, started) {
            Ok(deadline) => plan_with_fix(&inventory, Some(&value), options, deadline),
            Err(plan) => Ok(*plan),
        },
    }
}

/// The deadline of a run that started at `started` (the limit covers the whole run); a plan
/// saying so when reading and validating the document used it all.
fn deadline_of(
    inventory: &model::Inventory,
    options: &Options,
    started: Instant,
) -> Result<Deadline, Box<Plan>> {
    let limit = options
        .time_limit_s
        .unwrap_or(inventory.policy.time_limit_s);
    let deadline = Deadline::after(started, limit);
    if deadline.passed() {
        let spent = started.elapsed().as_secs_f64();
        return Err(Box::new(Plan::without_placement(
            Status::Timeout,
            vec![model::Diagnostic::input(
                "policy.time_limit_s",
                "policy",
                model::Constraint::TimeLimit,
                format!(
                    "the time limit ({limit} s) ran out while the document was read and validated ({spent:.3} s); nothing was planned"
                ),
                "raise the time limit",
            )],
        )));
    }
    Ok(deadline)
}

/// Plans a validated document by `deadline` (`value`, when there is one, is what the fix search
/// changes); when the plan is stuck, adds the cheapest fix and drops every other `fix`.
fn plan_with_fix(
    inventory: &model::Inventory,
    value: Option<&serde_json::Value>,
    options: &Options,
    deadline: Deadline,
) -> Result<Plan, SolverError> {
    let options = Options {
        time_limit_s: Some(deadline.remaining_s()),
        ..options.clone()
    };
    let mut plan = crate::plan(inventory, &options)?;
    if stuck(&plan) {
        let fix = match value {
            Some(value) => cheapest_fix(value, inventory, &plan, deadline, &options)?,
            None => Vec::new(),
        };
        for entry in &mut plan.diagnosis {
            entry.fix.clear();
        }
        plan.diagnosis.extend(fix);
    }
    Ok(plan)
}

/// Plans a document with `changes` applied (see [`model::document::what_if`]) and reports in the plan's
/// `what_if` block how it differs from the plan of the document as it is: status, admissions,
/// objective, VMs that change host, upgrade waves. A changed document that is still stuck gets
/// its cheapest fix, as [`plan_bytes`] gives.
pub fn plan_what_if(
    document: &[u8],
    changes: &[model::document::what_if::Change],
    options: &Options,
) -> Result<Plan, SolverError> {
    let started = Instant::now();
    let (inventory, value) = match model::load_document(document) {
        Ok(loaded) => loaded,
        Err(invalid) => return Ok(Plan::invalid(invalid)),
    };
    let changed = match model::document::what_if::apply(&value, changes) {
        Ok(changed) => changed,
        Err(errors) => return Ok(Plan::without_placement(Status::Invalid, errors)),
    };
    // One deadline for the run: the plan as it is gets the first half of the limit, the plan
    // with the changes (and its fix search) the rest.
    let limit = options
        .time_limit_s
        .unwrap_or(inventory.policy.time_limit_s);
    let halfway = Deadline::after(started, limit / 2.0);
    let before = crate::plan(
        &inventory,
        &Options {
            time_limit_s: Some(halfway.remaining_s().max(0.001)),
            ..options.clone()
        },
    )?;
    let mut after = match model::load_value(&changed) {
        // The document was valid: what is wrong now comes from the changes.
        Err(mut invalid) => {
            for error in &mut invalid.errors {
                error.message = format!("with the --what-if change(s) applied: {}", error.message);
                error.hint = format!("{}; the change(s) made the document invalid", error.hint);
            }
            return Ok(Plan::invalid(invalid));
        }
        // The run's deadline (a change of `policy.time_limit_s` sets it).
        Ok(changed_inventory) => match deadline_of(&changed_inventory, options, started) {
            Ok(deadline) => plan_with_fix(&changed_inventory, Some(&changed), options, deadline)?,
            Err(plan) => return Ok(*plan),
        },
    };
    after.what_if = Some(difference(&before, &after, changes));
    Ok(after)
}

/// The what-if block: the changes, both plans in brief, and what differs.
fn difference(before: &Plan, after: &Plan, changes: &[model::document::what_if::Change]) -> WhatIf {
    let not_in = |list: &[String], other: &[String]| -> Vec<String> {
        list.iter()
            .filter(|u| !other.contains(u))
            .cloned()
            .collect()
    };
    let vms_moved = after
        .placement
        .iter()
        .filter_map(|(vm, host)| {
            let from = before.placement.get(vm)?;
            (from != host).then(|| {
                (
                    vm.clone(),
                    Move {
                        from: from.clone(),
                        to: host.clone(),
                    },
                )
            })
        })
        .collect();
    let keys_not_in = |plan: &Plan, other: &Plan| -> Vec<String> {
        plan.placement
            .keys()
            .filter(|vm| !other.placement.contains_key(*vm))
            .cloned()
            .collect()
    };
    WhatIf {
        changes: changes
            .iter()
            .map(model::document::what_if::Change::describe)
            .collect(),
        before: summary(before),
        after: summary(after),
        difference: Difference {
            status: (before.status != after.status)
                .then(|| format!("{} -> {}", before.status.as_str(), after.status.as_str())),
            admitted: not_in(&before.rejected, &after.rejected),
            rejected: not_in(&after.rejected, &before.rejected),
            vms_placed: keys_not_in(after, before),
            vms_removed: keys_not_in(before, after),
            vms_moved,
        },
    }
}

fn summary(plan: &Plan) -> PlanSummary {
    PlanSummary {
        status: plan.status,
        rejected: plan.rejected.clone(),
        objective: plan.objective.clone(),
        upgrade: plan.upgrade.as_ref().map(|u| UpgradeSummary {
            status: u.status,
            waves: u.waves.len(),
            lower_bound_waves: u.lower_bound_waves,
        }),
    }
}
