//! docs/accounting.md over a set of live copies, for the independent sequence check: each rule
//! summed from the copies directly, in integers.

use std::collections::{BTreeMap, BTreeSet};
use vksplan_model::document::RuleKind;
use vksplan_model::inventory::GroupKind;
use vksplan_model::{Constraint, Inventory};
use vksplan_model::{GroupId, HostId, VmId};

/// A live copy of a VM on a host. `counted`: whether it counts for namespace limits,
/// addresses, storage and HA admission (a migrating VM counts once, at its destination).
#[derive(Debug, Clone, Copy)]
pub struct Copy {
    pub vm: usize,
    pub host: usize,
    pub counted: bool,
}

/// Per host: maintenance, vCPUs, memory, reserved capacity, devices; then HA admission over the hosts in service.
fn hosts_and_admission(
    inventory: &Inventory,
    copies: &[Copy],
    maintenance: &[bool],
    broken: &mut Vec<(Constraint, String, String)>,
) {
    let group = |vm: usize| &inventory.groups[inventory.vms[VmId::new(vm)].group];
    let hosts = inventory.hosts.len();
    // Hosts: maintenance, vCPUs, memory, reserved, devices.
    let mut vcpus = vec![0u128; hosts];
    let mut memory = vec![0u128; hosts];
    let mut reserved_vcpus = vec![0u128; hosts];
    let mut reserved_memory = vec![0u128; hosts];
    let mut devices: BTreeMap<(usize, &str), u128> = BTreeMap::new();
    let mut on_host = vec![0u32; hosts];
    for copy in copies {
        let g = group(copy.vm);
        on_host[copy.host] += 1;
        vcpus[copy.host] += u128::from(g.vcpus);
        memory[copy.host] += u128::from(g.memory.0);
        if g.reserved {
            reserved_vcpus[copy.host] += u128::from(g.vcpus);
            reserved_memory[copy.host] += u128::from(g.memory.0);
        }
        for (device, count) in &g.devices {
            *devices.entry((copy.host, device.as_str())).or_default() += u128::from(*count);
        }
    }
    for (h, host) in inventory.hosts.iter().enumerate() {
        let name = || host.name.clone();
        if maintenance[h] && on_host[h] > 0 {
            broken.push((
                Constraint::Maintenance,
                name(),
                format!("`{}` is in maintenance and holds VMs", host.name),
            ));
        }
        if vcpus[h] > u128::from(host.vcpu_limit) {
            broken.push((
                Constraint::HostVcpus,
                name(),
                format!("{} vCPUs on `{}`", vcpus[h], host.name),
            ));
        }
        if memory[h] > u128::from(host.memory_limit.0) {
            broken.push((
                Constraint::HostMemory,
                name(),
                format!("memory over the limit on `{}`", host.name),
            ));
        }
        if reserved_vcpus[h] > u128::from(host.cpu_cores) {
            broken.push((
                Constraint::HostReservedVcpus,
                name(),
                format!("reserved vCPUs over the cores of `{}`", host.name),
            ));
        }
        if reserved_memory[h] > u128::from(host.memory.0) {
            broken.push((
                Constraint::HostReservedMemory,
                name(),
                format!("reserved memory over `{}`", host.name),
            ));
        }
    }
    for ((h, device), used) in &devices {
        if *used > u128::from(inventory.hosts[HostId::new(*h)].device_count(device)) {
            broken.push((
                Constraint::Devices,
                inventory.hosts[HostId::new(*h)].name.clone(),
                format!(
                    "{used} `{device}` on `{}`",
                    inventory.hosts[HostId::new(*h)].name
                ),
            ));
        }
    }

    // HA admission over the hosts in service.
    let k = u128::from(inventory.policy.host_failures_to_tolerate);
    if k > 0 {
        let in_service: Vec<usize> = (0..hosts).filter(|h| !maintenance[*h]).collect();
        let count = in_service.len() as u128;
        let cores: u128 = in_service
            .iter()
            .map(|h| u128::from(inventory.hosts[HostId::new(*h)].cpu_cores))
            .sum();
        let total_memory: u128 = in_service
            .iter()
            .map(|h| u128::from(inventory.hosts[HostId::new(*h)].memory.0))
            .sum();
        let (mut cpu, mut mem) = (0u128, 0u128);
        for copy in copies.iter().filter(|c| c.counted) {
            let g = group(copy.vm);
            if g.reserved {
                cpu += u128::from(g.vcpus);
                mem += u128::from(g.memory.0);
            }
        }
        let over = |used: u128, total: u128| {
            used > 0 && (count <= k || used * count > (count - k) * total)
        };
        if over(cpu, cores) || over(mem, total_memory) {
            broken.push((
                Constraint::HaAdmission,
                "hosts".to_string(),
                "reserved capacity beyond what HA admission allows".into(),
            ));
        }
    }
}

