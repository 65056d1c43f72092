//! Minimal conflicts: when no placement exists, an irreducible set of constraint groups (rows
//! with one owner: a host's capacity, a namespace's memory limit, a network's addresses, a
//! cluster that must run, a maintenance host...) that cannot hold together, found by a
//! deletion filter over the groups of the diagnosis model (see [`Compiler::for_diagnosis`]).
//! Groups are dropped in halving chunks while the rest stays infeasible, then one by one, so
//! the result is irreducible: without any one of its groups, the others can hold.

use super::describe;
use crate::check::accounting::{account, Accounting};
use crate::check::verify::{Alive, Copy};
use crate::mip::{families, feasible, Compiler, Owner};
use crate::placement::blocks::blocks;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use vksplan_model::UnitId;
use vksplan_model::{Constraint, Diagnostic, Inventory, Layer};
use vksplan_model::{HostId, VmId};

/// The result of a search for a minimal conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The groups, most specific layer first.
    pub owners: Vec<Owner>,
    /// Whether every group was tested within the time budget (else the set is infeasible but
    /// maybe not irreducible).
    pub irreducible: bool,
}

/// The diagnosis model: every accounting family, domain restrictions as rows; no objective.
fn diagnosis_model<'a>(
    inventory: &'a Inventory,
    blocks: &'a [crate::placement::blocks::Block],
) -> Compiler<'a> {
    let mut compiler = Compiler::for_diagnosis(inventory, blocks);
    for family in families::all() {
        if !matches!(family.name(), "objective" | "symmetry") {
            family.emit(&mut compiler);
        }
    }
    compiler
}

/// Whether the groups in `owners` (and the rows no one owns) can all hold.
pub fn holds(inventory: &Inventory, owners: &[Owner], seconds: f64) -> Option<bool> {
    let blocks = blocks(inventory);
    let compiler = diagnosis_model(inventory, &blocks);
    let set: BTreeSet<&Owner> = owners.iter().collect();
    feasible(
        &compiler,
        |owner| owner.as_ref().is_none_or(|o| set.contains(o)),
        seconds,
        1,
    )
}

/// What one unit that must run (or the Supervisor, with the addresses it always holds) adds
/// to each total an aggregate row reads: the accounting of its VMs alone.
fn unit_totals(inventory: &Inventory, vms: &[VmId], unit: Option<UnitId>) -> Accounting {
    let copies: Vec<Copy> = vms
        .iter()
        .map(|vm| Copy {
            vm: *vm,
            host: HostId::new(0),
            counted: true,
        })
        .collect();
    let admitted: Vec<bool> = inventory
        .admission_units
        .ids()
        .map(|u| Some(u) == unit)
        .collect();
    let maintenance = vec![false; inventory.hosts.len()];
    let mut totals = account(
        inventory,
        Alive {
            copies: &copies,
            maintenance: &maintenance,
            admitted: &admitted,
        },
    );
    if unit.is_some() {
        // The Supervisor's standing addresses belong to the Supervisor.
        let nothing = account(
            inventory,
            Alive {
                copies: &[],
                maintenance: &maintenance,
                admitted: &vec![false; inventory.admission_units.len()],
            },
        );
        for (used, base) in totals.network_ips.iter_mut().zip(&nothing.network_ips) {
            *used -= base;
        }
    }
    totals
}

