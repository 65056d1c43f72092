//! The accounting of docs/accounting.md: what is alive, summed per host, namespace (and zone),
//! network and storage policy, in exact integers. The verifier's checks and the plan's
//! `usage` block read these sums; the MIP never does.

use super::verify::Alive;
use std::collections::BTreeMap;
use vksplan_model::document::mib_value;
use vksplan_model::inventory::GroupKind;
use vksplan_model::plan::{HostUsage, NamespaceUsage, NetworkUsage, StorageUsage, Usage};
use vksplan_model::{Bytes, Inventory};

/// Sums per host, namespace, network and storage policy.
#[derive(Debug, Clone, Default)]
pub struct Accounting {
    /// Per host: vCPUs, memory, reserved vCPUs, reserved memory, devices.
    pub hosts: Vec<HostLoad>,
    /// Per namespace: vCPUs, memory, and per zone, and disk per storage policy.
    pub namespaces: Vec<NamespaceLoad>,
    /// Addresses used per network.
    pub network_ips: Vec<u64>,
    /// Disk per storage policy.
    pub storage: Vec<u128>,
    /// Reserved vCPUs and memory of counted copies (HA admission).
    pub reserved: (u128, u128),
}

/// One host's load.
#[derive(Debug, Clone, Default)]
pub struct HostLoad {
    /// All vCPUs.
    pub vcpus: u64,
    /// All memory, bytes.
    pub memory: u128,
    /// Reserved vCPUs.
    pub reserved_vcpus: u64,
    /// Reserved memory, bytes.
    pub reserved_memory: u128,
    /// Devices.
    pub devices: BTreeMap<String, u64>,
    /// Copies on it.
    pub vms: u32,
}

/// One namespace's load.
#[derive(Debug, Clone, Default)]
pub struct NamespaceLoad {
    /// vCPUs.
    pub vcpus: u64,
    /// Memory, bytes.
    pub memory: u128,
    /// Per zone index: (vCPUs, memory bytes).
    pub zones: BTreeMap<usize, (u64, u128)>,
    /// Disk per storage policy index, bytes.
    pub storage: BTreeMap<usize, u128>,
}

/// Sums what is alive per host, namespace, network and storage policy.
pub fn account(inventory: &Inventory, alive: Alive) -> Accounting {
    let mut accounting = Accounting {
        hosts: vec![HostLoad::default(); inventory.hosts.len()],
        namespaces: vec![NamespaceLoad::default(); inventory.namespaces.len()],
        network_ips: vec![0; inventory.networks.len()],
        storage: vec![0; inventory.storage_policies.len()],
        reserved: (0, 0),
    };
    let mut supervisor_copies = 0u64;
    for copy in alive.copies {
        let group = inventory.group_of(copy.vm);
        let load = &mut accounting.hosts[copy.host.index()];
        load.vms += 1;
        load.vcpus += u64::from(group.vcpus);
        load.memory += u128::from(group.memory.0);
        if group.reserved {
            load.reserved_vcpus += u64::from(group.vcpus);
            load.reserved_memory += u128::from(group.memory.0);
        }
        for (device, count) in &group.devices {
            *load.devices.entry(device.clone()).or_insert(0) += u64::from(*count);
        }
        if !copy.counted {
            continue;
        }
        if group.reserved {
            accounting.reserved.0 += u128::from(group.vcpus);
            accounting.reserved.1 += u128::from(group.memory.0);
        }
        if group.kind == GroupKind::SupervisorControlPlane {
            supervisor_copies += 1;
        }
        if let Some(policy) = group.storage_policy {
            accounting.storage[policy] += u128::from(group.disk.0);
        }
        if let Some(namespace_index) = group.namespace {
            let namespace = &mut accounting.namespaces[namespace_index];
            namespace.vcpus += u64::from(group.vcpus);
            namespace.memory += u128::from(group.memory.0);
            if let Some(zone) = inventory.hosts[copy.host].zone {
                let entry = namespace.zones.entry(zone).or_insert((0, 0));
                entry.0 += u64::from(group.vcpus);
                entry.1 += u128::from(group.memory.0);
            }
            if let Some(policy) = group.storage_policy {
                *namespace.storage.entry(policy).or_insert(0) += u128::from(group.disk.0);
            }
            accounting.network_ips[inventory.namespaces[namespace_index].workload_network] += 1;
        }
    }
    if let Some(supervisor) = &inventory.supervisor {
        let networks = supervisor.networks;
        // Replicas + the floating IP + the address reserved for upgrades; during a Supervisor
        // roll the new copy takes that reserve: alive copies + 1.
        accounting.network_ips[networks.management] +=
            (u64::from(supervisor.replicas) + 2).max(supervisor_copies + 1);
        accounting.network_ips[networks.workload] += supervisor_copies;
        accounting.network_ips[networks.load_balancer] += 1;
    }
    for (cluster_index, cluster) in inventory.clusters.iter().enumerate() {
        if inventory
            .unit_of_cluster(cluster_index)
            .is_none_or(|unit| alive.admitted[unit.index()])
        {
            let network = inventory.namespaces[cluster.namespace].load_balancer_network;
            accounting.network_ips[network] += u64::from(cluster.load_balancer_ips);
        }
    }
    accounting
}

