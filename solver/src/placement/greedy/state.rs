//! What the greedy placements and the local search track: facts about the inventory computed
//! once (allowed hosts per VM, hard rules per VM, device indices) and the loads of a partial
//! placement, with the exact fit test of docs/accounting.md's per-host and per-namespace rules.

use crate::check::verify::Assignment;
use std::collections::HashMap;
use vksplan_model::document::RuleKind;
use vksplan_model::inventory::GroupKind;
use vksplan_model::Inventory;
use vksplan_model::{HostId, IdVec, UnitId, VmId};

/// What the fit checks need, computed once per inventory.
pub struct Facts {
    /// Devices by index: names.
    pub(crate) device_names: Vec<String>,
    /// Per group: (device index, count).
    pub(crate) group_devices: Vec<Vec<(usize, u64)>>,
    /// Per host: count of each device.
    pub(crate) host_devices: Vec<Vec<u64>>,
    /// Per VM: the hard rules that select it.
    pub(crate) must_rules: Vec<Vec<usize>>,
    /// Per VM: hosts it may use at all (maintenance, zone pins, hard `vm_host` rules).
    pub(crate) allowed: Vec<Vec<bool>>,
    /// Per VM: its current host.
    pub(crate) current: Vec<Option<usize>>,
    /// Per group: its size as the sum over resources (vCPUs, memory, each device) of its
    /// share of the total demand.
    pub(crate) group_size: Vec<f64>,
    /// Per host: its capacity measured the same way.
    pub(crate) host_capacity: Vec<f64>,
    /// Admission fixed per unit, if it is.
    pub(crate) admission: Option<Vec<bool>>,
}

impl Facts {
    /// Fixes the admission of every unit (see [`crate::Options::admission`]).
    pub fn fix_admission(&mut self, admission: Option<Vec<bool>>) {
        self.admission = admission;
    }

    /// Computes the facts of `inventory`.
    pub fn new(inventory: &Inventory) -> Facts {
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
        let group_devices: Vec<Vec<(usize, u64)>> = inventory
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
                    must_rules[vm.index()].push(r);
                }
            }
        }
        let allowed = (0..inventory.vms.len())
            .map(|vm| {
                let group = inventory.group_of(VmId::new(vm));
                (0..inventory.hosts.len())
                    .map(|host| {
                        let spec = &inventory.hosts[HostId::new(host)];
                        let pinned_elsewhere = matches!(group.kind, GroupKind::NodePool { zone: Some(zone), .. } if spec.zone != Some(zone));
                        !spec.maintenance
                            && !pinned_elsewhere
                            && must_rules[vm].iter().all(|r| {
                                let rule = &inventory.rules[*r];
                                rule.kind != RuleKind::VmHost
                                    || rule.hosts.binary_search(&HostId::new(host)).is_ok() == rule.run_on
                            })
                    })
                    .collect()
            })
            .collect();
        let mut current = vec![None; inventory.vms.len()];
        for (vm, host) in &inventory.placement {
            current[vm.index()] = Some(host.index());
        }
        // Total demand per resource: vCPUs, memory, then each device.
        let mut demand = vec![0f64; 2 + device_names.len()];
        for (group, devices) in inventory.groups.iter().zip(&group_devices) {
            let n = group.vms.len() as f64;
            demand[0] += n * f64::from(group.vcpus);
            demand[1] += n * group.memory.0 as f64;
            for (device, count) in devices {
                demand[2 + *device] += n * *count as f64;
            }
        }
        let share = |resource: usize, amount: f64| {
            if demand[resource] > 0.0 {
                amount / demand[resource]
            } else {
                0.0
            }
        };
        let group_size = inventory
            .groups
            .iter()
            .zip(&group_devices)
            .map(|(group, devices): (_, &Vec<(usize, u64)>)| {
                share(0, f64::from(group.vcpus))
                    + share(1, group.memory.0 as f64)
                    + devices
                        .iter()
                        .map(|(d, n)| share(2 + d, *n as f64))
                        .sum::<f64>()
            })
            .collect();
        let host_capacity = inventory
            .hosts
            .iter()
            .zip(&host_devices)
            .map(|(host, devices): (_, &Vec<u64>)| {
                share(0, host.vcpu_limit as f64)
                    + share(1, host.memory_limit.0 as f64)
                    + devices
                        .iter()
                        .enumerate()
                        .map(|(d, n)| share(2 + d, *n as f64))
                        .sum::<f64>()
            })
            .collect();
        Facts {
            admission: None,
            group_size,
            host_capacity,
            device_names,
            group_devices,
            host_devices,
            must_rules,
            allowed,
            current,
        }
    }
}