/// When the units that must run overflow a row that reads only what is admitted (a network's
/// addresses, a namespace's CPU, memory or storage limit, a storage policy's capacity, HA
/// admission), a conflict by arithmetic: the row and the largest units until their demand
/// exceeds it, pruned of units the sum does not need. Irreducible without a solve: in that
/// set nothing else limits where VMs go, so without the row everything fits, and without
/// any one unit the rest is within the row. The smallest such conflict, most specific first.
fn aggregate_conflict(inventory: &Inventory) -> Option<Conflict> {
    let units: Vec<(Owner, Accounting)> = must_run_units(inventory)
        .into_iter()
        .map(|unit| {
            let totals = unit_totals(inventory, &unit.vms, unit.index);
            (unit.owner, totals)
        })
        .collect();
    // Each aggregate row: its group, its limit, and what a unit's totals put on it.
    type Read = Box<dyn Fn(&Accounting) -> u128>;
    let mut rows: Vec<(Owner, u128, Read)> = Vec::new();
    for (index, network) in inventory.networks.iter().enumerate() {
        let layer = inventory.network_layer(index);
        if let Some(owner) = Owner::new(layer, &network.name, Constraint::IpAddresses) {
            rows.push((
                owner,
                u128::from(network.ips),
                Box::new(move |t: &Accounting| u128::from(t.network_ips[index])),
            ));
        }
    }
    let mhz = u128::from(inventory.policy.vcpu_mhz.max(1));
    for (index, namespace) in inventory.namespaces.iter().enumerate() {
        let name = &namespace.name;
        // In a 3-zone Supervisor these limits also hold per zone at a third, where whole VMs
        // must be split three ways: not a matter of totals alone.
        let totals_only = !inventory.three_zone;
        if let Some(limit) = namespace.cpu_mhz_limit.filter(|_| totals_only) {
            rows.extend(
                Owner::new(Layer::Namespace, name, Constraint::CpuLimit).map(|o| {
                    let read: Read =
                        Box::new(move |t: &Accounting| u128::from(t.namespaces[index].vcpus));
                    (o, u128::from(limit) / mhz, read)
                }),
            );
        }
        if let Some(limit) = namespace.memory_limit.filter(|_| totals_only) {
            rows.extend(
                Owner::new(Layer::Namespace, name, Constraint::MemoryLimit).map(|o| {
                    let read: Read = Box::new(move |t: &Accounting| t.namespaces[index].memory);
                    (o, u128::from(limit.0), read)
                }),
            );
        }
        for (policy, limit) in namespace.storage_limits.iter().enumerate() {
            if let Some(limit) = limit {
                rows.extend(
                    Owner::new(Layer::Namespace, name, Constraint::StorageLimit).map(|o| {
                        let read: Read = Box::new(move |t: &Accounting| {
                            t.namespaces[index]
                                .storage
                                .get(&policy)
                                .copied()
                                .unwrap_or(0)
                        });
                        (o, u128::from(limit.0), read)
                    }),
                );
            }
        }
    }
    for (policy, spec) in inventory.storage_policies.iter().enumerate() {
        if let Some(capacity) = spec.capacity {
            rows.extend(
                Owner::new(
                    Layer::Infrastructure,
                    &spec.name,
                    Constraint::StorageCapacity,
                )
                .map(|o| {
                    let read: Read = Box::new(move |t: &Accounting| t.storage[policy]);
                    (o, u128::from(capacity.0), read)
                }),
            );
        }
    }
    let k = u128::from(inventory.policy.host_failures_to_tolerate);
    if k > 0 {
        let (usable_cores, usable_memory) = inventory.ha_usable(&inventory.maintenance());
        let owner = Owner::new(Layer::Infrastructure, "hosts", Constraint::HaAdmission);
        rows.extend(owner.clone().map(|o| {
            let read: Read = Box::new(|t: &Accounting| t.reserved.0);
            (o, usable_cores, read)
        }));
        rows.extend(owner.map(|o| {
            let read: Read = Box::new(|t: &Accounting| t.reserved.1);
            (o, usable_memory, read)
        }));
    }
    let mut best: Option<Vec<Owner>> = None;
    for (row, limit, read) in &rows {
        let mut order: Vec<(&Owner, u128)> = units
            .iter()
            .map(|(owner, totals)| (owner, read(totals)))
            .filter(|(_, d)| *d > 0)
            .collect();
        order.sort_by_key(|(owner, d)| (std::cmp::Reverse(*d), (*owner).clone()));
        let mut chosen: Vec<(&Owner, u128)> = Vec::new();
        let mut total = 0u128;
        for (owner, d) in order {
            if total > *limit {
                break;
            }
            total += d;
            chosen.push((owner, d));
        }
        if total <= *limit {
            continue;
        }
        chosen.reverse();
        let mut position = 0;
        while position < chosen.len() {
            if total - chosen[position].1 > *limit {
                total -= chosen[position].1;
                chosen.remove(position);
            } else {
                position += 1;
            }
        }
        let mut owners: Vec<Owner> = chosen.into_iter().map(|(o, _)| o.clone()).collect();
        owners.push(row.clone());
        let key = |o: &[Owner]| (o.len(), o.iter().map(|g| specificity(g.layer)).max());
        if best.as_ref().is_none_or(|b| key(&owners) < key(b)) {
            best = Some(owners);
        }
    }
    let mut owners = best?;
    sort_owners(&mut owners);
    Some(Conflict {
        owners,
        irreducible: true,
    })
}

