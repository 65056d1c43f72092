//! First-level diagnosis: necessary conditions that can be checked without a solver (demand
//! of a set of admitted units against each limit), each reported with the layer that owns the
//! resource (docs/output-and-upgrades.md) and the shortfall.

use crate::check::accounting::account;
use crate::check::verify::{Alive, Assignment, Copy};
use std::collections::BTreeSet;
use vksplan_model::fix::{Change, Quantity};
use vksplan_model::inventory::GroupKind;
use vksplan_model::{Bytes, Constraint, Diagnostic, Inventory, Layer, Status};
use vksplan_model::{GroupId, HostId, UnitId, VmId};

/// Demand of the admitted units (plus the Supervisor), summed per resource.
struct Demand {
    namespace_vcpus: Vec<u64>,
    namespace_memory: Vec<u128>,
    namespace_storage: Vec<Vec<u128>>,
    network_ips: Vec<u64>,
    storage: Vec<u128>,
    vcpus: u64,
    memory: u128,
    reserved_vcpus: u128,
    reserved_memory: u128,
    devices: Vec<(String, u64)>,
}

/// The totals of `accounting::account` (one implementation of the accounting rules) over every VM
/// of the included units, all parked on one host: only totals are read, never host loads
/// against a host's limits.
fn demand(inventory: &Inventory, included: &dyn Fn(UnitId) -> bool) -> Demand {
    let copies: Vec<Copy> = (0..inventory.vms.len())
        .filter(|vm| {
            inventory
                .unit_of_group(inventory.vms[VmId::new(*vm)].group)
                .is_none_or(included)
        })
        .map(|vm| Copy {
            vm: VmId::new(vm),
            host: HostId::new(0),
            counted: true,
        })
        .collect();
    let admitted: Vec<bool> = inventory.admission_units.ids().map(included).collect();
    let maintenance = vec![false; inventory.hosts.len()];
    let totals = account(
        inventory,
        Alive {
            copies: &copies,
            maintenance: &maintenance,
            admitted: &admitted,
        },
    );
    let parked = totals.hosts.first().cloned().unwrap_or_default();
    let policies = inventory.storage_policies.len();
    Demand {
        namespace_vcpus: totals.namespaces.iter().map(|n| n.vcpus).collect(),
        namespace_memory: totals.namespaces.iter().map(|n| n.memory).collect(),
        namespace_storage: totals
            .namespaces
            .iter()
            .map(|n| {
                (0..policies)
                    .map(|p| n.storage.get(&p).copied().unwrap_or(0))
                    .collect()
            })
            .collect(),
        network_ips: totals.network_ips,
        storage: totals.storage,
        vcpus: parked.vcpus,
        memory: parked.memory,
        reserved_vcpus: totals.reserved.0,
        reserved_memory: totals.reserved.1,
        devices: parked.devices.into_iter().collect(),
    }
}

/// A network's address count.
fn addresses(network: &str) -> Quantity {
    Quantity::Addresses {
        network: network.to_string(),
    }
}

/// Users of a network, for messages: the namespaces on it and the Supervisor.
fn network_users(inventory: &Inventory, network: usize) -> String {
    let mut users: Vec<String> = inventory
        .namespaces
        .iter()
        .filter(|ns| ns.workload_network == network || ns.load_balancer_network == network)
        .map(|ns| format!("`{}`", ns.name))
        .collect();
    if inventory
        .supervisor
        .as_ref()
        .is_some_and(|s| s.networks.contains(network))
    {
        users.insert(0, "the Supervisor".into());
    }
    users.join(", ")
}

