//! Greedy placements: the MIP's warm starts, its fallback when the time limit hits before HiGHS
//! finds a plan, and the incumbent that the large-neighbourhood search improves. Units go in
//! order (the Supervisor and the units without priority, then the others by priority); within
//! them, VMs that run somewhere today first (on that host when it still fits), then the most
//! constrained and the largest. Each VM goes to the allowed host a [`Strategy`] prefers: under
//! the capacities of a target utilisation level when one is given (over them only where it
//! fits nowhere else), first to the hosts where it would not take the share of a zone its
//! namespace's VMs bound there (pinned pools, a 3-replica control plane's VM) still need, then
//! those with fewest VMs of its pool. A unit that does not fit whole is left out; when one is, the starts try every unit in one pass, and when that still
//! leaves one out or a VM that must run fits nowhere, they place afresh, the VMs allowed on
//! fewest hosts first (see [`starts`]). The result is only used when the verifier accepts it.

mod anneal;
mod polish;
mod state;

pub use anneal::anneal;
pub use polish::{polish, Goal};
pub use state::Facts;

use crate::check::verify::{verify, Assignment};
use crate::placement::{Levels, Ratio};
use state::State;
use vksplan_model::document::ObjectiveKind;
use vksplan_model::inventory::GroupKind;
use vksplan_model::IdVec;
use vksplan_model::{Constraint, Inventory};
use vksplan_model::{HostId, UnitId, VmId};

/// Which allowed host a VM goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// The one left least utilised (balance).
    Worst,
    /// The one left with the least room (packing; room over every resource, devices too).
    Best,
    /// The first in [`Strategy::host_order`].
    First,
}

/// How [`greedy`] chooses hosts.
#[derive(Debug, Clone)]
pub struct Strategy {
    /// The host choice.
    pub fit: Fit,
    /// A target peak: VMs stay within `floor(level * limit)` of every host where they can.
    pub level: Option<Ratio>,
    /// Hosts already holding a VM come first (consolidate).
    pub used_first: bool,
    /// Node-pool VMs go first to the hosts with fewest VMs of their pool (spread).
    pub spread: bool,
    /// Order in which hosts are tried and ties broken.
    pub host_order: Vec<usize>,
    /// Units with a priority go in the first pass with those that must be admitted, instead
    /// of one by one after them: a plan that admits every unit or none at all.
    pub admit_all: bool,
    /// Today's VMs get no first claim on their hosts, and the VMs allowed on fewest hosts go
    /// first: the starts' fallback when a VM that must run finds no room (see `starts`).
    pub afresh: bool,
}

impl Strategy {
    /// Worst fit in host order, spread first: the balance start.
    pub fn balance(inventory: &Inventory, level: Option<Ratio>) -> Strategy {
        Strategy {
            fit: Fit::Worst,
            level,
            used_first: false,
            spread: true,
            host_order: (0..inventory.hosts.len()).collect(),
            admit_all: false,
            afresh: false,
        }
    }

    /// First or best fit over hosts ordered by cost per capacity, used hosts first: the
    /// consolidate start (first-fit / best-fit decreasing).
    pub fn consolidate(inventory: &Inventory, facts: &Facts, fit: Fit) -> Strategy {
        Strategy {
            fit,
            level: None,
            used_first: true,
            spread: false,
            host_order: cost_per_capacity_order(inventory, facts),
            admit_all: false,
            afresh: false,
        }
    }
}

