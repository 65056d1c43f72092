//! Upgrade sequencing (docs/output-and-upgrades.md §11-§17): rolling cluster upgrades, host patching and the
//! Supervisor roll, in as few waves as the planner finds, checked action by action by the
//! [`crate::check::replay`] verifier.
//!
//! The planner builds waves greedily. Each wave first picks the hosts to patch next (up to the
//! maintenance concurrency; each host spends exactly one wave boundary in maintenance), then
//! rolls what it can: one Supervisor slot, one control-plane slot per cluster, and per node
//! pool up to `max_surge` slots plus up to `max_unavailable` slots deleted now and created in
//! the next wave; then it migrates what is left on the hosts going into
//! maintenance. Every action is kept only if the wave, replayed, still keeps docs/accounting.md at
//! its peak and end. New copies and migrations go to the least loaded host that keeps the wave
//! valid. When a wave can make no progress, the upgrade is infeasible and the diagnosis says
//! which rule blocks the first task that could not move, and so which layer owns it.

mod room;
pub(crate) mod stuck;

use crate::check::replay::{apply_wave, final_check, start_violations, Op, Roll, State};
use crate::check::verify::Assignment;
use crate::mip::Owner;
use crate::upgrade::stuck::{BlockedTask, Need};
use std::collections::BTreeSet;
use vksplan_model::inventory::{GroupKind, UpgradeSpec};
use vksplan_model::plan::{Status, UpgradePlan};
use vksplan_model::{Constraint, Diagnostic, Inventory, Layer};
use vksplan_model::{HostId, VmId};

/// The upgrade block of a plan and the diagnosis entries that go with it.
#[derive(Debug, Clone)]
pub struct Sequenced {
    /// The upgrade block.
    pub plan: UpgradePlan,
    /// Start-state problems and, when stuck, what blocks the upgrade.
    pub diagnosis: Vec<Diagnostic>,
}

/// A lower bound on the number of waves: the Supervisor rolls one slot per wave; a cluster its
/// control plane one slot per wave and then each pool: a slot rolled with surge holds at least
/// one peak (at most `max_surge` a wave), a slot rolled by deleting first is unavailable at the
/// end of at least one wave before the last (at most `max_unavailable` a wave), so `n` slots
/// need `W` waves with `s W + u (W - 1) >= n`, that is `W >= (n + u) / (s + u)`; hosts
/// enter maintenance at most `max_hosts_in_maintenance` per wave, and the last ones exit in a
/// later wave; and each workload network takes at most as many surge copies per wave as it
/// has spare addresses. The tasks may overlap, so the bound is their maximum.
/// `start_ips`: addresses in use per network before the upgrade.
pub fn lower_bound(
    inventory: &Inventory,
    roll: &Roll,
    upgrade: &UpgradeSpec,
    start_ips: &[u64],
) -> u32 {
    let mut bound = 0u32;
    let rolled = |vms: &[VmId]| vms.iter().filter(|vm| roll.slots[vm.index()]).count() as u32;
    if upgrade.supervisor {
        for group in inventory
            .groups
            .iter()
            .filter(|g| g.kind == GroupKind::SupervisorControlPlane)
        {
            bound = bound.max(rolled(&group.vms));
        }
    }
    for (cluster, _) in &upgrade.clusters {
        let spec = &inventory.clusters[*cluster];
        let control_plane: u32 = inventory
            .groups
            .iter()
            .filter(|g| g.kind == GroupKind::ControlPlane { cluster: *cluster })
            .map(|g| rolled(&g.vms))
            .sum();
        let rate = spec.max_surge + spec.max_unavailable;
        let pools = inventory
            .groups
            .iter()
            .filter(|g| matches!(g.kind, GroupKind::NodePool { cluster: c, .. } if c == *cluster))
            .map(|g| rolled(&g.vms))
            .filter(|n| *n > 0)
            .map(|n| (n + spec.max_unavailable).div_ceil(rate.max(1)))
            .max()
            .unwrap_or(0);
        bound = bound.max(control_plane + pools);
    }
    // Every surge copy takes an address on its namespace's workload network (the Supervisor's
    // new copies one on its own workload network): a network with `spare` free addresses
    // hosts at most `spare` surge copies per wave.
    let mut surging = vec![0u32; inventory.networks.len()];
    for group in &inventory.groups {
        let network = match (
            group.kind.clone(),
            group.namespace,
            inventory.supervisor.as_ref(),
        ) {
            (GroupKind::SupervisorControlPlane, _, Some(supervisor)) => {
                supervisor.networks.workload
            }
            (GroupKind::ControlPlane { .. }, Some(namespace), _) => {
                inventory.namespaces[namespace].workload_network
            }
            (GroupKind::NodePool { cluster, .. }, Some(namespace), _)
                if inventory.clusters[cluster].max_surge > 0 =>
            {
                inventory.namespaces[namespace].workload_network
            }
            _ => continue,
        };
        surging[network] += rolled(&group.vms);
    }
    for (network, slots) in surging.into_iter().enumerate() {
        let spare = u64::from(inventory.networks[network].ips).saturating_sub(start_ips[network]);
        if slots > 0 && spare > 0 {
            bound = bound.max(u64::from(slots).div_ceil(spare) as u32);
        }
    }
    let hosts = roll.hosts.iter().filter(|h| **h).count() as u32;
    if hosts > 0 {
        bound = bound.max(hosts.div_ceil(roll.max_in_maintenance.max(1)) + 1);
    }
    bound
}

/// One way to build a wave: its actions, the hosts it patches, what is left, what blocked.
type Trial = (Vec<Op>, Vec<HostId>, Queues, Vec<BlockedTask>);

/// The roll a slot belongs to: its cluster's, or the Supervisor's.
fn roll_owner(inventory: &Inventory, vm: VmId) -> Owner {
    match inventory.unit_of_group(inventory.vms[vm].group) {
        Some(unit) => Owner {
            layer: Layer::Cluster,
            subject: inventory.admission_units[unit].name.clone(),
            constraint: Constraint::Roll,
        },
        None => Owner {
            layer: Layer::Supervisor,
            subject: "supervisor".to_string(),
            constraint: Constraint::Roll,
        },
    }
}

/// The patch of a host.
fn patch_owner(inventory: &Inventory, host: HostId) -> Owner {
    Owner {
        layer: Layer::Infrastructure,
        subject: inventory.hosts[host].name.clone(),
        constraint: Constraint::Patch,
    }
}

struct Planner<'a> {
    inventory: &'a Inventory,
    roll: Roll,
    tolerated: BTreeSet<(Constraint, String)>,
    /// The tasks of the wave being built that found no way in, and what blocked them.
    blocked: Vec<BlockedTask>,
    /// When sequencing must stop (a wave under way is given up).
    deadline: std::time::Instant,
    /// Admission of each unit.
    admitted: Vec<bool>,
    /// Per VM: the hard rules that select it.
    rules_of: Vec<Vec<usize>>,
    /// Take a new copy or a migration that the peak loads accept without replaying the wave
    /// (the whole wave is replayed once it is built; a wave that fails is built again slowly).
    fast: bool,
    /// The peak loads of the wave under construction, kept between calls of
    /// [`Planner::place`] and brought up to date with the actions added since.
    loads_cache: Option<LoadsCache>,
}

impl<'a> Planner<'a> {
    /// Whether `ops` as a wave keeps everything valid from `state`.
    fn valid(&self, state: &State, ops: &[Op]) -> Result<(), Vec<Diagnostic>> {
        let mut trial = state.clone();
        let broken = apply_wave(self.inventory, &self.roll, &mut trial, ops, &self.tolerated);
        if broken.is_empty() {
            Ok(())
        } else {
            Err(broken)
        }
    }

