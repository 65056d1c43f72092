//! The independent verifier: a plain-Rust replay of SPEC section 3 over a placement (which VM
//! runs on which host, which units are admitted). It reads the topology, never the MIP: every
//! sum is recomputed per VM with exact integer arithmetic, and every violation becomes a
//! diagnosis entry owned by the layer SPEC section 5 names.

use std::collections::{BTreeMap, BTreeSet};
use vksplan_model::inventory::GroupKind;
use vksplan_model::plan::{HostUsage, NamespaceUsage, NetworkUsage, StorageUsage, Usage};
use vksplan_model::quantity::mib_value;
use vksplan_model::topology::RuleKind;
use vksplan_model::{Bytes, Diagnostic, Inventory, Layer};

/// A placement to check: per VM its host (`None` = not placed), per admission unit whether
/// it is admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Host of each VM, indexed like `Inventory::vms`.
    pub host_of: Vec<Option<usize>>,
    /// Admission of each unit, indexed like `Inventory::admission_units`.
    pub admitted: Vec<bool>,
}

impl Assignment {
    /// Reads a plan document's placement and rejections back (for checking a plan from outside).
    pub fn from_plan(inventory: &Inventory, plan: &vksplan_model::Plan) -> Assignment {
        let host_of = inventory
            .vms
            .iter()
            .map(|vm| {
                plan.placement
                    .get(&vm.name)
                    .and_then(|host| inventory.host_index(host))
            })
            .collect();
        let admitted = inventory
            .admission_units
            .iter()
            .map(|unit| !plan.rejected.contains(&unit.name))
            .collect();
        Assignment { host_of, admitted }
    }
}

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
    /// VMs on it.
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

/// What the verifier found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Hard violations (empty = the placement is valid).
    pub violations: Vec<Diagnostic>,
    /// The sums behind them.
    pub accounting: Accounting,
    /// Soft rules broken (names).
    pub soft_rules_broken: Vec<String>,
    /// Admitted VMs of `placement` whose host changed.
    pub migrations: u32,
    /// Highest host utilisation.
    pub max_utilization: f64,
    /// Hosts holding at least one VM.
    pub hosts_used: u32,
    /// Their total cost.
    pub cost: f64,
    /// Sum over node pools of the largest number of one pool's VMs on a host.
    pub spread: u32,
}

fn violation(
    layer: Layer,
    subject: &str,
    constraint: &str,
    message: String,
    hint: &str,
) -> Diagnostic {
    Diagnostic::new(layer, subject, constraint, message, hint)
}

