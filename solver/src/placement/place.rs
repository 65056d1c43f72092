//! Placement: compile, solve step by step, name each VM's host, verify, and build the plan
//! document.

use crate::check::accounting::usage;
use crate::check::verify::{verify, Assignment, Report};
use crate::diagnosis::diagnose;
use crate::mip::{ColumnValues, Compiler};
use crate::placement::blocks::Block;
use crate::placement::{place, Ending};
use crate::{Options, SolverError};
use vksplan_model::plan::{ObjectiveReport, Plan, Stats, Status};
use vksplan_model::IdVec;
use vksplan_model::Inventory;
use vksplan_model::{HostId, VmId};

/// The share of the time limit the placement gets when an upgrade is asked for (the
/// sequencing gets the rest, and what the placement leaves).
pub const PLACEMENT_SHARE: f64 = 0.4;

/// Plans a validated topology: the placement, checked by the verifier, and the upgrade
/// sequence when the input asks for one, checked by the replay; as a plan document.
///
/// `Err` only for vksplan's own failures (a plan that fails verification, a HiGHS error); an
/// infeasible topology or a time-out is an `Ok` plan with that status and a diagnosis.
pub fn plan(inventory: &Inventory, options: &Options) -> Result<Plan, SolverError> {
    // One deadline for the whole plan: with an upgrade, the placement gets a share of the
    // limit (it keeps its best plan when its share runs out) and the sequencing the rest.
    let started = std::time::Instant::now();
    let time_limit = options
        .time_limit_s
        .unwrap_or(inventory.policy.time_limit_s)
        .clamp(0.0, 1e7);
    let placement_options = match inventory.upgrade {
        Some(_) => Options {
            time_limit_s: Some(time_limit * PLACEMENT_SHARE),
            ..options.clone()
        },
        None => options.clone(),
    };
    let (mut plan, assignment) = plan_placement(inventory, &placement_options)?;
    let Some(upgrade) = inventory.upgrade.as_ref() else {
        return Ok(plan);
    };
    let Some(assignment) = assignment else {
        // No placement, no sequence: the placement's diagnosis says why. A placement proven
        // infeasible proves the upgrade infeasible too; one cut short by the time limit proves
        // nothing, so the upgrade timed out as well.
        let status = if plan.status == Status::Infeasible {
            Status::Infeasible
        } else {
            Status::Timeout
        };
        let everything = Assignment {
            host_of: IdVec::from_elem(None, inventory.vms.len()),
            admitted: IdVec::from_elem(true, inventory.admission_units.len()),
        };
        let roll = crate::check::replay::Roll::new(inventory, upgrade, everything.admitted.raw());
        plan.upgrade = Some(vksplan_model::plan::UpgradePlan {
            status,
            waves: Vec::new(),
            lower_bound_waves: crate::upgrade::lower_bound(
                inventory,
                &roll,
                upgrade,
                &vec![0; inventory.networks.len()],
            ),
        });
        return Ok(plan);
    };
    // Today's hosts where `placement` gives them, the plan's elsewhere.
    let mut start = assignment;
    for (vm, host) in &inventory.placement {
        if start.host_of[*vm].is_some() {
            start.host_of[*vm] = Some(*host);
        }
    }
    // What is left of the limit, less a reserve for the audit and the plan document (2% of
    // the limit, at most 1 s).
    let reserve = (time_limit * 0.02).clamp(0.0, 1.0);
    let deadline = started + std::time::Duration::from_secs_f64((time_limit - reserve).max(0.0));
    crate::progress::set("upgrade: sequencing");
    let sequenced = crate::upgrade::sequence(inventory, upgrade, &start, deadline);
    // Every returned sequence is checked by the independent audit (docs/output-and-upgrades.md §11-§17 from the
    // plan's actions), which shares no code with the planner.
    let broken = match sequenced.plan.status {
        Status::Infeasible | Status::Timeout => Vec::new(),
        _ => crate::check::audit::check(
            inventory,
            &start.host_of,
            &start.admitted,
            &sequenced.plan.waves,
        ),
    };
    if !broken.is_empty() {
        return Err(SolverError::Unverified(
            broken
                .into_iter()
                .map(|finding| {
                    vksplan_model::Diagnostic::new(
                        vksplan_model::Layer::Infrastructure,
                        &finding.subject,
                        finding.rule,
                        format!("wave {}: {}", finding.wave, finding.message),
                        "a bug in the upgrade planner: report it",
                    )
                })
                .collect(),
        ));
    }
    plan.diagnosis.extend(sequenced.diagnosis);
    plan.upgrade = Some(sequenced.plan);
    Ok(plan)
}

/// Turns counts per (block, host) into a host per VM, deterministically: a VM keeps its
/// current host while its block still has room there, the others fill the remaining counts in
/// host order.
pub(crate) fn disaggregate(
    compiler: &Compiler,
    blocks: &[Block],
    values: &ColumnValues,
) -> Assignment {
    let inventory = compiler.inventory;
    let mut host_of: IdVec<VmId, Option<HostId>> = IdVec::from_elem(None, inventory.vms.len());
    let mut current: IdVec<VmId, Option<HostId>> = IdVec::from_elem(None, inventory.vms.len());
    for (vm, host) in &inventory.placement {
        current[*vm] = Some(*host);
    }
    for (block_index, block) in blocks.iter().enumerate() {
        let mut room: Vec<(usize, u32)> = compiler.counts[block_index]
            .iter()
            .map(|(host, count)| (*host, values.get(*count).round().max(0.0) as u32))
            .filter(|(_, n)| *n > 0)
            .collect();
        let mut waiting = Vec::new();
        for vm in &block.vms {
            match current[*vm]
                .and_then(|host| room.iter_mut().find(|(h, n)| *h == host.index() && *n > 0))
            {
                Some((host, n)) => {
                    host_of[*vm] = Some(HostId::new(*host));
                    *n -= 1;
                }
                None => waiting.push(*vm),
            }
        }
        let mut slots = room
            .iter_mut()
            .flat_map(|(host, n)| std::iter::repeat_n(*host, std::mem::take(n) as usize));
        for vm in waiting {
            host_of[vm] = slots.next().map(HostId::new);
        }
    }
    let admitted = compiler
        .admit
        .iter()
        .map(|admit| admit.is_none_or(|admit| values.get(admit) > 0.5))
        .collect();
    Assignment { host_of, admitted }
}