    /// Hosts in the order to try as destinations: in service, least loaded (vCPUs, then memory)
    /// first.
    /// `load`: what the state (not the wave) runs per host, (vCPUs, memory).
    fn destinations(&self, load: &[(u64, u64)], state: &State, avoid: &[HostId]) -> Vec<HostId> {
        let mut hosts: Vec<HostId> = self
            .inventory
            .hosts
            .ids()
            .filter(|h| !state.maintenance[h.index()] && !avoid.contains(h))
            .collect();
        hosts.sort_by(|a, b| {
            let share = |h: HostId| {
                load[h.index()].0 as f64 / self.inventory.hosts[h].vcpu_limit.max(1) as f64
            };
            share(*a)
                .partial_cmp(&share(*b))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(b))
        });
        hosts
    }

    /// Tries to add `make(host)` to the wave for some destination; keeps the first that works.
    /// Records every host's failure when none works.
    fn place(
        &mut self,
        state: &State,
        ops: &mut Vec<Op>,
        avoid: &[HostId],
        (task, owner, need): (&str, Owner, Need),
        make: impl Fn(HostId) -> Vec<Op>,
    ) -> bool {
        let mut tried = Vec::new();
        let cache = self.loads_cache.take();
        let cache = LoadsCache::update(cache, self.inventory, &self.rules_of, state, ops);
        let destinations = self.destinations(&cache.state_load, state, avoid);
        let loads = &cache.loads;
        let mut totals = Totals::default();
        for host in destinations {
            if std::time::Instant::now() >= self.deadline {
                // The wave is given up: the sequence stops with status timeout.
                self.loads_cache = Some(cache);
                return false;
            }
            let added = make(host);
            // A destination that cannot take the copy by its own host's rules is refused
            // without replaying the whole wave.
            let moving = added.iter().find_map(|op| match op {
                Op::Create(vm, _) | Op::Migrate(vm, _) => Some(vm.index()),
                _ => None,
            });
            let from = added.iter().find_map(|op| match op {
                Op::Migrate(vm, _) => state.old[vm.index()].or(state.new[vm.index()]),
                _ => None,
            });
            let check = |vm: usize| {
                if self.fast {
                    loads.refuses_at_peak(self, (vm, host.index(), from), &mut totals)
                } else {
                    loads.refuses(self, vm, host.index())
                }
            };
            if let Some(refused) = moving.and_then(check) {
                tried.push((Some(host), vec![refused]));
                continue;
            }
            let mut trial = ops.clone();
            trial.extend(added);
            trial.sort_by_key(|op| op.phase());
            if self.fast && moving.is_some() {
                // Accepted at the peak by the loads; the whole wave is replayed when built.
                *ops = trial;
                self.loads_cache = Some(cache);
                return true;
            }
            match self.valid(state, &trial) {
                Ok(()) => {
                    *ops = trial;
                    self.loads_cache = Some(cache);
                    return true;
                }
                Err(broken) => {
                    // What breaks wherever the copy goes (an address pool, a limit, a roll
                    // rule) needs no other host tried.
                    let anywhere = broken.iter().all(|d| !self.host_dependent(d));
                    tried.push(((!anywhere).then_some(host), broken));
                    if anywhere {
                        break;
                    }
                }
            }
        }
        self.loads_cache = Some(cache);
        let unavailable = self
            .inventory
            .hosts
            .ids()
            .filter(|h| state.maintenance[h.index()] || avoid.contains(h))
            .collect();
        self.blocked.push(BlockedTask {
            task: task.to_string(),
            need,
            owner,
            tried,
            unavailable,
        });
        false
    }

    /// Whether a broken rule depends on the host a new copy or a migration goes to (host
    /// capacity, devices, maintenance, anti-affinity, rules, zones; namespace limits in a
    /// 3-zone Supervisor, which hold per zone), rather than on the totals alone.
    fn host_dependent(&self, broken: &Diagnostic) -> bool {
        match broken.constraint {
            Constraint::CpuLimit | Constraint::MemoryLimit => self.inventory.three_zone,
            Constraint::IpAddresses
            | Constraint::StorageLimit
            | Constraint::StorageCapacity
            | Constraint::HaAdmission
            | Constraint::MaxSurge
            | Constraint::MaxUnavailable => false,
            _ => true,
        }
    }

    /// [`Planner::place`] for a slot of a roll: the roll (its cluster's or the Supervisor's)
    /// needs the task.
    fn roll_slot(
        &mut self,
        state: &State,
        ops: &mut Vec<Op>,
        avoid: &[HostId],
        (vm, task): (VmId, &str),
        make: impl Fn(HostId) -> Vec<Op>,
    ) -> bool {
        let owner = roll_owner(self.inventory, vm);
        let need = Need::NewCopy {
            vm,
            beside: state.old[vm.index()].is_some(),
        };
        self.place(state, ops, avoid, (task, owner, need), make)
    }

    /// Records a task whose check is tied to no destination.
    fn refuse(&mut self, task: String, owner: Owner, need: Need, broken: Vec<Diagnostic>) {
        self.blocked.push(BlockedTask {
            task,
            need,
            owner,
            tried: vec![(None, broken)],
            unavailable: Vec::new(),
        });
    }
}

/// [`Loads`] of one state and the actions of the wave applied to them so far.
struct LoadsCache {
    /// The state the loads start from (its copies and hosts in maintenance).
    old: Vec<Option<usize>>,
    new: Vec<Option<usize>>,
    maintenance: Vec<bool>,
    /// The loads of the state alone, per host (vCPUs, memory), to order destinations by.
    state_load: Vec<(u64, u64)>,
    /// The loads of the state alone, to start again from when the wave loses an action.
    base: Loads,
    /// The actions that change the peak (exits, new copies, migrations) applied, sorted.
    applied: Vec<Op>,
    migrating: BTreeSet<usize>,
    loads: Loads,
}

impl LoadsCache {
    /// The loads of `state` with the wave's `ops`: `cache` brought up to date when it holds
    /// the same state and a part of `ops`, built again otherwise.
    fn update(
        cache: Option<LoadsCache>,
        inventory: &Inventory,
        rules_of: &[Vec<usize>],
        state: &State,
        ops: &[Op],
    ) -> LoadsCache {
        let mut wanted: Vec<Op> = ops
            .iter()
            .copied()
            .filter(|op| matches!(op, Op::Exit(_) | Op::Create(..) | Op::Migrate(..)))
            .collect();
        wanted.sort_unstable();
        let same_state = |c: &LoadsCache| {
            c.old == state.old && c.new == state.new && c.maintenance == state.maintenance
        };
        let mut cache = match cache {
            Some(c) if same_state(&c) => c,
            _ => {
                let base = Loads::of_state(inventory, rules_of, state);
                let state_load = base
                    .vcpus
                    .iter()
                    .zip(&base.memory)
                    .map(|(v, m)| (*v, *m as u64))
                    .collect();
                LoadsCache {
                    old: state.old.clone(),
                    new: state.new.clone(),
                    maintenance: state.maintenance.clone(),
                    state_load,
                    loads: base.clone(),
                    base,
                    applied: Vec::new(),
                    migrating: BTreeSet::new(),
                }
            }
        };
        // The actions to add, if every applied one is still wanted (a multiset difference of
        // two sorted lists); otherwise start again from the state's loads.
        let mut extra = Vec::new();
        let mut applied = cache.applied.iter().peekable();
        for op in &wanted {
            if applied.peek() == Some(&op) {
                applied.next();
            } else {
                extra.push(*op);
            }
        }
        if applied.peek().is_some() {
            cache.loads = cache.base.clone();
            cache.migrating.clear();
            extra = wanted.clone();
        }
        // Exits first, as the wave runs them.
        extra.sort_by_key(|op| op.phase());
        for op in extra {
            cache
                .loads
                .apply((inventory, rules_of), state, &mut cache.migrating, op);
        }
        cache.applied = wanted;
        cache
    }
}

