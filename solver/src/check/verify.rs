//! The independent verifier: a plain-Rust replay of docs/accounting.md over what is alive (which
//! copy of which VM runs on which host, which hosts are in maintenance, which units are
//! admitted). It reads the topology, never the MIP: every sum is recomputed per copy with exact
//! integer arithmetic, and every violation becomes a diagnosis entry owned by the layer docs/output-and-upgrades.md
//! section 5 names. A placement is the case of one copy per VM; upgrade waves (see
//! [`crate::check::replay`]) add surge copies and migrating VMs.

use crate::diagnosis::change::{Change, Quantity};
use std::collections::{BTreeMap, BTreeSet};
use vksplan_model::inventory::GroupKind;
use vksplan_model::plan::{HostUsage, NamespaceUsage, NetworkUsage, StorageUsage, Usage};
use vksplan_model::quantity::mib_value;
use vksplan_model::topology::RuleKind;
use vksplan_model::{Bytes, Constraint, Diagnostic, Inventory, Layer};
use vksplan_model::{HostId, VmId};
use vksplan_model::{IdVec, UnitId};

/// A placement to check: per VM its host (`None` = not placed), per admission unit whether
/// it is admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Host of each VM.
    pub host_of: IdVec<VmId, Option<HostId>>,
    /// Admission of each unit.
    pub admitted: IdVec<UnitId, bool>,
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

    /// One copy per placed VM.
    pub fn copies(&self) -> Vec<Copy> {
        self.host_of
            .iter()
            .enumerate()
            .filter_map(|(vm, host)| {
                Some(Copy {
                    vm: VmId::new(vm),
                    host: (*host)?,
                    counted: true,
                })
            })
            .collect()
    }
}

/// One live copy of a VM slot on a host. A slot may have two: the old and the new copy during
/// a rollout (both `counted`), or a migrating VM on its source (`counted`) and destination
/// (not `counted`: it occupies the host but counts once in namespace, IP, storage and HA
/// totals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copy {
    /// VM slot.
    pub vm: VmId,
    /// Host.
    pub host: HostId,
    /// Whether it counts in namespace, IP, storage and HA admission totals.
    pub counted: bool,
}

/// What is alive at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Alive<'a> {
    /// Live copies.
    pub copies: &'a [Copy],
    /// Hosts in maintenance.
    pub maintenance: &'a [bool],
    /// Admission of each unit (load-balancer addresses of clusters).
    pub admitted: &'a [bool],
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

