//! Simulated annealing for `consolidate`: single VMs move to another host and pairs of VMs on
//! two hosts swap, each only where the local search's fit test allows (every hard rule, no
//! more soft rules broken nor migrations than the plan has). The energy is the cost of the
//! hosts used minus a reward for full hosts (the sum of their squared fills, weighed by the
//! mean host cost): moves that empty a host lower the cost, the reward leads there. Moves
//! that raise the energy are taken with probability `exp(-rise / temperature)`, the
//! temperature falling geometrically with the time left. The plan returned is the cheapest
//! met, verified by the caller.

use super::polish::Search;
use super::{Draw, Facts};
use crate::check::verify::Assignment;
use std::time::Instant;
use vksplan_model::{HostId, Inventory};

/// Weight of the fill reward against the hosts' costs.
const FILL_WEIGHT: f64 = 8.0;
/// Start and end temperatures, as shares of the mean host cost.
const HOT: f64 = 1.0;
const COLD: f64 = 0.005;
/// Moves between looks at the clock.
const CLOCK_EVERY: u64 = 512;

/// The annealing's view of the hosts: costs and fills.
struct Energy {
    cost: Vec<f64>,
    reward: f64,
}

impl Energy {
    /// A host's cost if it holds a VM.
    fn used(&self, search: &Search, host: usize) -> f64 {
        if search.state.vms_on[host] > 0 {
            self.cost[host]
        } else {
            0.0
        }
    }

    /// Two hosts' energies and costs: each host's cost when used, less the reward for its
    /// fill.
    fn of_pair(&self, search: &Search, a: usize, b: usize) -> (f64, f64) {
        let state = &search.state;
        let fill = |h: usize| state.share[h] / state.facts.host_capacity[h].max(1e-12);
        let used = self.used(search, a) + self.used(search, b);
        let reward = self.reward * (fill(a).powi(2) + fill(b).powi(2));
        (used - reward, used)
    }
}

/// The cheapest plan met while annealing from `assignment` until `deadline`, starting at
/// `heat` times the usual temperature, with the draws of `seed`.
pub fn anneal(
    inventory: &Inventory,
    facts: &Facts,
    assignment: &Assignment,
    deadline: Instant,
    heat: f64,
    seed: u64,
) -> Assignment {
    let mut search = Search::new(inventory, facts, assignment, None);
    let placed: Vec<usize> = (0..inventory.vms.len())
        .filter(|vm| search.state.host_of[*vm].is_some())
        .collect();
    let hosts: Vec<usize> = (0..inventory.hosts.len())
        .filter(|h| !inventory.hosts[HostId::new(*h)].maintenance)
        .collect();
    if placed.len() < 2 || hosts.len() < 2 {
        return assignment.clone();
    }
    let cost: Vec<f64> = inventory.hosts.iter().map(|h| h.cost).collect();
    let mean = hosts.iter().map(|h| cost[*h]).sum::<f64>() / hosts.len() as f64;
    let energy = Energy {
        cost,
        reward: FILL_WEIGHT * mean,
    };
    let mut spent: f64 = (0..inventory.hosts.len())
        .map(|h| energy.used(&search, h))
        .sum();
    let mut best = (spent, search.state.host_of.clone());
    let began = Instant::now();
    let span = deadline.saturating_duration_since(began).as_secs_f64();
    let mut draw = Draw::new(seed);
    let (hot, cold) = (HOT * heat * mean, COLD * mean);
    let mut temperature = hot;
    let mut moves = 0u64;
    loop {
        moves += 1;
        if moves % CLOCK_EVERY == 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let progress = ((now - began).as_secs_f64() / span.max(1e-9)).min(1.0);
            temperature = hot * (cold / hot).powf(progress);
        }
        let vm = placed[draw.below(placed.len())];
        let other = placed[draw.below(placed.len())];
        // The target: one time in five any host, else another VM's host (with which half the
        // moves swap).
        let (Some(from), Some(to)) = (
            search.state.host_of[vm],
            if draw.below(5) == 0 {
                Some(hosts[draw.below(hosts.len())])
            } else {
                search.state.host_of[other]
            },
        ) else {
            continue;
        };
        if to == from {
            continue;
        }
        let swap = (draw.below(2) == 0 && search.state.host_of[other] == Some(to)).then_some(other);
        let (before, used_before) = energy.of_pair(&search, from, to);
        if !apply(&mut search, vm, from, to, swap) {
            continue;
        }
        let (after, used_after) = energy.of_pair(&search, from, to);
        let rise = after - before;
        if rise > 0.0 && draw.unit() >= (-rise / temperature).exp() {
            undo(&mut search, vm, from, to, swap);
            continue;
        }
        spent += used_after - used_before;
        if spent < best.0 - 1e-9 {
            best = (spent, search.state.host_of.clone());
        }
    }
    if crate::placement::tracing() {
        eprintln!("vksplan: annealed {moves} moves, cheapest {}", best.0);
    }
    Assignment {
        host_of: best.1.iter().map(|h| h.map(HostId::new)).collect(),
        admitted: assignment.admitted.clone(),
    }
}

