//! What to do when the greedy waves are stuck: the blocked task needs a state (at its peak,
//! everything alive plus the task's new copy; or the host being patched empty), and that
//! state is a placement problem, solved by the placement engine.
//!
//! - The weakest such state any valid sequence must pass through (every host in service but the
//!   one being patched, every rolled pool short of the slots it may have unavailable) having no
//!   placement is a proof: the upgrade is `infeasible`, and that model's minimal conflict says
//!   why.
//! - Otherwise the state from today's copies, with the fewest migrations, is where the sequence
//!   goes: waves of migrations get there (a migrating VM occupies both hosts; a move whose
//!   destination is not free yet waits, or makes a detour), and the rolls go on from there.
//!
//! A new copy beside its old one may share its host (only the copies of different slots must
//! be apart): that is one model where the copy is bound to its old copy's host by a `together`
//! rule, and one where it is one more member of its group; the task is impossible only when
//! both are.

use super::{Planner, State};
use crate::check::replay::{Op, Roll};
use crate::check::verify::Assignment;
use crate::placement::{place, Ending, StepKind};
use crate::upgrade::stuck::Need;
use crate::Options;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use vksplan_model::document::RuleKind;
use vksplan_model::inventory::{GroupKind, RuleSpec, VmSlot};
use vksplan_model::{Constraint, Diagnostic, Inventory, Layer};
use vksplan_model::{GroupId, HostId, VmId};

/// Where the new copy goes in a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copy {
    /// On its old copy's host.
    Beside,
    /// As one more member of its group (apart from the old copy too, for control planes).
    Apart,
}

/// A state as a placement problem.
pub(super) struct StateModel {
    /// The inventory of the state: the VMs alive, the extra copy, the hosts in service.
    pub inventory: Inventory,
    /// Admission as in the sequence.
    pub admission: Vec<bool>,
}

/// How a stuck task resolves.
pub(super) enum Resolution {
    /// No valid sequence exists: the weakest state the task needs has no placement.
    Proven(Box<StateModel>),
    /// The state from today's copies, with the fewest migrations: each VM's host.
    Room(Vec<Option<usize>>),
    /// Neither a placement nor a proof within the time.
    Unknown,
}

/// The models of the state `need` asks for. `weakest`: the state any sequence must pass
/// through (no placement today, pools short of their unavailable slots); otherwise the state
/// from today's copies (`placement` = where each copy is now).
pub(super) fn models(
    inventory: &Inventory,
    roll: &Roll,
    state: &State,
    need: Need,
    weakest: bool,
    tolerated: &BTreeSet<(Constraint, String)>,
) -> Vec<StateModel> {
    let copies: &[Copy] = match need {
        Need::NewCopy { vm, beside: true } if inventory.group_of(vm).anti_affine() => {
            &[Copy::Beside, Copy::Apart]
        }
        Need::NewCopy { beside: true, .. } => &[Copy::Apart],
        Need::NewCopy { beside: false, .. } | Need::EmptyHost { .. } => &[Copy::Beside],
        Need::Nothing => &[],
    };
    copies
        .iter()
        .filter_map(|copy| {
            let mut model = model(inventory, roll, state, need, weakest, *copy);
            tolerate(&mut model.inventory, tolerated).then_some(model)
        })
        .collect()
}

/// Relaxes in a state model what the start already broke (the sequence is not held to it):
/// `false` when something cannot be relaxed in a model, which then proves nothing.
fn tolerate(model: &mut Inventory, tolerated: &BTreeSet<(Constraint, String)>) -> bool {
    for (constraint, subject) in tolerated {
        let host = model.hosts.iter().position(|h| &h.name == subject);
        let namespace = model.namespaces.iter().position(|n| &n.name == subject);
        match constraint {
            Constraint::HostVcpus | Constraint::HostMemory => {
                let Some(host) = host else { return false };
                let spec = &mut model.hosts[HostId::new(host)];
                if matches!(constraint, Constraint::HostVcpus) {
                    spec.vcpu_limit = u64::from(u32::MAX);
                } else {
                    spec.memory_limit = vksplan_model::Bytes(u64::MAX >> 4);
                }
            }
            Constraint::CpuLimit | Constraint::MemoryLimit | Constraint::StorageLimit => {
                let Some(namespace) = namespace else {
                    return false;
                };
                let spec = &mut model.namespaces[namespace];
                match constraint {
                    Constraint::CpuLimit => spec.cpu_mhz_limit = None,
                    Constraint::MemoryLimit => spec.memory_limit = None,
                    _ => spec.storage_limits.iter_mut().for_each(|l| *l = None),
                }
            }
            Constraint::StorageCapacity => {
                match model
                    .storage_policies
                    .iter_mut()
                    .find(|p| &p.name == subject)
                {
                    Some(policy) => policy.capacity = None,
                    None => return false,
                }
            }
            Constraint::IpAddresses => match model.networks.iter_mut().find(|n| &n.name == subject)
            {
                Some(network) => network.ips = u32::MAX,
                None => return false,
            },
            Constraint::HaAdmission => model.policy.host_failures_to_tolerate = 0,
            Constraint::Rules => model.rules.retain(|rule| &rule.name != subject),
            Constraint::AntiAffinity | Constraint::ZonePinning => {
                // A cluster's control plane kept apart, or a pool kept in its zone: the group
                // becomes an ordinary pool of the cluster in the model.
                let Some(group) = model.groups.iter_mut().find(|g| &g.name == subject) else {
                    return false;
                };
                match group.kind {
                    GroupKind::ControlPlane { cluster } | GroupKind::NodePool { cluster, .. } => {
                        group.kind = GroupKind::NodePool {
                            cluster,
                            pool: group.name.clone(),
                            zone: None,
                        };
                    }
                    _ => return false,
                }
            }
            _ => return false,
        }
    }
    true
}

