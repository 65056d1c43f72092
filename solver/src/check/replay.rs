//! The upgrade verifier: replays an upgrade plan action by action, exactly as docs/output-and-upgrades.md §11-§17
//! says, and checks docs/accounting.md at every wave's peak and end (through
//! [`crate::check::verify::check_state`] over the live copies) plus the rules of the roll: each slot
//! created and deleted once, control planes one slot per wave and before their pools, surge and
//! unavailability within the rollout settings, the Supervisor one slot per wave, every host to
//! patch in and out of maintenance, and the maintenance concurrency.

use crate::check::verify::{check_state, Alive, Assignment, Copy};
use std::collections::{BTreeMap, BTreeSet};
use vksplan_model::inventory::{GroupKind, UpgradeSpec};
use vksplan_model::plan::Action;
use vksplan_model::{Constraint, Diagnostic, Inventory, Layer};
use vksplan_model::{GroupId, HostId, VmId};

/// An action with indices instead of names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// Phase 1.
    Exit(HostId),
    /// Phase 2: a new copy of a slot on a host.
    Create(VmId, HostId),
    /// Phase 2: a VM starts moving to a host.
    Migrate(VmId, HostId),
    /// Phase 3: the old copy of a slot goes.
    Delete(VmId),
    /// Phase 4.
    Enter(HostId),
}

impl Op {
    /// The phase (1 to 4) the action runs in.
    pub fn phase(self) -> u8 {
        match self {
            Op::Exit(_) => 1,
            Op::Create(..) | Op::Migrate(..) => 2,
            Op::Delete(_) => 3,
            Op::Enter(_) => 4,
        }
    }

    /// The plan document's form.
    pub fn action(self, inventory: &Inventory) -> Action {
        let vm = |v: VmId| inventory.vms[v].name.clone();
        let host = |h: HostId| inventory.hosts[h].name.clone();
        match self {
            Op::Exit(h) => Action::ExitMaintenance { host: host(h) },
            Op::Create(v, h) => Action::Create {
                vm: vm(v),
                host: host(h),
            },
            Op::Migrate(v, h) => Action::Migrate {
                vm: vm(v),
                to: host(h),
            },
            Op::Delete(v) => Action::Delete { vm: vm(v) },
            Op::Enter(h) => Action::EnterMaintenance { host: host(h) },
        }
    }
}

/// What the upgrade rolls: slots (VMs) and hosts.
#[derive(Debug, Clone)]
pub struct Roll {
    /// Per VM: whether its slot is rolled.
    pub slots: Vec<bool>,
    /// Per host: whether it is patched.
    pub hosts: Vec<bool>,
    /// Maintenance concurrency.
    pub max_in_maintenance: u32,
    /// Per cluster: its rolled control-plane slots (its pools roll after them).
    pub control_planes: Vec<Vec<usize>>,
}

impl Roll {
    /// The slots and hosts an upgrade request rolls, for the admitted units.
    pub fn new(inventory: &Inventory, upgrade: &UpgradeSpec, admitted: &[bool]) -> Roll {
        let mut slots = vec![false; inventory.vms.len()];
        for group in &inventory.groups {
            let rolled = match group.kind {
                GroupKind::SupervisorControlPlane => upgrade.supervisor,
                GroupKind::ControlPlane { cluster } | GroupKind::NodePool { cluster, .. } => {
                    let admitted = inventory
                        .unit_of_cluster(cluster)
                        .is_none_or(|unit| admitted[unit.index()]);
                    admitted && upgrade.clusters.iter().any(|(c, _)| *c == cluster)
                }
                GroupKind::ServiceVm { .. } => false,
            };
            for vm in &group.vms {
                slots[vm.index()] = rolled;
            }
        }
        let mut hosts = vec![false; inventory.hosts.len()];
        for host in &upgrade.hosts {
            hosts[host.index()] = true;
        }
        let mut control_planes = vec![Vec::new(); inventory.clusters.len()];
        for group in &inventory.groups {
            if let GroupKind::ControlPlane { cluster } = group.kind {
                control_planes[cluster].extend(
                    group
                        .vms
                        .iter()
                        .map(|vm| vm.index())
                        .filter(|vm| slots[*vm]),
                );
            }
        }
        Roll {
            slots,
            hosts,
            max_in_maintenance: upgrade.max_hosts_in_maintenance,
            control_planes,
        }
    }
}