/// The peak loads of a wave under construction, per host: what the state holds plus the
/// copies the wave's actions so far add (new copies, migration destinations). For a quick
/// refusal of destinations that cannot take a copy by their own host's rules; a destination
/// that passes is still checked by replaying the whole wave.
#[derive(Clone)]
struct Loads {
    vcpus: Vec<u64>,
    memory: Vec<u128>,
    reserved_vcpus: Vec<u64>,
    reserved_memory: Vec<u128>,
    devices: Vec<std::collections::BTreeMap<String, u64>>,
    /// (group, host) and (group, zone) holding a copy of an anti-affine group (its VMs).
    anti: std::collections::BTreeMap<(usize, usize, bool), Vec<usize>>,
    /// (hard rule, host) -> the selected VMs with a copy there.
    rules: std::collections::BTreeMap<(usize, usize), Vec<usize>>,
    /// The counted totals at the peak: per namespace (vCPUs, memory), per (namespace, zone),
    /// per (namespace, policy) storage, per policy storage, per network addresses, reserved
    /// (vCPUs, memory), Supervisor copies.
    namespaces: Vec<(u128, u128)>,
    zones: std::collections::BTreeMap<(usize, usize), (u128, u128)>,
    namespace_storage: std::collections::BTreeMap<(usize, usize), u128>,
    storage: Vec<u128>,
    addresses: Vec<u128>,
    reserved: (u128, u128),
    supervisor_copies: u128,
    /// Hosts in service at the peak (after the wave's exits).
    in_service: Vec<bool>,
}

impl Loads {
    /// The loads of `state` alone, every live copy counted.
    fn of_state(inventory: &Inventory, rules_of: &[Vec<usize>], state: &State) -> Loads {
        let hosts = inventory.hosts.len();
        let mut loads = Loads {
            vcpus: vec![0; hosts],
            memory: vec![0; hosts],
            reserved_vcpus: vec![0; hosts],
            reserved_memory: vec![0; hosts],
            devices: vec![Default::default(); hosts],
            anti: Default::default(),
            rules: Default::default(),
            namespaces: vec![(0, 0); inventory.namespaces.len()],
            zones: Default::default(),
            namespace_storage: Default::default(),
            storage: vec![0; inventory.storage_policies.len()],
            addresses: vec![0; inventory.networks.len()],
            reserved: (0, 0),
            supervisor_copies: 0,
            in_service: state.maintenance.iter().map(|m| !m).collect(),
        };
        for vm in 0..inventory.vms.len() {
            for host in [state.old[vm], state.new[vm]].into_iter().flatten() {
                loads.add(inventory, rules_of, vm, host);
                loads.count(inventory, vm, host, true);
            }
        }
        loads
    }

    /// Adds what one action of the wave changes at the peak: a host back in service, a new
    /// copy, or a migration (its VM counts at its destination, no longer where it runs;
    /// `migrating`: the VMs already moving in the wave, whose copies count nowhere else).
    fn apply(
        &mut self,
        (inventory, rules_of): (&Inventory, &[Vec<usize>]),
        state: &State,
        migrating: &mut BTreeSet<usize>,
        op: Op,
    ) {
        match op {
            Op::Exit(host) => self.in_service[host.index()] = true,
            Op::Create(vm, host) => {
                self.add(inventory, rules_of, vm.index(), host.index());
                self.count(inventory, vm.index(), host.index(), true);
            }
            Op::Migrate(vm, host) => {
                if migrating.insert(vm.index()) {
                    for from in [state.old[vm.index()], state.new[vm.index()]]
                        .into_iter()
                        .flatten()
                    {
                        self.count(inventory, vm.index(), from, false);
                    }
                }
                self.add(inventory, rules_of, vm.index(), host.index());
                self.count(inventory, vm.index(), host.index(), true);
            }
            Op::Delete(_) | Op::Enter(_) => {}
        }
    }

    /// Adds (`up`) or takes away what a copy of `vm` on `host` counts for: limits, addresses,
    /// storage and HA admission.
    fn count(&mut self, inventory: &Inventory, vm: usize, host: usize, up: bool) {
        let group = inventory.group_of(VmId::new(vm));
        let bump = |total: &mut u128, by: u128| {
            if up {
                *total += by;
            } else {
                *total -= by;
            }
        };
        let (vcpus, memory) = (u128::from(group.vcpus), u128::from(group.memory.0));
        if group.reserved {
            bump(&mut self.reserved.0, vcpus);
            bump(&mut self.reserved.1, memory);
        }
        if group.kind == vksplan_model::GroupKind::SupervisorControlPlane {
            bump(&mut self.supervisor_copies, 1);
        }
        if let Some(policy) = group.storage_policy {
            bump(&mut self.storage[policy], u128::from(group.disk.0));
        }
        if let Some(namespace) = group.namespace {
            bump(&mut self.namespaces[namespace].0, vcpus);
            bump(&mut self.namespaces[namespace].1, memory);
            if let Some(zone) = inventory.hosts[HostId::new(host)].zone {
                let entry = self.zones.entry((namespace, zone)).or_default();
                bump(&mut entry.0, vcpus);
                bump(&mut entry.1, memory);
            }
            if let Some(policy) = group.storage_policy {
                let entry = self
                    .namespace_storage
                    .entry((namespace, policy))
                    .or_default();
                bump(entry, u128::from(group.disk.0));
            }
            bump(
                &mut self.addresses[inventory.namespaces[namespace].workload_network],
                1,
            );
        }
    }

    /// Adds a copy of `vm` on `host` to the host's loads, rules and anti-affinity.
    fn add(&mut self, inventory: &Inventory, rules_of: &[Vec<usize>], vm: usize, host: usize) {
        let group_index = inventory.vms[VmId::new(vm)].group;
        let group = &inventory.groups[group_index];
        for rule_index in &rules_of[vm] {
            if inventory.rules[*rule_index].kind != vksplan_model::document::RuleKind::VmHost {
                self.rules.entry((*rule_index, host)).or_default().push(vm);
            }
        }
        self.vcpus[host] += u64::from(group.vcpus);
        self.memory[host] += u128::from(group.memory.0);
        if group.reserved {
            self.reserved_vcpus[host] += u64::from(group.vcpus);
            self.reserved_memory[host] += u128::from(group.memory.0);
        }
        for (device, count) in &group.devices {
            *self.devices[host].entry(device.clone()).or_default() += u64::from(*count);
        }
        if group.anti_affine() {
            self.anti
                .entry((group_index.index(), host, false))
                .or_default()
                .push(vm);
            if let (true, Some(zone)) = (
                inventory.three_zone,
                inventory.hosts[HostId::new(host)].zone,
            ) {
                self.anti
                    .entry((group_index.index(), zone, true))
                    .or_default()
                    .push(vm);
            }
        }
    }