/// Sums a placement per host, namespace, network and storage policy.
pub fn account(inventory: &Inventory, assignment: &Assignment) -> Accounting {
    let mut accounting = Accounting {
        hosts: vec![HostLoad::default(); inventory.hosts.len()],
        namespaces: vec![NamespaceLoad::default(); inventory.namespaces.len()],
        network_ips: vec![0; inventory.networks.len()],
        storage: vec![0; inventory.storage_policies.len()],
    };
    for (vm, host) in assignment.host_of.iter().enumerate() {
        let Some(host) = *host else { continue };
        let group = inventory.group_of(vm);
        let load = &mut accounting.hosts[host];
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
        if let Some(policy) = group.storage_policy {
            accounting.storage[policy] += u128::from(group.disk.0);
        }
        if let Some(namespace_index) = group.namespace {
            let namespace = &mut accounting.namespaces[namespace_index];
            namespace.vcpus += u64::from(group.vcpus);
            namespace.memory += u128::from(group.memory.0);
            if let Some(zone) = inventory.hosts[host].zone {
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
    if let (Some([management, workload, load_balancer]), Some(supervisor)) = (
        inventory.supervisor_networks,
        inventory.topology.supervisor.as_ref(),
    ) {
        accounting.network_ips[management] += u64::from(supervisor.replicas) + 2;
        accounting.network_ips[workload] += u64::from(supervisor.replicas);
        accounting.network_ips[load_balancer] += 1;
    }
    for (cluster_index, cluster) in inventory.clusters.iter().enumerate() {
        let admitted = inventory
            .unit_of_cluster(cluster_index)
            .is_none_or(|unit| assignment.admitted[unit]);
        if admitted {
            let network = inventory.namespaces[cluster.namespace].load_balancer_network;
            accounting.network_ips[network] += u64::from(cluster.load_balancer_ips);
        }
    }
    accounting
}

/// Checks every rule of SPEC section 3 and computes the objective values.
pub fn verify(inventory: &Inventory, assignment: &Assignment) -> Report {
    let accounting = account(inventory, assignment);
    let mut violations = Vec::new();
    let policy = &inventory.policy;

    // Admission: mandatory units admitted; admitted units placed whole; rejected ones absent.
    for (unit_index, unit) in inventory.admission_units.iter().enumerate() {
        let admitted = assignment.admitted[unit_index];
        if !admitted && unit.priority.is_none() {
            violations.push(violation(
                Layer::Cluster,
                &unit.name,
                "admission",
                format!(
                    "`{}` has no priority and must be admitted, but was rejected",
                    unit.name
                ),
                "a bug: report it",
            ));
        }
        for group in &unit.groups {
            for vm in &inventory.groups[*group].vms {
                if assignment.host_of[*vm].is_some() != admitted {
                    violations.push(violation(
                        Layer::Cluster,
                        &inventory.vms[*vm].name,
                        "admission",
                        format!(
                            "VM `{}` is {} although `{}` is {}",
                            inventory.vms[*vm].name,
                            if admitted { "not placed" } else { "placed" },
                            unit.name,
                            if admitted { "admitted" } else { "rejected" }
                        ),
                        "a unit is admitted whole or not at all",
                    ));
                }
            }
        }
    }
    for group in inventory
        .groups
        .iter()
        .filter(|g| g.kind == GroupKind::SupervisorControlPlane)
    {
        for vm in &group.vms {
            if assignment.host_of[*vm].is_none() {
                violations.push(violation(
                    Layer::Supervisor,
                    &inventory.vms[*vm].name,
                    "admission",
                    format!("Supervisor VM `{}` is not placed", inventory.vms[*vm].name),
                    "the Supervisor is always admitted",
                ));
            }
        }
    }

    // Host capacity, maintenance, devices.
    for (host_index, (host, load)) in inventory.hosts.iter().zip(&accounting.hosts).enumerate() {
        let name = &host.name;
        if host.maintenance && load.vms > 0 {
            violations.push(violation(
                Layer::Infrastructure,
                name,
                "maintenance",
                format!(
                    "host `{name}` is in maintenance but holds {} VM(s)",
                    load.vms
                ),
                "move the VMs off the host",
            ));
        }
        if load.vcpus as f64 > f64::from(host.cpu_cores) * policy.cpu_overcommit + 1e-9 {
            violations.push(violation(
                Layer::Infrastructure,
                name,
                "host_vcpus",
                format!(
                    "host `{name}` runs {} vCPUs; {} cores x {} overcommit allow {}",
                    load.vcpus,
                    host.cpu_cores,
                    policy.cpu_overcommit,
                    f64::from(host.cpu_cores) * policy.cpu_overcommit
                ),
                "move VMs or raise cpu_overcommit",
            ));
        }
        if load.memory as f64 > host.memory.0 as f64 * policy.memory_overcommit * (1.0 + 1e-12) {
            violations.push(violation(
                Layer::Infrastructure,
                name,
                "host_memory",
                format!(
                    "host `{name}` runs {} of memory; it has {} x {} overcommit",
                    Bytes(load.memory as u64),
                    host.memory,
                    policy.memory_overcommit
                ),
                "move VMs or add memory",
            ));
        }
        if load.reserved_vcpus > u64::from(host.cpu_cores) {
            violations.push(violation(
                Layer::Infrastructure,
                name,
                "host_reserved_vcpus",
                format!(
                    "host `{name}` reserves {} vCPUs on {} cores",
                    load.reserved_vcpus, host.cpu_cores
                ),
                "reserved vCPUs cannot be overcommitted",
            ));
        }
        if load.reserved_memory > u128::from(host.memory.0) {
            violations.push(violation(
                Layer::Infrastructure,
                name,
                "host_reserved_memory",
                format!(
                    "host `{name}` reserves {} of {} memory",
                    Bytes(load.reserved_memory as u64),
                    host.memory
                ),
                "reserved memory cannot be overcommitted",
            ));
        }
        for (device, used) in &load.devices {
            let has = u64::from(host.device_count(device));
            if *used > has {
                violations.push(violation(
                    Layer::Infrastructure,
                    name,
                    "devices",
                    format!("host `{name}` gives out {used} `{device}` but has {has}"),
                    "place device VMs on hosts with free devices",
                ));
            }
        }
        let _ = host_index;
    }

    // HA admission (percentage policy) over hosts not in maintenance.
    let k = u128::from(policy.host_failures_to_tolerate);
    if k > 0 {
        let active: Vec<usize> = (0..inventory.hosts.len())
            .filter(|h| !inventory.hosts[*h].maintenance)
            .collect();
        let h = active.len() as u128;
        let cores: u128 = active
            .iter()
            .map(|i| u128::from(inventory.hosts[*i].cpu_cores))
            .sum();
        let memory: u128 = active
            .iter()
            .map(|i| u128::from(inventory.hosts[*i].memory.0))
            .sum();
        let reserved_vcpus: u128 = accounting
            .hosts
            .iter()
            .map(|l| u128::from(l.reserved_vcpus))
            .sum();
        let reserved_memory: u128 = accounting.hosts.iter().map(|l| l.reserved_memory).sum();
        if h <= k && (reserved_vcpus > 0 || reserved_memory > 0)
            || h > k && reserved_vcpus * h > (h - k) * cores
        {
            violations.push(violation(Layer::Infrastructure, "cluster", "ha_admission", format!("reserved vCPUs ({reserved_vcpus}) exceed (1 - {k}/{h}) of the {cores} cores that HA admission allows"), "add hosts or reserve less"));
        }
        if h > k && reserved_memory * h > (h - k) * memory {
            violations.push(violation(
                Layer::Infrastructure,
                "cluster",
                "ha_admission",
                format!(
                    "reserved memory ({}) exceeds (1 - {k}/{h}) of the {} HA admission allows",
                    Bytes(reserved_memory as u64),
                    Bytes(memory as u64)
                ),
                "add hosts or reserve less",
            ));
        }
    }

    // Control-plane anti-affinity and node-pool zones.
    for group in &inventory.groups {
        let hosts: Vec<usize> = group
            .vms
            .iter()
            .filter_map(|vm| assignment.host_of[*vm])
            .collect();
        if group.anti_affine() {
            let layer = if group.kind == GroupKind::SupervisorControlPlane {
                Layer::Supervisor
            } else {
                Layer::Cluster
            };
            let distinct: BTreeSet<usize> = hosts.iter().copied().collect();
            if distinct.len() < hosts.len() {
                violations.push(violation(
                    layer,
                    &group.name,
                    "anti_affinity",
                    format!("control-plane VMs of `{}` share a host", group.name),
                    "put each control-plane VM on its own host",
                ));
            }
            if inventory.three_zone {
                let zones: BTreeSet<Option<usize>> =
                    hosts.iter().map(|h| inventory.hosts[*h].zone).collect();
                if zones.len() < hosts.len() {
                    violations.push(violation(
                        layer,
                        &group.name,
                        "anti_affinity",
                        format!("control-plane VMs of `{}` share a zone", group.name),
                        "put each control-plane VM in its own zone",
                    ));
                }
            }
        }
        if let GroupKind::NodePool {
            zone: Some(zone), ..
        } = group.kind
        {
            if hosts.iter().any(|h| inventory.hosts[*h].zone != Some(zone)) {
                violations.push(violation(
                    Layer::Cluster,
                    &group.name,
                    "zone_pinning",
                    format!(
                        "node pool `{}` is pinned to zone `{}` but runs outside it",
                        group.name, inventory.zones[zone]
                    ),
                    "keep the pool's VMs on hosts of its zone",
                ));
            }
        }
    }

    // Namespace limits (and per zone in a 3-zone Supervisor), storage limits.
    for (namespace, load) in inventory.namespaces.iter().zip(&accounting.namespaces) {
        let name = &namespace.name;
        let cpu_mhz = u128::from(load.vcpus) * u128::from(policy.vcpu_mhz);
        if let Some(limit) = namespace.cpu_mhz_limit {
            if cpu_mhz > u128::from(limit) {
                violations.push(violation(
                    Layer::Namespace,
                    name,
                    "cpu_limit",
                    format!("namespace `{name}` uses {cpu_mhz} MHz; its limit is {limit}"),
                    "raise the limit or shrink the namespace",
                ));
            }
            for (zone, (vcpus, _)) in inventory
                .three_zone
                .then_some(&load.zones)
                .into_iter()
                .flatten()
            {
                if 3 * u128::from(*vcpus) * u128::from(policy.vcpu_mhz) > u128::from(limit) {
                    violations.push(violation(Layer::Namespace, name, "cpu_limit", format!("namespace `{name}` uses more than a third of its CPU limit in zone `{}`", inventory.zones[*zone]), "spread the namespace over the zones"));
                }
            }
        }
        if let Some(limit) = namespace.memory_limit {
            if load.memory > u128::from(limit.0) {
                violations.push(violation(
                    Layer::Namespace,
                    name,
                    "memory_limit",
                    format!(
                        "namespace `{name}` uses {} of memory; its limit is {limit}",
                        Bytes(load.memory as u64)
                    ),
                    "raise the limit or shrink the namespace",
                ));
            }
            for (zone, (_, memory)) in inventory
                .three_zone
                .then_some(&load.zones)
                .into_iter()
                .flatten()
            {
                if 3 * memory > u128::from(limit.0) {
                    violations.push(violation(Layer::Namespace, name, "memory_limit", format!("namespace `{name}` uses more than a third of its memory limit in zone `{}`", inventory.zones[*zone]), "spread the namespace over the zones"));
                }
            }
        }
        for (policy_index, used) in &load.storage {
            if let Some(limit) = namespace.storage_limits[*policy_index] {
                if *used > u128::from(limit.0) {
                    violations.push(violation(
                        Layer::Namespace,
                        name,
                        "storage_limit",
                        format!(
                            "namespace `{name}` uses {} of `{}`; its limit is {limit}",
                            Bytes(*used as u64),
                            inventory.storage_policies[*policy_index].name
                        ),
                        "raise the storage limit",
                    ));
                }
            }
        }
    }

    // Storage capacity.
    for (policy_spec, used) in inventory.storage_policies.iter().zip(&accounting.storage) {
        if let Some(capacity) = policy_spec.capacity {
            if *used > u128::from(capacity.0) {
                violations.push(violation(
                    Layer::Infrastructure,
                    &policy_spec.name,
                    "storage_capacity",
                    format!(
                        "storage policy `{}` holds {} of {capacity}",
                        policy_spec.name,
                        Bytes(*used as u64)
                    ),
                    "add capacity",
                ));
            }
        }
    }

    // IP addresses.
    for (network_index, (network, used)) in inventory
        .networks
        .iter()
        .zip(&accounting.network_ips)
        .enumerate()
    {
        if *used > u64::from(network.ips) {
            let layer = match inventory.supervisor_networks {
                Some([management, ..]) if management == network_index => Layer::Supervisor,
                _ => Layer::Namespace,
            };
            violations.push(violation(
                layer,
                &network.name,
                "ip_addresses",
                format!(
                    "network `{}` needs {used} addresses but has {}",
                    network.name, network.ips
                ),
                "add addresses to the pool",
            ));
        }
    }

    // DRS rules.
    let mut soft_rules_broken = Vec::new();
    for rule in &inventory.rules {
        let hosts: Vec<usize> = rule
            .vms
            .iter()
            .filter_map(|vm| assignment.host_of[*vm])
            .collect();
        let broken = match rule.kind {
            RuleKind::Separate => hosts.iter().collect::<BTreeSet<_>>().len() < hosts.len(),
            RuleKind::Together => hosts.iter().collect::<BTreeSet<_>>().len() > 1,
            RuleKind::VmHost => hosts.iter().any(|h| rule.hosts.contains(h) != rule.run_on),
        };
        if broken && rule.must {
            violations.push(violation(
                Layer::Rule,
                &rule.name,
                "rules",
                format!("rule `{}` ({}) is broken", rule.name, rule.kind.as_str()),
                "place the selected VMs as the rule asks",
            ));
        } else if broken {
            soft_rules_broken.push(rule.name.clone());
        }
    }

    // Objective values.
    let mut migrations = 0;
    for (vm, host) in &inventory.placement {
        if let Some(now) = assignment.host_of[*vm] {
            migrations += u32::from(now != *host);
        }
    }
    let mut max_utilization: f64 = 0.0;
    let (mut hosts_used, mut cost) = (0, 0.0);
    for (host, load) in inventory.hosts.iter().zip(&accounting.hosts) {
        // Allowed = whole vCPUs and bytes: the floors of cores x overcommit and memory x
        // overcommit, as `usage.hosts.*_limit` reports them.
        let allowed_vcpus = host.vcpu_limit.max(1) as f64;
        let allowed_memory = host.memory_limit.0.max(1) as f64;
        if load.vms > 0 {
            hosts_used += 1;
            cost += host.cost;
            max_utilization = max_utilization
                .max(load.vcpus as f64 / allowed_vcpus)
                .max(load.memory as f64 / allowed_memory);
        }
    }
    let mut spread = 0;
    for group in inventory
        .groups
        .iter()
        .filter(|g| matches!(g.kind, GroupKind::NodePool { .. }))
    {
        let mut per_host: BTreeMap<usize, u32> = BTreeMap::new();
        for vm in &group.vms {
            if let Some(host) = assignment.host_of[*vm] {
                *per_host.entry(host).or_insert(0) += 1;
            }
        }
        spread += per_host.values().copied().max().unwrap_or(0);
    }
    Report {
        violations,
        accounting,
        soft_rules_broken,
        migrations,
        max_utilization,
        hosts_used,
        cost,
        spread,
    }
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