/// Where every copy is between waves.
#[derive(Debug, Clone)]
pub struct State {
    /// Host of the old copy of each slot, while alive.
    pub old: Vec<Option<usize>>,
    /// Host of the new copy, once created.
    pub new: Vec<Option<usize>>,
    /// Wave in which each slot's new copy was created / old copy deleted.
    pub created_in: Vec<Option<usize>>,
    /// See `created_in`.
    pub deleted_in: Vec<Option<usize>>,
    /// Hosts in maintenance.
    pub maintenance: Vec<bool>,
    /// Hosts the plan put in maintenance (and when they came back).
    pub entered_in: Vec<Option<usize>>,
    /// See `entered_in`.
    pub exited_in: Vec<Option<usize>>,
    /// Admission of each unit.
    pub admitted: Vec<bool>,
    /// Waves applied so far.
    pub waves: usize,
}

impl State {
    /// The start state: every admitted VM on its host.
    pub fn start(inventory: &Inventory, start: &Assignment) -> State {
        let vms = inventory.vms.len();
        let hosts = inventory.hosts.len();
        State {
            old: start.host_of.iter().map(|h| h.map(HostId::index)).collect(),
            new: vec![None; vms],
            created_in: vec![None; vms],
            deleted_in: vec![None; vms],
            maintenance: inventory.maintenance(),
            entered_in: vec![None; hosts],
            exited_in: vec![None; hosts],
            admitted: start.admitted.raw().to_vec(),
            waves: 0,
        }
    }

    /// Live copies (old and new), all counted.
    pub fn copies(&self) -> Vec<Copy> {
        let old = self.old.iter().enumerate().filter_map(|(vm, h)| {
            Some(Copy {
                vm: VmId::new(vm),
                host: HostId::new((*h)?),
                counted: true,
            })
        });
        let new = self.new.iter().enumerate().filter_map(|(vm, h)| {
            Some(Copy {
                vm: VmId::new(vm),
                host: HostId::new((*h)?),
                counted: true,
            })
        });
        old.chain(new).collect()
    }

    /// Copies on a host.
    pub fn on_host(&self, host: usize) -> Vec<usize> {
        (0..self.old.len())
            .filter(|vm| self.old[*vm] == Some(host) || self.new[*vm] == Some(host))
            .collect()
    }
}

/// The (constraint, subject) pairs the start state already breaks: the waves are held only to
/// the rules the start state keeps.
pub fn start_violations(inventory: &Inventory, state: &State) -> Vec<Diagnostic> {
    let copies = state.copies();
    let alive = Alive {
        copies: &copies,
        maintenance: &state.maintenance,
        admitted: &state.admitted,
    };
    check_state(inventory, alive).0
}

fn roll_violation(
    layer: Layer,
    subject: &str,
    constraint: Constraint,
    message: String,
) -> Diagnostic {
    Diagnostic::new(
        layer,
        subject,
        constraint,
        message,
        "a bug in the upgrade plan: report it",
    )
}

/// Applies one wave; returns what it breaks (section 3 at peak and end, the roll rules),
/// leaving out what is in `tolerated`.
pub fn apply_wave(
    inventory: &Inventory,
    roll: &Roll,
    state: &mut State,
    wave: &[Op],
    tolerated: &BTreeSet<(Constraint, String)>,
) -> Vec<Diagnostic> {
    let index = state.waves;
    state.waves += 1;
    let mut replay = WaveReplay {
        inventory,
        roll,
        state,
        tolerated,
        index,
        broken: Vec::new(),
    };
    replay.check_phase_order(wave);
    let mut ops: Vec<Op> = wave.to_vec();
    ops.sort_by_key(|op| op.phase());
    let (created, migrating) = replay.exits_and_new_copies(&ops);
    replay.check_peak(&migrating);
    let deleted = replay.deletes(&ops, &migrating);
    replay.arrive(&migrating);
    replay.enters(&ops);
    replay.check_end(&created, &deleted);
    replay.broken
}