/// The networks short of addresses: the Supervisor's, and each network's shared count.
fn network_shortfalls(inventory: &Inventory, d: &Demand, found: &mut Vec<Diagnostic>) {
    // Supervisor networks.
    if let Some(supervisor) = &inventory.supervisor {
        let network = &inventory.networks[supervisor.networks.management];
        if network.ips < supervisor.replicas + 2 {
            found.push(Diagnostic::new(Layer::Supervisor, &network.name, Constraint::ManagementIps, format!("the management network `{}` has {} addresses; a Supervisor of {} control-plane VMs needs {} (one per VM, the floating IP and one reserved for upgrades)", network.name, network.ips, supervisor.replicas, supervisor.replicas + 2), format!("add {} address(es) to `{}`", supervisor.replicas + 2 - network.ips, network.name)).with_fix(Change::new(addresses(&network.name), supervisor.replicas + 2).to_string()));
        }
        let network = &inventory.networks[supervisor.networks.workload];
        if network.ips < supervisor.replicas {
            found.push(Diagnostic::new(Layer::Supervisor, &network.name, Constraint::WorkloadIps, format!("the Supervisor's workload network `{}` has {} addresses for {} control-plane VMs", network.name, network.ips, supervisor.replicas), format!("add {} address(es) to `{}`", supervisor.replicas - network.ips, network.name)).with_fix(Change::new(addresses(&network.name), supervisor.replicas).to_string()));
        }
    }
    // Namespace networks (workload and load balancer), shared counts.
    for (index, network) in inventory.networks.iter().enumerate() {
        let is_management = inventory
            .supervisor
            .as_ref()
            .is_some_and(|s| s.networks.management == index);
        if is_management || d.network_ips[index] <= u64::from(network.ips) {
            continue;
        }
        found.push(
            Diagnostic::new(
                inventory.network_layer(index),
                &network.name,
                Constraint::IpAddresses,
                format!(
                    "network `{}` needs {} addresses for {}, but has {}",
                    network.name,
                    d.network_ips[index],
                    network_users(inventory, index),
                    network.ips
                ),
                format!(
                    "add {} address(es) to `{}` or give a namespace its own network",
                    d.network_ips[index] - u64::from(network.ips),
                    network.name
                ),
            )
            .with_fix(Change::new(addresses(&network.name), d.network_ips[index]).to_string()),
        );
    }
}

/// The namespaces whose CPU, memory or storage limit is below their VMs' demand.
fn namespace_limit_shortfalls(inventory: &Inventory, d: &Demand, found: &mut Vec<Diagnostic>) {
    let policy = &inventory.policy;
    // Namespace limits.
    for (index, namespace) in inventory.namespaces.iter().enumerate() {
        let cpu_mhz = d.namespace_vcpus[index] * policy.vcpu_mhz;
        if let Some(limit) = namespace.cpu_mhz_limit.filter(|limit| cpu_mhz > *limit) {
            found.push(Diagnostic::new(Layer::Namespace, &namespace.name, Constraint::CpuLimit, format!("the VMs of `{}` need {cpu_mhz} MHz ({} vCPUs x {} MHz); the namespace CPU limit is {limit} MHz", namespace.name, d.namespace_vcpus[index], policy.vcpu_mhz), format!("raise the CPU limit of `{}` by {} MHz or shrink a node pool", namespace.name, cpu_mhz - limit)).with_fix(Change::new(Quantity::CpuLimit { namespace: namespace.name.clone() }, cpu_mhz).to_string()));
        }
        let memory = d.namespace_memory[index];
        if let Some(limit) = namespace
            .memory_limit
            .filter(|limit| memory > u128::from(limit.0))
        {
            found.push(
                Diagnostic::new(
                    Layer::Namespace,
                    &namespace.name,
                    Constraint::MemoryLimit,
                    format!(
                        "the VMs of `{}` need {} of memory; the namespace limit is {limit}",
                        namespace.name,
                        Bytes(memory as u64)
                    ),
                    format!(
                        "raise the memory limit of `{}` by {} or shrink a node pool",
                        namespace.name,
                        Bytes((memory - u128::from(limit.0)) as u64)
                    ),
                )
                .with_fix(
                    Change::new(
                        Quantity::MemoryLimit {
                            namespace: namespace.name.clone(),
                        },
                        memory,
                    )
                    .to_string(),
                ),
            );
        }
        for (policy_index, used) in d.namespace_storage[index].iter().enumerate() {
            if let Some(limit) =
                namespace.storage_limits[policy_index].filter(|limit| *used > u128::from(limit.0))
            {
                let policy_name = &inventory.storage_policies[policy_index].name;
                found.push(Diagnostic::new(Layer::Namespace, &namespace.name, Constraint::StorageLimit, format!("the disks of `{}` need {} of `{policy_name}`; the namespace limit is {limit}", namespace.name, Bytes(*used as u64)), format!("raise the `{policy_name}` limit of `{}` by {}", namespace.name, Bytes((*used - u128::from(limit.0)) as u64))).with_fix(Change::new(Quantity::StorageLimit { namespace: namespace.name.clone(), policy: policy_name.clone() }, *used).to_string()));
            }
        }
    }
}