/// Hosts by cost per unit of capacity (each resource, devices too, as a share of the total
/// demand), cheapest first; ties by larger capacity, then index.
pub fn cost_per_capacity_order(inventory: &Inventory, facts: &Facts) -> Vec<usize> {
    let capacity = |host: usize| facts.host_capacity[host];
    let mut order: Vec<usize> = (0..inventory.hosts.len()).collect();
    order.sort_by(|a, b| {
        let per = |h: usize| inventory.hosts[HostId::new(h)].cost / capacity(h).max(1e-12);
        per(*a)
            .partial_cmp(&per(*b))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(
                capacity(*b)
                    .partial_cmp(&capacity(*a))
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .then(a.cmp(b))
    });
    order
}

/// Places what fits; `None` when a unit that must be admitted does not fit or the result
/// fails the verifier.
pub fn greedy(
    inventory: &Inventory,
    strategy: &Strategy,
    deadline: std::time::Instant,
) -> Option<Assignment> {
    let facts = Facts::new(inventory);
    greedy_with(inventory, &facts, strategy, deadline)
}

/// Greedy plans of several strategies: for balance, worst fit without a level and at the
/// lowest level where everything fits under the level's capacities (a bisection over candidate
/// levels from `lower` up, while `deadline` allows); for consolidate, first-fit and best-fit
/// decreasing over hosts ordered by cost per capacity. Every plan returned is verified.
///
/// When the first strategy leaves a unit with a priority out, it is tried again with every
/// unit in one pass ([`Strategy::admit_all`]): a unit placed after all the others can find no
/// room that placing it among them leaves (h288-zones: a 16-VM cluster whose control planes
/// need a host in each zone). If every unit fits so, the other strategies admit every unit
/// too (no plan admits more).
///
/// When the first strategy still leaves a unit out or finds no plan at all (a VM that must
/// run fits nowhere), it runs [`Strategy::afresh`] too, and if that admits more (by priority,
/// then count), so do the other strategies: today's VMs keeping their hosts can use up what a
/// pinned VM needs (a namespace's share of a zone, with a 3-zone Supervisor, taken by VMs
/// that could run in another zone).
pub fn starts(
    inventory: &Inventory,
    facts: &Facts,
    levels: Option<&Levels>,
    lower: Option<Ratio>,
    deadline: std::time::Instant,
) -> Vec<Assignment> {
    let mut found = Vec::new();
    let first = match (inventory.policy.objective, levels) {
        (ObjectiveKind::Balance, Some(_)) => Strategy::balance(inventory, None),
        _ => Strategy::consolidate(inventory, facts, Fit::First),
    };
    let left_out = |plan: &Option<Assignment>| {
        facts.admission.is_none()
            && plan
                .as_ref()
                .is_none_or(|plan| plan.admitted.iter().any(|admitted| !admitted))
    };
    // The first strategy's plans, as is and (when it leaves a unit out) with every unit in one
    // pass, and whether the latter admits every unit.
    let first_plans = |afresh: bool| {
        let plain = greedy_with(
            inventory,
            facts,
            &Strategy {
                afresh,
                ..first.clone()
            },
            deadline,
        );
        let every = left_out(&plain)
            .then(|| {
                let all = Strategy {
                    admit_all: true,
                    afresh,
                    ..first.clone()
                };
                greedy_with(inventory, facts, &all, deadline)
            })
            .flatten();
        (plain, every)
    };
    let (mut plain, mut every) = first_plans(false);
    // Units left out (or no plan at all, admission fixed or not): placing afresh may admit more.
    let afresh = (plain.is_none() || left_out(&plain)) && every.is_none() && {
        let (fresh_plain, fresh_every) = first_plans(true);
        let worth = |plans: [&Option<Assignment>; 2]| {
            (plans.into_iter().flatten())
                .map(|plan| admitted_worth(inventory, plan))
                .max()
        };
        let better = worth([&fresh_plain, &fresh_every]) > worth([&plain, &every]);
        if better {
            (plain, every) = (fresh_plain, fresh_every);
        }
        better
    };
    let admit_all = every.is_some();
    found.extend(every);
    found.extend(plain);
    let run = |strategy: Strategy| {
        greedy_with(
            inventory,
            facts,
            &Strategy {
                admit_all,
                afresh,
                ..strategy
            },
            deadline,
        )
    };
    match (inventory.policy.objective, levels) {
        (ObjectiveKind::Balance, Some(levels)) => {
            let span = (lower.unwrap_or(Ratio::ZERO), Ratio::new(1, 1));
            found.extend(level_starts(inventory, levels, span, deadline, &run));
        }
        _ => found.extend(run(Strategy::consolidate(inventory, facts, Fit::Best))),
    }
    found
}

/// Worst-fit starts at the lowest level where every VM fits under the level's capacities: a
/// bisection over the candidate levels from `low` to `high` while `deadline` allows, `run`
/// placing at a level. Every plan found is returned.
fn level_starts(
    inventory: &Inventory,
    levels: &Levels,
    (mut low, mut high): (Ratio, Ratio),
    deadline: std::time::Instant,
    run: &dyn Fn(Strategy) -> Option<Assignment>,
) -> Vec<Assignment> {
    let mut found = Vec::new();
    while low < high && std::time::Instant::now() < deadline {
        let mut level = levels.at_most((low.to_f64() + high.to_f64()) / 2.0);
        if level < low {
            level = low;
        }
        let clean = match run(Strategy::balance(inventory, Some(level))) {
            Some(assignment) => {
                let clean = within(inventory, &assignment, level);
                found.push(assignment);
                clean
            }
            None => false,
        };
        if clean {
            high = level;
        } else {
            match levels.next_above(level) {
                Some(next) => low = next,
                None => break,
            }
        }
    }
    found
}

/// What step 1 and step 2 count of `plan`: the priorities of the units it admits, and how many.
fn admitted_worth(inventory: &Inventory, plan: &Assignment) -> (u64, usize) {
    let admitted = (inventory.admission_units.iter().zip(plan.admitted.iter()))
        .filter(|(_, admitted)| **admitted);
    admitted.fold((0, 0), |(priority, count), (unit, _)| {
        (priority + u64::from(unit.priority.unwrap_or(0)), count + 1)
    })
}

/// Whether every host of `assignment` is within `level`'s capacities.
fn within(inventory: &Inventory, assignment: &Assignment, level: Ratio) -> bool {
    let hosts = inventory.hosts.len();
    let (mut vcpus, mut memory) = (vec![0u64; hosts], vec![0u128; hosts]);
    for (vm, host) in assignment.host_of.iter().enumerate() {
        if let Some(host) = host {
            vcpus[host.index()] += u64::from(inventory.group_of(VmId::new(vm)).vcpus);
            memory[host.index()] += u128::from(inventory.group_of(VmId::new(vm)).memory.0);
        }
    }
    (0..hosts).all(|h| {
        let spec = &inventory.hosts[HostId::new(h)];
        u128::from(vcpus[h]) <= level.floor_times(u128::from(spec.vcpu_limit))
            && memory[h] <= level.floor_times(u128::from(spec.memory_limit.0))
    })
}

/// Each host's (vCPU, memory) capacity under the strategy's utilisation level (its allowed
/// limits without one).
fn level_caps(inventory: &Inventory, strategy: &Strategy) -> Vec<(u64, u128)> {
    inventory
        .hosts
        .iter()
        .map(|spec| match strategy.level {
            Some(level) => (
                level.floor_times(u128::from(spec.vcpu_limit)) as u64,
                level.floor_times(u128::from(spec.memory_limit.0)),
            ),
            None => (spec.vcpu_limit, u128::from(spec.memory_limit.0)),
        })
        .collect()
}

/// The batches of admission units the greedy places, each with whether it must run:
/// everything that must be admitted (Supervisor and units without priority) first, then each
/// optional unit by priority; with `admit_all`, every unit in that first batch. With admission
/// fixed, the admitted units must run and the others stay out.
fn batches(inventory: &Inventory, facts: &Facts, admit_all: bool) -> Vec<(Vec<usize>, bool)> {
    let fixed = |unit: usize| facts.admission.as_ref().and_then(|a| a.get(unit).copied());
    let mandatory: Vec<usize> = (0..inventory.admission_units.len())
        .filter(|u| {
            fixed(*u).unwrap_or(
                inventory.admission_units[UnitId::new(*u)]
                    .priority
                    .is_none(),
            )
        })
        .collect();
    let mut optional: Vec<usize> = (0..inventory.admission_units.len())
        .filter(|u| {
            inventory.admission_units[UnitId::new(*u)]
                .priority
                .is_some()
                && fixed(*u).is_none()
        })
        .collect();
    optional.sort_by_key(|u| {
        (
            std::cmp::Reverse(
                inventory.admission_units[UnitId::new(*u)]
                    .priority
                    .unwrap_or(0),
            ),
            *u,
        )
    });
    if admit_all {
        return vec![(mandatory.into_iter().chain(optional).collect(), true)];
    }
    let mut batches: Vec<(Vec<usize>, bool)> = vec![(mandatory, true)];
    batches.extend(optional.into_iter().map(|u| (vec![u], false)));
    batches
}

fn greedy_with(
    inventory: &Inventory,
    facts: &Facts,
    strategy: &Strategy,
    deadline: std::time::Instant,
) -> Option<Assignment> {
    let mut state = State::new(inventory, facts);
    let position: Vec<usize> = {
        let mut position = vec![usize::MAX; inventory.hosts.len()];
        for (i, host) in strategy.host_order.iter().enumerate() {
            position[*host] = i;
        }
        position
    };
    let caps = level_caps(inventory, strategy);
    let batches = batches(inventory, facts, strategy.admit_all);
    // Per VM, how many hosts it may use.
    let allowed_hosts: Vec<usize> = (facts.allowed.iter())
        .map(|hosts| hosts.iter().filter(|a| **a).count())
        .collect();
    let mut admitted = vec![false; inventory.admission_units.len()];
    let mut pending_check = Vec::new();
    for (units, mandatory) in batches {
        let mut placed = Vec::new();
        // VMs that run somewhere today stay there when they can (a move is a migration); afresh,
        // each does so in its turn.
        let mut rest = Vec::new();
        for vm in batch_vms(inventory, &units, mandatory) {
            match (!strategy.afresh).then(|| home(&mut state, vm)).flatten() {
                Some(host) => {
                    state.apply(vm, host, true);
                    placed.push(vm);
                }
                None => rest.push(vm),
            }
        }
        order(inventory, facts, strategy, &allowed_hosts, &mut rest);
        let mut complete = true;
        for vm in rest {
            let stays = strategy.afresh.then(|| home(&mut state, vm)).flatten();
            match stays.or_else(|| choose(&mut state, strategy, &position, &caps, vm)) {
                Some(host) => {
                    state.apply(vm, host, true);
                    placed.push(vm);
                }
                None => {
                    if mandatory && crate::placement::tracing() {
                        eprintln!(
                            "vksplan: greedy ({:?}, level {:?}, afresh {}): `{}`, which must \
                             run, fits nowhere",
                            strategy.fit,
                            strategy.level.map(Ratio::to_f64),
                            strategy.afresh,
                            inventory.vms[VmId::new(vm)].name
                        );
                    }
                    complete = false;
                    break;
                }
            }
        }
        if !complete {
            if mandatory {
                return None;
            }
            unplace(&mut state, placed);
            continue;
        }
        for unit in &units {
            admitted[*unit] = true;
        }
        if !mandatory {
            pending_check.push((units, placed));
        }
    }
    drop_for_unit_limits(inventory, &mut state, &mut admitted, pending_check)?;
    let mut assignment = state.assignment(IdVec::from_vec(admitted));
    let goal = match inventory.policy.objective {
        ObjectiveKind::Balance => Goal::Peak,
        ObjectiveKind::Consolidate => Goal::Cost,
    };
    assignment = polish(inventory, facts, &assignment, goal, None, deadline);
    verify(inventory, &assignment)
        .violations
        .is_empty()
        .then_some(assignment)
}

/// The VMs of a batch of `units`, with the Supervisor's when the batch is the `mandatory` one.
fn batch_vms(inventory: &Inventory, units: &[usize], mandatory: bool) -> Vec<usize> {
    let mut vms: Vec<usize> = units
        .iter()
        .flat_map(|unit| inventory.admission_units[UnitId::new(*unit)].groups.iter())
        .flat_map(|g| inventory.groups[*g].vms.iter().map(|vm| vm.index()))
        .collect();
    if mandatory {
        vms.extend(
            inventory
                .groups
                .iter()
                .filter(|g| g.kind == GroupKind::SupervisorControlPlane)
                .flat_map(|g| g.vms.iter().map(|vm| vm.index())),
        );
    }
    vms
}

/// Orders `vms` for placing: those allowed on fewer than every host, then anti-affine ones,
/// then the rest; afresh, fewest allowed hosts (`allowed_hosts`, per VM) first within each;
/// then the largest (as shares of the total demand).
fn order(
    inventory: &Inventory,
    facts: &Facts,
    strategy: &Strategy,
    allowed_hosts: &[usize],
    vms: &mut [usize],
) {
    let size = |vm: usize| facts.group_size[(inventory.vms[VmId::new(vm)].group).index()];
    let rank = |vm: usize| {
        let group = inventory.group_of(VmId::new(vm));
        if allowed_hosts[vm] < inventory.hosts.len() {
            0
        } else if group.anti_affine() {
            1
        } else {
            2
        }
    };
    let fewest_hosts = |vm: usize| {
        if strategy.afresh {
            allowed_hosts[vm]
        } else {
            0
        }
    };
    vms.sort_by(|a, b| {
        rank(*a)
            .cmp(&rank(*b))
            .then(fewest_hosts(*a).cmp(&fewest_hosts(*b)))
            .then(
                size(*b)
                    .partial_cmp(&size(*a))
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .then(a.cmp(b))
    });
}

/// Unit-level limits (storage, IPs, HA admission) are the verifier's to check: when they
/// break, the optional units of `pending` (units and their VMs, in the order admitted) are
/// dropped again, last admitted first, until they hold. `None` when they still break with
/// every optional unit dropped.
fn drop_for_unit_limits(
    inventory: &Inventory,
    state: &mut State,
    admitted: &mut [bool],
    mut pending: Vec<(Vec<usize>, Vec<usize>)>,
) -> Option<()> {
    let unit_level = |state: &State, admitted: &[bool]| {
        let candidate = state.assignment(IdVec::from_vec(admitted.to_vec()));
        verify(inventory, &candidate).violations.iter().any(|v| {
            matches!(
                v.constraint,
                Constraint::StorageCapacity
                    | Constraint::StorageLimit
                    | Constraint::IpAddresses
                    | Constraint::HaAdmission
            )
        })
    };
    while unit_level(state, admitted) {
        let (units, placed) = pending.pop()?;
        for unit in &units {
            admitted[*unit] = false;
        }
        unplace(state, placed);
    }
    Some(())
}

/// Takes `placed` off their hosts again, last placed first.
fn unplace(state: &mut State, placed: Vec<usize>) {
    for vm in placed.into_iter().rev() {
        if let Some(host) = state.host_of[vm] {
            state.apply(vm, host, false);
        }
    }
}

/// Where `vm` runs today, if it fits there and staying breaks no more soft rules (step 2 ranks
/// before migrations).
fn home(state: &mut State, vm: usize) -> Option<usize> {
    let host = state.facts.current[vm]?;
    let broken = state.soft.broken;
    (state.fits(vm, host, None) && !state.soft.breaks_more(vm, host, broken)).then_some(host)
}

/// The host `strategy` picks for `vm`: within the level's capacities if any host allows, else
/// within the hosts' limits.
fn choose(
    state: &mut State,
    strategy: &Strategy,
    position: &[usize],
    caps: &[(u64, u128)],
    vm: usize,
) -> Option<usize> {
    let inventory = state.inventory;
    // Hosts where the VM would break one more soft rule come last.
    let broken = state.soft.broken;
    let breaking: Vec<bool> = (0..inventory.hosts.len())
        .map(|host| state.soft.breaks_more(vm, host, broken))
        .collect();
    // Then hosts where it would take room its namespace's pinned VMs need in the zone.
    let squeezing: Vec<bool> = (0..inventory.zones.len())
        .map(|zone| state.squeezes(vm, zone))
        .collect();
    let squeezes = |host: usize| {
        inventory.hosts[HostId::new(host)]
            .zone
            .is_some_and(|zone| squeezing[zone])
    };
    let state = &*state;
    let soft_breaks = |host: usize| breaking[host];
    let group_index = inventory.vms[VmId::new(vm)].group;
    let pool = matches!(
        inventory.groups[group_index].kind,
        GroupKind::NodePool { .. }
    );
    let key = |host: usize| {
        let same_pool = if strategy.spread && pool {
            state
                .group_on_host
                .get(&(group_index.index(), host))
                .copied()
                .unwrap_or(0)
        } else {
            0
        };
        let unused = u8::from(strategy.used_first && state.vms_on[host] == 0);
        let breaks = u32::from(soft_breaks(host)) + 1_000 * u32::from(squeezes(host));
        let fit = match strategy.fit {
            Fit::Worst => state.utilisation_with(vm, host),
            Fit::Best => state.room_with(vm, host),
            Fit::First => 0.0,
        };
        (breaks * 1_000_000 + same_pool, unused, fit, position[host])
    };
    let better = |a: &(u32, u8, f64, usize), b: &(u32, u8, f64, usize)| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then(a.2.partial_cmp(&b.2).unwrap_or(std::cmp::Ordering::Equal))
            .then(a.3.cmp(&b.3))
            .is_lt()
    };
    for capped in [true, false] {
        if !capped && strategy.level.is_none() {
            break;
        }
        let mut best: Option<(usize, (u32, u8, f64, usize))> = None;
        for host in 0..inventory.hosts.len() {
            let limit = capped.then(|| caps[host]);
            if !state.fits(vm, host, limit) {
                continue;
            }
            let candidate = key(host);
            if best.as_ref().is_none_or(|(_, b)| better(&candidate, b)) {
                best = Some((host, candidate));
            }
        }
        if let Some((host, _)) = best {
            return Some(host);
        }
    }
    None
}

/// A small deterministic generator (xorshift64*): the same draws on every run.
pub(crate) struct Draw(u64);

impl Draw {
    pub(crate) fn new(seed: u64) -> Draw {
        Draw(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() >> 33) as usize % n
    }

    /// A number in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Two hosts of 16 GiB, two VMs of 8 GiB that must run and one of 16 GiB with a priority:
    /// placed one by one after the others, worst fit puts an 8 GiB VM on each host and leaves
    /// the large one no room; placed largest first among them, all three fit.
    fn fragmenting() -> Inventory {
        use crate::placement::testing::{class, host, one_namespace, vm};
        let mut large = vm("large", "m16");
        large["priority"] = serde_json::json!(10);
        one_namespace(
            serde_json::json!([host("esx-a", 8, "16Gi"), host("esx-b", 8, "16Gi")]),
            &["m8", "m16"],
            (
                "vms",
                serde_json::json!([vm("small-1", "m8"), vm("small-2", "m8"), large]),
            ),
            serde_json::json!({"vm_classes": [class("m8", 1, "8Gi"), class("m16", 1, "16Gi")]}),
        )
    }

    #[test]
    fn starts_admit_every_unit_when_one_pass_fits_them_all() {
        let inventory = fragmenting();
        let deadline = Instant::now() + Duration::from_secs(5);
        let one_by_one = greedy(&inventory, &Strategy::balance(&inventory, None), deadline);
        let Some(one_by_one) = one_by_one else {
            panic!("the VMs that must run fit");
        };
        assert!(
            one_by_one.admitted.iter().any(|admitted| !admitted),
            "the test needs a unit that one pass per unit leaves out"
        );
        let starts = verified_starts(&inventory, deadline);
        assert!(
            starts
                .iter()
                .any(|start| start.admitted.iter().all(|admitted| *admitted)),
            "no start admits every unit"
        );
    }

    /// The balance starts of `inventory`, each checked by the verifier.
    fn verified_starts(inventory: &Inventory, deadline: Instant) -> Vec<Assignment> {
        let facts = Facts::new(inventory);
        let levels = Levels::new(inventory, 1);
        let starts = starts(inventory, &facts, Some(&levels), None, deadline);
        for start in &starts {
            assert!(verify(inventory, start).violations.is_empty());
        }
        starts
    }

    /// Two hosts of 16 GiB; `roamer` (16 GiB, allowed anywhere) runs today on esx-a, where a
    /// must `vm_host` rule keeps the new `pinned` (16 GiB), which must run or (`priority`) may
    /// be left out. Kept on its host first, `roamer` leaves `pinned` no room: no plan comes
    /// out, or one without `pinned`; afresh, `pinned` goes first and `roamer` moves to esx-b.
    #[test]
    fn starts_place_afresh_when_todays_vms_leave_a_pinned_one_no_room() {
        use crate::placement::testing::{class, host, one_namespace, vm};
        for priority in [None, Some(10)] {
            let mut pinned = vm("pinned", "m16");
            if let Some(priority) = priority {
                pinned["priority"] = serde_json::json!(priority);
            }
            let inventory = one_namespace(
                serde_json::json!([host("esx-a", 8, "16Gi"), host("esx-b", 8, "16Gi")]),
                &["m16"],
                ("vms", serde_json::json!([vm("roamer", "m16"), pinned])),
                serde_json::json!({
                    "vm_classes": [class("m16", 1, "16Gi")],
                    "placement": {"apps/vm/roamer": "esx-a"},
                    "rules": [{"name": "pin", "kind": "vm_host", "must": true, "run_on": true,
                               "vms": ["apps/vm/pinned"], "hosts": ["esx-a"]}],
                }),
            );
            let deadline = Instant::now() + Duration::from_secs(5);
            let kept = greedy(&inventory, &Strategy::balance(&inventory, None), deadline);
            assert!(
                kept.is_none_or(|plan| plan.host_of[VmId::new(1)].is_none()),
                "the test needs today's VM to block the pinned one"
            );
            let starts = verified_starts(&inventory, deadline);
            assert!(
                starts
                    .iter()
                    .any(|start| start.host_of[VmId::new(1)] == Some(HostId::new(0))),
                "no start places the pinned VM ({priority:?})"
            );
        }
    }
    /// A 3-zone Supervisor with esx-a (zone-a, `cores_a` cores) and esx-b, esx-c (8 cores);
    /// namespace `apps` with a CPU limit of `cpu_mhz` (2,000 MHz a vCPU, a third per zone),
    /// `roamers` (VMs of 2 vCPUs that must run, any zone) and `cluster` (with a priority).
    fn zone_share_platform(
        cores_a: u32,
        cpu_mhz: u64,
        roamers: &[&str],
        cluster: serde_json::Value,
    ) -> Inventory {
        use crate::placement::testing::{class, host};
        let hosts = [
            ("esx-a", cores_a, "zone-a"),
            ("esx-b", 8, "zone-b"),
            ("esx-c", 8, "zone-c"),
        ]
        .map(|(name, cores, zone)| {
            let mut spec = host(name, cores, "64Gi");
            spec["zone"] = serde_json::json!(zone);
            spec
        });
        let roamers: Vec<_> = roamers
            .iter()
            .map(|name| serde_json::json!({"name": name, "vm_class": "m", "disk": "10Gi"}))
            .collect();
        let document = serde_json::json!({
            "version": 1,
            "policy": {"cpu_overcommit": 1.0, "vcpu_mhz": 2000},
            "hosts": hosts,
            "vm_classes": [class("m", 2, "4Gi")],
            "storage_policies": [{"name": "vsan"}],
            "networks": [
                {"name": "mgmt", "kind": "management", "ips": 10},
                {"name": "net", "kind": "workload", "ips": 100},
                {"name": "lb", "kind": "load_balancer", "ips": 20}
            ],
            "supervisor": {"control_plane": {"replicas": 3, "size": "tiny"},
                           "management_network": "mgmt", "workload_network": "net",
                           "load_balancer_network": "lb",
                           "zones": ["zone-a", "zone-b", "zone-c"]},
            "namespaces": [{
                "name": "apps", "limits": {"cpu_mhz": cpu_mhz},
                "vm_classes": ["m"], "storage_policies": ["vsan"],
                "workload_network": "net", "load_balancer_network": "lb",
                "vms": roamers, "clusters": [cluster]
            }]
        });
        match vksplan_model::load_value(&document) {
            Ok(inventory) => inventory,
            Err(invalid) => panic!("the test topology is invalid: {invalid:?}"),
        }
    }

    /// Both cases go wrong when VMs that may run anywhere go first to the largest host:
    /// - a share of 2 vCPUs per zone, `roamer` and a cluster with a control plane (any zone)
    ///   and a worker pinned to zone-a: `roamer` on esx-a leaves zone-a no share for the
    ///   worker;
    /// - a share of 4 vCPUs per zone, two roamers and a cluster with a 3-replica control
    ///   plane (one in each zone): both roamers on esx-a leave no share for the control plane
    ///   zone-a must hold.
    ///
    /// Keeping each zone's share for what is bound to the zone, the roamers go elsewhere and
    /// one pass per unit admits the cluster.
    #[test]
    fn unbound_vms_leave_a_zone_the_share_its_bound_vms_need() {
        let cluster = |replicas: u32, workers: u32| {
            serde_json::json!({
                "name": "c", "kubernetes_version": "v1.31.4", "priority": 10,
                "control_plane": {"replicas": replicas, "vm_class": "m"},
                "node_pools": [{"name": "w", "replicas": workers, "vm_class": "m", "zone": "zone-a"}],
                "storage_policy": "vsan", "disk": "10Gi"
            })
        };
        let platforms = [
            zone_share_platform(16, 12_000, &["roamer"], cluster(1, 1)),
            zone_share_platform(32, 24_000, &["r1", "r2"], cluster(3, 0)),
        ];
        for inventory in &platforms {
            let deadline = Instant::now() + Duration::from_secs(5);
            let plan = greedy(inventory, &Strategy::balance(inventory, None), deadline);
            let Some(plan) = plan else {
                panic!("the VMs that must run fit");
            };
            assert!(verify(inventory, &plan).violations.is_empty());
            assert!(plan.admitted.iter().all(|admitted| *admitted), "{plan:?}");
        }
    }
}
