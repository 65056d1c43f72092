//! Minimal conflicts of a stuck upgrade. When a wave can make no progress, each task that
//! found no way in (a new copy, a migration off a host being patched, a slot deleted for
//! `max_unavailable`, a host entering maintenance) records what its check broke on every host
//! it tried. The conflict of a task is the task itself (the roll or the patch that needs it)
//! and a set of groups that blocks every host it tried, chosen greedily (the group that blocks
//! the most hosts first) and then pruned until each group is the only one of the set that
//! blocks some host: with the VMs where they are at that wave, relaxing any one group of the
//! conflict frees a host for the task (or, for a task tied to no host, lets its check pass).

use crate::diagnosis::conflict::specificity;
use crate::diagnosis::describe;
use crate::mip::Owner;
use std::collections::{BTreeMap, BTreeSet};
use vksplan_model::HostId;
use vksplan_model::VmId;
use vksplan_model::{Constraint, Diagnostic, Inventory};

/// What a blocked task needs of the state it waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Room for a new copy of a slot: beside its live old copy (`beside`), or in its place
    /// (a slot deleted first, for `max_unavailable`).
    NewCopy {
        /// The slot.
        vm: VmId,
        /// Whether its old copy is still alive at the peak.
        beside: bool,
    },
    /// A host emptied for maintenance.
    EmptyHost {
        /// The host.
        host: HostId,
    },
    /// Nothing a placement could give (a delete refused by the roll rules).
    Nothing,
}

/// A task that found no valid way into a wave.
#[derive(Debug, Clone)]
pub struct BlockedTask {
    /// The task in words ("the new copy of control-plane VM `apps/web/cp-1`").
    pub task: String,
    /// What it needs of the state.
    pub need: Need,
    /// Who needs it done: the layer, subject and constraint of the roll or the patch.
    pub owner: Owner,
    /// What each try broke: per host tried (`None`: a check tied to no destination, or a try
    /// whose every broken group holds wherever the copy goes), every group broken.
    pub tried: Vec<(Option<HostId>, Vec<Diagnostic>)>,
    /// Hosts not tried: in maintenance, or entering it in this wave.
    pub unavailable: Vec<HostId>,
}

impl BlockedTask {
    /// The first rule the task broke, with the task named (the entry of older diagnoses).
    pub fn first(&self) -> Option<Diagnostic> {
        let mut first = self.tried.iter().flat_map(|(_, d)| d).next()?.clone();
        first.message = format!("{}: {}", self.task, first.message);
        Some(first)
    }
}

type Key = (u8, Constraint, String);

fn key(d: &Diagnostic) -> Key {
    (
        specificity(d.layer),
        d.constraint.clone(),
        d.subject.clone(),
    )
}

/// The groups that block every try, irreducibly: per group, an example of what it broke and
/// the hosts it blocks.
pub fn cover(
    tried: &[(Option<HostId>, Vec<Diagnostic>)],
) -> Vec<(Diagnostic, Vec<Option<HostId>>)> {
    let mut groups: BTreeMap<Key, (Diagnostic, BTreeSet<usize>)> = BTreeMap::new();
    for (index, (_, broken)) in tried.iter().enumerate() {
        for d in broken {
            groups
                .entry(key(d))
                .or_insert_with(|| (d.clone(), BTreeSet::new()))
                .1
                .insert(index);
        }
    }
    let mut uncovered: BTreeSet<usize> = (0..tried.len()).collect();
    let mut chosen: Vec<Key> = Vec::new();
    while !uncovered.is_empty() {
        // The most tries blocked; then the most specific layer, then by name (the map order).
        let best = groups
            .iter()
            .filter(|(k, _)| !chosen.contains(k))
            .map(|(k, (_, hosts))| (hosts.intersection(&uncovered).count(), k))
            .filter(|(n, _)| *n > 0)
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)));
        let Some((_, best)) = best else { break };
        let best = best.clone();
        for index in &groups[&best].1 {
            uncovered.remove(index);
        }
        chosen.push(best);
    }
    // Prune, last chosen first: a group whose tries the others all block is not needed.
    for position in (0..chosen.len()).rev() {
        let others: BTreeSet<usize> = chosen
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != position)
            .flat_map(|(_, k)| groups[k].1.iter().copied())
            .collect();
        if groups[&chosen[position]].1.is_subset(&others) {
            chosen.remove(position);
        }
    }
    chosen.sort();
    chosen
        .into_iter()
        .map(|k| {
            let (example, hosts) = &groups[&k];
            let mut hosts: Vec<Option<HostId>> = hosts.iter().map(|i| tried[*i].0).collect();
            hosts.sort();
            (example.clone(), hosts)
        })
        .collect()
}