/// The storage policies whose capacity is below the disks' demand.
fn storage_shortfalls(inventory: &Inventory, d: &Demand, found: &mut Vec<Diagnostic>) {
    // Storage capacity.
    for (policy_spec, used) in inventory.storage_policies.iter().zip(&d.storage) {
        if let Some(capacity) = policy_spec
            .capacity
            .filter(|capacity| *used > u128::from(capacity.0))
        {
            found.push(
                Diagnostic::new(
                    Layer::Infrastructure,
                    &policy_spec.name,
                    Constraint::StorageCapacity,
                    format!(
                        "disks need {} of storage policy `{}`, which holds {capacity}",
                        Bytes(*used as u64),
                        policy_spec.name
                    ),
                    format!(
                        "add {} to the datastore behind `{}`",
                        Bytes((*used - u128::from(capacity.0)) as u64),
                        policy_spec.name
                    ),
                )
                .with_fix(
                    Change::new(
                        Quantity::StorageCapacity {
                            policy: policy_spec.name.clone(),
                        },
                        *used,
                    )
                    .to_string(),
                ),
            );
        }
    }
}

/// Necessary conditions that fail when the units `included` accepts (and the Supervisor) are
/// all admitted. With `None`, the units that must be admitted (no priority).
pub fn necessary_conditions(
    inventory: &Inventory,
    included: Option<&dyn Fn(UnitId) -> bool>,
) -> Vec<Diagnostic> {
    let mandatory = |unit: UnitId| inventory.admission_units[unit].priority.is_none();
    let included: &dyn Fn(UnitId) -> bool = included.unwrap_or(&mandatory);
    let d = demand(inventory, included);
    let mut found = Vec::new();
    let policy = &inventory.policy;

    network_shortfalls(inventory, &d, &mut found);
    namespace_limit_shortfalls(inventory, &d, &mut found);
    // Per-zone thirds of namespace limits (3-zone Supervisor): what node pools pin to a zone.
    if inventory.three_zone {
        found.extend(pinned_zone_shortfalls(inventory, included));
    }
    storage_shortfalls(inventory, &d, &mut found);
    // Control-plane replicas against hosts and zones.
    let active: Vec<usize> = (0..inventory.hosts.len())
        .filter(|h| !inventory.hosts[HostId::new(*h)].maintenance)
        .collect();
    let active_zones: BTreeSet<usize> = active
        .iter()
        .filter_map(|h| inventory.hosts[HostId::new(*h)].zone)
        .collect();
    for (group_index, group) in inventory.groups.iter().enumerate() {
        if !group.anti_affine()
            || !inventory
                .unit_of_group(GroupId::new(group_index))
                .is_none_or(included)
        {
            continue;
        }
        let layer = if group.kind == GroupKind::SupervisorControlPlane {
            Layer::Supervisor
        } else {
            Layer::Cluster
        };
        let replicas = group.vms.len();
        if replicas > active.len() {
            found.push(Diagnostic::new(layer, &group.name, Constraint::AntiAffinity, format!("the {replicas} control-plane VMs of `{}` need {replicas} distinct hosts but {} are available (not in maintenance)", group.name, active.len()), format!("add {} host(s) or bring hosts out of maintenance", replicas - active.len())));
        } else if inventory.three_zone && replicas > active_zones.len() {
            found.push(Diagnostic::new(layer, &group.name, Constraint::AntiAffinity, format!("the {replicas} control-plane VMs of `{}` need {replicas} zones but only {} zone(s) have hosts available", group.name, active_zones.len()), "bring a host of every zone out of maintenance".to_string()));
        }
    }
    // Host totals: reserved within HA admission, all within the overcommitted limits, devices.
    let k = u128::from(policy.host_failures_to_tolerate);
    let ha_note = if k > 0 {
        format!(" after the HA reserve for {k} host failure(s)")
    } else {
        String::new()
    };
    let (usable_cores, usable_memory) = inventory.ha_usable(&inventory.maintenance());
    if d.reserved_vcpus > usable_cores {
        found.push(Diagnostic::new(
            Layer::Infrastructure,
            "hosts",
            Constraint::HaAdmission,
            format!(
                "reserved VMs need {} vCPUs; the {} host(s) offer {} cores{ha_note}",
                d.reserved_vcpus,
                active.len(),
                usable_cores
            ),
            "add hosts, or use best-effort classes for some VMs",
        ));
    }
    if d.reserved_memory > usable_memory {
        found.push(Diagnostic::new(
            Layer::Infrastructure,
            "hosts",
            Constraint::HaAdmission,
            format!(
                "reserved VMs need {} of memory; the {} host(s) offer {}{ha_note}",
                Bytes(d.reserved_memory as u64),
                active.len(),
                Bytes(usable_memory as u64)
            ),
            "add hosts or memory, or use best-effort classes",
        ));
    }
    let vcpu_limit: u64 = active
        .iter()
        .map(|i| inventory.hosts[HostId::new(*i)].vcpu_limit)
        .sum();
    if d.vcpus > vcpu_limit {
        found.push(Diagnostic::new(
            Layer::Infrastructure,
            "hosts",
            Constraint::HostVcpus,
            format!(
                "VMs need {} vCPUs; the hosts allow {vcpu_limit} at a {}:1 overcommit",
                d.vcpus, policy.cpu_overcommit
            ),
            "add hosts or raise cpu_overcommit",
        ));
    }
    let memory_limit: u128 = active
        .iter()
        .map(|i| u128::from(inventory.hosts[HostId::new(*i)].memory_limit.0))
        .sum();
    if d.memory > memory_limit {
        found.push(Diagnostic::new(
            Layer::Infrastructure,
            "hosts",
            Constraint::HostMemory,
            format!(
                "VMs need {} of memory; the hosts allow {}",
                Bytes(d.memory as u64),
                Bytes(memory_limit as u64)
            ),
            "add hosts or memory",
        ));
    }
    for (device, needed) in &d.devices {
        let supply: u64 = active
            .iter()
            .map(|i| u64::from(inventory.hosts[HostId::new(*i)].device_count(device)))
            .sum();
        if *needed > supply {
            found.push(Diagnostic::new(
                Layer::Infrastructure,
                device,
                Constraint::Devices,
                format!("VMs need {needed} `{device}` device(s); the hosts have {supply}"),
                format!("add hosts with `{device}` or shrink the pools that use it"),
            ));
        }
    }
    found
}