/// What the verifier found about a placement.
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
    constraint: Constraint,
    message: String,
    hint: &str,
) -> Diagnostic {
    Diagnostic::new(layer, subject, constraint, message, hint)
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
    if let (Some([management, workload, load_balancer]), Some(supervisor)) =
        (inventory.supervisor_networks, inventory.supervisor.as_ref())
    {
        // Replicas + the floating IP + the address reserved for upgrades; during a Supervisor
        // roll the new copy takes that reserve: alive copies + 1.
        accounting.network_ips[management] +=
            (u64::from(supervisor.replicas) + 2).max(supervisor_copies + 1);
        accounting.network_ips[workload] += supervisor_copies;
        accounting.network_ips[load_balancer] += 1;
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

/// Whether two different slots among `copies` share a place (`key` of a host: the host, or its
/// zone), which breaks "pairwise distinct hosts" (two copies of one slot may share).
fn shared_hosts(copies: &[Copy], key: impl Fn(usize) -> Option<usize>) -> bool {
    let mut slots_on: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for copy in copies {
        if let Some(place) = key(copy.host.index()) {
            slots_on.entry(place).or_default().insert(copy.vm.index());
        }
    }
    slots_on.values().any(|slots| slots.len() > 1)
}

/// Host capacity, maintenance and devices.
fn host_violations(
    inventory: &Inventory,
    alive: Alive,
    accounting: &Accounting,
    violations: &mut Vec<Diagnostic>,
) {
    let policy = &inventory.policy;
    // Host capacity, maintenance, devices.
    for (host_index, (host, load)) in inventory.hosts.iter().zip(&accounting.hosts).enumerate() {
        let name = &host.name;
        if alive.maintenance[host_index] && load.vms > 0 {
            violations.push(violation(
                Layer::Infrastructure,
                name,
                Constraint::Maintenance,
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
                Constraint::HostVcpus,
                format!(
                    "host `{name}` would run {} vCPUs; {} cores x {} overcommit allow {}",
                    load.vcpus, host.cpu_cores, policy.cpu_overcommit, host.vcpu_limit
                ),
                "move VMs, add hosts or raise cpu_overcommit",
            ));
        }
        if load.memory as f64 > host.memory.0 as f64 * policy.memory_overcommit * (1.0 + 1e-12) {
            violations.push(violation(
                Layer::Infrastructure,
                name,
                Constraint::HostMemory,
                format!(
                    "host `{name}` would run {} of memory; it has {} x {} overcommit",
                    Bytes(load.memory as u64),
                    host.memory,
                    policy.memory_overcommit
                ),
                "move VMs, add hosts or add memory",
            ));
        }
        if load.reserved_vcpus > u64::from(host.cpu_cores) {
            violations.push(violation(
                Layer::Infrastructure,
                name,
                Constraint::HostReservedVcpus,
                format!(
                    "host `{name}` would reserve {} vCPUs on {} cores",
                    load.reserved_vcpus, host.cpu_cores
                ),
                "reserved vCPUs cannot be overcommitted: add hosts",
            ));
        }
        if load.reserved_memory > u128::from(host.memory.0) {
            violations.push(violation(
                Layer::Infrastructure,
                name,
                Constraint::HostReservedMemory,
                format!(
                    "host `{name}` would reserve {} of {} memory",
                    Bytes(load.reserved_memory as u64),
                    host.memory
                ),
                "reserved memory cannot be overcommitted: add hosts",
            ));
        }
        for (device, used) in &load.devices {
            let has = u64::from(host.device_count(device));
            if *used > has {
                violations.push(violation(
                    Layer::Infrastructure,
                    name,
                    Constraint::Devices,
                    format!("host `{name}` would give out {used} `{device}` but has {has}"),
                    "place device VMs on hosts with free devices",
                ));
            }
        }
    }
}

/// A namespace's CPU limit.
fn cpu_limit(namespace: &str) -> Quantity {
    Quantity::CpuLimit {
        namespace: namespace.to_string(),
    }
}

/// A namespace's memory limit.
fn memory_limit(namespace: &str) -> Quantity {
    Quantity::MemoryLimit {
        namespace: namespace.to_string(),
    }
}

/// Namespace limits (per zone too in a 3-zone Supervisor) and storage limits.
fn namespace_violations(
    inventory: &Inventory,
    accounting: &Accounting,
    violations: &mut Vec<Diagnostic>,
) {
    let policy = &inventory.policy;
    // Namespace limits (and per zone in a 3-zone Supervisor), storage limits.
    for (namespace, load) in inventory.namespaces.iter().zip(&accounting.namespaces) {
        let name = &namespace.name;
        let cpu_mhz = u128::from(load.vcpus) * u128::from(policy.vcpu_mhz);
        let zones = inventory
            .three_zone
            .then_some(&load.zones)
            .into_iter()
            .flatten();
        if let Some(limit) = namespace.cpu_mhz_limit {
            if cpu_mhz > u128::from(limit) {
                violations.push(
                    violation(
                        Layer::Namespace,
                        name,
                        Constraint::CpuLimit,
                        format!(
                        "namespace `{name}` would use {cpu_mhz} MHz; its CPU limit is {limit} MHz"
                    ),
                        "raise the limit or shrink the namespace",
                    )
                    .with_fix(Change::new(cpu_limit(name), cpu_mhz).to_string()),
                );
            }
            for (zone, (vcpus, _)) in zones.clone() {
                if 3 * u128::from(*vcpus) * u128::from(policy.vcpu_mhz) > u128::from(limit) {
                    violations.push(violation(Layer::Namespace, name, Constraint::CpuLimit, format!("namespace `{name}` would use more than a third of its CPU limit in zone `{}`", inventory.zones[*zone]), "spread the namespace over the zones or raise the limit").with_fix(Change::new(cpu_limit(name), 3 * u128::from(*vcpus) * u128::from(policy.vcpu_mhz)).to_string()));
                }
            }
        }
        if let Some(limit) = namespace.memory_limit {
            if load.memory > u128::from(limit.0) {
                violations.push(
                    violation(
                        Layer::Namespace,
                        name,
                        Constraint::MemoryLimit,
                        format!(
                            "namespace `{name}` would use {} of memory; its limit is {limit}",
                            Bytes(load.memory as u64)
                        ),
                        "raise the limit or shrink the namespace",
                    )
                    .with_fix(Change::new(memory_limit(name), load.memory).to_string()),
                );
            }
            for (zone, (_, memory)) in zones {
                if 3 * memory > u128::from(limit.0) {
                    violations.push(violation(Layer::Namespace, name, Constraint::MemoryLimit, format!("namespace `{name}` would use more than a third of its memory limit in zone `{}`", inventory.zones[*zone]), "spread the namespace over the zones or raise the limit").with_fix(Change::new(memory_limit(name), 3 * memory).to_string()));
                }
            }
        }
        for (policy_index, used) in &load.storage {
            if let Some(limit) = namespace.storage_limits[*policy_index] {
                if *used > u128::from(limit.0) {
                    violations.push(
                        violation(
                            Layer::Namespace,
                            name,
                            Constraint::StorageLimit,
                            format!(
                                "namespace `{name}` would use {} of `{}`; its limit is {limit}",
                                Bytes(*used as u64),
                                inventory.storage_policies[*policy_index].name
                            ),
                            "raise the storage limit",
                        )
                        .with_fix(
                            Change::new(
                                Quantity::StorageLimit {
                                    namespace: name.clone(),
                                    policy: inventory.storage_policies[*policy_index].name.clone(),
                                },
                                *used,
                            )
                            .to_string(),
                        ),
                    );
                }
            }
        }
    }
}

/// Storage capacity and IP address pools.
fn pool_violations(
    inventory: &Inventory,
    accounting: &Accounting,
    violations: &mut Vec<Diagnostic>,
) {
    // Storage capacity.
    for (policy_spec, used) in inventory.storage_policies.iter().zip(&accounting.storage) {
        if let Some(capacity) = policy_spec.capacity {
            if *used > u128::from(capacity.0) {
                violations.push(
                    violation(
                        Layer::Infrastructure,
                        &policy_spec.name,
                        Constraint::StorageCapacity,
                        format!(
                            "storage policy `{}` would hold {} of {capacity}",
                            policy_spec.name,
                            Bytes(*used as u64)
                        ),
                        "add capacity",
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

    // IP addresses: the management network and the Supervisor's own workload addresses are the
    // Supervisor's; namespace networks the namespaces'.
    for (network_index, (network, used)) in inventory
        .networks
        .iter()
        .zip(&accounting.network_ips)
        .enumerate()
    {
        if *used > u64::from(network.ips) {
            let layer = inventory.network_layer(network_index);
            violations.push(
                violation(
                    layer,
                    &network.name,
                    Constraint::IpAddresses,
                    format!(
                        "network `{}` would need {used} addresses but has {}",
                        network.name, network.ips
                    ),
                    "add addresses to the pool",
                )
                .with_fix(
                    Change::new(
                        Quantity::Addresses {
                            network: network.name.clone(),
                        },
                        *used,
                    )
                    .to_string(),
                ),
            );
        }
    }
}

/// Checks every rule of docs/accounting.md over what is alive. Returns the hard violations, the
/// soft rules broken, and the sums.
pub fn check_state(
    inventory: &Inventory,
    alive: Alive,
) -> (Vec<Diagnostic>, Vec<String>, Accounting) {
    let accounting = account(inventory, alive);
    let mut violations = Vec::new();
    let policy = &inventory.policy;

    host_violations(inventory, alive, &accounting, &mut violations);

    // HA admission (percentage policy) over hosts not in maintenance.
    let k = u128::from(policy.host_failures_to_tolerate);
    if k > 0 {
        let (h, cores, memory) = inventory.in_service(alive.maintenance);
        let (reserved_vcpus, reserved_memory) = accounting.reserved;
        let over = |reserved: u128, total: u128| {
            reserved > 0 && (h <= k || reserved * h > (h - k) * total)
        };
        if over(reserved_vcpus, cores) {
            violations.push(violation(Layer::Infrastructure, "hosts", Constraint::HaAdmission, format!("reserved vCPUs ({reserved_vcpus}) would exceed the (1 - {k}/{h}) of the {cores} cores of the {h} host(s) in service that HA admission allows"), "add hosts or reserve less"));
        }
        if over(reserved_memory, memory) {
            violations.push(violation(Layer::Infrastructure, "hosts", Constraint::HaAdmission, format!("reserved memory ({}) would exceed the (1 - {k}/{h}) of {} that HA admission allows", Bytes(reserved_memory as u64), Bytes(memory as u64)), "add hosts or reserve less"));
        }
    }

    // Live copies by group (a counting sort: each VM slot is in one group), so that each
    // group reads only its own copies.
    let mut start = vec![0usize; inventory.groups.len() + 1];
    for copy in alive.copies {
        start[inventory.vms[copy.vm].group.index() + 1] += 1;
    }
    for g in 0..inventory.groups.len() {
        start[g + 1] += start[g];
    }
    let mut next = start.clone();
    let mut by_group = alive.copies.to_vec();
    for copy in alive.copies {
        let g = inventory.vms[copy.vm].group;
        by_group[next[g.index()]] = *copy;
        next[g.index()] += 1;
    }

    // Control-plane anti-affinity and node-pool zones.
    for (g, group) in inventory.groups.iter().enumerate() {
        let copies = &by_group[start[g]..start[g + 1]];
        if group.anti_affine() {
            let (layer, what) = if group.kind == GroupKind::SupervisorControlPlane {
                (Layer::Supervisor, "the Supervisor control plane")
            } else {
                (Layer::Cluster, "a cluster control plane")
            };
            let in_service = (0..inventory.hosts.len())
                .filter(|h| !alive.maintenance[*h])
                .count();
            if shared_hosts(copies, Some) {
                violations.push(violation(layer, &group.name, Constraint::AntiAffinity, format!("control-plane VMs of `{}` ({what}) would share a host ({} replicas, {in_service} host(s) in service)", group.name, group.vms.len()), "each control-plane VM needs its own host: add a host or patch fewer hosts at once"));
            }
            if inventory.three_zone
                && shared_hosts(copies, |h| inventory.hosts[HostId::new(h)].zone)
            {
                violations.push(violation(
                    layer,
                    &group.name,
                    Constraint::AntiAffinity,
                    format!("control-plane VMs of `{}` would share a zone", group.name),
                    "each control-plane VM needs its own zone",
                ));
            }
        }
        if let GroupKind::NodePool {
            zone: Some(zone), ..
        } = group.kind
        {
            if copies
                .iter()
                .any(|c| inventory.hosts[c.host].zone != Some(zone))
            {
                violations.push(violation(
                    Layer::Cluster,
                    &group.name,
                    Constraint::ZonePinning,
                    format!(
                        "node pool `{}` is pinned to zone `{}` but runs outside it",
                        group.name, inventory.zones[zone]
                    ),
                    "keep the pool's VMs on hosts of its zone",
                ));
            }
        }
    }

    namespace_violations(inventory, &accounting, &mut violations);

    pool_violations(inventory, &accounting, &mut violations);

    // DRS rules.
    let mut soft_rules_broken = Vec::new();
    for rule in &inventory.rules {
        let copies: Vec<Copy> = rule
            .vms
            .iter()
            .flat_map(|vm| {
                let g = inventory.vms[*vm].group;
                by_group[start[g.index()]..start[g.index() + 1]]
                    .iter()
                    .filter(move |c| c.vm == *vm)
                    .copied()
            })
            .collect();
        let hosts: BTreeSet<HostId> = copies.iter().map(|c| c.host).collect();
        let broken = match rule.kind {
            RuleKind::Separate => shared_hosts(&copies, Some),
            RuleKind::Together => hosts.len() > 1,
            RuleKind::VmHost => hosts.iter().any(|h| rule.hosts.contains(h) != rule.run_on),
        };
        if broken && rule.must {
            violations.push(violation(
                Layer::Rule,
                &rule.name,
                Constraint::Rules,
                format!(
                    "rule `{}` ({}) would be broken",
                    rule.name,
                    rule.kind.as_str()
                ),
                "place the selected VMs as the rule asks, or make the rule soft",
            ));
        } else if broken {
            soft_rules_broken.push(rule.name.clone());
        }
    }
    (violations, soft_rules_broken, accounting)
}

/// Checks a placement against docs/accounting.md and computes the objective values of its §12.
pub fn verify(inventory: &Inventory, assignment: &Assignment) -> Report {
    let copies = assignment.copies();
    let maintenance = inventory.maintenance();
    let alive = Alive {
        copies: &copies,
        maintenance: &maintenance,
        admitted: assignment.admitted.raw(),
    };
    let (mut violations, soft_rules_broken, accounting) = check_state(inventory, alive);

    // Admission: mandatory units admitted; admitted units placed whole; rejected ones absent;
    // the Supervisor always placed.
    for (unit_index, unit) in inventory.admission_units.iter().enumerate() {
        let admitted = assignment.admitted[UnitId::new(unit_index)];
        if !admitted && unit.priority.is_none() {
            violations.push(violation(
                Layer::Cluster,
                &unit.name,
                Constraint::Admission,
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
                    let state = if admitted {
                        ("not placed", "admitted")
                    } else {
                        ("placed", "rejected")
                    };
                    violations.push(violation(
                        Layer::Cluster,
                        &inventory.vms[*vm].name,
                        Constraint::Admission,
                        format!(
                            "VM `{}` is {} although `{}` is {}",
                            inventory.vms[*vm].name, state.0, unit.name, state.1
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
                    Constraint::Admission,
                    format!("Supervisor VM `{}` is not placed", inventory.vms[*vm].name),
                    "the Supervisor is always admitted",
                ));
            }
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
        if load.vms > 0 {
            hosts_used += 1;
            cost += host.cost;
            let cpu = load.vcpus as f64 / host.vcpu_limit.max(1) as f64;
            let memory = load.memory as f64 / host.memory_limit.0.max(1) as f64;
            max_utilization = max_utilization.max(cpu).max(memory);
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
                *per_host.entry(host.index()).or_insert(0) += 1;
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