/// Soft rules as the search moves VMs: how many are broken, kept up to date.
pub(crate) struct SoftRules<'a> {
    inventory: &'a Inventory,
    /// Soft rule indices.
    rules: Vec<usize>,
    /// Per VM: positions in `rules` of the soft rules that select it.
    of_vm: Vec<Vec<usize>>,
    /// (position, host) -> members there.
    on_host: HashMap<(usize, usize), u32>,
    /// Per position: hosts holding >= 2 members (separate), hosts holding any (together),
    /// members on the wrong side (vm_host).
    measure: Vec<u32>,
    pub(crate) broken: u32,
}

impl<'a> SoftRules<'a> {
    fn new(inventory: &'a Inventory) -> SoftRules<'a> {
        let rules: Vec<usize> = (0..inventory.rules.len())
            .filter(|r| !inventory.rules[*r].must)
            .collect();
        let mut of_vm = vec![Vec::new(); inventory.vms.len()];
        for (position, rule) in rules.iter().enumerate() {
            for vm in &inventory.rules[*rule].vms {
                of_vm[vm.index()].push(position);
            }
        }
        SoftRules {
            inventory,
            measure: vec![0; rules.len()],
            rules,
            of_vm,
            on_host: HashMap::new(),
            broken: 0,
        }
    }

    /// Whether placing `vm` on `host` would leave more than `budget` soft rules broken.
    pub(crate) fn breaks_more(&mut self, vm: usize, host: usize, budget: u32) -> bool {
        if self.of_vm[vm].is_empty() {
            return self.broken > budget;
        }
        self.change(vm, host, true);
        let over = self.broken > budget;
        self.change(vm, host, false);
        over
    }

    /// How much moving `vm` from `from` to `to` changes the soft rules' excess: per rule,
    /// members sharing a host with another (separate), hosts beyond the first holding a member
    /// (together), members on the wrong side (`vm_host`). A plan's excess is 0 exactly when
    /// it breaks no soft rule, and one move changes each rule's by at most one each way.
    pub(crate) fn excess_change(&self, vm: usize, from: usize, to: usize) -> i32 {
        let mut change = 0;
        for position in &self.of_vm[vm] {
            let rule = &self.inventory.rules[self.rules[*position]];
            let count = |host: usize| self.on_host.get(&(*position, host)).copied().unwrap_or(0);
            change += match rule.kind {
                RuleKind::Separate => i32::from(count(to) >= 1) - i32::from(count(from) >= 2),
                RuleKind::Together => i32::from(count(to) == 0) - i32::from(count(from) == 1),
                RuleKind::VmHost => {
                    let wrong = |host: usize| {
                        i32::from(
                            rule.hosts.binary_search(&HostId::new(host)).is_ok() != rule.run_on,
                        )
                    };
                    wrong(to) - wrong(from)
                }
            };
        }
        change
    }

    /// Whether some soft rule selects both `a` and `b`.
    pub(crate) fn share_a_rule(&self, a: usize, b: usize) -> bool {
        self.of_vm[a].iter().any(|p| self.of_vm[b].contains(p))
    }

    /// The VMs some soft rule selects.
    pub(crate) fn selected(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.of_vm.len()).filter(|vm| !self.of_vm[*vm].is_empty())
    }

