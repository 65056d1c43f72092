//! An independent check of an upgrade sequence, written from docs/output-and-upgrades.md §11-§17 and sharing no
//! code with the planner ([`crate::upgrade`], [`crate::check::replay`]) nor with the placement
//! verifier: its own record of where each copy is, its own sums of docs/accounting.md, its own
//! reading of the roll rules. It takes the plan document's actions by name, so it checks what
//! the user receives. The planner's own replay builds waves; this one only judges them.

mod rules;

use rules::{section3, Copy};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use vksplan_model::inventory::GroupKind;
use vksplan_model::plan::Action;
use vksplan_model::{Constraint, Inventory};
use vksplan_model::{GroupId, HostId, VmId};
use vksplan_model::{IdVec, UnitId};

/// What a sequence breaks: the wave (1-based; 0 after the last), the rule and a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// Wave, 1-based (0: the sequence as a whole).
    pub wave: usize,
    /// The rule broken (`HostVcpus`, `AntiAffinity`, `MaxSurge`, `PhaseOrder`...).
    pub rule: Constraint,
    /// What it concerns.
    pub subject: String,
    /// What happened.
    pub message: String,
}

/// Where a slot's copies are.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    old: Option<usize>,
    new: Option<usize>,
    created: Option<usize>,
    deleted: Option<usize>,
}

/// Checks `waves` (the plan's actions) from `start` (each VM's host, `None` when not placed)
/// with units admitted as `admitted`. Rules the start already breaks are not held against
/// the waves. Returns every finding; empty means the sequence is valid.
pub fn check(
    inventory: &Inventory,
    start: &IdVec<VmId, Option<HostId>>,
    admitted: &IdVec<UnitId, bool>,
    waves: &[Vec<Action>],
) -> Vec<Finding> {
    let start: Vec<Option<usize>> = start.iter().map(|h| h.map(HostId::index)).collect();
    let Some(mut replay) = Replay::new(inventory, &start, admitted.raw()) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for wave in waves {
        findings.extend(replay.wave(wave));
    }
    findings.extend(replay.finish());
    findings.sort();
    findings.dedup();
    findings
}

/// The replay's state between waves: where each copy is, which hosts are in maintenance.
#[derive(Debug, Clone)]
pub struct Replay<'a> {
    inventory: &'a Inventory,
    admitted: Vec<bool>,
    rolled: Vec<bool>,
    to_patch: BTreeSet<usize>,
    max_in_maintenance: usize,
    slots: Vec<Slot>,
    maintenance: Vec<bool>,
    entered: Vec<Option<usize>>,
    exited: Vec<Option<usize>>,
    tolerated: BTreeSet<(Constraint, String)>,
    waves: usize,
    /// VM and host indices by name (shared by the clones of a search).
    names: std::sync::Arc<Names>,
}

