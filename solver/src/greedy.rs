//! Greedy placements: the MIP's warm starts, its fallback when the time limit hits before HiGHS
//! finds a plan, and the incumbent that the large-neighbourhood search improves. Units go in
//! order (the Supervisor and the units without priority, then the others by priority); within
//! them, VMs that run somewhere today first (on that host when it still fits), then the most
//! constrained and the largest. Each VM goes to the allowed host a [`Strategy`] prefers: under
//! the capacities of a target utilisation level when one is given (over them only where it
//! fits nowhere else), first to the hosts with fewest VMs of its pool. A unit that does not fit
//! whole is left out. The result is only used when the verifier accepts it.

use crate::placement::{Levels, Ratio};
use crate::verify::{verify, Assignment};
use std::collections::HashMap;
use vksplan_model::inventory::GroupKind;
use vksplan_model::topology::{ObjectiveKind, RuleKind};
use vksplan_model::Inventory;

/// Which allowed host a VM goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// The one left least utilised (balance).
    Worst,
    /// The one left most utilised (packing).
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
        }
    }

    /// First or best fit over hosts ordered by cost per capacity, used hosts first: the
    /// consolidate start (first-fit / best-fit decreasing).
    pub fn consolidate(inventory: &Inventory, fit: Fit) -> Strategy {
        Strategy {
            fit,
            level: None,
            used_first: true,
            spread: false,
            host_order: cost_per_capacity_order(inventory),
        }
    }
}