fn model(
    inventory: &Inventory,
    roll: &Roll,
    state: &State,
    need: Need,
    weakest: bool,
    copy: Copy,
) -> StateModel {
    let mut model = inventory.clone();
    model.upgrade = None;
    // Soft rules are not held during the sequence.
    model.rules.retain(|rule| rule.must);
    // Hosts: those patched come back; the one to patch is empty.
    for (host, spec) in model.hosts.iter_mut().enumerate() {
        spec.maintenance = inventory.hosts[HostId::new(host)].maintenance
            || matches!(need, Need::EmptyHost { host: h } if h == HostId::new(host));
    }
    let live = |vm: usize| state.new[vm].or(state.old[vm]);
    // Which slots are absent: deleted and waiting for their new copy (but the task's own).
    let task_vm = match need {
        Need::NewCopy { vm, .. } => Some(vm),
        _ => None,
    };
    let admitted = |vm: usize| {
        inventory
            .unit_of_group(inventory.vms[VmId::new(vm)].group)
            .is_none_or(|unit| state.admitted[unit.index()])
    };
    let waiting = |vm: usize| {
        roll.slots[vm] && admitted(vm) && live(vm).is_none() && Some(vm) != task_vm.map(VmId::index)
    };
    let mut absent: Vec<VmId> = inventory
        .vms
        .ids()
        .filter(|vm| waiting(vm.index()))
        .collect();
    if weakest {
        // Any valid sequence may have up to max_unavailable slots of every rolled pool
        // missing at once (not the pools of a cluster whose control plane rolls now).
        let rolling_control_plane = task_vm.and_then(|vm| match inventory.group_of(vm).kind {
            GroupKind::ControlPlane { cluster } => Some(cluster),
            _ => None,
        });
        for group in &inventory.groups {
            let GroupKind::NodePool { cluster, .. } = group.kind else {
                continue;
            };
            if Some(cluster) == rolling_control_plane {
                absent.retain(|vm| !group.vms.contains(vm));
                continue;
            }
            let allowed = inventory.clusters[cluster].max_unavailable as usize;
            let already = group.vms.iter().filter(|vm| absent.contains(vm)).count();
            let more: Vec<VmId> = group
                .vms
                .iter()
                .rev()
                .copied()
                .filter(|vm| {
                    roll.slots[vm.index()]
                        && !absent.contains(vm)
                        && Some(vm.index()) != task_vm.map(VmId::index)
                })
                .take(allowed.saturating_sub(already))
                .collect();
            absent.extend(more);
        }
    }
    for group in &mut model.groups {
        group.vms.retain(|vm| !absent.contains(vm));
    }
    model.placement = if weakest {
        Vec::new()
    } else {
        inventory
            .vms
            .ids()
            .filter_map(|vm| Some((vm, HostId::new(live(vm.index())?))))
            .filter(|(vm, _)| !absent.contains(vm))
            .collect()
    };
    // The new copy.
    if let Need::NewCopy { vm, beside: true } = need {
        let group = inventory.vms[vm].group;
        let extra = model.vms.len();
        model.vms.push(VmSlot {
            name: format!("{}+new", inventory.vms[vm].name),
            group,
        });
        match copy {
            Copy::Apart => {
                model.groups[group].vms.push(VmId::new(extra));
                for rule in &mut model.rules {
                    if rule.vms.binary_search(&vm).is_ok() {
                        rule.vms.push(VmId::new(extra));
                        rule.vms.sort_unstable();
                    }
                }
            }
            Copy::Beside => {
                // A group of its own (so no anti-affinity with its old copy), bound to the old
                // copy's host; it counts like the group for limits and addresses.
                let mut own = inventory.groups[group].clone();
                own.vms = vec![VmId::new(extra)];
                own.name = format!("{}+new", own.name);
                let own_index = model.groups.len();
                model.vms[VmId::new(extra)].group = GroupId::new(own_index);
                model.group_units.push(inventory.group_units[group]);
                if let Some(unit) = inventory.group_units[group] {
                    model.admission_units[unit]
                        .groups
                        .push(GroupId::new(own_index));
                }
                model.groups.push(own);
                model.rules.push(RuleSpec {
                    name: format!("{}+beside", inventory.vms[vm].name),
                    kind: RuleKind::Together,
                    vms: vec![vm, VmId::new(extra)],
                    hosts: Vec::new(),
                    must: true,
                    run_on: true,
                });
            }
        }
    }
    StateModel {
        inventory: model,
        admission: state.admitted.clone(),
    }
}