/// The time limit of one feasibility test of [`capacity_conflict`], in seconds.
const QUICK_TEST_S: f64 = 2.0;

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A unit that must run, or the Supervisor: its admission group, index (`None`: the
/// Supervisor) and VMs.
struct Unit {
    owner: Owner,
    index: Option<UnitId>,
    vms: Vec<VmId>,
}

/// Every unit that must run, and the Supervisor when there is one.
fn must_run_units(inventory: &Inventory) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    for (group_index, group) in inventory.groups.iter_enumerated() {
        let index = inventory.unit_of_group(group_index);
        let Some(owner) = Owner::must_run(inventory, index) else {
            continue;
        };
        match units.iter_mut().find(|u| u.owner == owner) {
            Some(unit) => unit.vms.extend(&group.vms),
            None => units.push(Unit {
                owner,
                index,
                vms: group.vms.clone(),
            }),
        }
    }
    units
}

/// Whether the VMs of `units` pack onto the hosts in service within their capacity rows
/// (vCPU and memory limits, reserved within cores and memory), best fit by decreasing
/// memory: a witness that the capacity rows and these units can hold together.
fn packs(inventory: &Inventory, units: &[&Unit]) -> bool {
    let mut vms: Vec<usize> = units
        .iter()
        .flat_map(|u| u.vms.iter().map(|vm| vm.index()))
        .collect();
    vms.sort_by_key(|vm| {
        let group = inventory.group_of(VmId::new(*vm));
        (
            std::cmp::Reverse(group.memory.0),
            std::cmp::Reverse(group.vcpus),
            *vm,
        )
    });
    let hosts: Vec<usize> = (0..inventory.hosts.len())
        .filter(|h| !inventory.hosts[HostId::new(*h)].maintenance)
        .collect();
    // Per host: vCPUs, memory, reserved vCPUs, reserved memory.
    let mut load = vec![[0u128; 4]; inventory.hosts.len()];
    for vm in vms {
        let group = inventory.group_of(VmId::new(vm));
        let (vcpus, memory) = (u128::from(group.vcpus), u128::from(group.memory.0));
        // Best fit: the host this VM leaves with the least memory to spare.
        let best = hosts
            .iter()
            .copied()
            .filter(|h| {
                let (host, l) = (&inventory.hosts[HostId::new(*h)], &load[*h]);
                l[0] + vcpus <= u128::from(host.vcpu_limit)
                    && l[1] + memory <= u128::from(host.memory_limit.0)
                    && (!group.reserved
                        || (l[2] + vcpus <= u128::from(host.cpu_cores)
                            && l[3] + memory <= u128::from(host.memory.0)))
            })
            .min_by_key(|h| {
                u128::from(inventory.hosts[HostId::new(*h)].memory_limit.0) - load[*h][1]
            });
        let Some(h) = best else { return false };
        let l = &mut load[h];
        l[0] += vcpus;
        l[1] += memory;
        if group.reserved {
            l[2] += vcpus;
            l[3] += memory;
        }
    }
    true
}