    /// The rule of docs/accounting.md a copy of `vm` on `host` would break at the wave's peak, if
    /// any (leaving out what the start already broke): the host's own rules, and, for a new
    /// copy (`from` is `None`), the totals it adds to (namespace limits, per-zone thirds,
    /// storage, addresses, HA admission); a migration moves its VM's share between zones.
    /// `totals` keeps what does not depend on `host` between the destinations of one copy.
    fn refuses_at_peak(
        &self,
        planner: &Planner,
        (vm, host, from): (usize, usize, Option<usize>),
        totals: &mut Totals,
    ) -> Option<Diagnostic> {
        if let Some(refused) = self.refuses(planner, vm, host) {
            return Some(refused);
        }
        if let Some(refused) = self.breaks_rules(planner, vm, host) {
            return Some(refused);
        }
        let new_copy = from.is_none();
        let limits = totals
            .limits
            .get_or_insert_with(|| self.over_limits(planner, vm, new_copy));
        if limits.is_some() {
            return limits.clone();
        }
        if let Some(refused) = self.over_zone_third(planner, vm, host, from) {
            return Some(refused);
        }
        if !new_copy {
            return None;
        }
        totals
            .rest
            .get_or_insert_with(|| self.over_totals(planner, vm))
            .clone()
    }

    /// A hard separate / together rule broken by a copy of `vm` on `host`, against the other
    /// members' hosts.
    fn breaks_rules(&self, planner: &Planner, vm: usize, host: usize) -> Option<Diagnostic> {
        let inventory = planner.inventory;
        let members_by_host = planner.rules_of[vm]
            .iter()
            .flat_map(|rule| self.rules.range((*rule, 0)..(*rule + 1, 0)));
        for ((rule_index, rule_host), members) in members_by_host {
            let rule = &inventory.rules[*rule_index];
            let others_here = *rule_host == host && members.iter().any(|v| *v != vm);
            let elsewhere = *rule_host != host && !members.is_empty();
            let breaks = match rule.kind {
                vksplan_model::document::RuleKind::Separate => others_here,
                vksplan_model::document::RuleKind::Together => elsewhere,
                vksplan_model::document::RuleKind::VmHost => false,
            };
            if breaks {
                if let Some(d) = over(planner, Layer::Rule, &rule.name, Constraint::Rules) {
                    return Some(d);
                }
            }
        }
        None
    }

    /// The namespace CPU or memory limit a copy of `vm` would go over (a new copy adds to
    /// them; a migration does not).
    fn over_limits(&self, planner: &Planner, vm: usize, new_copy: bool) -> Option<Diagnostic> {
        let inventory = planner.inventory;
        let group = inventory.group_of(VmId::new(vm));
        let namespace = group.namespace?;
        let spec = &inventory.namespaces[namespace];
        let (vcpus, memory) = (u128::from(group.vcpus), u128::from(group.memory.0));
        let mhz = u128::from(inventory.policy.vcpu_mhz);
        let (ns_vcpus, ns_memory) = self.namespaces[namespace];
        let add = u128::from(new_copy);
        if spec
            .cpu_mhz_limit
            .is_some_and(|l| (ns_vcpus + add * vcpus) * mhz > u128::from(l))
        {
            if let Some(d) = over(planner, Layer::Namespace, &spec.name, Constraint::CpuLimit) {
                return Some(d);
            }
        }
        if spec
            .memory_limit
            .is_some_and(|l| ns_memory + add * memory > u128::from(l.0))
        {
            if let Some(d) = over(
                planner,
                Layer::Namespace,
                &spec.name,
                Constraint::MemoryLimit,
            ) {
                return Some(d);
            }
        }
        None
    }

    /// In a 3-zone Supervisor, the zone third of its namespace's limit a copy of `vm` on
    /// `host` would go over (coming from `from`, in another zone, or new).
    fn over_zone_third(
        &self,
        planner: &Planner,
        vm: usize,
        host: usize,
        from: Option<usize>,
    ) -> Option<Diagnostic> {
        let inventory = planner.inventory;
        let group = inventory.group_of(VmId::new(vm));
        let namespace = group.namespace?;
        let spec = &inventory.namespaces[namespace];
        let zone = inventory.hosts[HostId::new(host)]
            .zone
            .filter(|_| inventory.three_zone)?;
        if from.and_then(|h| inventory.hosts[HostId::new(h)].zone) == Some(zone) {
            return None;
        }
        let (vcpus, memory) = (u128::from(group.vcpus), u128::from(group.memory.0));
        let mhz = u128::from(inventory.policy.vcpu_mhz);
        let (zone_vcpus, zone_memory) = self
            .zones
            .get(&(namespace, zone))
            .copied()
            .unwrap_or((0, 0));
        let cpu = spec
            .cpu_mhz_limit
            .is_some_and(|l| 3 * (zone_vcpus + vcpus) * mhz > u128::from(l));
        let memory = spec
            .memory_limit
            .is_some_and(|l| 3 * (zone_memory + memory) > u128::from(l.0));
        if cpu || memory {
            let constraint = if cpu {
                Constraint::CpuLimit
            } else {
                Constraint::MemoryLimit
            };
            return over(planner, Layer::Namespace, &spec.name, constraint);
        }
        None
    }

    /// The totals a new copy of `vm` would go over wherever it goes: its namespace's storage
    /// limit, its policy's capacity, an address pool, HA admission.
    fn over_totals(&self, planner: &Planner, vm: usize) -> Option<Diagnostic> {
        let inventory = planner.inventory;
        let group = inventory.group_of(VmId::new(vm));
        let (vcpus, memory) = (u128::from(group.vcpus), u128::from(group.memory.0));
        if let (Some(namespace), Some(policy)) = (group.namespace, group.storage_policy) {
            let spec = &inventory.namespaces[namespace];
            let used = self
                .namespace_storage
                .get(&(namespace, policy))
                .copied()
                .unwrap_or(0);
            if spec.storage_limits[policy]
                .is_some_and(|l| used + u128::from(group.disk.0) > u128::from(l.0))
            {
                if let Some(d) = over(
                    planner,
                    Layer::Namespace,
                    &spec.name,
                    Constraint::StorageLimit,
                ) {
                    return Some(d);
                }
            }
        }
        if let Some(policy) = group.storage_policy {
            let spec = &inventory.storage_policies[policy];
            if spec
                .capacity
                .is_some_and(|c| self.storage[policy] + u128::from(group.disk.0) > u128::from(c.0))
            {
                if let Some(d) = over(
                    planner,
                    Layer::Infrastructure,
                    &spec.name,
                    Constraint::StorageCapacity,
                ) {
                    return Some(d);
                }
            }
        }
        // Addresses: the namespace's workload network, or the Supervisor's networks.
        let mut addresses = self.addresses.clone();
        if let Some(namespace) = group.namespace {
            addresses[inventory.namespaces[namespace].workload_network] += 1;
        }
        let supervisor_copies = self.supervisor_copies
            + u128::from(group.kind == vksplan_model::GroupKind::SupervisorControlPlane);
        if let Some(supervisor) = &inventory.supervisor {
            let networks = supervisor.networks;
            addresses[networks.management] +=
                (u128::from(supervisor.replicas) + 2).max(supervisor_copies + 1);
            addresses[networks.workload] += supervisor_copies;
            addresses[networks.load_balancer] += 1;
        }
        for (c, cluster) in inventory.clusters.iter().enumerate() {
            if inventory
                .unit_of_cluster(c)
                .is_none_or(|unit| planner_admitted(planner, unit.index()))
            {
                addresses[inventory.namespaces[cluster.namespace].load_balancer_network] +=
                    u128::from(cluster.load_balancer_ips);
            }
        }
        for (network, used) in addresses.iter().enumerate() {
            if *used > u128::from(inventory.networks[network].ips) {
                let layer = inventory.network_layer(network);
                if let Some(d) = over(
                    planner,
                    layer,
                    &inventory.networks[network].name,
                    Constraint::IpAddresses,
                ) {
                    return Some(d);
                }
            }
        }
        let k = u128::from(inventory.policy.host_failures_to_tolerate);
        if group.reserved && k > 0 {
            let hosts: Vec<usize> = (0..inventory.hosts.len())
                .filter(|h| self.in_service[*h])
                .collect();
            let h = hosts.len() as u128;
            let cores: u128 = hosts
                .iter()
                .map(|x| u128::from(inventory.hosts[HostId::new(*x)].cpu_cores))
                .sum();
            let total: u128 = hosts
                .iter()
                .map(|x| u128::from(inventory.hosts[HostId::new(*x)].memory.0))
                .sum();
            let over_share =
                |used: u128, cap: u128| used > 0 && (h <= k || used * h > (h - k) * cap);
            if over_share(self.reserved.0 + vcpus, cores)
                || over_share(self.reserved.1 + memory, total)
            {
                if let Some(d) = over(
                    planner,
                    Layer::Infrastructure,
                    "hosts",
                    Constraint::HaAdmission,
                ) {
                    return Some(d);
                }
            }
        }
        None
    }