/// Solves a state model within `budget`: the placement (with the fewest migrations from its
/// `placement`) or how it ended.
pub(super) fn solve(
    model: &StateModel,
    budget: Duration,
    fewest_moves: bool,
) -> (Ending, Option<Assignment>) {
    let options = Options {
        time_limit_s: Some(budget.as_secs_f64()),
        admission: Some(model.admission.clone()),
        last_step: Some(if fewest_moves {
            StepKind::Migrations
        } else {
            StepKind::Priority
        }),
        find_conflicts: false,
        ..Options::default()
    };
    let placed = place(&model.inventory, &options);
    (placed.ending, placed.assignment)
}

/// Resolves the first blocked task that a state could unblock.
pub(super) fn resolve(planner: &Planner, state: &State, deadline: Instant) -> (Need, Resolution) {
    let Some(need) = planner
        .blocked
        .iter()
        .map(|task| task.need)
        .find(|need| *need != Need::Nothing)
    else {
        return (Need::Nothing, Resolution::Unknown);
    };
    let inventory = planner.inventory;
    let share = |part: u32| deadline.saturating_duration_since(Instant::now()) / part;
    // The proof: every model of the weakest state has no placement.
    let mut proven = true;
    let mut witness = None;
    let weakest = models(
        inventory,
        &planner.roll,
        state,
        need,
        true,
        &planner.tolerated,
    );
    if weakest.is_empty() {
        // The start breaks something no model can relax: no proof either way.
        proven = false;
    }
    for model in weakest {
        let (ending, _) = solve(&model, share(4), false);
        if ending != Ending::Infeasible {
            proven = false;
            break;
        }
        witness.get_or_insert(model);
    }
    if proven {
        if let Some(model) = witness {
            return (need, Resolution::Proven(Box::new(model)));
        }
    }
    // The room: the state from today's copies with the fewest migrations.
    for model in models(
        inventory,
        &planner.roll,
        state,
        need,
        false,
        &planner.tolerated,
    ) {
        if let (_, Some(assignment)) = solve(&model, share(3), true) {
            let target = (0..inventory.vms.len())
                .map(|vm| {
                    assignment
                        .host_of
                        .get(VmId::new(vm))
                        .copied()
                        .flatten()
                        .map(HostId::index)
                })
                .collect();
            return (need, Resolution::Room(target));
        }
    }
    (need, Resolution::Unknown)
}