/// A VM migrating in a wave: (VM, from host, to host).
type Migration = (usize, usize, usize);

/// One wave being applied to a state: what it breaks, in the order found.
struct WaveReplay<'a> {
    inventory: &'a Inventory,
    roll: &'a Roll,
    state: &'a mut State,
    /// What the waves are not held to (the start state breaks it already).
    tolerated: &'a BTreeSet<(Constraint, String)>,
    /// The wave, 0-based.
    index: usize,
    /// What the wave breaks so far.
    broken: Vec<Diagnostic>,
}

impl WaveReplay<'_> {
    /// Checks that the wave lists its actions in phase order.
    fn check_phase_order(&mut self, wave: &[Op]) {
        if wave
            .windows(2)
            .any(|pair| pair[0].phase() > pair[1].phase())
        {
            self.broken.push(roll_violation(
                Layer::Infrastructure,
                "upgrade",
                Constraint::PhaseOrder,
                format!(
                    "wave {} lists its actions out of phase order",
                    self.index + 1
                ),
            ));
        }
    }

    /// Phases 1 and 2 of `ops` (sorted by phase): hosts exit maintenance, new copies are
    /// created and VMs start migrating, each if allowed. Returns the slots created and the
    /// migrations.
    fn exits_and_new_copies(&mut self, ops: &[Op]) -> (Vec<usize>, Vec<Migration>) {
        let mut migrating: Vec<Migration> = Vec::new();
        let mut created = Vec::new();
        for op in ops {
            match *op {
                Op::Exit(host) => self.exit(host.index()),
                Op::Create(vm, host) => {
                    if self.create(vm.index(), host.index()) {
                        created.push(vm.index());
                    }
                }
                Op::Migrate(vm, host) => {
                    if let Some(migration) = self.migration(vm.index(), host.index(), &migrating) {
                        migrating.push(migration);
                    }
                }
                Op::Delete(_) | Op::Enter(_) => {}
            }
        }
        (created, migrating)
    }

    /// Phase 1: `host` exits maintenance, if the plan put it in and it has not exited yet.
    fn exit(&mut self, host: usize) {
        let state = &mut *self.state;
        if state.entered_in[host].is_none() || state.exited_in[host].is_some() {
            let host_name = self.inventory.hosts[HostId::new(host)].name.as_str();
            self.broken.push(roll_violation(
                Layer::Infrastructure,
                host_name,
                Constraint::Maintenance,
                format!("host `{host_name}` exits maintenance it was not put in"),
            ));
        } else {
            state.maintenance[host] = false;
            state.exited_in[host] = Some(self.index);
        }
    }

    /// Phase 2: the new copy of slot `vm` on `host`, if the slot is rolled, not yet created
    /// and the host in service. Whether it was created.
    fn create(&mut self, vm: usize, host: usize) -> bool {
        let (inventory, roll, state) = (self.inventory, self.roll, &mut *self.state);
        let vm_name = inventory.vms[VmId::new(vm)].name.as_str();
        let host_name = inventory.hosts[HostId::new(host)].name.as_str();
        if !roll.slots[vm] || state.created_in[vm].is_some() {
            self.broken.push(roll_violation(
                Layer::Cluster,
                vm_name,
                Constraint::Roll,
                format!(
                    "`{vm_name}` is created {}",
                    if roll.slots[vm] {
                        "twice"
                    } else {
                        "but is not rolled"
                    }
                ),
            ));
            false
        } else if state.maintenance[host] {
            self.broken.push(roll_violation(
                Layer::Infrastructure,
                host_name,
                Constraint::Maintenance,
                format!("`{vm_name}` is created on `{host_name}`, which is in maintenance"),
            ));
            false
        } else {
            state.new[vm] = Some(host);
            state.created_in[vm] = Some(self.index);
            true
        }
    }

    /// Phase 2: `vm` starts migrating to `host`, if it has one live copy, is not migrating
    /// yet, and the host is another one in service. The migration, if allowed.
    fn migration(&mut self, vm: usize, host: usize, migrating: &[Migration]) -> Option<Migration> {
        let state = &*self.state;
        let vm_name = self.inventory.vms[VmId::new(vm)].name.as_str();
        let host_name = self.inventory.hosts[HostId::new(host)].name.as_str();
        let copies: Vec<usize> = [state.old[vm], state.new[vm]]
            .into_iter()
            .flatten()
            .collect();
        if copies.len() != 1 || migrating.iter().any(|(v, _, _)| *v == vm) {
            self.broken.push(roll_violation(
                Layer::Infrastructure,
                vm_name,
                Constraint::Migrate,
                format!(
                    "`{vm_name}` migrates with {} live copies; only a slot with one may",
                    copies.len()
                ),
            ));
            None
        } else if state.maintenance[host] || copies[0] == host {
            self.broken.push(roll_violation(
                Layer::Infrastructure,
                host_name,
                Constraint::Migrate,
                format!(
                    "`{vm_name}` migrates to `{host_name}`, which is in maintenance or its own host"
                ),
            ));
            None
        } else {
            Some((vm, copies[0], host))
        }
    }

    /// The peak: everything alive, migrating VMs on both hosts, counted once, in their
    /// destination's zone (docs/output-and-upgrades.md §11-§17); and the pools' surge.
    fn check_peak(&mut self, migrating: &[Migration]) {
        let mut copies: Vec<Copy> = self
            .state
            .copies()
            .into_iter()
            .map(|copy| Copy {
                counted: !migrating.iter().any(|(v, _, _)| *v == copy.vm.index()),
                ..copy
            })
            .collect();
        copies.extend(migrating.iter().map(|(vm, _, to)| Copy {
            vm: VmId::new(*vm),
            host: HostId::new(*to),
            counted: true,
        }));
        self.check_accounting(&copies, "at the peak");
        self.broken.extend(surge_and_unavailability(
            self.inventory,
            self.roll,
            self.state,
            self.index,
            true,
        ));
    }

    /// docs/accounting.md over `copies` in the state's maintenance and admission: what it
    /// breaks and is not tolerated, said to be `when` ("at the peak", "at the end") of the
    /// wave.
    fn check_accounting(&mut self, copies: &[Copy], when: &str) {
        let alive = Alive {
            copies,
            maintenance: &self.state.maintenance,
            admitted: &self.state.admitted,
        };
        let tolerated = self.tolerated;
        let keep = |d: &Diagnostic| !tolerated.contains(&(d.constraint.clone(), d.subject.clone()));
        let index = self.index;
        self.broken.extend(
            check_state(self.inventory, alive)
                .0
                .into_iter()
                .filter(keep)
                .map(|mut d| {
                    d.message = format!("{when} of wave {}: {}", index + 1, d.message);
                    d
                }),
        );
    }

    /// Phase 3: old copies of rolled slots are deleted, once each, not while migrating.
    /// Returns the slots deleted.
    fn deletes(&mut self, ops: &[Op], migrating: &[Migration]) -> Vec<usize> {
        let (inventory, roll, state) = (self.inventory, self.roll, &mut *self.state);
        let mut deleted = Vec::new();
        for op in ops {
            let Op::Delete(vm) = *op else {
                continue;
            };
            let vm_name = inventory.vms[vm].name.as_str();
            if !roll.slots[vm.index()]
                || state.deleted_in[vm.index()].is_some()
                || state.old[vm.index()].is_none()
            {
                self.broken.push(roll_violation(
                    Layer::Cluster,
                    vm_name,
                    Constraint::Roll,
                    format!(
                        "`{vm_name}` is deleted twice, without a live old copy, or is not rolled"
                    ),
                ));
            } else if migrating.iter().any(|(v, _, _)| *v == vm.index()) {
                self.broken.push(roll_violation(
                    Layer::Cluster,
                    vm_name,
                    Constraint::Roll,
                    format!("`{vm_name}` is deleted while it migrates"),
                ));
            } else {
                state.old[vm.index()] = None;
                state.deleted_in[vm.index()] = Some(self.index);
                deleted.push(vm.index());
            }
        }
        deleted
    }

    /// The migrating copies arrive on their destinations.
    fn arrive(&mut self, migrating: &[Migration]) {
        let state = &mut *self.state;
        for (vm, from, to) in migrating {
            if state.old[*vm] == Some(*from) {
                state.old[*vm] = Some(*to);
            } else if state.new[*vm] == Some(*from) {
                state.new[*vm] = Some(*to);
            }
        }
    }

    /// Phase 4: hosts to patch enter maintenance, once each and empty; then no more may be in
    /// maintenance than the concurrency allows.
    fn enters(&mut self, ops: &[Op]) {
        let (inventory, roll, state) = (self.inventory, self.roll, &mut *self.state);
        for op in ops {
            let Op::Enter(host) = *op else {
                continue;
            };
            let host_name = inventory.hosts[host].name.as_str();
            if !roll.hosts[host.index()] || state.entered_in[host.index()].is_some() {
                self.broken.push(roll_violation(
                    Layer::Infrastructure,
                    host_name,
                    Constraint::Maintenance,
                    format!(
                        "host `{host_name}` enters maintenance {}",
                        if roll.hosts[host.index()] {
                            "twice"
                        } else {
                            "but is not to be patched"
                        }
                    ),
                ));
            } else if !state.on_host(host.index()).is_empty() {
                self.broken.push(roll_violation(
                    Layer::Infrastructure,
                    host_name,
                    Constraint::Maintenance,
                    format!(
                        "host `{host_name}` enters maintenance holding {} VM(s)",
                        state.on_host(host.index()).len()
                    ),
                ));
            } else {
                state.maintenance[host.index()] = true;
                state.entered_in[host.index()] = Some(self.index);
            }
        }
        let in_maintenance = (0..inventory.hosts.len())
            .filter(|h| state.entered_in[*h].is_some() && state.exited_in[*h].is_none())
            .count();
        if in_maintenance > roll.max_in_maintenance as usize {
            self.broken.push(roll_violation(
                Layer::Infrastructure,
                "hosts",
                Constraint::Maintenance,
                format!(
                    "{in_maintenance} hosts are in maintenance after wave {}; at most {} may be",
                    self.index + 1,
                    roll.max_in_maintenance
                ),
            ));
        }
    }

    /// The end of the wave: docs/accounting.md over the copies left, the pools'
    /// unavailability, and the order of the roll (`created`, `deleted`: this wave's slots).
    fn check_end(&mut self, created: &[usize], deleted: &[usize]) {
        let copies = self.state.copies();
        self.check_accounting(&copies, "at the end");
        let (inventory, roll, state, index) = (self.inventory, self.roll, &*self.state, self.index);
        self.broken.extend(surge_and_unavailability(
            inventory, roll, state, index, false,
        ));
        self.broken.extend(order_of_the_roll(
            inventory, roll, state, index, created, deleted,
        ));
    }
}

