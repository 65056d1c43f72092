//! The resolved pieces of a platform, each with its references turned into indices and its
//! defaults applied: the policy, hosts, VM classes (the 16 defaults merged in), the
//! Supervisor, namespaces, clusters, rules and the upgrade request.

use crate::document::{Bytes, ObjectiveKind, RuleKind, Version};
use crate::id::{GroupId, HostId, VmId};

/// Policy with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectivePolicy {
    /// vCPU : core ratio.
    pub cpu_overcommit: f64,
    /// Memory ratio.
    pub memory_overcommit: f64,
    /// MHz charged per vCPU.
    pub vcpu_mhz: u64,
    /// k of HA admission.
    pub host_failures_to_tolerate: u32,
    /// Step 4 of the objective.
    pub objective: ObjectiveKind,
    /// Seconds.
    pub time_limit_s: f64,
    /// Relative gap.
    pub mip_gap: f64,
}

/// A host with its derived limits.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSpec {
    /// Name.
    pub name: String,
    /// Index into [`Inventory::zones`](super::Inventory::zones).
    pub zone: Option<usize>,
    /// Physical cores: the bound on reserved vCPUs.
    pub cpu_cores: u32,
    /// Core clock.
    pub cpu_core_mhz: u32,
    /// Physical memory: the bound on reserved memory.
    pub memory: Bytes,
    /// `floor(cpu_cores * cpu_overcommit)`: the bound on all vCPUs.
    pub vcpu_limit: u64,
    /// `floor(memory * memory_overcommit)`: the bound on all memory.
    pub memory_limit: Bytes,
    /// Device counts, by device name (sorted).
    pub devices: Vec<(String, u32)>,
    /// Cost for `consolidate`.
    pub cost: f64,
    /// Holds no VM.
    pub maintenance: bool,
}

impl HostSpec {
    /// How many of `device` the host has.
    pub fn device_count(&self, device: &str) -> u32 {
        self.devices
            .iter()
            .find(|(name, _)| name == device)
            .map_or(0, |(_, count)| *count)
    }
}

/// A VM class after merging defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSpec {
    /// Name.
    pub name: String,
    /// vCPUs.
    pub cpus: u32,
    /// Memory.
    pub memory: Bytes,
    /// Reserved.
    pub reserved: bool,
    /// Devices (sorted by name).
    pub devices: Vec<(String, u32)>,
}

/// The 16 default VM classes: (size, vCPUs, GiB).
pub const DEFAULT_CLASS_SIZES: [(&str, u32, u64); 8] = [
    ("xsmall", 2, 2),
    ("small", 2, 4),
    ("medium", 2, 8),
    ("large", 4, 16),
    ("xlarge", 4, 32),
    ("2xlarge", 8, 64),
    ("4xlarge", 16, 128),
    ("8xlarge", 32, 128),
];

/// The 16 default classes, best-effort then guaranteed.
pub fn default_classes() -> Vec<ClassSpec> {
    [("best-effort", false), ("guaranteed", true)]
        .into_iter()
        .flat_map(|(prefix, reserved)| {
            DEFAULT_CLASS_SIZES
                .iter()
                .map(move |(size, cpus, gib)| ClassSpec {
                    name: format!("{prefix}-{size}"),
                    cpus: *cpus,
                    memory: Bytes::gib(*gib),
                    reserved,
                    devices: Vec::new(),
                })
        })
        .collect()
}

/// The Supervisor, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorSpec {
    /// Control-plane VMs: 1, or 3 (the only counts a valid document has).
    pub replicas: u32,
    /// The group of its control-plane VMs.
    pub group: GroupId,
    /// Its networks.
    pub networks: SupervisorNetworks,
}

/// The Supervisor's networks, as indices into `Inventory::networks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupervisorNetworks {
    /// Management network (control-plane VMs, floating IP, upgrade reserve).
    pub management: usize,
    /// Workload network (one address per control-plane VM).
    pub workload: usize,
    /// Load-balancer network (the Supervisor's API address).
    pub load_balancer: usize,
}

impl SupervisorNetworks {
    /// Whether `network` is one of them.
    pub fn contains(&self, network: usize) -> bool {
        [self.management, self.workload, self.load_balancer].contains(&network)
    }
}

/// A namespace with resolved references.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceSpec {
    /// Name.
    pub name: String,
    /// CPU limit in MHz.
    pub cpu_mhz_limit: Option<u64>,
    /// Memory limit.
    pub memory_limit: Option<Bytes>,
    /// Storage limit per storage policy index (`None` = unlimited).
    pub storage_limits: Vec<Option<Bytes>>,
    /// Workload network index.
    pub workload_network: usize,
    /// Load-balancer network index.
    pub load_balancer_network: usize,
}

/// A workload cluster with resolved references.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    /// `NS/CLUSTER`.
    pub name: String,
    /// Namespace index.
    pub namespace: usize,
    /// Kubernetes version today.
    pub kubernetes_version: Version,
    /// Admission priority.
    pub priority: Option<u32>,
    /// VIPs: API endpoint + `load_balancer_services`.
    pub load_balancer_ips: u32,
    /// Rollout surge.
    pub max_surge: u32,
    /// Rollout unavailable.
    pub max_unavailable: u32,
}

/// A rule with its selections resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: RuleKind,
    /// Selected VMs (sorted).
    pub vms: Vec<VmId>,
    /// Selected hosts (sorted; `vm_host` only).
    pub hosts: Vec<HostId>,
    /// Hard.
    pub must: bool,
    /// `vm_host` direction.
    pub run_on: bool,
}

/// The resolved upgrade block.
#[derive(Debug, Clone, PartialEq)]
pub struct UpgradeSpec {
    /// (cluster index, target version).
    pub clusters: Vec<(usize, Version)>,
    /// Hosts to patch.
    pub hosts: Vec<HostId>,
    /// Roll the Supervisor.
    pub supervisor: bool,
    /// Maintenance concurrency.
    pub max_hosts_in_maintenance: u32,
}