/// Plans a validated topology: the placement, checked by the verifier, as a plan document.
///
/// `Err` only for vksplan's own failures (a plan that fails verification, a HiGHS error); an
/// infeasible topology or a time-out is an `Ok` plan with that status and a diagnosis.
fn plan_placement(
    inventory: &Inventory,
    options: &Options,
) -> Result<(Plan, Option<Assignment>), SolverError> {
    let placed = place(inventory, options);
    let Some(assignment) = placed.assignment else {
        if let Some(error) = placed.error {
            return Err(SolverError::Highs(error));
        }
        let status = if placed.ending == Ending::Infeasible {
            Status::Infeasible
        } else {
            Status::Timeout
        };
        let mut diagnosis = diagnose::necessary_conditions(inventory, None);
        // Which groups of constraints cannot hold together, within half of what the time
        // limit leaves (the facade's fix search may use the rest).
        let conflict = (status == Status::Infeasible && options.find_conflicts).then(|| {
            let limit = options
                .time_limit_s
                .unwrap_or(inventory.policy.time_limit_s);
            let budget = (limit - placed.stats.solve_ms as f64 / 1000.0) / 2.0;
            crate::progress::set("diagnosis: minimal conflict");
            crate::diagnosis::conflict::minimal_conflict(
                inventory,
                std::time::Duration::from_secs_f64(budget.clamp(0.0, 1e7)),
            )
        });
        diagnosis.extend(
            conflict
                .flatten()
                .map(|c| crate::diagnosis::conflict::entries(&c))
                .unwrap_or_default(),
        );
        if diagnosis.is_empty() {
            diagnosis.push(diagnose::no_single_shortage(status));
        }
        let mut plan = Plan::without_placement(status, diagnosis);
        plan.stats = placed.stats;
        return Ok((plan, None));
    };
    crate::progress::set("verifying");
    let report = verify(inventory, &assignment);
    if !report.violations.is_empty() {
        return Err(SolverError::Unverified(report.violations));
    }
    let status = if placed.ending == Ending::Optimal {
        Status::Optimal
    } else {
        Status::Feasible
    };
    let plan = build_plan(
        inventory,
        &assignment,
        &report,
        status,
        placed.step4_bound,
        placed.stats,
    );
    Ok((plan, Some(assignment)))
}

fn build_plan(
    inventory: &Inventory,
    assignment: &Assignment,
    report: &Report,
    status: Status,
    step4_bound: Option<f64>,
    stats: Stats,
) -> Plan {
    let placement = assignment
        .host_of
        .iter()
        .enumerate()
        .filter_map(|(vm, host)| {
            Some((
                inventory.vms[VmId::new(vm)].name.clone(),
                inventory.hosts[HostId::new(((*host)?).index())]
                    .name
                    .clone(),
            ))
        })
        .collect();
    let mut rejected: Vec<String> = inventory
        .admission_units
        .iter()
        .zip(&assignment.admitted)
        .filter(|(_, admitted)| !**admitted)
        .map(|(unit, _)| unit.name.clone())
        .collect();
    rejected.sort();
    let priority_admitted = inventory
        .admission_units
        .iter()
        .zip(&assignment.admitted)
        .filter(|(_, admitted)| **admitted)
        .filter_map(|(unit, _)| unit.priority.map(u64::from))
        .sum();
    let step4_value = match inventory.policy.objective {
        vksplan_model::document::ObjectiveKind::Balance => report.max_utilization,
        vksplan_model::document::ObjectiveKind::Consolidate => report.cost,
    };
    let bound = step4_bound.map_or(0.0, |bound| bound.clamp(0.0, step4_value));
    let gap = if step4_value <= 0.0 {
        0.0
    } else {
        ((step4_value - bound) / step4_value).clamp(0.0, 1.0)
    };
    let objective = ObjectiveReport {
        priority_admitted,
        soft_rules_broken: report.soft_rules_broken.len() as u32,
        migrations: report.migrations,
        max_utilization: round6(report.max_utilization),
        hosts_used: report.hosts_used,
        cost: round6(report.cost),
        spread: report.spread,
        bound: round6(bound),
        gap: round6(gap),
    };
    let mut diagnosis = diagnose::rejections(inventory, assignment);
    diagnosis.extend(diagnose::soft_rules(&report.soft_rules_broken));
    if status == Status::Feasible {
        let allowed = inventory.policy.mip_gap;
        diagnosis.push(if allowed > 0.0 && gap <= allowed + 1e-9 {
            diagnose::within_gap(gap, allowed)
        } else {
            diagnose::time_limit(gap)
        });
    }
    Plan {
        status,
        placement,
        rejected,
        objective: Some(objective),
        usage: Some(usage(inventory, &report.accounting)),
        diagnosis,
        upgrade: None,
        stats,
        what_if: None,
    }
}

/// Six decimals: enough for utilisations, and stable across platforms in the JSON.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