/// At a peak: slots of a pool with both copies alive within `max_surge`; at an end: slots with
/// no copy within `max_unavailable`.
fn surge_and_unavailability(
    inventory: &Inventory,
    roll: &Roll,
    state: &State,
    index: usize,
    peak: bool,
) -> Vec<Diagnostic> {
    let mut broken = Vec::new();
    for group in &inventory.groups {
        let GroupKind::NodePool { cluster, .. } = group.kind else {
            continue;
        };
        let spec = &inventory.clusters[cluster];
        let rolled = group.vms.iter().filter(|vm| roll.slots[(**vm).index()]);
        if peak {
            let surging = rolled
                .filter(|vm| {
                    state.old[(**vm).index()].is_some() && state.new[(**vm).index()].is_some()
                })
                .count();
            if surging > spec.max_surge as usize {
                broken.push(roll_violation(Layer::Cluster, &group.name, Constraint::MaxSurge, format!("{surging} slots of `{}` have two copies at the peak of wave {}; max_surge is {}", group.name, index + 1, spec.max_surge)));
            }
        } else {
            let missing = rolled
                .filter(|vm| {
                    state.old[(**vm).index()].is_none() && state.new[(**vm).index()].is_none()
                })
                .count();
            if missing > spec.max_unavailable as usize {
                broken.push(roll_violation(Layer::Cluster, &group.name, Constraint::MaxUnavailable, format!("{missing} slots of `{}` are unavailable at the end of wave {}; max_unavailable is {}", group.name, index + 1, spec.max_unavailable)));
            }
        }
    }
    broken
}