impl<'a> Replay<'a> {
    /// The state before the first wave (`None` when the inventory asks for no upgrade).
    pub fn new(
        inventory: &'a Inventory,
        start: &[Option<usize>],
        admitted: &[bool],
    ) -> Option<Replay<'a>> {
        let upgrade = inventory.upgrade.as_ref()?;
        // What is rolled: the Supervisor's slots if asked, the slots of admitted clusters asked.
        let cluster_rolled = |cluster: usize| {
            upgrade.clusters.iter().any(|(c, _)| *c == cluster)
                && inventory
                    .unit_of_cluster(cluster)
                    .is_none_or(|unit| admitted[unit.index()])
        };
        let rolled: Vec<bool> = inventory
            .vms
            .iter()
            .map(|vm| match inventory.groups[vm.group].kind {
                GroupKind::SupervisorControlPlane => upgrade.supervisor,
                GroupKind::ControlPlane { cluster } | GroupKind::NodePool { cluster, .. } => {
                    cluster_rolled(cluster)
                }
                GroupKind::ServiceVm { .. } => false,
            })
            .collect();
        let slots: Vec<Slot> = start
            .iter()
            .map(|host| Slot {
                old: *host,
                ..Slot::default()
            })
            .collect();
        let maintenance: Vec<bool> = inventory.hosts.iter().map(|h| h.maintenance).collect();
        let tolerated = section3(inventory, &copies_of(&slots), &maintenance, admitted)
            .into_iter()
            .map(|(rule, subject, _)| (rule, subject))
            .collect();
        Some(Replay {
            inventory,
            admitted: admitted.to_vec(),
            rolled,
            to_patch: upgrade.hosts.iter().map(|host| host.index()).collect(),
            max_in_maintenance: upgrade.max_hosts_in_maintenance as usize,
            slots,
            maintenance,
            entered: vec![None; inventory.hosts.len()],
            exited: vec![None; inventory.hosts.len()],
            tolerated,
            waves: 0,
            names: std::sync::Arc::new((
                inventory
                    .vms
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (v.name.clone(), i))
                    .collect(),
                inventory
                    .hosts
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (h.name.clone(), i))
                    .collect(),
            )),
        })
    }

    /// Whether the VM's slot is rolled.
    pub fn rolled(&self, vm: usize) -> bool {
        self.rolled[vm]
    }

    /// The hosts of the VM's old and new copies.
    pub fn copies(&self, vm: usize) -> (Option<usize>, Option<usize>) {
        (self.slots[vm].old, self.slots[vm].new)
    }

    /// Whether the slot's new copy was created / its old copy deleted.
    pub fn progress(&self, vm: usize) -> (bool, bool) {
        (
            self.slots[vm].created.is_some(),
            self.slots[vm].deleted.is_some(),
        )
    }

    /// Whether the host is to be patched, has entered maintenance, is in maintenance now.
    pub fn host(&self, host: usize) -> (bool, bool, bool) {
        (
            self.to_patch.contains(&host),
            self.entered[host].is_some(),
            self.maintenance[host],
        )
    }

    /// What the state is, without the wave count (two states with the same key are one).
    pub fn key(&self) -> Vec<u64> {
        let mut key = Vec::new();
        let code = |h: Option<usize>| h.map_or(0, |h| h as u64 + 1);
        for slot in &self.slots {
            key.push(
                code(slot.old) << 32
                    | code(slot.new) << 16
                    | u64::from(slot.created.is_some()) << 1
                    | u64::from(slot.deleted.is_some()),
            );
        }
        for host in 0..self.maintenance.len() {
            key.push(
                u64::from(self.maintenance[host])
                    | u64::from(self.entered[host].is_some()) << 1
                    | u64::from(self.exited[host].is_some()) << 2,
            );
        }
        key
    }

    /// Applies one wave; returns what it breaks.
    pub fn wave(&mut self, wave: &[Action]) -> Vec<Finding> {
        self.waves += 1;
        let mut notes = Notes {
            wave: self.waves,
            findings: Vec::new(),
        };
        let names = self.names.clone();
        let (
            Phases {
                exits,
                creates,
                migrations,
                deletes,
                enters,
            },
            problems,
        ) = phases(wave, &names);
        for (rule, subject, message) in problems {
            notes.note(rule, &subject, message);
        }
        self.exit(&exits, &mut notes);
        self.create(&creates, &mut notes);
        let moving = self.migrations(&migrations, &mut notes);
        self.check_peak(&moving, &mut notes);
        self.delete(&deletes, &moving, &mut notes);
        self.enter(&enters, &mut notes);
        self.check_end(&mut notes);
        self.check_control_planes(&creates, &deletes, &mut notes);
        notes.findings
    }

    /// Phase 1: hosts exit maintenance, which they must have entered (and not yet exited).
    fn exit(&mut self, exits: &[usize], notes: &mut Notes) {
        for &host in exits {
            if self.entered[host].is_none() || self.exited[host].is_some() {
                notes.note(
                    Constraint::Maintenance,
                    &self.inventory.hosts[HostId::new(host)].name,
                    "exits maintenance it did not enter".into(),
                );
            }
            self.maintenance[host] = false;
            self.exited[host] = Some(notes.wave);
        }
    }

    /// Phase 2, new copies: of rolled slots, once each, on hosts in service.
    fn create(&mut self, creates: &[(usize, usize)], notes: &mut Notes) {
        for (vm, host) in creates {
            let name = &self.inventory.vms[VmId::new(*vm)].name;
            if !self.rolled[*vm] {
                notes.note(Constraint::Roll, name, "created but not rolled".into());
            }
            if self.slots[*vm].created.is_some() {
                notes.note(Constraint::Roll, name, "created twice".into());
            }
            if self.maintenance[*host] {
                notes.note(
                    Constraint::Maintenance,
                    name,
                    "created on a host in maintenance".into(),
                );
            }
            self.slots[*vm].new = Some(*host);
            self.slots[*vm].created = Some(notes.wave);
        }
    }

    /// Phase 2, migrations: of a VM with one live copy, once a wave, to another host in
    /// service. Returns each migrating VM's (from, to) hosts.
    fn migrations(
        &self,
        migrations: &[(usize, usize)],
        notes: &mut Notes,
    ) -> BTreeMap<usize, (usize, usize)> {
        let slots = &self.slots;
        let mut moving: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        for (vm, to) in migrations {
            let name = &self.inventory.vms[VmId::new(*vm)].name;
            let live: Vec<usize> = [slots[*vm].old, slots[*vm].new]
                .into_iter()
                .flatten()
                .collect();
            if live.len() != 1 {
                notes.note(
                    Constraint::Migrate,
                    name,
                    format!("migrates with {} live copies", live.len()),
                );
                continue;
            }
            if moving.contains_key(vm) {
                notes.note(
                    Constraint::Migrate,
                    name,
                    "migrates twice in one wave".into(),
                );
                continue;
            }
            if self.maintenance[*to] || live[0] == *to {
                notes.note(
                    Constraint::Migrate,
                    name,
                    "migrates to a host in maintenance or to its own host".into(),
                );
            }
            moving.insert(*vm, (live[0], *to));
        }
        moving
    }

    /// The peak of the wave, after phase 2: docs/accounting.md over every live copy and each
    /// migrating VM on both hosts (counted once for namespace limits, addresses, storage and
    /// HA admission, in its destination's zone), and each pool's surge.
    fn check_peak(&self, moving: &BTreeMap<usize, (usize, usize)>, notes: &mut Notes) {
        let inventory = self.inventory;
        let mut peak: Vec<Copy> = copies_of(&self.slots)
            .into_iter()
            .map(|c| Copy {
                counted: !moving.contains_key(&c.vm),
                ..c
            })
            .collect();
        peak.extend(moving.iter().map(|(vm, (_, to))| Copy {
            vm: *vm,
            host: *to,
            counted: true,
        }));
        for (rule, subject, message) in
            section3(inventory, &peak, &self.maintenance, &self.admitted)
        {
            if !self.tolerated.contains(&(rule.clone(), subject.clone())) {
                notes.note(rule, &subject, format!("at the peak: {message}"));
            }
        }
        // Surge: slots of a pool with both copies alive at the peak.
        let mut surging: BTreeMap<GroupId, u32> = BTreeMap::new();
        for (vm, slot) in self.slots.iter().enumerate() {
            if slot.old.is_some() && slot.new.is_some() {
                *surging
                    .entry(inventory.vms[VmId::new(vm)].group)
                    .or_default() += 1;
            }
        }
        for (group, count) in &surging {
            if let GroupKind::NodePool { cluster, .. } = inventory.groups[*group].kind {
                if *count > inventory.clusters[cluster].max_surge {
                    notes.note(
                        Constraint::MaxSurge,
                        &inventory.groups[*group].name,
                        format!("{count} slots with two copies"),
                    );
                }
            }
        }
    }

    /// Phase 3: old copies of rolled slots are deleted, once each and not while migrating;
    /// then the migrating copies arrive.
    fn delete(
        &mut self,
        deletes: &[usize],
        moving: &BTreeMap<usize, (usize, usize)>,
        notes: &mut Notes,
    ) {
        let slots = &mut self.slots;
        for vm in deletes {
            let name = &self.inventory.vms[VmId::new(*vm)].name;
            if !self.rolled[*vm] || slots[*vm].deleted.is_some() || slots[*vm].old.is_none() {
                notes.note(
                    Constraint::Roll,
                    name,
                    "deleted twice, without an old copy, or not rolled".into(),
                );
                continue;
            }
            if moving.contains_key(vm) {
                notes.note(Constraint::Roll, name, "deleted while it migrates".into());
                continue;
            }
            slots[*vm].old = None;
            slots[*vm].deleted = Some(notes.wave);
        }
        for (vm, (from, to)) in moving {
            if slots[*vm].old == Some(*from) {
                slots[*vm].old = Some(*to);
            } else if slots[*vm].new == Some(*from) {
                slots[*vm].new = Some(*to);
            }
        }
    }

    /// Phase 4: empty hosts to patch enter maintenance, once each, no more at once than the
    /// maintenance concurrency.
    fn enter(&mut self, enters: &[usize], notes: &mut Notes) {
        let inventory = self.inventory;
        for &host in enters {
            let name = &inventory.hosts[HostId::new(host)].name;
            if !self.to_patch.contains(&host) || self.entered[host].is_some() {
                notes.note(
                    Constraint::Maintenance,
                    name,
                    "enters maintenance twice or is not to be patched".into(),
                );
            }
            if self
                .slots
                .iter()
                .any(|s| s.old == Some(host) || s.new == Some(host))
            {
                notes.note(
                    Constraint::Maintenance,
                    name,
                    "enters maintenance holding VMs".into(),
                );
            }
            self.maintenance[host] = true;
            self.entered[host] = Some(notes.wave);
        }
        let down = (0..inventory.hosts.len())
            .filter(|h| self.entered[*h].is_some() && self.exited[*h].is_none())
            .count();
        if down > self.max_in_maintenance {
            notes.note(
                Constraint::Maintenance,
                "hosts",
                format!("{down} hosts in maintenance at once"),
            );
        }
    }

    /// The end of the wave: docs/accounting.md over the copies left, and the rolled slots
    /// without a copy (at most `max_unavailable` per pool, none of a control plane).
    fn check_end(&self, notes: &mut Notes) {
        let inventory = self.inventory;
        for (rule, subject, message) in section3(
            inventory,
            &copies_of(&self.slots),
            &self.maintenance,
            &self.admitted,
        ) {
            if !self.tolerated.contains(&(rule.clone(), subject.clone())) {
                notes.note(rule, &subject, format!("at the end: {message}"));
            }
        }
        let mut missing: BTreeMap<GroupId, u32> = BTreeMap::new();
        for (vm, slot) in self.slots.iter().enumerate() {
            if self.rolled[vm] && slot.old.is_none() && slot.new.is_none() {
                *missing
                    .entry(inventory.vms[VmId::new(vm)].group)
                    .or_default() += 1;
            }
        }
        for (group, count) in &missing {
            match inventory.groups[*group].kind {
                GroupKind::NodePool { cluster, .. } => {
                    if *count > inventory.clusters[cluster].max_unavailable {
                        notes.note(
                            Constraint::MaxUnavailable,
                            &inventory.groups[*group].name,
                            format!("{count} slots unavailable"),
                        );
                    }
                }
                _ => notes.note(
                    Constraint::ControlPlaneRoll,
                    &inventory.groups[*group].name,
                    "a control-plane slot is unavailable".into(),
                ),
            }
        }
    }

    /// Control planes: one slot per wave, created and deleted together; pools after it.
    fn check_control_planes(
        &self,
        creates: &[(usize, usize)],
        deletes: &[usize],
        notes: &mut Notes,
    ) {
        let inventory = self.inventory;
        let (slots, number) = (&self.slots, notes.wave);
        let mut control_plane_slots: BTreeMap<usize, u32> = BTreeMap::new();
        let touched: BTreeSet<usize> = creates
            .iter()
            .map(|(v, _)| *v)
            .chain(deletes.iter().copied())
            .collect();
        for vm in touched {
            let group = inventory.vms[VmId::new(vm)].group;
            match inventory.groups[group].kind {
                GroupKind::SupervisorControlPlane | GroupKind::ControlPlane { .. } => {
                    let created_now = slots[vm].created == Some(number);
                    let deleted_now = slots[vm].deleted == Some(number);
                    if created_now != deleted_now {
                        notes.note(
                            Constraint::ControlPlaneRoll,
                            &inventory.vms[VmId::new(vm)].name,
                            "not created and deleted in one wave".into(),
                        );
                    }
                    if created_now {
                        *control_plane_slots.entry(group.index()).or_default() += 1;
                    }
                }
                GroupKind::NodePool { cluster, .. } => {
                    let before = |wave: Option<usize>| wave.is_some_and(|w| w < number);
                    let control_plane_done = inventory
                        .groups
                        .iter()
                        .filter(|g| g.kind == GroupKind::ControlPlane { cluster })
                        .flat_map(|g| &g.vms)
                        .filter(|v| self.rolled[(**v).index()])
                        .all(|v| {
                            before(slots[v.index()].created) && before(slots[v.index()].deleted)
                        });
                    if !control_plane_done {
                        notes.note(
                            Constraint::ControlPlaneFirst,
                            &inventory.clusters[cluster].name,
                            "a pool rolls before the control plane is done".into(),
                        );
                    }
                }
                GroupKind::ServiceVm { .. } => {}
            }
        }
        for (group, count) in control_plane_slots {
            if count > 1 {
                notes.note(
                    Constraint::ControlPlaneRoll,
                    &inventory.groups[GroupId::new(group)].name,
                    format!("{count} control-plane slots in one wave"),
                );
            }
        }
    }

    /// After the last wave: every rolled slot created and deleted, every host to patch in and
    /// out of maintenance.
    pub fn finish(&self) -> Vec<Finding> {
        let inventory = self.inventory;
        let (rolled, slots, to_patch, entered, exited) = (
            &self.rolled,
            &self.slots,
            &self.to_patch,
            &self.entered,
            &self.exited,
        );
        let mut findings = Vec::new();
        for (vm, slot) in slots.iter().enumerate() {
            if rolled[vm] && (slot.created.is_none() || slot.deleted.is_none()) {
                findings.push(Finding {
                    wave: 0,
                    rule: Constraint::Roll,
                    subject: inventory.vms[VmId::new(vm)].name.clone(),
                    message: "never created or never deleted".into(),
                });
            }
        }
        for host in to_patch {
            if entered[*host].is_none() || exited[*host].is_none() {
                findings.push(Finding {
                    wave: 0,
                    rule: Constraint::Maintenance,
                    subject: inventory.hosts[HostId::new(*host)].name.clone(),
                    message: "never put into maintenance or never brought back".into(),
                });
            }
        }
        findings
    }
}