    fn is_broken(&self, position: usize) -> bool {
        let rule = &self.inventory.rules[self.rules[position]];
        match rule.kind {
            RuleKind::Separate => self.measure[position] > 0,
            RuleKind::Together => self.measure[position] > 1,
            RuleKind::VmHost => self.measure[position] > 0,
        }
    }

    pub(crate) fn change(&mut self, vm: usize, host: usize, add: bool) {
        for index in 0..self.of_vm[vm].len() {
            let position = self.of_vm[vm][index];
            let was = self.is_broken(position);
            let rule = &self.inventory.rules[self.rules[position]];
            let count = self.on_host.entry((position, host)).or_insert(0);
            let before = *count;
            if add {
                *count += 1;
            } else {
                *count -= 1;
            }
            let after = *count;
            match rule.kind {
                RuleKind::Separate => {
                    if before < 2 && after >= 2 {
                        self.measure[position] += 1;
                    } else if before >= 2 && after < 2 {
                        self.measure[position] -= 1;
                    }
                }
                RuleKind::Together => {
                    if before == 0 && after == 1 {
                        self.measure[position] += 1;
                    } else if before == 1 && after == 0 {
                        self.measure[position] -= 1;
                    }
                }
                RuleKind::VmHost => {
                    if rule.hosts.binary_search(&HostId::new(host)).is_ok() != rule.run_on {
                        if add {
                            self.measure[position] += 1;
                        } else {
                            self.measure[position] -= 1;
                        }
                    }
                }
            }
            let now = self.is_broken(position);
            match (was, now) {
                (false, true) => self.broken += 1,
                (true, false) => self.broken -= 1,
                _ => {}
            }
        }
    }
}

/// Loads as VMs are placed and removed.
pub(crate) struct State<'a> {
    pub(crate) inventory: &'a Inventory,
    pub(crate) facts: &'a Facts,
    pub(crate) host_of: Vec<Option<usize>>,
    pub(crate) vcpus: Vec<u64>,
    pub(crate) memory: Vec<u128>,
    pub(crate) reserved_vcpus: Vec<u64>,
    pub(crate) reserved_memory: Vec<u128>,
    pub(crate) devices: Vec<Vec<u64>>,
    pub(crate) vms_on: Vec<u32>,
    pub(crate) namespace_vcpus: Vec<u64>,
    pub(crate) namespace_memory: Vec<u128>,
    pub(crate) zone_vcpus: Vec<Vec<u64>>,
    pub(crate) zone_memory: Vec<Vec<u128>>,
    /// Per namespace and zone: vCPUs and memory of the namespace's VMs bound to the zone that
    /// are not placed (see [`State::squeezes`] and [`zone_bound`]).
    zone_bound_left: Vec<Vec<(u64, u128)>>,
    /// (group, host) -> VMs of the group on the host.
    pub(crate) group_on_host: HashMap<(usize, usize), u32>,
    /// (group, zone) -> VMs of an anti-affine group in the zone.
    pub(crate) group_in_zone: HashMap<(usize, usize), u32>,
    /// (rule, host) -> VMs of a hard rule on the host.
    pub(crate) rule_on_host: HashMap<(usize, usize), u32>,
    /// Per hard rule: VMs placed.
    pub(crate) rule_placed: Vec<u32>,
    /// Soft rules broken by what is placed.
    pub(crate) soft: SoftRules<'a>,
    /// Per host: the sizes (see [`Facts`]) of what it holds.
    pub(crate) share: Vec<f64>,
}

impl<'a> State<'a> {
    /// The plan the state holds, with `admitted` (per unit).
    pub(crate) fn assignment(&self, admitted: IdVec<UnitId, bool>) -> Assignment {
        Assignment {
            host_of: self
                .host_of
                .iter()
                .map(|host| host.map(HostId::new))
                .collect(),
            admitted,
        }
    }

