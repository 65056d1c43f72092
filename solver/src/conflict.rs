//! Minimal conflicts: when no placement exists, an irreducible set of constraint groups (rows
//! with one owner: a host's capacity, a namespace's memory limit, a network's addresses, a
//! cluster that must run, a maintenance host...) that cannot hold together, found by a
//! deletion filter over the groups of the diagnosis model (see [`Compiler::for_diagnosis`]).
//! Groups are dropped in halving chunks while the rest stays infeasible, then one by one, so
//! the result is irreducible: without any one of its groups, the others can hold.

use crate::blocks::blocks;
use crate::lp::{families, feasible, Compiler, Owner};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use vksplan_model::{Diagnostic, Inventory, Layer};

/// The result of a search for a minimal conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The groups, most specific layer first.
    pub owners: Vec<Owner>,
    /// Whether every group was tested within the time budget (else the set is infeasible but
    /// maybe not irreducible).
    pub irreducible: bool,
}

/// The diagnosis model: every accounting family, domain restrictions as rows; no objective.
fn diagnosis_model<'a>(
    inventory: &'a Inventory,
    blocks: &'a [crate::blocks::Block],
) -> Compiler<'a> {
    let mut compiler = Compiler::for_diagnosis(inventory, blocks);
    for family in families::all() {
        if !matches!(family.name(), "objective" | "symmetry") {
            family.emit(&mut compiler);
        }
    }
    compiler
}

/// Whether the groups in `owners` (and the rows no one owns) can all hold.
pub fn holds(inventory: &Inventory, owners: &[Owner], seconds: f64) -> Option<bool> {
    let blocks = blocks(inventory);
    let compiler = diagnosis_model(inventory, &blocks);
    let set: BTreeSet<&Owner> = owners.iter().collect();
    feasible(
        &compiler,
        |owner| owner.as_ref().is_none_or(|o| set.contains(o)),
        seconds,
        1,
    )
}

/// Layers from the most specific entity to the broadest.
pub fn specificity(layer: Layer) -> u8 {
    match layer {
        Layer::Rule => 0,
        Layer::Cluster => 1,
        Layer::Namespace => 2,
        Layer::Supervisor => 3,
        Layer::Infrastructure => 4,
        Layer::Input => 5,
    }
}

/// Finds a minimal conflict within `budget`; `None` when the model is not infeasible (or
/// HiGHS cannot tell).
pub fn minimal_conflict(inventory: &Inventory, budget: Duration) -> Option<Conflict> {
    let deadline = Instant::now() + budget;
    let blocks = blocks(inventory);
    let compiler = diagnosis_model(inventory, &blocks);
    let remaining = || {
        deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    };
    let test = |set: &BTreeSet<&Owner>| {
        feasible(
            &compiler,
            |owner| owner.as_ref().is_none_or(|o| set.contains(o)),
            remaining(),
            1,
        )
    };
    let mut owners: Vec<&Owner> = compiler
        .rows
        .iter()
        .filter_map(|(owner, _)| owner.as_ref())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Drop broad groups first so that what stays is as specific as the conflict allows.
    owners.sort_by_key(|o| (std::cmp::Reverse(specificity(o.layer)), *o));
    let all: BTreeSet<&Owner> = owners.iter().copied().collect();
    if test(&all) != Some(false) {
        return None;
    }
    let mut irreducible = true;
    let mut chunk = owners.len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        while start < owners.len() {
            if remaining() <= 0.0 {
                irreducible = false;
                break;
            }
            let end = (start + chunk).min(owners.len());
            let rest: BTreeSet<&Owner> = owners[..start]
                .iter()
                .chain(&owners[end..])
                .copied()
                .collect();
            match test(&rest) {
                Some(false) => {
                    owners.drain(start..end);
                }
                Some(true) => start = end,
                None => {
                    irreducible &= chunk > 1;
                    start = end;
                }
            }
        }
        if chunk == 1 || !irreducible {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    let mut owners: Vec<Owner> = owners.into_iter().cloned().collect();
    owners.sort_by_key(|o| (specificity(o.layer), o.subject.clone(), o.constraint));
    Some(Conflict {
        owners,
        irreducible,
    })
}

/// How a group reads in a sentence.
pub fn describe(owner: &Owner) -> String {
    describe_group(owner.constraint, &owner.subject)
}

/// How a group (a constraint and its subject, as in a diagnosis entry) reads in a sentence.
pub fn describe_group(constraint: &str, subject: &str) -> String {
    match constraint {
        "admission" if subject == "supervisor" => "the Supervisor must run".to_string(),
        "admission" => format!("`{subject}` must run (it has no priority)"),
        "host_capacity" => format!("the capacity of host `{subject}`"),
        "host_vcpus" => format!("the vCPU capacity of host `{subject}`"),
        "host_memory" => format!("the memory of host `{subject}`"),
        "host_reserved_vcpus" | "host_reserved_memory" => {
            format!("the reservable capacity of host `{subject}`")
        }
        "devices" => format!("the devices of host `{subject}`"),
        "maintenance" => format!("host `{subject}` is in maintenance"),
        "ha_admission" => "HA admission control".to_string(),
        "anti_affinity" => format!("the control-plane anti-affinity of `{subject}`"),
        "zone_pinning" => format!("the zone pin of node pool `{subject}`"),
        "cpu_limit" => format!("the CPU limit of namespace `{subject}`"),
        "memory_limit" => format!("the memory limit of namespace `{subject}`"),
        "storage_limit" => format!("the storage limit of namespace `{subject}`"),
        "storage_capacity" => format!("the capacity of storage policy `{subject}`"),
        "ip_addresses" => format!("the addresses of network `{subject}`"),
        "rules" => format!("rule `{subject}`"),
        other => format!("{other} of `{subject}`"),
    }
}

/// The diagnosis entries of a conflict: one per group, each naming the others.
pub fn entries(conflict: &Conflict) -> Vec<Diagnostic> {
    let all: Vec<String> = conflict.owners.iter().map(describe).collect();
    let qualifier = if conflict.irreducible {
        "a minimal conflict"
    } else {
        "a conflict (not reduced further within the time limit)"
    };
    conflict
        .owners
        .iter()
        .map(|owner| {
            let others: Vec<&String> = all.iter().filter(|d| **d != describe(owner)).collect();
            let (message, hint) = if others.is_empty() {
                (
                    format!(
                        "{} cannot hold on its own: the fixed demand on it is larger than it",
                        describe(owner)
                    ),
                    "relax it",
                )
            } else {
                let with = others
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                (
                    format!(
                        "{} is part of {qualifier}: it cannot hold together with {with}",
                        describe(owner)
                    ),
                    "relax any one of these and the rest can hold",
                )
            };
            Diagnostic::new(owner.layer, &owner.subject, owner.constraint, message, hint)
        })
        .collect()
}