    /// The host rule a copy of `vm` on `host` would break, if any (leaving out what the start
    /// already broke).
    fn refuses(&self, planner: &Planner, vm: usize, host: usize) -> Option<Diagnostic> {
        let inventory = planner.inventory;
        let spec = &inventory.hosts[HostId::new(host)];
        let group_index = inventory.vms[VmId::new(vm)].group;
        let group = &inventory.groups[group_index];
        let tolerated = |constraint: &Constraint, subject: &str| {
            planner
                .tolerated
                .contains(&(constraint.clone(), subject.to_string()))
        };
        let refuse = |layer, subject: &str, constraint: Constraint, message: String| {
            (!tolerated(&constraint, subject)).then(|| {
                Diagnostic::new(
                    layer,
                    subject,
                    constraint,
                    message,
                    "the copy does not fit on this host",
                )
            })
        };
        let name = &spec.name;
        if self.vcpus[host] + u64::from(group.vcpus) > spec.vcpu_limit {
            if let Some(d) = refuse(
                Layer::Infrastructure,
                name,
                Constraint::HostVcpus,
                format!(
                    "host `{name}` would run {} vCPUs; it allows {}",
                    self.vcpus[host] + u64::from(group.vcpus),
                    spec.vcpu_limit
                ),
            ) {
                return Some(d);
            }
        }
        if self.memory[host] + u128::from(group.memory.0) > u128::from(spec.memory_limit.0) {
            if let Some(d) = refuse(
                Layer::Infrastructure,
                name,
                Constraint::HostMemory,
                format!("host `{name}` would run more memory than it allows"),
            ) {
                return Some(d);
            }
        }
        if group.reserved {
            if self.reserved_vcpus[host] + u64::from(group.vcpus) > u64::from(spec.cpu_cores) {
                if let Some(d) = refuse(
                    Layer::Infrastructure,
                    name,
                    Constraint::HostReservedVcpus,
                    format!("host `{name}` would reserve more vCPUs than it has cores"),
                ) {
                    return Some(d);
                }
            }
            if self.reserved_memory[host] + u128::from(group.memory.0) > u128::from(spec.memory.0) {
                if let Some(d) = refuse(
                    Layer::Infrastructure,
                    name,
                    Constraint::HostReservedMemory,
                    format!("host `{name}` would reserve more memory than it has"),
                ) {
                    return Some(d);
                }
            }
        }
        for (device, count) in &group.devices {
            let used = self.devices[host].get(device).copied().unwrap_or(0) + u64::from(*count);
            if used > u64::from(spec.device_count(device)) {
                if let Some(d) = refuse(
                    Layer::Infrastructure,
                    name,
                    Constraint::Devices,
                    format!("host `{name}` would give out {used} `{device}`"),
                ) {
                    return Some(d);
                }
            }
        }
        if let vksplan_model::GroupKind::NodePool {
            zone: Some(zone), ..
        } = group.kind
        {
            if spec.zone != Some(zone) {
                if let Some(d) = refuse(
                    Layer::Cluster,
                    &group.name,
                    Constraint::ZonePinning,
                    format!("node pool `{}` is pinned to another zone", group.name),
                ) {
                    return Some(d);
                }
            }
        }
        if group.anti_affine() {
            let other = |key: (usize, usize, bool)| {
                self.anti
                    .get(&key)
                    .is_some_and(|vms| vms.iter().any(|v| *v != vm))
            };
            let zone_taken = inventory.three_zone
                && spec
                    .zone
                    .is_some_and(|zone| other((group_index.index(), zone, true)));
            if other((group_index.index(), host, false)) || zone_taken {
                let layer = if group.kind == vksplan_model::GroupKind::SupervisorControlPlane {
                    Layer::Supervisor
                } else {
                    Layer::Cluster
                };
                if let Some(d) = refuse(
                    layer,
                    &group.name,
                    Constraint::AntiAffinity,
                    format!(
                        "control-plane VMs of `{}` would share a host or zone",
                        group.name
                    ),
                ) {
                    return Some(d);
                }
            }
        }
        for rule in planner.rules_of[vm].iter().map(|r| &inventory.rules[*r]) {
            if rule.kind == vksplan_model::document::RuleKind::VmHost
                && rule.hosts.contains(&HostId::new(host)) != rule.run_on
            {
                if let Some(d) = refuse(
                    Layer::Rule,
                    &rule.name,
                    Constraint::Rules,
                    format!("rule `{}` would be broken", rule.name),
                ) {
                    return Some(d);
                }
            }
        }
        None
    }
}

/// What [`Loads::refuses_at_peak`] found for one copy that does not depend on its destination,
/// once found.
#[derive(Default)]
struct Totals {
    limits: Option<Option<Diagnostic>>,
    rest: Option<Option<Diagnostic>>,
}

/// A total going over `constraint` of `subject`, unless the start already broke it.
fn over(
    planner: &Planner,
    layer: Layer,
    subject: &str,
    constraint: Constraint,
) -> Option<Diagnostic> {
    let tolerated = planner
        .tolerated
        .contains(&(constraint.clone(), subject.to_string()));
    (!tolerated).then(|| {
        let message = format!("`{subject}` would go over its {constraint}");
        Diagnostic::new(layer, subject, constraint, message, "not within the totals")
    })
}

/// Whether a unit is admitted in the sequence.
fn planner_admitted(planner: &Planner, unit: usize) -> bool {
    planner.admitted.get(unit).copied().unwrap_or(true)
}

/// Applies a wave the planner built (already checked) to `state`.
fn apply(planner: &Planner, state: &mut State, ops: &[Op]) {
    let broken = apply_wave(
        planner.inventory,
        &planner.roll,
        state,
        ops,
        &planner.tolerated,
    );
    debug_assert!(broken.is_empty(), "{broken:?}");
}