    pub(crate) fn new(inventory: &'a Inventory, facts: &'a Facts) -> State<'a> {
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
            zone_bound_left: zone_bound_demand(inventory),
            group_on_host: HashMap::new(),
            group_in_zone: HashMap::new(),
            rule_on_host: HashMap::new(),
            rule_placed: vec![0; inventory.rules.len()],
            soft: SoftRules::new(inventory),
            share: vec![0.0; hosts],
        }
    }

    /// Whether `vm` can go on `host`, within `caps` (vCPUs, memory) when given.
    pub(crate) fn fits(&self, vm: usize, host: usize, caps: Option<(u64, u128)>) -> bool {
        let inventory = self.inventory;
        if !self.facts.allowed[vm][host] {
            return false;
        }
        let spec = &inventory.hosts[HostId::new(host)];
        let group_index = inventory.vms[VmId::new(vm)].group;
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
        for (device, count) in &self.facts.group_devices[group_index.index()] {
            if self.devices[host][*device] + count > self.facts.host_devices[host][*device] {
                return false;
            }
        }
        if group.anti_affine() {
            if self
                .group_on_host
                .get(&(group_index.index(), host))
                .is_some_and(|n| *n > 0)
            {
                return false;
            }
            if let (true, Some(zone)) = (inventory.three_zone, spec.zone) {
                if self
                    .group_in_zone
                    .get(&(group_index.index(), zone))
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
                let extra = (u64::from(group.vcpus), u128::from(group.memory.0));
                if self.over_zone_share(namespace_index, zone, extra) {
                    return false;
                }
            }
        }
        true
    }

    /// Whether the namespace's VMs in the zone, with `extra` (vCPUs, memory) more, would use
    /// more than a third of its limits (a 3-zone Supervisor).
    fn over_zone_share(&self, namespace: usize, zone: usize, (vcpus, memory): (u64, u128)) -> bool {
        let spec = &self.inventory.namespaces[namespace];
        let mhz = self.inventory.policy.vcpu_mhz;
        let vcpus = self.zone_vcpus[namespace][zone] + vcpus;
        let memory = self.zone_memory[namespace][zone] + memory;
        spec.cpu_mhz_limit
            .is_some_and(|limit| 3 * vcpus * mhz > limit)
            || spec
                .memory_limit
                .is_some_and(|limit| 3 * memory > u128::from(limit.0))
    }

    /// Whether `vm`, not bound to a zone, would take in `zone` what its namespace's share of
    /// the zone must keep for the namespace's VMs bound to the zone (pinned pools, a
    /// 3-replica control plane's VM there) not yet placed: they can then find no room (h288
    /// without today's placement: a 17-VM pool pinned to zone-c, its namespace's third of
    /// zone-c used by VMs that could run anywhere; a third control plane whose zone was
    /// full).
    pub(crate) fn squeezes(&self, vm: usize, zone: usize) -> bool {
        let inventory = self.inventory;
        let group = inventory.group_of(VmId::new(vm));
        let (Some(namespace), true) = (group.namespace, inventory.three_zone) else {
            return false;
        };
        if zone_bound(inventory, group).is_some() {
            return false;
        }
        let (vcpus, memory) = self.zone_bound_left[namespace][zone];
        (vcpus, memory) != (0, 0)
            && self.over_zone_share(
                namespace,
                zone,
                (
                    vcpus + u64::from(group.vcpus),
                    memory + u128::from(group.memory.0),
                ),
            )
    }

    pub(crate) fn apply(&mut self, vm: usize, host: usize, add: bool) {
        let inventory = self.inventory;
        let group_index = inventory.vms[VmId::new(vm)].group;
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
        for (device, count) in &self.facts.group_devices[group_index.index()] {
            step(&mut self.devices[host][*device], *count, add);
        }
        let zone = self.inventory.hosts[HostId::new(host)].zone;
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
            let bound = match zone_bound(inventory, group) {
                Some(ZoneBound::Pinned(pinned)) => Some(pinned),
                Some(ZoneBound::OnePerZone) => zone,
                None => None,
            };
            if let Some(bound) = bound {
                // Saturating: a plan that breaks the binding (today's, unchecked) never
                // takes the count below zero.
                let left = &mut self.zone_bound_left[namespace][bound];
                let (vcpus, memory) = (u64::from(group.vcpus), u128::from(group.memory.0));
                *left = if add {
                    (left.0.saturating_sub(vcpus), left.1.saturating_sub(memory))
                } else {
                    (left.0 + vcpus, left.1 + memory)
                };
            }
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
            self.group_on_host
                .entry((group_index.index(), host))
                .or_insert(0),
            1,
            add,
        );
        if let (true, Some(zone)) = (group.anti_affine(), zone) {
            step(
                self.group_in_zone
                    .entry((group_index.index(), zone))
                    .or_insert(0),
                1,
                add,
            );
        }
        for rule in &self.facts.must_rules[vm] {
            step(self.rule_on_host.entry((*rule, host)).or_insert(0), 1, add);
            step(&mut self.rule_placed[*rule], 1, add);
        }
        self.soft.change(vm, host, add);
        let size = self.facts.group_size[group_index.index()];
        self.share[host] += if add { size } else { -size };
        self.host_of[vm] = add.then_some(host);
    }

    /// Utilisation of `host` with `vm` added.
    pub(crate) fn utilisation_with(&self, vm: usize, host: usize) -> f64 {
        let group = self.inventory.group_of(VmId::new(vm));
        let spec = &self.inventory.hosts[HostId::new(host)];
        let cpu =
            (self.vcpus[host] + u64::from(group.vcpus)) as f64 / spec.vcpu_limit.max(1) as f64;
        let memory = (self.memory[host] + u128::from(group.memory.0)) as f64
            / spec.memory_limit.0.max(1) as f64;
        cpu.max(memory)
    }

    /// The host's capacity left once `vm` is added, as shares of the total demand.
    pub(crate) fn room_with(&self, vm: usize, host: usize) -> f64 {
        self.facts.host_capacity[host]
            - self.share[host]
            - self.facts.group_size[(self.inventory.vms[VmId::new(vm)].group).index()]
    }

    pub(crate) fn utilisation(&self, host: usize) -> f64 {
        let spec = &self.inventory.hosts[HostId::new(host)];
        let cpu = self.vcpus[host] as f64 / spec.vcpu_limit.max(1) as f64;
        let memory = self.memory[host] as f64 / spec.memory_limit.0.max(1) as f64;
        cpu.max(memory)
    }
}

