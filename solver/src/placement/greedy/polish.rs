//! Local search on a verified plan that never gives back what the earlier steps of the
//! objective achieved: one VM moves at a time, only where every hard rule still holds, no more
//! soft rules break, migrations stay within what the plan has, and (for spread) every host
//! stays within the held level's capacities. It lowers the peak ([`Goal::Peak`]) or the
//! pools' largest counts per host ([`Goal::Spread`]); the result is verified by the caller.

use super::state::{Facts, State};
use crate::check::verify::Assignment;
use std::time::Instant;
use vksplan_model::inventory::GroupKind;
use vksplan_model::Inventory;

/// What the local search lowers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// The highest host utilisation.
    Peak,
    /// The sum over node pools of the largest count of a pool's VMs on one host.
    Spread,
}

/// The search's view of a plan.
struct Search<'a> {
    state: State<'a>,
    soft_budget: u32,
    migrations: u32,
    migration_budget: u32,
    /// Per host: (vCPUs, memory bytes) no move may exceed.
    caps: Vec<(u64, u128)>,
}

impl Search<'_> {
    fn migrated(&self, vm: usize, host: Option<usize>) -> u32 {
        match (self.state.facts.current[vm], host) {
            (Some(today), Some(host)) => u32::from(today != host),
            _ => 0,
        }
    }

    /// Moves `vm` (off its host) to `target` if every rule allows; `false` leaves it off.
    fn try_place(&mut self, vm: usize, target: usize) -> bool {
        if !self.state.fits(vm, target, Some(self.caps[target])) {
            return false;
        }
        let migrations = self.migrations + self.migrated(vm, Some(target));
        if migrations > self.migration_budget {
            return false;
        }
        if self.state.soft.breaks_more(vm, target, self.soft_budget) {
            return false;
        }
        self.state.apply(vm, target, true);
        self.migrations = migrations;
        true
    }

    fn lift(&mut self, vm: usize, host: usize) {
        self.migrations -= self.migrated(vm, Some(host));
        self.state.apply(vm, host, false);
    }

    fn put_back(&mut self, vm: usize, host: usize) {
        self.migrations += self.migrated(vm, Some(host));
        self.state.apply(vm, host, true);
    }
}

/// Improves `assignment` on `goal` without worsening the earlier steps; `caps` (per host:
/// vCPUs, memory bytes) bound every host a VM moves to. Returns the improved plan.
pub fn polish(
    inventory: &Inventory,
    facts: &Facts,
    assignment: &Assignment,
    goal: Goal,
    caps: Option<&[(u64, u128)]>,
    deadline: Instant,
) -> Assignment {
    let mut state = State::new(inventory, facts);
    for (vm, host) in assignment.host_of.iter().enumerate() {
        if let Some(host) = host {
            state.apply(vm, *host, true);
        }
    }
    let migrations = (0..inventory.vms.len())
        .map(|vm| match (facts.current[vm], state.host_of[vm]) {
            (Some(today), Some(now)) => u32::from(today != now),
            _ => 0,
        })
        .sum();
    let caps = caps.map_or_else(
        || {
            inventory
                .hosts
                .iter()
                .map(|h| (h.vcpu_limit, u128::from(h.memory_limit.0)))
                .collect()
        },
        <[(u64, u128)]>::to_vec,
    );
    let mut search = Search {
        soft_budget: state.soft.broken,
        migrations,
        migration_budget: migrations,
        caps,
        state,
    };
    match goal {
        Goal::Peak => lower_peak(&mut search, deadline),
        Goal::Spread => lower_spread(&mut search, deadline),
    }
    Assignment {
        host_of: search.state.host_of,
        admitted: assignment.admitted.clone(),
    }
}

/// While some VM on a host at the peak can move to a host that stays below it, move it.
fn lower_peak(search: &mut Search, deadline: Instant) {
    let inventory = search.state.inventory;
    let hosts = inventory.hosts.len();
    let mut on_host: Vec<Vec<usize>> = vec![Vec::new(); hosts];
    for (vm, host) in search.state.host_of.iter().enumerate() {
        if let Some(host) = host {
            on_host[*host].push(vm);
        }
    }
    loop {
        if Instant::now() >= deadline {
            return;
        }
        let peak = (0..hosts)
            .map(|h| search.state.utilisation(h))
            .fold(0.0, f64::max);
        let mut moved = false;
        let hot: Vec<usize> = (0..hosts)
            .filter(|h| search.state.utilisation(*h) >= peak - 1e-12)
            .collect();
        for source in hot {
            let mut candidates = on_host[source].clone();
            candidates.sort_by_key(|vm| {
                let group = inventory.group_of(*vm);
                (
                    std::cmp::Reverse(group.vcpus),
                    std::cmp::Reverse(group.memory.0),
                )
            });
            for vm in candidates {
                search.lift(vm, source);
                let mut targets: Vec<(f64, usize)> = (0..hosts)
                    .filter(|h| *h != source)
                    .map(|h| (search.state.utilisation_with(vm, h), h))
                    .filter(|(after, _)| *after < peak - 1e-12)
                    .collect();
                targets.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                let target = targets
                    .into_iter()
                    .map(|(_, h)| h)
                    .find(|h| search.try_place(vm, *h));
                match target {
                    Some(target) => {
                        on_host[source].retain(|v| *v != vm);
                        on_host[target].push(vm);
                        moved = true;
                        break;
                    }
                    None => search.put_back(vm, source),
                }
            }
            if moved {
                break;
            }
        }
        if !moved {
            return;
        }
    }
}

/// While some pool has a VM on a host at its largest count that can move to a host with at
/// least two fewer of the pool, move it (the counts only even out, so this ends).
fn lower_spread(search: &mut Search, deadline: Instant) {
    let inventory = search.state.inventory;
    let hosts = inventory.hosts.len();
    let pools: Vec<usize> = (0..inventory.groups.len())
        .filter(|g| matches!(inventory.groups[*g].kind, GroupKind::NodePool { .. }))
        .collect();
    loop {
        let mut moved = false;
        for pool in &pools {
            if Instant::now() >= deadline {
                return;
            }
            let count = |search: &Search, host: usize| {
                search
                    .state
                    .group_on_host
                    .get(&(*pool, host))
                    .copied()
                    .unwrap_or(0)
            };
            let most = (0..hosts).map(|h| count(search, h)).max().unwrap_or(0);
            if most < 2 {
                continue;
            }
            let fullest: Vec<usize> = (0..hosts).filter(|h| count(search, *h) == most).collect();
            for source in fullest {
                let Some(vm) = inventory.groups[*pool]
                    .vms
                    .iter()
                    .copied()
                    .filter(|vm| search.state.host_of[*vm] == Some(source))
                    // A VM away from its host of today first (moving it costs nothing).
                    .min_by_key(|vm| u8::from(search.state.facts.current[*vm] == Some(source)))
                else {
                    continue;
                };
                search.lift(vm, source);
                let mut targets: Vec<(u32, usize)> = (0..hosts)
                    .map(|h| (count(search, h), h))
                    .filter(|(n, h)| *h != source && *n + 2 <= most)
                    .collect();
                targets.sort_unstable();
                let target = targets
                    .into_iter()
                    .map(|(_, h)| h)
                    .find(|h| search.try_place(vm, *h));
                match target {
                    Some(_) => moved = true,
                    None => search.put_back(vm, source),
                }
            }
        }
        if !moved {
            return;
        }
    }
}