/// Plans the upgrade from `start` (today's placement where given, the plan's elsewhere).
/// Stops at `deadline` with status `timeout` (no waves) if the sequence is not done by then.
pub fn sequence(
    inventory: &Inventory,
    upgrade: &UpgradeSpec,
    start: &Assignment,
    deadline: std::time::Instant,
) -> Sequenced {
    let roll = Roll::new(inventory, upgrade, start.admitted.raw());
    let state = State::start(inventory, start);
    let today = start_violations(inventory, &state);
    let tolerated = today
        .iter()
        .map(|d| (d.constraint.clone(), d.subject.clone()))
        .collect();
    let diagnosis = as_found_today(today);
    let lower_bound_waves = start_lower_bound(inventory, &roll, upgrade, &state);
    let planner = Planner {
        inventory,
        roll,
        tolerated,
        blocked: Vec::new(),
        deadline,
        admitted: start.admitted.raw().to_vec(),
        rules_of: hard_rules_of(inventory),
        fast: true,
        loads_cache: None,
    };
    let queues = Queues::new(inventory, &planner.roll, upgrade);
    let mut sequencer = Sequencer {
        planner,
        state,
        queues,
        in_maintenance: Vec::new(),
        waves: Vec::new(),
        rooms: Vec::new(),
    };
    let end = sequencer.run();
    sequencer.finish(end, diagnosis, lower_bound_waves)
}

/// The violations of the start state as diagnosis entries: said to be today's, which the
/// upgrade leaves as they are.
fn as_found_today(today: Vec<Diagnostic>) -> Vec<Diagnostic> {
    today
        .into_iter()
        .map(|mut d| {
            d.message = format!("today, before the upgrade: {}", d.message);
            d.hint = format!(
                "{}; the upgrade keeps every other rule and leaves this one as it is",
                d.hint
            );
            d
        })
        .collect()
}

/// The [`lower_bound`] on the waves from `state`, the start (whose addresses in use per
/// network it counts).
fn start_lower_bound(
    inventory: &Inventory,
    roll: &Roll,
    upgrade: &UpgradeSpec,
    state: &State,
) -> u32 {
    let start_copies = state.copies();
    let start_alive = crate::check::verify::Alive {
        copies: &start_copies,
        maintenance: &state.maintenance,
        admitted: &state.admitted,
    };
    let start_ips = crate::check::accounting::account(inventory, start_alive).network_ips;
    lower_bound(inventory, roll, upgrade, &start_ips)
}

/// Per VM: the hard rules that select it.
fn hard_rules_of(inventory: &Inventory) -> Vec<Vec<usize>> {
    let mut rules_of = vec![Vec::new(); inventory.vms.len()];
    for (index, rule) in inventory.rules.iter().enumerate().filter(|(_, r)| r.must) {
        for vm in &rule.vms {
            rules_of[vm.index()].push(index);
        }
    }
    rules_of
}

/// Whether `VKSPLAN_TRACE` asks for a trace of the sequencing on stderr.
fn tracing() -> bool {
    std::env::var_os("VKSPLAN_TRACE").is_some()
}

/// How the waves of [`sequence`] ended.
enum End {
    /// No work left (or no wave to try).
    Done,
    /// The deadline came first.
    TimedOut,
    /// No sequence reaches the state a blocked task needs: the proof.
    Proven(Need, Box<room::StateModel>),
    /// A blocked task whose state could be neither reached nor proven out of reach.
    Unresolved(Need),
    /// Far more waves than the tasks can need: the planner goes round in circles.
    Stuck,
}

/// An upgrade sequence under construction, wave by wave.
struct Sequencer<'a> {
    /// The planner, which builds and checks waves.
    planner: Planner<'a>,
    /// The state after the waves so far.
    state: State,
    /// What is left to do.
    queues: Queues,
    /// The hosts the last wave put into maintenance: they exit in the next.
    in_maintenance: Vec<HostId>,
    /// The waves so far.
    waves: Vec<Vec<Op>>,
    /// The tasks made room for (each at most twice).
    rooms: Vec<Need>,
}

impl Sequencer<'_> {
    /// Adds waves until no work is left or the sequencing ends otherwise; says how it ended.
    fn run(&mut self) -> End {
        let deadline = self.planner.deadline;
        while self.queues.work_left() {
            if std::time::Instant::now() >= deadline {
                return End::TimedOut;
            }
            let index = self.waves.len();
            // Hosts patched in the last wave come back now.
            let exits: Vec<Op> = self.in_maintenance.drain(..).map(Op::Exit).collect();
            let Some((ops, patched, next_queues, blocked)) = self.best_trial(&exits, index) else {
                break;
            };
            if tracing() {
                trace_wave(index, &ops, &patched, &blocked);
            }
            self.planner.blocked = blocked;
            if std::time::Instant::now() >= deadline {
                // A wave cut short by the deadline proves nothing: time out at the loop's top.
                continue;
            }
            if ops.len() == exits.len() && exits.is_empty() {
                // No progress: the blocked task needs a state. Prove that no sequence reaches
                // it, or go there with migrations and carry on.
                match self.make_room() {
                    Some(end) => return end,
                    None => continue,
                }
            }
            if self.planner.fast && self.planner.valid(&self.state, &ops).is_err() {
                // The quick acceptance let something through the wave's replay refuses: build
                // this wave again the slow way.
                if tracing() {
                    eprintln!(
                        "vksplan: wave {} rebuilt with every action replayed",
                        index + 1
                    );
                }
                self.planner.fast = false;
                continue;
            }
            self.planner.fast = true;
            self.queues = next_queues;
            apply(&self.planner, &mut self.state, &ops);
            self.in_maintenance = patched;
            self.waves.push(ops);
            let inventory = self.planner.inventory;
            if self.waves.len() > 4 * (inventory.vms.len() + inventory.hosts.len()) + 16 {
                return End::Stuck;
            }
        }
        End::Done
    }

    /// Builds wave `index` (after `exits`) rolls first and, unless that patches every host it
    /// could, hosts first too, and keeps the one that puts more hosts into maintenance (host
    /// patching is usually the bottleneck), then more actions.
    fn best_trial(&mut self, exits: &[Op], index: usize) -> Option<Trial> {
        let mut best: Option<Trial> = None;
        // A third variant patches nothing, so that the rolls may use every host: when the
        // hosts next in line cannot be emptied yet, avoiding them can block the rolls that
        // would free them.
        for (hosts_first, patch) in [(false, true), (true, true), (false, false)] {
            let mut trial_queues = self.queues.clone();
            self.planner.blocked.clear();
            let (ops, patched) = fill_wave(
                &mut self.planner,
                &self.state,
                &mut trial_queues,
                exits,
                index,
                (hosts_first, patch),
            );
            let better = best.as_ref().is_none_or(|(best_ops, best_patched, _, _)| {
                (patched.len(), ops.len()) > (best_patched.len(), best_ops.len())
            });
            // Rolls first that patches every host it could leaves hosts first nothing to win.
            let all_patched = patched.len()
                >= self
                    .queues
                    .hosts
                    .len()
                    .min(self.planner.roll.max_in_maintenance as usize);
            if better {
                best = Some((ops, patched, trial_queues, self.planner.blocked.clone()));
            }
            // Patching nothing is tried only when neither order patched anything.
            let patched_some = best.as_ref().is_some_and(|b| !b.1.is_empty());
            if all_patched || (hosts_first && patched_some) {
                break;
            }
        }
        best
    }

    /// After a wave without progress: proves that the state the blocked task needs is out of
    /// reach, or migrates there in extra waves (at most twice per task). `None` to carry on;
    /// else how the sequencing ends.
    fn make_room(&mut self) -> Option<End> {
        let deadline = self.planner.deadline;
        let (need, resolution) = room::resolve(&self.planner, &self.state, deadline);
        match resolution {
            room::Resolution::Proven(model) => Some(End::Proven(need, model)),
            room::Resolution::Room(target)
                if self.rooms.iter().filter(|n| **n == need).count() < 2 =>
            {
                self.rooms.push(need);
                match room::make_room(&mut self.planner, &mut self.state, &target, need, deadline) {
                    Some(extra) => {
                        if tracing() {
                            eprintln!("vksplan: made room in {} wave(s) for {need:?}", extra.len());
                        }
                        self.waves.extend(extra);
                        None
                    }
                    None => Some(End::Unresolved(need)),
                }
            }
            _ => Some(End::Unresolved(need)),
        }
    }

    /// The upgrade block and diagnosis for how the sequencing ended (`diagnosis`: the entries
    /// so far): the waves, when done; else no waves, with the time limit, the proof that the
    /// upgrade is infeasible, or what blocks it.
    fn finish(
        mut self,
        end: End,
        mut diagnosis: Vec<Diagnostic>,
        lower_bound_waves: u32,
    ) -> Sequenced {
        let inventory = self.planner.inventory;
        let no_waves = |status| UpgradePlan {
            status,
            waves: Vec::new(),
            lower_bound_waves,
        };
        let unresolved = match end {
            End::Done => {
                self.exit_maintenance();
                return self.sequenced(diagnosis, lower_bound_waves);
            }
            End::TimedOut => {
                diagnosis.push(Diagnostic::input(
                    "policy.time_limit_s",
                    "policy",
                    Constraint::TimeLimit,
                    format!(
                        "the upgrade sequencing hit the time limit after {} wave(s) (at least {lower_bound_waves} are needed); no sequence is returned",
                        self.waves.len()
                    ),
                    "raise `policy.time_limit_s` or roll fewer clusters or hosts at once",
                ));
                return Sequenced {
                    plan: no_waves(Status::Timeout),
                    diagnosis,
                };
            }
            End::Proven(need, model) => {
                // Proven: the weakest state the task needs has no placement.
                let deadline = self.planner.deadline;
                diagnosis.extend(room::proof_entries(inventory, need, &model, deadline));
                return Sequenced {
                    plan: no_waves(Status::Infeasible),
                    diagnosis,
                };
            }
            End::Unresolved(need) => {
                self.exit_maintenance();
                Some(need)
            }
            End::Stuck => None,
        };
        // Neither a way on nor a proof that there is none: not `infeasible`.
        diagnosis.push(room::unresolved_entry(
            inventory,
            unresolved,
            self.waves.len() + 1,
        ));
        diagnosis.extend(explain(
            inventory,
            &self.planner.blocked,
            self.waves.len() + 1,
            &self.queues.supervisor,
            &self.queues.hosts,
        ));
        Sequenced {
            plan: no_waves(Status::Timeout),
            diagnosis,
        }
    }

    /// Adds a last wave in which the hosts still in maintenance exit, if any.
    fn exit_maintenance(&mut self) {
        if self.in_maintenance.is_empty() {
            return;
        }
        let ops: Vec<Op> = self.in_maintenance.drain(..).map(Op::Exit).collect();
        let _ = apply_wave(
            self.planner.inventory,
            &self.planner.roll,
            &mut self.state,
            &ops,
            &self.planner.tolerated,
        );
        self.waves.push(ops);
    }

    /// The finished sequence: its waves as actions, `optimal` when as few as the lower bound.
    fn sequenced(self, diagnosis: Vec<Diagnostic>, lower_bound_waves: u32) -> Sequenced {
        let inventory = self.planner.inventory;
        let broken = final_check(inventory, &self.planner.roll, &self.state);
        debug_assert!(broken.is_empty(), "{broken:?}");
        let status = if self.waves.len() as u32 <= lower_bound_waves {
            Status::Optimal
        } else {
            Status::Feasible
        };
        let waves = self
            .waves
            .into_iter()
            .map(|wave| wave.into_iter().map(|op| op.action(inventory)).collect())
            .collect();
        Sequenced {
            plan: UpgradePlan {
                status,
                waves,
                lower_bound_waves,
            },
            diagnosis,
        }
    }
}