/// How a group's VMs are bound to zones in a 3-zone Supervisor.
enum ZoneBound {
    /// A node pool pinned to the zone.
    Pinned(usize),
    /// A 3-replica control plane: one VM in each zone.
    OnePerZone,
}

/// How `group`'s VMs are bound to zones (`None` when they may run in any).
fn zone_bound(inventory: &Inventory, group: &vksplan_model::inventory::Group) -> Option<ZoneBound> {
    if let Some(zone) = group.pinned_zone() {
        return Some(ZoneBound::Pinned(zone));
    }
    (inventory.three_zone && group.anti_affine() && group.vms.len() == inventory.zones.len())
        .then_some(ZoneBound::OnePerZone)
}

/// Per namespace and zone: the vCPUs and memory of the namespace's VMs bound to the zone.
fn zone_bound_demand(inventory: &Inventory) -> Vec<Vec<(u64, u128)>> {
    let zones = inventory.zones.len();
    let mut demand = vec![vec![(0, 0); zones]; inventory.namespaces.len()];
    for group in &inventory.groups {
        let Some(namespace) = group.namespace else {
            continue;
        };
        let (vcpus, memory) = (u64::from(group.vcpus), u128::from(group.memory.0));
        let count = group.vms.len() as u64;
        let mut add = |zone: usize, count: u64| {
            let entry: &mut (u64, u128) = &mut demand[namespace][zone];
            entry.0 += count * vcpus;
            entry.1 += u128::from(count) * memory;
        };
        match zone_bound(inventory, group) {
            Some(ZoneBound::Pinned(zone)) => add(zone, count),
            Some(ZoneBound::OnePerZone) => (0..zones).for_each(|zone| add(zone, 1)),
            None => {}
        }
    }
    demand
}