/// When the units that must run need more vCPUs or memory than all hosts in service allow,
/// a conflict found by arithmetic instead of a deletion filter over hundreds of groups: the
/// capacity of every host in service, the maintenance of the others, and the largest units
/// until their demand exceeds the hosts' total, pruned of units the sum does not need. Each
/// host and maintenance group is needed (without it, a host without limits takes everything);
/// each unit is shown needed by a packing of the others (best fit), or by a feasibility test
/// (`test`) where the packing fails, and dropped when the test finds the rest infeasible; a
/// test that cannot decide in time leaves the conflict marked as not reduced further.
fn capacity_conflict(
    inventory: &Inventory,
    test: &dyn Fn(&BTreeSet<&Owner>) -> Option<bool>,
) -> Option<Conflict> {
    let units = must_run_units(inventory);
    let in_service: Vec<usize> = (0..inventory.hosts.len())
        .filter(|h| !inventory.hosts[HostId::new(*h)].maintenance)
        .collect();
    // What one VM needs of the resource: memory (bytes) or vCPUs.
    let need = |vm: usize, memory: bool| -> u128 {
        let group = inventory.group_of(VmId::new(vm));
        if memory {
            u128::from(group.memory.0)
        } else {
            u128::from(group.vcpus)
        }
    };
    let demand = |unit: &Unit, memory: bool| -> u128 {
        unit.vms.iter().map(|vm| need(vm.index(), memory)).sum()
    };
    for memory in [true, false] {
        // Every VM's demand is a multiple of their greatest common divisor, so a host holds at
        // most its limit rounded down to a multiple of it.
        let unit_size = units
            .iter()
            .flat_map(|u| &u.vms)
            .map(|vm| need(vm.index(), memory))
            .fold(0u128, gcd)
            .max(1);
        let supply: u128 = in_service
            .iter()
            .map(|h| {
                let host = &inventory.hosts[HostId::new(*h)];
                let limit = if memory {
                    u128::from(host.memory_limit.0)
                } else {
                    u128::from(host.vcpu_limit)
                };
                limit / unit_size * unit_size
            })
            .sum();
        let mut order: Vec<&Unit> = units.iter().collect();
        order.sort_by_key(|u| (std::cmp::Reverse(demand(u, memory)), u.owner.clone()));
        let mut chosen: Vec<&Unit> = Vec::new();
        let mut total = 0u128;
        for unit in order {
            if total > supply {
                break;
            }
            total += demand(unit, memory);
            chosen.push(unit);
        }
        if total <= supply {
            continue;
        }
        // Smallest first: drop what the sum does not need.
        chosen.reverse();
        let mut position = 0;
        while position < chosen.len() {
            let d = demand(chosen[position], memory);
            if total - d > supply {
                total -= d;
                chosen.remove(position);
            } else {
                position += 1;
            }
        }
        let fixed: Vec<Owner> = in_service
            .iter()
            .filter_map(|h| {
                Owner::new(
                    Layer::Infrastructure,
                    &inventory.hosts[HostId::new(*h)].name,
                    Constraint::HostCapacity,
                )
            })
            .chain(
                inventory
                    .hosts
                    .iter()
                    .filter(|h| h.maintenance)
                    .filter_map(|h| {
                        Owner::new(Layer::Infrastructure, &h.name, Constraint::Maintenance)
                    }),
            )
            .collect();
        let mut irreducible = true;
        let mut position = 0;
        while position < chosen.len() {
            let others: Vec<&Unit> = chosen
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != position)
                .map(|(_, u)| *u)
                .collect();
            if packs(inventory, &others) {
                position += 1;
                continue;
            }
            let rest: BTreeSet<&Owner> = fixed
                .iter()
                .chain(others.iter().map(|u| &u.owner))
                .collect();
            match test(&rest) {
                Some(false) => {
                    chosen.remove(position);
                }
                Some(true) => position += 1,
                None => {
                    irreducible = false;
                    position += 1;
                }
            }
        }
        let mut owners: Vec<Owner> = chosen.iter().map(|u| u.owner.clone()).collect();
        owners.extend(fixed);
        sort_owners(&mut owners);
        return Some(Conflict {
            owners,
            irreducible,
        });
    }
    None
}

/// Layers from the most specific entity to the broadest.
pub fn specificity(layer: Layer) -> u8 {
    match layer {
        Layer::Rule => 0,
        Layer::Cluster => 1,
        Layer::Namespace => 2,
        Layer::Supervisor => 3,
        Layer::Infrastructure => 4,
        Layer::Input => 5,
    }
}