/// Control-plane anti-affinity (two copies of one slot may share a host) and node-pool zones.
fn anti_affinity_and_zones(
    inventory: &Inventory,
    copies: &[Copy],
    broken: &mut Vec<(Constraint, String, String)>,
) {
    // Control-plane anti-affinity (two copies of one slot may share) and pool zones.
    let mut slots_on: BTreeMap<(usize, usize), BTreeSet<usize>> = BTreeMap::new();
    let mut slots_in_zone: BTreeMap<(usize, usize), BTreeSet<usize>> = BTreeMap::new();
    for copy in copies {
        let g_index = inventory.vms[VmId::new(copy.vm)].group;
        let g = &inventory.groups[g_index];
        if g.anti_affine() {
            slots_on
                .entry((g_index.index(), copy.host))
                .or_default()
                .insert(copy.vm);
            if let (true, Some(zone)) = (
                inventory.three_zone,
                inventory.hosts[HostId::new(copy.host)].zone,
            ) {
                slots_in_zone
                    .entry((g_index.index(), zone))
                    .or_default()
                    .insert(copy.vm);
            }
        }
        if let GroupKind::NodePool {
            zone: Some(zone), ..
        } = g.kind
        {
            if inventory.hosts[HostId::new(copy.host)].zone != Some(zone) {
                broken.push((
                    Constraint::ZonePinning,
                    g.name.clone(),
                    format!(
                        "`{}` outside its zone",
                        inventory.vms[VmId::new(copy.vm)].name
                    ),
                ));
            }
        }
    }
    for ((g, _), slots) in slots_on.iter().chain(&slots_in_zone) {
        if slots.len() > 1 {
            broken.push((
                Constraint::AntiAffinity,
                inventory.groups[GroupId::new(*g)].name.clone(),
                format!(
                    "control-plane VMs of `{}` share a host or zone",
                    inventory.groups[GroupId::new(*g)].name
                ),
            ));
        }
    }
}