/// Moves `vm` from `from` to `to` and, for a swap, `other` from `to` to `from`; false (and
/// nothing changed) when a VM does not fit.
fn apply(search: &mut Search, vm: usize, from: usize, to: usize, other: Option<usize>) -> bool {
    search.lift(vm, from);
    if let Some(other) = other {
        search.lift(other, to);
    }
    if search.try_place(vm, to) {
        match other {
            None => return true,
            Some(other) if search.try_place(other, from) => return true,
            Some(_) => search.lift(vm, to),
        }
    }
    search.put_back(vm, from);
    if let Some(other) = other {
        search.put_back(other, to);
    }
    false
}

/// Takes back [`apply`].
fn undo(search: &mut Search, vm: usize, from: usize, to: usize, other: Option<usize>) {
    search.lift(vm, to);
    if let Some(other) = other {
        search.lift(other, from);
    }
    search.put_back(vm, from);
    if let Some(other) = other {
        search.put_back(other, to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::verify::verify;
    use crate::placement::greedy::polish::tests::{kept_apart, spread_out, swapped};
    use std::time::Duration;
    use vksplan_model::{IdVec, VmId};

    /// Each VM on a host of its own.
    fn one_per_host(inventory: &Inventory) -> Assignment {
        Assignment {
            host_of: IdVec::from_vec(vec![Some(HostId::new(0)), Some(HostId::new(1))]),
            admitted: IdVec::from_elem(true, inventory.admission_units.len()),
        }
    }

    fn annealed(inventory: &Inventory, before: &Assignment) -> Assignment {
        let facts = Facts::new(inventory);
        let deadline = Instant::now() + Duration::from_millis(200);
        let after = anneal(inventory, &facts, before, deadline, 1.0, 7);
        let report = verify(inventory, &after);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        after
    }

    #[test]
    fn annealing_moves_everything_onto_the_cheapest_host() {
        let inventory = spread_out();
        let before = one_per_host(&inventory);
        assert_eq!(verify(&inventory, &before).cost, 10.0);
        let after = annealed(&inventory, &before);
        assert_eq!(verify(&inventory, &after).cost, 1.0);
    }

    #[test]
    fn annealing_keeps_hard_rules() {
        let inventory = kept_apart();
        let after = annealed(&inventory, &one_per_host(&inventory));
        assert_ne!(after.host_of[VmId::new(0)], after.host_of[VmId::new(1)]);
        assert_eq!(verify(&inventory, &after).cost, 6.0);
    }

    #[test]
    fn annealing_adds_no_migration() {
        // Both VMs run where they ran today, each filling its host: nothing may move.
        let (inventory, swapped) = swapped();
        let home = Assignment {
            host_of: IdVec::from_vec(vec![
                swapped.host_of[VmId::new(1)],
                swapped.host_of[VmId::new(0)],
            ]),
            admitted: swapped.admitted.clone(),
        };
        assert_eq!(verify(&inventory, &home).migrations, 0);
        let after = annealed(&inventory, &home);
        assert_eq!(verify(&inventory, &after).migrations, 0);
    }
}