/// The findings of one wave, in the order noted.
struct Notes {
    /// The wave, 1-based.
    wave: usize,
    /// What it breaks so far.
    findings: Vec<Finding>,
}

impl Notes {
    /// Notes that the wave breaks `rule` for `subject`.
    fn note(&mut self, rule: Constraint, subject: &str, message: String) {
        self.findings.push(Finding {
            wave: self.wave,
            rule,
            subject: subject.to_string(),
            message,
        });
    }
}

fn copies_of(slots: &[Slot]) -> Vec<Copy> {
    let mut copies = Vec::new();
    for (vm, slot) in slots.iter().enumerate() {
        for host in [slot.old, slot.new].into_iter().flatten() {
            copies.push(Copy {
                vm,
                host,
                counted: true,
            });
        }
    }
    copies
}

/// VM names and host names to their indices.
type Names = (HashMap<String, usize>, HashMap<String, usize>);

/// A wave's actions by phase, as indices.
struct Phases {
    exits: Vec<usize>,
    creates: Vec<(usize, usize)>,
    migrations: Vec<(usize, usize)>,
    deletes: Vec<usize>,
    enters: Vec<usize>,
}

/// Sorts a wave's actions into their phases by the names they give; (rule, subject, message)
/// for actions out of phase order and for names that do not exist.
fn phases(wave: &[Action], names: &Names) -> (Phases, Vec<(Constraint, String, String)>) {
    let vm = |name: &str| names.0.get(name).copied();
    let host = |name: &str| names.1.get(name).copied();
    let mut problems = Vec::new();
    let mut note = |rule: Constraint, subject: &str, message: String| {
        problems.push((rule, subject.to_string(), message));
    };
    // Actions are listed in phase order.
    let phase = |action: &Action| match action {
        Action::ExitMaintenance { .. } => 1,
        Action::Create { .. } | Action::Migrate { .. } => 2,
        Action::Delete { .. } => 3,
        Action::EnterMaintenance { .. } => 4,
    };
    if wave.windows(2).any(|w| phase(&w[0]) > phase(&w[1])) {
        note(
            Constraint::PhaseOrder,
            "upgrade",
            "actions are not in phase order".into(),
        );
    }
    let mut phases = Phases {
        exits: Vec::new(),
        creates: Vec::new(),
        migrations: Vec::new(),
        deletes: Vec::new(),
        enters: Vec::new(),
    };
    for action in wave {
        match action {
            Action::ExitMaintenance { host: h } => match host(h) {
                Some(h) => phases.exits.push(h),
                None => note(Constraint::UnknownName, h, format!("no host `{h}`")),
            },
            Action::Create { vm: v, host: h } => match (vm(v), host(h)) {
                (Some(v), Some(h)) => phases.creates.push((v, h)),
                _ => note(
                    Constraint::UnknownName,
                    v,
                    format!("no VM `{v}` or host `{h}`"),
                ),
            },
            Action::Migrate { vm: v, to } => match (vm(v), host(to)) {
                (Some(v), Some(h)) => phases.migrations.push((v, h)),
                _ => note(
                    Constraint::UnknownName,
                    v,
                    format!("no VM `{v}` or host `{to}`"),
                ),
            },
            Action::Delete { vm: v } => match vm(v) {
                Some(v) => phases.deletes.push(v),
                None => note(Constraint::UnknownName, v, format!("no VM `{v}`")),
            },
            Action::EnterMaintenance { host: h } => match host(h) {
                Some(h) => phases.enters.push(h),
                None => note(Constraint::UnknownName, h, format!("no host `{h}`")),
            },
        }
    }
    (phases, problems)
}