/// Host names, the first few.
fn hosts_named(inventory: &Inventory, hosts: &[Option<HostId>]) -> String {
    let names: Vec<String> = hosts
        .iter()
        .flatten()
        .map(|h| format!("`{}`", inventory.hosts[*h].name))
        .collect();
    if hosts.contains(&None) {
        return "every host".to_string();
    }
    match names.len() {
        0 => "its check".to_string(),
        n if n > 4 => format!("{} and {} more host(s)", names[..4].join(", "), n - 4),
        _ => names.join(", "),
    }
}

/// Diagnosis entries for the blocked tasks of a stuck wave (`wave`: 1-based): per distinct
/// conflict (at most three), one entry for the task's owner and one per group.
pub fn entries(inventory: &Inventory, blocked: &[BlockedTask], wave: usize) -> Vec<Diagnostic> {
    let mut seen: BTreeSet<Vec<Key>> = BTreeSet::new();
    let mut found = Vec::new();
    for task in blocked {
        let groups = cover(&task.tried);
        let mut signature: Vec<Key> = groups.iter().map(|(d, _)| key(d)).collect();
        signature.push((0, task.owner.constraint.clone(), task.owner.subject.clone()));
        if !seen.insert(signature) || seen.len() > 3 {
            continue;
        }
        let unavailable = if task.unavailable.is_empty() {
            String::new()
        } else {
            let names: Vec<Option<HostId>> = task.unavailable.iter().map(|h| Some(*h)).collect();
            format!(
                "; {} in maintenance or entering it",
                hosts_named(inventory, &names)
            )
        };
        let owner = describe::task_owner(&task.owner);
        let described: Vec<String> = groups
            .iter()
            .map(|(d, _)| describe::group(&d.constraint, &d.subject))
            .collect();
        let mut all = vec![owner.clone()];
        all.extend(described.iter().cloned());
        found.push(Diagnostic::new(
            task.owner.layer,
            &task.owner.subject,
            task.owner.constraint.clone(),
            format!(
                "the upgrade is stuck at wave {wave}: {owner} needs {}, and {}; a minimal conflict: {}",
                task.task,
                if task.tried.iter().any(|(h, _)| h.is_none()) {
                    "what blocks it holds wherever it goes".to_string()
                } else {
                    format!(
                        "every host it could use is blocked ({} tried{unavailable})",
                        task.tried.len()
                    )
                },
                all.join("; ")
            ),
            "relax any one group of the conflict (or add a host) and the task can go on",
        ));
        for ((example, hosts), description) in groups.iter().zip(&described) {
            let others: Vec<&str> = all
                .iter()
                .filter(|d| *d != description)
                .map(String::as_str)
                .collect();
            let mut entry = example.clone();
            entry.message = format!(
                "{description} blocks {} on {}: {}; part of a minimal conflict at wave {wave} with {}",
                task.task,
                hosts_named(inventory, hosts),
                example.message,
                others.join("; ")
            );
            found.push(entry);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vksplan_model::Layer;

    fn group(n: u8) -> Diagnostic {
        let layer = [Layer::Cluster, Layer::Namespace, Layer::Infrastructure][usize::from(n % 3)];
        Diagnostic::new(
            layer,
            format!("g{n}"),
            Constraint::HostVcpus,
            "broken",
            "relax it",
        )
    }

    proptest! {
        /// Every try is blocked by a chosen group, and every chosen group is the only chosen
        /// one on some try: relaxing it frees that try.
        #[test]
        fn the_cover_blocks_every_try_and_is_irreducible(
            tries in proptest::collection::vec(proptest::collection::btree_set(0u8..8, 1..4), 1..10)
        ) {
            let tried: Vec<(Option<HostId>, Vec<Diagnostic>)> = tries
                .iter()
                .enumerate()
                .map(|(host, groups)| {
                    (Some(HostId::new(host)), groups.iter().map(|g| group(*g)).collect())
                })
                .collect();
            let chosen: Vec<String> = cover(&tried).into_iter().map(|(d, _)| d.subject).collect();
            for groups in &tries {
                prop_assert!(groups.iter().any(|g| chosen.contains(&format!("g{g}"))), "{tries:?}: {chosen:?}");
            }
            for name in &chosen {
                let freed = tries.iter().any(|groups| {
                    groups.iter().filter(|g| chosen.contains(&format!("g{g}"))).map(|g| format!("g{g}")).collect::<Vec<_>>() == vec![name.clone()]
                });
                prop_assert!(freed, "{name} is not needed in {chosen:?} for {tries:?}");
            }
        }
    }
}