/// The `usage` block of a plan from the accounting.
pub fn usage(inventory: &Inventory, accounting: &Accounting) -> Usage {
    let hosts = inventory
        .hosts
        .iter()
        .zip(&accounting.hosts)
        .map(|(host, load)| {
            let usage = HostUsage {
                vcpus: load.vcpus,
                vcpu_limit: host.vcpu_limit,
                reserved_vcpus: load.reserved_vcpus,
                cores: u64::from(host.cpu_cores),
                memory: Bytes(load.memory as u64),
                memory_limit: host.memory_limit,
                reserved_memory: Bytes(load.reserved_memory as u64),
                devices: load.devices.clone(),
            };
            (host.name.clone(), usage)
        })
        .collect();
    let namespaces = inventory
        .namespaces
        .iter()
        .zip(&accounting.namespaces)
        .map(|(namespace, load)| {
            let mut storage_mib = BTreeMap::new();
            let mut storage_limit_mib = BTreeMap::new();
            for (policy_index, policy) in inventory.storage_policies.iter().enumerate() {
                let used = load.storage.get(&policy_index).copied();
                let limit = namespace.storage_limits[policy_index];
                if used.is_some() || limit.is_some() {
                    storage_mib.insert(
                        policy.name.clone(),
                        mib_value(Bytes(used.unwrap_or(0) as u64)),
                    );
                    storage_limit_mib.insert(
                        policy.name.clone(),
                        limit.map_or(serde_json::Value::Null, mib_value),
                    );
                }
            }
            let usage = NamespaceUsage {
                cpu_mhz: load.vcpus * inventory.policy.vcpu_mhz,
                cpu_mhz_limit: namespace.cpu_mhz_limit,
                memory: Bytes(load.memory as u64),
                memory_limit: namespace.memory_limit,
                storage_mib,
                storage_limit_mib,
            };
            (namespace.name.clone(), usage)
        })
        .collect();
    let networks = inventory
        .networks
        .iter()
        .zip(&accounting.network_ips)
        .map(|(network, used)| {
            (
                network.name.clone(),
                NetworkUsage {
                    used: *used,
                    ips: u64::from(network.ips),
                },
            )
        })
        .collect();
    let storage_policies = inventory
        .storage_policies
        .iter()
        .zip(&accounting.storage)
        .map(|(policy, used)| {
            (
                policy.name.clone(),
                StorageUsage {
                    used: Bytes(*used as u64),
                    capacity: policy.capacity,
                },
            )
        })
        .collect();
    Usage {
        hosts,
        namespaces,
        networks,
        storage_policies,
    }
}