/// Node pools pinned to one zone that need more than a third of their namespace's CPU or
/// memory limit there.
fn pinned_zone_shortfalls(
    inventory: &Inventory,
    included: &dyn Fn(UnitId) -> bool,
) -> Vec<Diagnostic> {
    let mut pinned: std::collections::BTreeMap<(usize, usize), (u64, u128)> = Default::default();
    for (group_index, group) in inventory.groups.iter().enumerate() {
        let (
            GroupKind::NodePool {
                zone: Some(zone), ..
            },
            Some(namespace),
        ) = (&group.kind, group.namespace)
        else {
            continue;
        };
        if !inventory
            .unit_of_group(GroupId::new(group_index))
            .is_none_or(included)
        {
            continue;
        }
        let entry = pinned.entry((namespace, *zone)).or_insert((0, 0));
        entry.0 += group.vms.len() as u64 * u64::from(group.vcpus);
        entry.1 += group.vms.len() as u128 * u128::from(group.memory.0);
    }
    let mut found = Vec::new();
    for ((namespace_index, zone), (vcpus, memory)) in pinned {
        let namespace = &inventory.namespaces[namespace_index];
        let zone = &inventory.zones[zone];
        let cpu_mhz = vcpus * inventory.policy.vcpu_mhz;
        if let Some(limit) = namespace.cpu_mhz_limit.filter(|limit| 3 * cpu_mhz > *limit) {
            found.push(Diagnostic::new(Layer::Namespace, &namespace.name, Constraint::CpuLimit, format!("node pools of `{}` pinned to `{zone}` need {cpu_mhz} MHz there; a zone gets a third of the namespace CPU limit, {} MHz", namespace.name, limit / 3), format!("raise the CPU limit of `{}` to {} MHz or unpin a pool", namespace.name, 3 * cpu_mhz)).with_fix(Change::new(Quantity::CpuLimit { namespace: namespace.name.clone() }, 3 * cpu_mhz).to_string()));
        }
        if let Some(limit) = namespace
            .memory_limit
            .filter(|limit| 3 * memory > u128::from(limit.0))
        {
            found.push(Diagnostic::new(Layer::Namespace, &namespace.name, Constraint::MemoryLimit, format!("node pools of `{}` pinned to `{zone}` need {} there; a zone gets a third of the namespace memory limit, {}", namespace.name, Bytes(memory as u64), Bytes(limit.0 / 3)), format!("raise the memory limit of `{}` to {} or unpin a pool", namespace.name, Bytes((3 * memory) as u64))).with_fix(Change::new(Quantity::MemoryLimit { namespace: namespace.name.clone() }, 3 * memory).to_string()));
        }
    }
    found
}