/// Namespace limits (per zone thirds in a 3-zone Supervisor), storage and addresses, over the counted copies of admitted units.
fn limits_and_pools(
    inventory: &Inventory,
    copies: &[Copy],
    admitted: &[bool],
    broken: &mut Vec<(Constraint, String, String)>,
) {
    let group = |vm: usize| &inventory.groups[inventory.vms[VmId::new(vm)].group];
    // Namespace limits (per zone thirds in a 3-zone Supervisor), storage, addresses.
    let namespaces = inventory.namespaces.len();
    let mut ns_vcpus = vec![0u128; namespaces];
    let mut ns_memory = vec![0u128; namespaces];
    let mut ns_zone: BTreeMap<(usize, usize), (u128, u128)> = BTreeMap::new();
    let mut ns_storage: BTreeMap<(usize, usize), u128> = BTreeMap::new();
    let mut storage = vec![0u128; inventory.storage_policies.len()];
    let mut addresses = vec![0u128; inventory.networks.len()];
    let mut supervisor_copies = 0u128;
    for copy in copies.iter().filter(|c| c.counted) {
        let g = group(copy.vm);
        if g.kind == GroupKind::SupervisorControlPlane {
            supervisor_copies += 1;
        }
        if let Some(policy) = g.storage_policy {
            storage[policy] += u128::from(g.disk.0);
        }
        let Some(ns) = g.namespace else { continue };
        ns_vcpus[ns] += u128::from(g.vcpus);
        ns_memory[ns] += u128::from(g.memory.0);
        if let Some(zone) = inventory.hosts[HostId::new(copy.host)].zone {
            let entry = ns_zone.entry((ns, zone)).or_default();
            entry.0 += u128::from(g.vcpus);
            entry.1 += u128::from(g.memory.0);
        }
        if let Some(policy) = g.storage_policy {
            *ns_storage.entry((ns, policy)).or_default() += u128::from(g.disk.0);
        }
        addresses[inventory.namespaces[ns].workload_network] += 1;
    }
    let mhz = u128::from(inventory.policy.vcpu_mhz);
    for (ns, spec) in inventory.namespaces.iter().enumerate() {
        if let Some(limit) = spec.cpu_mhz_limit {
            if ns_vcpus[ns] * mhz > u128::from(limit) {
                broken.push((
                    Constraint::CpuLimit,
                    spec.name.clone(),
                    format!("`{}` over its CPU limit", spec.name),
                ));
            }
        }
        if let Some(limit) = spec.memory_limit {
            if ns_memory[ns] > u128::from(limit.0) {
                broken.push((
                    Constraint::MemoryLimit,
                    spec.name.clone(),
                    format!("`{}` over its memory limit", spec.name),
                ));
            }
        }
        if inventory.three_zone {
            for ((n, zone), (cpu, mem)) in &ns_zone {
                if *n != ns {
                    continue;
                }
                if spec
                    .cpu_mhz_limit
                    .is_some_and(|l| 3 * cpu * mhz > u128::from(l))
                {
                    broken.push((
                        Constraint::CpuLimit,
                        spec.name.clone(),
                        format!(
                            "`{}` over a third of its CPU limit in zone `{}`",
                            spec.name, inventory.zones[*zone]
                        ),
                    ));
                }
                if spec.memory_limit.is_some_and(|l| 3 * mem > u128::from(l.0)) {
                    broken.push((
                        Constraint::MemoryLimit,
                        spec.name.clone(),
                        format!(
                            "`{}` over a third of its memory limit in zone `{}`",
                            spec.name, inventory.zones[*zone]
                        ),
                    ));
                }
            }
        }
        for (policy, limit) in spec.storage_limits.iter().enumerate() {
            if let Some(limit) = limit {
                if ns_storage.get(&(ns, policy)).copied().unwrap_or(0) > u128::from(limit.0) {
                    broken.push((
                        Constraint::StorageLimit,
                        spec.name.clone(),
                        format!("`{}` over its storage limit", spec.name),
                    ));
                }
            }
        }
    }
    for (policy, spec) in inventory.storage_policies.iter().enumerate() {
        if spec
            .capacity
            .is_some_and(|c| storage[policy] > u128::from(c.0))
        {
            broken.push((
                Constraint::StorageCapacity,
                spec.name.clone(),
                format!("`{}` over its capacity", spec.name),
            ));
        }
    }
    if let Some(supervisor) = &inventory.supervisor {
        let networks = supervisor.networks;
        // Replicas, the floating address and the one kept for upgrades; during a roll the new
        // copy takes the kept one: at least live copies + 1.
        addresses[networks.management] +=
            (u128::from(supervisor.replicas) + 2).max(supervisor_copies + 1);
        addresses[networks.workload] += supervisor_copies;
        addresses[networks.load_balancer] += 1;
    }
    for (c, cluster) in inventory.clusters.iter().enumerate() {
        if inventory
            .unit_of_cluster(c)
            .is_none_or(|unit| admitted[unit.index()])
        {
            addresses[inventory.namespaces[cluster.namespace].load_balancer_network] +=
                u128::from(cluster.load_balancer_ips);
        }
    }
    for (n, network) in inventory.networks.iter().enumerate() {
        if addresses[n] > u128::from(network.ips) {
            broken.push((
                Constraint::IpAddresses,
                network.name.clone(),
                format!("`{}` needs {} addresses", network.name, addresses[n]),
            ));
        }
    }
}

/// (rule, subject, message) for every hard rule of section 3 the copies break.
pub fn section3(
    inventory: &Inventory,
    copies: &[Copy],
    maintenance: &[bool],
    admitted: &[bool],
) -> Vec<(Constraint, String, String)> {
    let mut broken = Vec::new();

    hosts_and_admission(inventory, copies, maintenance, &mut broken);

    anti_affinity_and_zones(inventory, copies, &mut broken);

    limits_and_pools(inventory, copies, admitted, &mut broken);

    // Hard DRS rules; a VM's copies all count (a migrating VM is on both hosts).
    for rule in inventory.rules.iter().filter(|r| r.must) {
        let selected: BTreeSet<usize> = rule.vms.iter().map(|vm| vm.index()).collect();
        let placed: Vec<&Copy> = copies.iter().filter(|c| selected.contains(&c.vm)).collect();
        let ok = match rule.kind {
            RuleKind::Separate => {
                let mut by_host: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
                for c in &placed {
                    by_host.entry(c.host).or_default().insert(c.vm);
                }
                by_host.values().all(|vms| vms.len() <= 1)
            }
            RuleKind::Together => placed.iter().map(|c| c.host).collect::<BTreeSet<_>>().len() <= 1,
            RuleKind::VmHost => placed
                .iter()
                .all(|c| rule.hosts.contains(&HostId::new(c.host)) == rule.run_on),
        };
        if !ok {
            broken.push((
                Constraint::Rules,
                rule.name.clone(),
                format!("rule `{}` broken", rule.name),
            ));
        }
    }
    broken.sort();
    broken.dedup();
    broken
}