/// Control planes (a cluster's and the Supervisor's) roll one slot per wave with create and
/// delete together; a cluster's pools start in a wave after its control plane is done.
fn order_of_the_roll(
    inventory: &Inventory,
    roll: &Roll,
    state: &State,
    index: usize,
    created: &[usize],
    deleted: &[usize],
) -> Vec<Diagnostic> {
    let mut broken = Vec::new();
    let mut control_plane_slots: BTreeMap<usize, usize> = BTreeMap::new();
    let touched: BTreeSet<&usize> = created.iter().chain(deleted).collect();
    for vm in touched {
        let group_index = inventory.vms[VmId::new(*vm)].group;
        let group = &inventory.groups[group_index];
        let is_control_plane = matches!(
            group.kind,
            GroupKind::ControlPlane { .. } | GroupKind::SupervisorControlPlane
        );
        if is_control_plane {
            if created.contains(vm) != deleted.contains(vm) {
                broken.push(roll_violation(
                    Layer::Cluster,
                    &inventory.vms[VmId::new(*vm)].name,
                    Constraint::ControlPlaneRoll,
                    format!(
                        "control-plane slot `{}` is not created and deleted in the same wave",
                        inventory.vms[VmId::new(*vm)].name
                    ),
                ));
            }
            if created.contains(vm) {
                *control_plane_slots.entry(group_index.index()).or_insert(0) += 1;
            }
        }
        if let GroupKind::NodePool { cluster, .. } = group.kind {
            let done_before = |w: Option<usize>| w.is_some_and(|w| w < index);
            let control_plane_done = roll.control_planes[cluster]
                .iter()
                .all(|cp| done_before(state.created_in[*cp]) && done_before(state.deleted_in[*cp]));
            if !control_plane_done {
                broken.push(roll_violation(
                    Layer::Cluster,
                    &inventory.clusters[cluster].name,
                    Constraint::ControlPlaneFirst,
                    format!(
                        "a node pool of `{}` rolls in wave {} before its control plane is done",
                        inventory.clusters[cluster].name,
                        index + 1
                    ),
                ));
            }
        }
    }
    for (group, slots) in control_plane_slots {
        if slots > 1 {
            let layer = if inventory.groups[GroupId::new(group)].kind
                == GroupKind::SupervisorControlPlane
            {
                Layer::Supervisor
            } else {
                Layer::Cluster
            };
            broken.push(roll_violation(
                layer,
                &inventory.groups[GroupId::new(group)].name,
                Constraint::ControlPlaneRoll,
                format!(
                    "{slots} control-plane slots of `{}` roll in wave {}; one at a time",
                    inventory.groups[GroupId::new(group)].name,
                    index + 1
                ),
            ));
        }
    }
    broken.sort_by(|a, b| (&a.subject, &a.message).cmp(&(&b.subject, &b.message)));
    broken.dedup();
    broken
}