/// Traces a wave built: its new copies, migrations, hosts patched, and the first blocked task.
fn trace_wave(index: usize, ops: &[Op], patched: &[HostId], blocked: &[BlockedTask]) {
    let creates = ops.iter().filter(|op| matches!(op, Op::Create(..))).count();
    let migrations = ops
        .iter()
        .filter(|op| matches!(op, Op::Migrate(..)))
        .count();
    eprintln!(
        "vksplan: wave {}: {creates} new copies, {migrations} migrations, {} host(s) in; first blocked: {}",
        index + 1,
        patched.len(),
        blocked
            .first()
            .and_then(|task| task.first())
            .map(|d| d.message)
            .unwrap_or_default()
    );
}

/// One cluster's roll in progress.
#[derive(Debug, Clone)]
struct ClusterRoll {
    control_plane: Vec<VmId>,
    /// Per pool: slots to roll, and slots deleted and waiting for their new copy.
    pools: Vec<(Vec<VmId>, Vec<VmId>)>,
    control_plane_done_in: Option<usize>,
    max_surge: u32,
    max_unavailable: u32,
}

/// What is left to do.
#[derive(Debug, Clone)]
struct Queues {
    supervisor: Vec<VmId>,
    clusters: Vec<ClusterRoll>,
    hosts: Vec<HostId>,
}

impl ClusterRoll {
    /// Waves this cluster still needs at least: its control plane, then its longest pool.
    fn remaining_waves(&self) -> u32 {
        let rate = (self.max_surge + self.max_unavailable).max(1);
        let pools = self
            .pools
            .iter()
            .map(|(todo, waiting)| (todo.len() + waiting.len()) as u32)
            .map(|n| n.div_ceil(rate))
            .max()
            .unwrap_or(0);
        self.control_plane.len() as u32 + pools
    }
}

impl Queues {
    fn new(inventory: &Inventory, roll: &Roll, upgrade: &UpgradeSpec) -> Queues {
        let rolled = |group: &vksplan_model::Group| -> Vec<VmId> {
            group
                .vms
                .iter()
                .copied()
                .filter(|vm| roll.slots[vm.index()])
                .collect()
        };
        let supervisor = inventory
            .groups
            .iter()
            .filter(|g| g.kind == GroupKind::SupervisorControlPlane)
            .flat_map(rolled)
            .collect();
        let clusters = upgrade
            .clusters
            .iter()
            .map(|(cluster, _)| ClusterRoll {
                control_plane: inventory.groups.iter().filter(|g| g.kind == GroupKind::ControlPlane { cluster: *cluster }).flat_map(rolled).collect(),
                pools: inventory
                    .groups
                    .iter()
                    .filter(|g| matches!(g.kind, GroupKind::NodePool { cluster: c, .. } if c == *cluster))
                    .map(|g| (rolled(g), Vec::new()))
                    .collect(),
                control_plane_done_in: None,
                max_surge: inventory.clusters[*cluster].max_surge,
                max_unavailable: inventory.clusters[*cluster].max_unavailable,
            })
            .collect();
        Queues {
            supervisor,
            clusters,
            hosts: upgrade.hosts.clone(),
        }
    }

    fn work_left(&self) -> bool {
        !self.supervisor.is_empty()
            || !self.hosts.is_empty()
            || self.clusters.iter().any(|c| {
                !c.control_plane.is_empty()
                    || c.pools
                        .iter()
                        .any(|(todo, waiting)| !todo.is_empty() || !waiting.is_empty())
            })
    }
}