/// Finds a minimal conflict within `budget`; `None` when the model is not infeasible (or
/// HiGHS cannot tell).
pub fn minimal_conflict(inventory: &Inventory, budget: Duration) -> Option<Conflict> {
    let started = Instant::now();
    let deadline = started + budget;
    let trace = |kind: &str, conflict: &Conflict| {
        if std::env::var_os("VKSPLAN_TRACE").is_some() {
            eprintln!(
                "vksplan: {kind} conflict of {} group(s) (irreducible: {}) in {:.2}s",
                conflict.owners.len(),
                conflict.irreducible,
                started.elapsed().as_secs_f64()
            );
        }
    };
    // A row over what is admitted that the units that must run overflow: by arithmetic, no
    // model needed.
    if let Some(conflict) = aggregate_conflict(inventory) {
        trace("aggregate", &conflict);
        return Some(conflict);
    }
    let blocks = blocks(inventory);
    let compiler = diagnosis_model(inventory, &blocks);
    let remaining = || {
        deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    };
    // Whether the groups in `set` can hold, within `seconds` (and the budget).
    let test_within = |set: &BTreeSet<&Owner>, seconds: f64| {
        if remaining() <= 0.0 {
            return None;
        }
        feasible(
            &compiler,
            |owner| owner.as_ref().is_none_or(|o| set.contains(o)),
            remaining().min(seconds),
            1,
        )
    };
    let test = |set: &BTreeSet<&Owner>| test_within(set, f64::INFINITY);
    // Not enough vCPUs or memory on all the hosts together: found by arithmetic. Its tests are
    // packings near full, which can be slow to decide: a few seconds each.
    if let Some(conflict) = capacity_conflict(inventory, &|set| test_within(set, QUICK_TEST_S)) {
        trace("capacity", &conflict);
        return Some(conflict);
    }
    let mut owners: Vec<&Owner> = compiler
        .rows
        .iter()
        .filter_map(|(owner, _)| owner.as_ref())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Drop broad groups first so that what stays is as specific as the conflict allows.
    owners.sort_by_key(|o| (std::cmp::Reverse(specificity(o.layer)), *o));
    let all: BTreeSet<&Owner> = owners.iter().copied().collect();
    if test(&all) != Some(false) {
        return None;
    }
    let mut irreducible = true;
    let mut chunk = owners.len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        while start < owners.len() {
            if remaining() <= 0.0 {
                irreducible = false;
                break;
            }
            let end = (start + chunk).min(owners.len());
            let rest: BTreeSet<&Owner> = owners[..start]
                .iter()
                .chain(&owners[end..])
                .copied()
                .collect();
            match test(&rest) {
                Some(false) => {
                    owners.drain(start..end);
                }
                Some(true) => start = end,
                None => {
                    irreducible &= chunk > 1;
                    start = end;
                }
            }
        }
        if chunk == 1 || !irreducible {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    let mut owners: Vec<Owner> = owners.into_iter().cloned().collect();
    sort_owners(&mut owners);
    let conflict = Conflict {
        owners,
        irreducible,
    };
    trace("filtered", &conflict);
    Some(conflict)
}

/// Sorts groups most specific layer first, then by subject and constraint code.
fn sort_owners(owners: &mut [Owner]) {
    let key = |o: &Owner| {
        (
            specificity(o.layer),
            o.subject.clone(),
            o.constraint.clone(),
        )
    };
    owners.sort_by_key(key);
}

/// How many of the other groups of a conflict an entry names.
const LISTED_OTHERS: usize = 6;

/// The diagnosis entries of a conflict: one per group, each naming the others (the first
/// few of a large conflict).
pub fn entries(conflict: &Conflict) -> Vec<Diagnostic> {
    let all: Vec<String> = conflict.owners.iter().map(describe::owner).collect();
    let qualifier = if conflict.irreducible {
        "a minimal conflict"
    } else {
        "a conflict (not reduced further within the time limit)"
    };
    conflict
        .owners
        .iter()
        .map(|owner| {
            let others: Vec<&String> = all
                .iter()
                .filter(|d| **d != describe::owner(owner))
                .collect();
            let (message, hint) = if others.is_empty() {
                (
                    format!(
                        "{} cannot hold on its own: the fixed demand on it is larger than it",
                        describe::owner(owner)
                    ),
                    "relax it",
                )
            } else {
                let with = if others.len() > LISTED_OTHERS {
                    format!(
                        "{} other groups (the entries of this conflict), among them {}",
                        others.len(),
                        others[..LISTED_OTHERS]
                            .iter()
                            .map(|d| d.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                } else {
                    others
                        .iter()
                        .map(|d| d.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                (
                    format!(
                        "{} is part of {qualifier}: it cannot hold together with {with}",
                        describe::owner(owner)
                    ),
                    "relax any one of these and the rest can hold",
                )
            };
            Diagnostic::new(
                owner.layer,
                &owner.subject,
                owner.constraint.clone(),
                message,
                hint,
            )
        })
        .collect()
}