/// After the last wave: every rolled slot created and deleted, every host to patch in and out
/// of maintenance.
pub fn final_check(inventory: &Inventory, roll: &Roll, state: &State) -> Vec<Diagnostic> {
    let mut broken = Vec::new();
    for (vm, rolled) in roll.slots.iter().enumerate() {
        if *rolled && (state.created_in[vm].is_none() || state.deleted_in[vm].is_none()) {
            broken.push(roll_violation(
                Layer::Cluster,
                &inventory.vms[VmId::new(vm)].name,
                Constraint::Roll,
                format!(
                    "slot `{}` is never {}",
                    inventory.vms[VmId::new(vm)].name,
                    if state.created_in[vm].is_none() {
                        "created"
                    } else {
                        "deleted"
                    }
                ),
            ));
        }
    }
    for (host, patched) in roll.hosts.iter().enumerate() {
        if *patched && (state.entered_in[host].is_none() || state.exited_in[host].is_none()) {
            broken.push(roll_violation(
                Layer::Infrastructure,
                &inventory.hosts[HostId::new(host)].name,
                Constraint::Maintenance,
                format!(
                    "host `{}` is never {} maintenance",
                    inventory.hosts[HostId::new(host)].name,
                    if state.entered_in[host].is_none() {
                        "put in"
                    } else {
                        "brought back from"
                    }
                ),
            ));
        }
    }
    broken
}