/// Builds one wave from `state`: the exits, then rolls and host patching in either order.
/// Returns the wave's actions and the hosts it puts into maintenance.
fn fill_wave(
    planner: &mut Planner,
    state: &State,
    queues: &mut Queues,
    exits: &[Op],
    index: usize,
    (hosts_first, patch): (bool, bool),
) -> (Vec<Op>, Vec<HostId>) {
    let mut ops: Vec<Op> = exits.to_vec();
    // Which hosts go into maintenance at the end of this wave: no new copy may land there.
    let entering: Vec<HostId> = queues
        .hosts
        .iter()
        .copied()
        .take(if patch {
            planner.roll.max_in_maintenance as usize
        } else {
            0
        })
        .collect();
    let mut patched = Vec::new();
    if hosts_first {
        patched = patch_hosts(planner, state, &mut ops, &entering);
    }
    roll_slots(planner, state, queues, &mut ops, &entering, index);
    if !hosts_first {
        patched = patch_hosts(planner, state, &mut ops, &entering);
    }
    queues.hosts.retain(|h| !patched.contains(h));
    (ops, patched)
}

/// One Supervisor slot, one control-plane slot per cluster, and the pools of clusters whose
/// control plane is done.
fn roll_slots(
    planner: &mut Planner,
    state: &State,
    queues: &mut Queues,
    ops: &mut Vec<Op>,
    entering: &[HostId],
    index: usize,
) {
    let inventory = planner.inventory;
    let migrating: Vec<usize> = ops
        .iter()
        .filter_map(|op| {
            if let Op::Migrate(vm, _) = op {
                Some(vm.index())
            } else {
                None
            }
        })
        .collect();
    let rollable = |vm: usize| !migrating.contains(&vm);
    if let Some(&vm) = queues
        .supervisor
        .first()
        .filter(|vm| rollable((**vm).index()))
    {
        let task = format!("the new copy of `{}`", inventory.vms[vm].name);
        if planner.roll_slot(state, ops, entering, (vm, &task), |host| {
            vec![Op::Create(vm, host), Op::Delete(vm)]
        }) {
            queues.supervisor.remove(0);
        }
    }
    // Longest remaining work first (list scheduling on the critical path), then input order.
    let mut order: Vec<usize> = (0..queues.clusters.len()).collect();
    order.sort_by_key(|c| (std::cmp::Reverse(queues.clusters[*c].remaining_waves()), *c));
    for c in order {
        let cluster = &mut queues.clusters[c];
        if let Some(&vm) = cluster.control_plane.first() {
            let task = format!(
                "the new copy of control-plane VM `{}`",
                inventory.vms[vm].name
            );
            if rollable(vm.index())
                && planner.roll_slot(state, ops, entering, (vm, &task), |host| {
                    vec![Op::Create(vm, host), Op::Delete(vm)]
                })
            {
                cluster.control_plane.remove(0);
                if cluster.control_plane.is_empty() {
                    cluster.control_plane_done_in = Some(index);
                }
            }
            continue;
        }
        if cluster
            .control_plane_done_in
            .is_some_and(|done| done >= index)
        {
            continue;
        }
        for (todo, waiting) in cluster.pools.iter_mut() {
            // Slots deleted in the last wave get their new copy first.
            let mut still_waiting = Vec::new();
            for vm in waiting.drain(..) {
                let task = format!("the new copy of `{}`", inventory.vms[vm].name);
                if !planner.roll_slot(state, ops, entering, (vm, &task), |host| {
                    vec![Op::Create(vm, host)]
                }) {
                    still_waiting.push(vm);
                }
            }
            *waiting = still_waiting;
            if cluster.max_surge > 0 {
                let mut rolled = 0;
                let mut position = 0;
                while rolled < cluster.max_surge && position < todo.len() {
                    let vm = todo[position];
                    let task = format!("the surge copy of `{}`", inventory.vms[vm].name);
                    if rollable(vm.index())
                        && planner.roll_slot(state, ops, entering, (vm, &task), |host| {
                            vec![Op::Create(vm, host), Op::Delete(vm)]
                        })
                    {
                        todo.remove(position);
                        rolled += 1;
                    } else if rollable(vm.index()) {
                        break;
                    } else {
                        position += 1;
                    }
                }
            }
            // Besides the surge, up to `max_unavailable` slots go now and come back next wave.
            if cluster.max_unavailable > 0 {
                let mut position = 0;
                while waiting.len() < cluster.max_unavailable as usize && position < todo.len() {
                    let vm = todo[position];
                    if !rollable(vm.index()) {
                        position += 1;
                        continue;
                    }
                    let mut trial = ops.clone();
                    trial.push(Op::Delete(vm));
                    trial.sort_by_key(|op| op.phase());
                    match planner.valid(state, &trial) {
                        Ok(()) => {
                            *ops = trial;
                            todo.remove(position);
                            waiting.push(vm);
                        }
                        Err(broken) => {
                            let task = format!(
                                "deleting `{}` first (max_unavailable)",
                                inventory.vms[vm].name
                            );
                            planner.refuse(task, roll_owner(inventory, vm), Need::Nothing, broken);
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Moves what is left on the entering hosts and puts them into maintenance; a host whose VMs
/// cannot all move stays in service this wave.
fn patch_hosts(
    planner: &mut Planner,
    state: &State,
    ops: &mut Vec<Op>,
    entering: &[HostId],
) -> Vec<HostId> {
    let inventory = planner.inventory;
    let mut patched = Vec::new();
    for &host in entering {
        let deleted_here: Vec<usize> = ops
            .iter()
            .filter_map(|op| {
                if let Op::Delete(vm) = op {
                    Some(vm.index())
                } else {
                    None
                }
            })
            .collect();
        // Old copies deleted in this wave leave by themselves.
        let leaving: Vec<usize> = state
            .on_host(host.index())
            .into_iter()
            .filter(|vm| {
                !(deleted_here.contains(vm)
                    && state.old[*vm] == Some(host.index())
                    && state.new[*vm].is_none())
            })
            .collect();
        let before = ops.clone();
        let mut moved_all = true;
        for vm in leaving {
            let task = format!(
                "moving `{}` off `{}`",
                inventory.vms[VmId::new(vm)].name,
                inventory.hosts[host].name
            );
            if !planner.place(
                state,
                ops,
                entering,
                (
                    &task,
                    patch_owner(inventory, host),
                    Need::EmptyHost { host },
                ),
                |target| vec![Op::Migrate(VmId::new(vm), target)],
            ) {
                moved_all = false;
                break;
            }
        }
        let mut trial = ops.clone();
        trial.push(Op::Enter(host));
        let entered = moved_all
            && match planner.valid(state, &trial) {
                Ok(()) => true,
                Err(broken) => {
                    let task = format!("putting `{}` into maintenance", inventory.hosts[host].name);
                    planner.refuse(
                        task,
                        patch_owner(inventory, host),
                        Need::EmptyHost { host },
                        broken,
                    );
                    false
                }
            };
        if entered {
            *ops = trial;
            patched.push(host);
        } else {
            *ops = before;
        }
    }
    patched
}

/// What blocks a stuck upgrade: a minimal conflict per blocked task (see [`crate::upgrade::stuck`]).
fn explain(
    inventory: &Inventory,
    blocked: &[BlockedTask],
    wave: usize,
    supervisor: &[VmId],
    hosts: &[HostId],
) -> Vec<Diagnostic> {
    let mut found = crate::upgrade::stuck::entries(inventory, blocked, wave);
    if found.is_empty() {
        let what = if !supervisor.is_empty() {
            "the Supervisor roll".to_string()
        } else if let Some(host) = hosts.first() {
            format!("patching `{}`", inventory.hosts[*host].name)
        } else {
            "the rollout".to_string()
        };
        found.push(Diagnostic::new(
            Layer::Infrastructure,
            "upgrade",
            Constraint::NoProgress,
            format!("the upgrade cannot go on: {what} finds no valid next step"),
            "add capacity or relax the rollout settings",
        ));
    }
    found
}