/// Waves of migrations from `state` to `target` (each live copy's host), applied to `state`
/// as they are built. Every wave keeps docs/accounting.md at its
/// peak (a migrating VM occupies both hosts): a move whose destination has no room yet waits,
/// and when no move can go, one VM makes a detour to a host with room. `None` when neither
/// works or `deadline` passes.
/// VMs on a host being emptied are left to the patch's own wave.
pub(super) fn make_room(
    planner: &mut Planner,
    state: &mut State,
    target: &[Option<usize>],
    need: Need,
    deadline: Instant,
) -> Option<Vec<Vec<Op>>> {
    let exits: Vec<Op> = Vec::new();
    let inventory = planner.inventory;
    let live = |state: &State, vm: usize| state.new[vm].or(state.old[vm]);
    let mut waves = Vec::new();
    let mut exits = exits;
    let mut detours = 0usize;
    loop {
        let mut pending: Vec<(usize, usize)> = (0..inventory.vms.len())
            .filter_map(|vm| {
                let now = live(state, vm)?;
                let to = target.get(vm).copied().flatten()?;
                let emptied = matches!(need, Need::EmptyHost { host } if host == HostId::new(now));
                (now != to && !emptied).then_some((vm, to))
            })
            .collect();
        if pending.is_empty() {
            if !exits.is_empty() {
                super::apply(planner, state, &exits);
                waves.push(exits);
            }
            return Some(waves);
        }
        if Instant::now() >= deadline || waves.len() > 4 * inventory.vms.len() + 8 {
            return None;
        }
        // Largest first: they are the hardest to fit later.
        pending.sort_by_key(|(vm, _)| {
            let group = inventory.group_of(VmId::new(*vm));
            (std::cmp::Reverse((group.vcpus, group.memory.0)), *vm)
        });
        let mut ops = std::mem::take(&mut exits);
        let mut moved = 0;
        for (vm, to) in &pending {
            let mut trial = ops.clone();
            trial.push(Op::Migrate(VmId::new(*vm), HostId::new(*to)));
            trial.sort_by_key(|op| op.phase());
            if planner.valid(state, &trial).is_ok() {
                ops = trial;
                moved += 1;
            }
        }
        if moved == 0 {
            // A cycle or a chain of full hosts: one VM steps aside to any host with room.
            detours += 1;
            if detours > pending.len() + 4 {
                return None;
            }
            let mut stepped = false;
            'aside: for (vm, to) in &pending {
                let from = live(state, *vm);
                for host in 0..inventory.hosts.len() {
                    if Some(host) == from || host == *to || state.maintenance[host] {
                        continue;
                    }
                    let mut trial = ops.clone();
                    trial.push(Op::Migrate(VmId::new(*vm), HostId::new(host)));
                    trial.sort_by_key(|op| op.phase());
                    if planner.valid(state, &trial).is_ok() {
                        ops = trial;
                        stepped = true;
                        break 'aside;
                    }
                }
            }
            if !stepped {
                return None;
            }
        }
        super::apply(planner, state, &ops);
        waves.push(ops);
    }
}

/// The task in words and the layer that owns it.
fn described(inventory: &Inventory, need: Option<Need>) -> (Layer, String, String) {
    match need {
        Some(Need::NewCopy { vm, .. }) => {
            let (layer, subject) = match inventory.unit_of_group(inventory.vms[vm].group) {
                Some(unit) => (Layer::Cluster, inventory.admission_units[unit].name.clone()),
                None => (Layer::Supervisor, "supervisor".to_string()),
            };
            (
                layer,
                subject,
                format!("rolling `{}`", inventory.vms[vm].name),
            )
        }
        Some(Need::EmptyHost { host }) => (
            Layer::Infrastructure,
            inventory.hosts[host].name.clone(),
            format!("patching `{}`", inventory.hosts[host].name),
        ),
        _ => (
            Layer::Infrastructure,
            "upgrade".to_string(),
            "the upgrade".to_string(),
        ),
    }
}

/// The diagnosis of a proven-infeasible upgrade: what the task needs, that no placement of
/// that state exists, and the state's minimal conflict.
pub(super) fn proof_entries(
    inventory: &Inventory,
    need: Need,
    model: &StateModel,
    deadline: Instant,
) -> Vec<Diagnostic> {
    let (layer, subject, task) = described(inventory, Some(need));
    let state = match need {
        Need::NewCopy { .. } => {
            "everything that must be alive at its peak together with its new copy"
        }
        _ => "everything that must be alive with that host empty",
    };
    let mut headline = Diagnostic::new(
        layer,
        &subject,
        Constraint::UpgradeInfeasible,
        format!(
            "{task} is impossible: no placement holds {state} (every other host in service, every rolled pool short of the slots it may have unavailable), so no sequence of waves can do it"
        ),
        "add capacity, relax the rule the conflict names, or leave this out of the upgrade",
    );
    let budget = deadline
        .saturating_duration_since(Instant::now())
        .min(Duration::from_secs(10));
    // What the state would need raised (limits, addresses, storage): the fix search of the
    // plan reads these and checks them by planning again.
    if let crate::diagnosis::elastic::Outcome::Raise(raises) =
        crate::diagnosis::elastic::cheapest_fix(&model.inventory, budget / 2)
    {
        for raise in raises {
            headline = headline.with_fix(raise.change().to_string());
        }
    }
    let mut found = vec![headline];
    if let Some(conflict) = crate::diagnosis::conflict::minimal_conflict(&model.inventory, budget) {
        found.extend(crate::diagnosis::conflict::entries(&conflict));
    }
    found
}

/// The diagnosis when the planner found neither a way on nor a proof: where it stopped.
pub(super) fn unresolved_entry(
    inventory: &Inventory,
    need: Option<Need>,
    wave: usize,
) -> Diagnostic {
    let (layer, subject, task) = described(inventory, need);
    Diagnostic::new(
        layer,
        &subject,
        Constraint::NoSequenceFound,
        format!(
            "the planner stopped at wave {wave} on {task}: it found no way on and could not prove that there is none"
        ),
        "raise `policy.time_limit_s`, or roll fewer clusters or hosts at once",
    )
}