/// Hosts by cost per unit of capacity (each resource as a share of the total demand), cheapest
/// first; ties by larger capacity, then index.
pub fn cost_per_capacity_order(inventory: &Inventory) -> Vec<usize> {
    let (mut vcpus, mut memory) = (0f64, 0f64);
    for vm in 0..inventory.vms.len() {
        let group = inventory.group_of(vm);
        vcpus += f64::from(group.vcpus);
        memory += group.memory.0 as f64;
    }
    let capacity = |host: usize| {
        let spec = &inventory.hosts[host];
        spec.vcpu_limit as f64 / vcpus.max(1.0) + spec.memory_limit.0 as f64 / memory.max(1.0)
    };
    let mut order: Vec<usize> = (0..inventory.hosts.len()).collect();
    order.sort_by(|a, b| {
        let per = |h: usize| inventory.hosts[h].cost / capacity(h).max(1e-12);
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

/// What the fit checks need, computed once per inventory.
struct Facts {
    /// Devices by index: names.
    device_names: Vec<String>,
    /// Per group: (device index, count).
    group_devices: Vec<Vec<(usize, u64)>>,
    /// Per host: count of each device.
    host_devices: Vec<Vec<u64>>,
    /// Per VM: the hard rules that select it.
    must_rules: Vec<Vec<usize>>,
    /// Per VM: hosts it may use at all (maintenance, zone pins, hard `vm_host` rules).
    allowed: Vec<Vec<bool>>,
    /// Per VM: its current host.
    current: Vec<Option<usize>>,
}

impl Facts {
    fn new(inventory: &Inventory) -> Facts {
        let mut device_names: Vec<String> = inventory
            .hosts
            .iter()
            .flat_map(|h| h.devices.iter().map(|(d, _)| d.clone()))
            .chain(
                inventory
                    .groups
                    .iter()
                    .flat_map(|g| g.devices.iter().map(|(d, _)| d.clone())),
            )
            .collect();
        device_names.sort();
        device_names.dedup();
        let index = |name: &str| device_names.binary_search_by(|d| d.as_str().cmp(name)).ok();
        let group_devices = inventory
            .groups
            .iter()
            .map(|g| {
                g.devices
                    .iter()
                    .filter_map(|(d, n)| Some((index(d)?, u64::from(*n))))
                    .collect()
            })
            .collect();
        let host_devices = inventory
            .hosts
            .iter()
            .map(|h| {
                let mut counts = vec![0u64; device_names.len()];
                for (d, n) in &h.devices {
                    if let Some(i) = index(d) {
                        counts[i] = u64::from(*n);
                    }
                }
                counts
            })
            .collect();
        let mut must_rules = vec![Vec::new(); inventory.vms.len()];
        for (r, rule) in inventory.rules.iter().enumerate() {
            if rule.must {
                for vm in &rule.vms {
                    must_rules[*vm].push(r);
                }
            }
        }
        let allowed = (0..inventory.vms.len())
            .map(|vm| {
                let group = inventory.group_of(vm);
                (0..inventory.hosts.len())
                    .map(|host| {
                        let spec = &inventory.hosts[host];
                        let pinned_elsewhere = matches!(group.kind, GroupKind::NodePool { zone: Some(zone), .. } if spec.zone != Some(zone));
                        !spec.maintenance
                            && !pinned_elsewhere
                            && must_rules[vm].iter().all(|r| {
                                let rule = &inventory.rules[*r];
                                rule.kind != RuleKind::VmHost
                                    || rule.hosts.binary_search(&host).is_ok() == rule.run_on
                            })
                    })
                    .collect()
            })
            .collect();
        let mut current = vec![None; inventory.vms.len()];
        for (vm, host) in &inventory.placement {
            current[*vm] = Some(*host);
        }
        Facts {
            device_names,
            group_devices,
            host_devices,
            must_rules,
            allowed,
            current,
        }
    }
}

/// Loads as VMs are placed and removed.
struct State<'a> {
    inventory: &'a Inventory,
    facts: &'a Facts,
    host_of: Vec<Option<usize>>,
    vcpus: Vec<u64>,
    memory: Vec<u128>,
    reserved_vcpus: Vec<u64>,
    reserved_memory: Vec<u128>,
    devices: Vec<Vec<u64>>,
    vms_on: Vec<u32>,
    namespace_vcpus: Vec<u64>,
    namespace_memory: Vec<u128>,
    zone_vcpus: Vec<Vec<u64>>,
    zone_memory: Vec<Vec<u128>>,
    /// (group, host) -> VMs of the group on the host.
    group_on_host: HashMap<(usize, usize), u32>,
    /// (group, zone) -> VMs of an anti-affine group in the zone.
    group_in_zone: HashMap<(usize, usize), u32>,
    /// (rule, host) -> VMs of a hard rule on the host.
    rule_on_host: HashMap<(usize, usize), u32>,
    /// Per hard rule: VMs placed.
    rule_placed: Vec<u32>,
}

impl<'a> State<'a> {
    fn new(inventory: &'a Inventory, facts: &'a Facts) -> State<'a> {
        let hosts = inventory.hosts.len();
        let zones = inventory.zones.len();
        let namespaces = inventory.namespaces.len();
        State {
            inventory,
            facts,
            host_of: vec![None; inventory.vms.len()],
            vcpus: vec![0; hosts],
            memory: vec![0; hosts],
            reserved_vcpus: vec![0; hosts],
            reserved_memory: vec![0; hosts],
            devices: vec![vec![0; facts.device_names.len()]; hosts],
            vms_on: vec![0; hosts],
            namespace_vcpus: vec![0; namespaces],
            namespace_memory: vec![0; namespaces],
            zone_vcpus: vec![vec![0; zones]; namespaces],
            zone_memory: vec![vec![0; zones]; namespaces],
            group_on_host: HashMap::new(),
            group_in_zone: HashMap::new(),
            rule_on_host: HashMap::new(),
            rule_placed: vec![0; inventory.rules.len()],
        }
    }

    /// Whether `vm` can go on `host`, within `caps` (vCPUs, memory) when given.
    fn fits(&self, vm: usize, host: usize, caps: Option<(u64, u128)>) -> bool {
        let inventory = self.inventory;
        if !self.facts.allowed[vm][host] {
            return false;
        }
        let spec = &inventory.hosts[host];
        let group_index = inventory.vms[vm].group;
        let group = &inventory.groups[group_index];
        let vcpus = self.vcpus[host] + u64::from(group.vcpus);
        let memory = self.memory[host] + u128::from(group.memory.0);
        let (vcpu_cap, memory_cap) =
            caps.unwrap_or((spec.vcpu_limit, u128::from(spec.memory_limit.0)));
        if vcpus > vcpu_cap.min(spec.vcpu_limit)
            || memory > memory_cap.min(u128::from(spec.memory_limit.0))
        {
            return false;
        }
        if group.reserved
            && (self.reserved_vcpus[host] + u64::from(group.vcpus) > u64::from(spec.cpu_cores)
                || self.reserved_memory[host] + u128::from(group.memory.0)
                    > u128::from(spec.memory.0))
        {
            return false;
        }
        for (device, count) in &self.facts.group_devices[group_index] {
            if self.devices[host][*device] + count > self.facts.host_devices[host][*device] {
                return false;
            }
        }
        if group.anti_affine() {
            if self
                .group_on_host
                .get(&(group_index, host))
                .is_some_and(|n| *n > 0)
            {
                return false;
            }
            if let (true, Some(zone)) = (inventory.three_zone, spec.zone) {
                if self
                    .group_in_zone
                    .get(&(group_index, zone))
                    .is_some_and(|n| *n > 0)
                {
                    return false;
                }
            }
        }
        for rule_index in &self.facts.must_rules[vm] {
            let rule = &inventory.rules[*rule_index];
            let here = self
                .rule_on_host
                .get(&(*rule_index, host))
                .copied()
                .unwrap_or(0);
            let ok = match rule.kind {
                RuleKind::Separate => here == 0,
                RuleKind::Together => self.rule_placed[*rule_index] == here,
                RuleKind::VmHost => true,
            };
            if !ok {
                return false;
            }
        }
        if let Some(namespace_index) = group.namespace {
            let namespace = &inventory.namespaces[namespace_index];
            let mhz = inventory.policy.vcpu_mhz;
            let vcpus = self.namespace_vcpus[namespace_index] + u64::from(group.vcpus);
            let memory = self.namespace_memory[namespace_index] + u128::from(group.memory.0);
            if namespace
                .cpu_mhz_limit
                .is_some_and(|limit| vcpus * mhz > limit)
                || namespace
                    .memory_limit
                    .is_some_and(|limit| memory > u128::from(limit.0))
            {
                return false;
            }
            if let (true, Some(zone)) = (inventory.three_zone, spec.zone) {
                let zone_vcpus = self.zone_vcpus[namespace_index][zone] + u64::from(group.vcpus);
                let zone_memory =
                    self.zone_memory[namespace_index][zone] + u128::from(group.memory.0);
                if namespace
                    .cpu_mhz_limit
                    .is_some_and(|limit| 3 * zone_vcpus * mhz > limit)
                    || namespace
                        .memory_limit
                        .is_some_and(|limit| 3 * zone_memory > u128::from(limit.0))
                {
                    return false;
                }
            }
        }
        true
    }

    fn apply(&mut self, vm: usize, host: usize, add: bool) {
        let inventory = self.inventory;
        let group_index = inventory.vms[vm].group;
        let group = &inventory.groups[group_index];
        fn step<T: std::ops::AddAssign + std::ops::SubAssign>(value: &mut T, amount: T, add: bool) {
            if add {
                *value += amount;
            } else {
                *value -= amount;
            }
        }
        step(&mut self.vcpus[host], u64::from(group.vcpus), add);
        step(&mut self.memory[host], u128::from(group.memory.0), add);
        step(&mut self.vms_on[host], 1, add);
        if group.reserved {
            step(&mut self.reserved_vcpus[host], u64::from(group.vcpus), add);
            step(
                &mut self.reserved_memory[host],
                u128::from(group.memory.0),
                add,
            );
        }
        for (device, count) in &self.facts.group_devices[group_index] {
            step(&mut self.devices[host][*device], *count, add);
        }
        let zone = self.inventory.hosts[host].zone;
        if let Some(namespace) = group.namespace {
            step(
                &mut self.namespace_vcpus[namespace],
                u64::from(group.vcpus),
                add,
            );
            step(
                &mut self.namespace_memory[namespace],
                u128::from(group.memory.0),
                add,
            );
            if let Some(zone) = zone {
                step(
                    &mut self.zone_vcpus[namespace][zone],
                    u64::from(group.vcpus),
                    add,
                );
                step(
                    &mut self.zone_memory[namespace][zone],
                    u128::from(group.memory.0),
                    add,
                );
            }
        }
        step(
            self.group_on_host.entry((group_index, host)).or_insert(0),
            1,
            add,
        );
        if let (true, Some(zone)) = (group.anti_affine(), zone) {
            step(
                self.group_in_zone.entry((group_index, zone)).or_insert(0),
                1,
                add,
            );
        }
        for rule in &self.facts.must_rules[vm] {
            step(self.rule_on_host.entry((*rule, host)).or_insert(0), 1, add);
            step(&mut self.rule_placed[*rule], 1, add);
        }
        self.host_of[vm] = add.then_some(host);
    }

    /// Utilisation of `host` with `vm` added.
    fn utilisation_with(&self, vm: usize, host: usize) -> f64 {
        let group = self.inventory.group_of(vm);
        let spec = &self.inventory.hosts[host];
        let cpu =
            (self.vcpus[host] + u64::from(group.vcpus)) as f64 / spec.vcpu_limit.max(1) as f64;
        let memory = (self.memory[host] + u128::from(group.memory.0)) as f64
            / spec.memory_limit.0.max(1) as f64;
        cpu.max(memory)
    }

    fn utilisation(&self, host: usize) -> f64 {
        let spec = &self.inventory.hosts[host];
        let cpu = self.vcpus[host] as f64 / spec.vcpu_limit.max(1) as f64;
        let memory = self.memory[host] as f64 / spec.memory_limit.0.max(1) as f64;
        cpu.max(memory)
    }
}

/// Places what fits; `None` when a unit that must be admitted does not fit or the result
/// fails the verifier.
pub fn greedy(inventory: &Inventory, strategy: &Strategy) -> Option<Assignment> {
    let facts = Facts::new(inventory);
    greedy_with(inventory, &facts, strategy)
}

/// Greedy plans of several strategies: for balance, worst fit without a level and at the
/// lowest level where everything fits under the level's capacities (a bisection over candidate
/// levels from `lower` up, while `deadline` allows); for consolidate, first-fit and best-fit
/// decreasing over hosts ordered by cost per capacity. Every plan returned is verified.
pub fn starts(
    inventory: &Inventory,
    levels: Option<&Levels>,
    lower: Option<Ratio>,
    deadline: std::time::Instant,
) -> Vec<Assignment> {
    let facts = Facts::new(inventory);
    let mut found = Vec::new();
    match (inventory.policy.objective, levels) {
        (ObjectiveKind::Balance, Some(levels)) => {
            found.extend(greedy_with(
                inventory,
                &facts,
                &Strategy::balance(inventory, None),
            ));
            let mut low = lower.unwrap_or(Ratio::ZERO);
            let mut high = Ratio::new(1, 1);
            while low < high && std::time::Instant::now() < deadline {
                let mut level = levels.at_most((low.to_f64() + high.to_f64()) / 2.0);
                if level < low {
                    level = low;
                }
                let strategy = Strategy::balance(inventory, Some(level));
                let clean = match greedy_with(inventory, &facts, &strategy) {
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
        }
        _ => {
            for fit in [Fit::First, Fit::Best] {
                found.extend(greedy_with(
                    inventory,
                    &facts,
                    &Strategy::consolidate(inventory, fit),
                ));
            }
        }
    }
    found
}

/// Whether every host of `assignment` is within `level`'s capacities.
fn within(inventory: &Inventory, assignment: &Assignment, level: Ratio) -> bool {
    let hosts = inventory.hosts.len();
    let (mut vcpus, mut memory) = (vec![0u64; hosts], vec![0u128; hosts]);
    for (vm, host) in assignment.host_of.iter().enumerate() {
        if let Some(host) = host {
            vcpus[*host] += u64::from(inventory.group_of(vm).vcpus);
            memory[*host] += u128::from(inventory.group_of(vm).memory.0);
        }
    }
    (0..hosts).all(|h| {
        let spec = &inventory.hosts[h];
        u128::from(vcpus[h]) <= level.floor_times(u128::from(spec.vcpu_limit))
            && memory[h] <= level.floor_times(u128::from(spec.memory_limit.0))
    })
}

fn greedy_with(inventory: &Inventory, facts: &Facts, strategy: &Strategy) -> Option<Assignment> {
    let mut state = State::new(inventory, facts);
    let position: Vec<usize> = {
        let mut position = vec![usize::MAX; inventory.hosts.len()];
        for (i, host) in strategy.host_order.iter().enumerate() {
            position[*host] = i;
        }
        position
    };
    let caps: Vec<(u64, u128)> = inventory
        .hosts
        .iter()
        .map(|spec| match strategy.level {
            Some(level) => (
                level.floor_times(u128::from(spec.vcpu_limit)) as u64,
                level.floor_times(u128::from(spec.memory_limit.0)),
            ),
            None => (spec.vcpu_limit, u128::from(spec.memory_limit.0)),
        })
        .collect();
    // Batches: everything that must be admitted (Supervisor and units without priority), then
    // each optional unit by priority.
    let mandatory: Vec<usize> = (0..inventory.admission_units.len())
        .filter(|u| inventory.admission_units[*u].priority.is_none())
        .collect();
    let mut optional: Vec<usize> = (0..inventory.admission_units.len())
        .filter(|u| inventory.admission_units[*u].priority.is_some())
        .collect();
    optional.sort_by_key(|u| {
        (
            std::cmp::Reverse(inventory.admission_units[*u].priority.unwrap_or(0)),
            *u,
        )
    });
    let mut batches: Vec<(Vec<usize>, bool)> = vec![(mandatory, true)];
    batches.extend(optional.into_iter().map(|u| (vec![u], false)));
    // Sizes as shares of the average host, to order VMs largest first.
    let (average_vcpus, average_memory) = {
        let n = inventory.hosts.len().max(1) as f64;
        let v: f64 = inventory.hosts.iter().map(|h| h.vcpu_limit as f64).sum();
        let m: f64 = inventory
            .hosts
            .iter()
            .map(|h| h.memory_limit.0 as f64)
            .sum();
        ((v / n).max(1.0), (m / n).max(1.0))
    };
    let size = |vm: usize| {
        let group = inventory.group_of(vm);
        f64::from(group.vcpus) / average_vcpus + group.memory.0 as f64 / average_memory
    };
    let restricted = |vm: usize| facts.allowed[vm].iter().filter(|a| **a).count();
    let mut admitted = vec![false; inventory.admission_units.len()];
    let mut pending_check = Vec::new();
    for (units, mandatory) in batches {
        let mut vms: Vec<usize> = units
            .iter()
            .flat_map(|unit| inventory.admission_units[*unit].groups.iter())
            .flat_map(|g| inventory.groups[*g].vms.iter().copied())
            .collect();
        if mandatory {
            vms.extend(
                inventory
                    .groups
                    .iter()
                    .filter(|g| g.kind == GroupKind::SupervisorControlPlane)
                    .flat_map(|g| g.vms.iter().copied()),
            );
        }
        let mut placed = Vec::new();
        // VMs that run somewhere today stay there when they can (a move is a migration).
        let mut rest = Vec::new();
        for vm in vms {
            match facts.current[vm] {
                Some(host) if state.fits(vm, host, None) => {
                    state.apply(vm, host, true);
                    placed.push(vm);
                }
                _ => rest.push(vm),
            }
        }
        rest.sort_by(|a, b| {
            let rank = |vm: usize| {
                let group = inventory.group_of(vm);
                if restricted(vm) < inventory.hosts.len() {
                    0
                } else if group.anti_affine() {
                    1
                } else {
                    2
                }
            };
            rank(*a)
                .cmp(&rank(*b))
                .then(
                    size(*b)
                        .partial_cmp(&size(*a))
                        .unwrap_or(std::cmp::Ordering::Equal),
                )
                .then(a.cmp(b))
        });
        let mut complete = true;
        for vm in rest {
            match choose(&state, strategy, &position, &caps, vm) {
                Some(host) => {
                    state.apply(vm, host, true);
                    placed.push(vm);
                }
                None => {
                    complete = false;
                    break;
                }
            }
        }
        if !complete {
            if mandatory {
                return None;
            }
            for vm in placed.into_iter().rev() {
                if let Some(host) = state.host_of[vm] {
                    state.apply(vm, host, false);
                }
            }
            continue;
        }
        for unit in &units {
            admitted[*unit] = true;
        }
        if !mandatory {
            pending_check.push((units, placed));
        }
    }
    // Unit-level limits (storage, IPs, HA admission) are the verifier's to check: when they
    // break, optional units are dropped again, last admitted first, until they hold.
    let unit_level = |state: &State, admitted: &[bool]| {
        let candidate = Assignment {
            host_of: state.host_of.clone(),
            admitted: admitted.to_vec(),
        };
        verify(inventory, &candidate).violations.iter().any(|v| {
            matches!(
                v.constraint.as_str(),
                "storage_capacity" | "storage_limit" | "ip_addresses" | "ha_admission"
            )
        })
    };
    while unit_level(&state, &admitted) {
        let Some((units, placed)) = pending_check.pop() else {
            return None;
        };
        for unit in &units {
            admitted[*unit] = false;
        }
        for vm in placed.into_iter().rev() {
            if let Some(host) = state.host_of[vm] {
                state.apply(vm, host, false);
            }
        }
    }
    if inventory.policy.objective == ObjectiveKind::Balance {
        lower_the_peak(&mut state);
    }
    let assignment = Assignment {
        host_of: state.host_of,
        admitted,
    };
    verify(inventory, &assignment)
        .violations
        .is_empty()
        .then_some(assignment)
}

/// The host `strategy` picks for `vm`: within the level's capacities if any host allows, else
/// within the hosts' limits.
fn choose(
    state: &State,
    strategy: &Strategy,
    position: &[usize],
    caps: &[(u64, u128)],
    vm: usize,
) -> Option<usize> {
    let inventory = state.inventory;
    let group_index = inventory.vms[vm].group;
    let pool = matches!(
        inventory.groups[group_index].kind,
        GroupKind::NodePool { .. }
    );
    let key = |host: usize| {
        let same_pool = if strategy.spread && pool {
            state
                .group_on_host
                .get(&(group_index, host))
                .copied()
                .unwrap_or(0)
        } else {
            0
        };
        let unused = u8::from(strategy.used_first && state.vms_on[host] == 0);
        let fit = match strategy.fit {
            Fit::Worst => state.utilisation_with(vm, host),
            Fit::Best => -state.utilisation_with(vm, host),
            Fit::First => 0.0,
        };
        (same_pool, unused, fit, position[host])
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

/// Local search for `balance`: while some VM on the most utilised host can move to a host
/// that stays below that peak, move it. VMs on their current host stay put (moving them would
/// cost a migration, an earlier step of the objective).
fn lower_the_peak(state: &mut State) {
    let inventory = state.inventory;
    let hosts = inventory.hosts.len();
    let by_utilisation = |a: &(usize, f64), b: &(usize, f64)| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    };
    let mut on_host: Vec<Vec<usize>> = vec![Vec::new(); hosts];
    for (vm, host) in state.host_of.iter().enumerate() {
        if let Some(host) = host {
            on_host[*host].push(vm);
        }
    }
    let budget = 20 * inventory.vms.len() + 100;
    for _ in 0..budget {
        let mut order: Vec<(usize, f64)> = (0..hosts).map(|h| (h, state.utilisation(h))).collect();
        order.sort_by(|a, b| by_utilisation(b, a));
        let Some(peak) = order.first().map(|o| o.1) else {
            return;
        };
        let mut moved = false;
        // Only the hosts at the peak matter; try each until one gives a VM away.
        for (source, _) in order
            .iter()
            .copied()
            .take_while(|(_, u)| *u >= peak - 1e-12)
        {
            let mut candidates = on_host[source].clone();
            candidates.retain(|vm| state.facts.current[*vm] != Some(source));
            candidates.sort_by_key(|vm| std::cmp::Reverse(inventory.group_of(*vm).vcpus));
            for vm in candidates {
                state.apply(vm, source, false);
                let mut best: Option<(usize, f64)> = None;
                for target in (0..hosts).filter(|h| *h != source) {
                    if !state.fits(vm, target, None) {
                        continue;
                    }
                    let after = (target, state.utilisation_with(vm, target));
                    if after.1 < peak - 1e-12
                        && best.is_none_or(|b| by_utilisation(&after, &b).is_lt())
                    {
                        best = Some(after);
                    }
                }
                match best {
                    Some((target, _)) => {
                        state.apply(vm, target, true);
                        on_host[source].retain(|v| *v != vm);
                        on_host[target].push(vm);
                        moved = true;
                        break;
                    }
                    None => state.apply(vm, source, true),
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