/// Why each rejected unit was rejected: the necessary conditions it would break on top of the
/// admitted ones, or a packing note when no single resource is short.
pub fn rejections(inventory: &Inventory, assignment: &Assignment) -> Vec<Diagnostic> {
    let admitted = |unit: UnitId| assignment.admitted[unit];
    let before: BTreeSet<(Constraint, String)> = necessary_conditions(inventory, Some(&admitted))
        .into_iter()
        .map(|d| (d.constraint, d.subject))
        .collect();
    let mut found = Vec::new();
    for (unit_index, unit) in inventory.admission_units.iter().enumerate() {
        if assignment.admitted[UnitId::new(unit_index)] {
            continue;
        }
        let with_unit = |u: UnitId| assignment.admitted[u] || u.index() == unit_index;
        let blocking: Vec<Diagnostic> = necessary_conditions(inventory, Some(&with_unit))
            .into_iter()
            .filter(|d| !before.contains(&(d.constraint.clone(), d.subject.clone())))
            .collect();
        let priority = unit.priority.unwrap_or(0);
        match blocking.first() {
            Some(first) => found.push(Diagnostic {
                fix: first.fix.clone(),
                ..Diagnostic::new(first.layer, &unit.name, first.constraint.clone(), format!("`{}` (priority {priority}) was not admitted: {}", unit.name, first.message), first.hint.clone())
            }),
            None => found.push(Diagnostic::new(Layer::Infrastructure, &unit.name, Constraint::Packing, format!("`{}` (priority {priority}) was not admitted: no single limit is short, but it does not fit on the hosts alongside what has higher priority", unit.name), "add host capacity or raise its priority")),
        }
    }
    found
}

/// One entry per broken soft rule.
pub fn soft_rules(broken: &[String]) -> Vec<Diagnostic> {
    broken
        .iter()
        .map(|rule| {
            Diagnostic::new(
                Layer::Rule,
                rule,
                Constraint::SoftRule,
                format!("soft rule `{rule}` is broken in the best placement"),
                "add hosts or capacity where the rule wants the VMs, or make other rules soft",
            )
        })
        .collect()
}

/// The entry of a plan whose solve hit the time limit.
pub fn time_limit(gap: f64) -> Diagnostic {
    Diagnostic::input("policy.time_limit_s", "policy", Constraint::TimeLimit, format!("the solver hit its time limit before proving optimality; the plan is valid, {:.2}% from the best bound", gap * 100.0), "raise `policy.time_limit_s` or `policy.mip_gap`")
}

/// The entry of a plan whose solve stopped within the gap the policy allows (`policy.mip_gap`
/// above 0): not proven, but not stopped by the clock either.
pub fn within_gap(gap: f64, allowed: f64) -> Diagnostic {
    Diagnostic::input(
        "policy.mip_gap",
        "policy",
        "mip_gap",
        format!(
            "the solver stopped within the allowed gap ({:.2}%) before proving optimality; the plan is valid, {:.2}% from the best bound",
            allowed * 100.0,
            gap * 100.0
        ),
        "set `policy.mip_gap` to 0 to have the optimum proven",
    )
}

/// The entry when no necessary condition explains an infeasible (or timed-out) model.
pub fn no_single_shortage(status: Status) -> Diagnostic {
    match status {
        Status::Timeout => Diagnostic::input("policy.time_limit_s", "policy", Constraint::TimeLimit, "the solver found no plan within its time limit", "raise `policy.time_limit_s`"),
        _ => Diagnostic::new(Layer::Infrastructure, "hosts", Constraint::Packing, "no placement satisfies every rule at once, though no single total is short: the VMs do not pack onto the hosts under the anti-affinity, rules and per-host limits", "add a host, loosen a must rule, or give optional clusters a priority"),
    }
}
