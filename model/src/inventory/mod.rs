//! The validated, expanded topology the solver works on: every reference resolved to an
//! index, the 16 default VM classes merged in, defaults applied, and every VM slot named.

use crate::document::Bytes;
use crate::document::{Network, ObjectiveKind, RuleKind, StoragePolicy};
use crate::document::Version;
use serde::Serialize;

/// The largest number of VMs a topology may expand to; beyond it the input is refused.
pub const MAX_VMS: u64 = 100_000;

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
    /// Index into [`Inventory::zones`].
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

/// The Supervisor, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorSpec {
    /// Control-plane VMs: 1, or 3 (the only counts a valid document has).
    pub replicas: u32,
    /// Index into [`Inventory::groups`] of the group of its control-plane VMs.
    pub group: usize,
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

/// What a group of VM slots is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKind {
    /// The Supervisor control plane.
    SupervisorControlPlane,
    /// A cluster's control plane.
    ControlPlane {
        /// Cluster index.
        cluster: usize,
    },
    /// A node pool.
    NodePool {
        /// Cluster index.
        cluster: usize,
        /// Pool name.
        pool: String,
        /// Zone index the pool is pinned to.
        zone: Option<usize>,
    },
    /// A VM Service VM.
    ServiceVm {
        /// Priority of the VM.
        priority: Option<u32>,
    },
}

/// Identical, interchangeable VM slots: the replicas of a pool or control plane, or one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `supervisor/cp`, `NS/CLUSTER/cp`, `NS/CLUSTER/POOL` or `NS/vm/NAME`.
    pub name: String,
    /// What it is.
    pub kind: GroupKind,
    /// Namespace index (none for the Supervisor).
    pub namespace: Option<usize>,
    /// Class name (`supervisor-SIZE` for the Supervisor).
    pub class: String,
    /// vCPUs per VM.
    pub vcpus: u32,
    /// Memory per VM.
    pub memory: Bytes,
    /// Reserved per VM.
    pub reserved: bool,
    /// Devices per VM (sorted).
    pub devices: Vec<(String, u32)>,
    /// Disk per VM.
    pub disk: Bytes,
    /// Storage policy index (none for the Supervisor).
    pub storage_policy: Option<usize>,
    /// Indices into [`Inventory::vms`] of its slots, in replica order.
    pub vms: Vec<usize>,
}

impl Group {
    /// Whether the group's VMs must sit on pairwise distinct hosts (HA control planes).
    pub fn anti_affine(&self) -> bool {
        matches!(
            self.kind,
            GroupKind::SupervisorControlPlane | GroupKind::ControlPlane { .. }
        ) && self.vms.len() > 1
    }

    /// The cluster this group belongs to.
    pub fn cluster(&self) -> Option<usize> {
        match self.kind {
            GroupKind::ControlPlane { cluster } | GroupKind::NodePool { cluster, .. } => {
                Some(cluster)
            }
            _ => None,
        }
    }
}

/// One VM slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSlot {
    /// The derived name.
    pub name: String,
    /// Group index.
    pub group: usize,
}

/// A rule with its selections resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: RuleKind,
    /// Selected VM indices (sorted).
    pub vms: Vec<usize>,
    /// Selected host indices (sorted; `vm_host` only).
    pub hosts: Vec<usize>,
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
    /// Host indices to patch.
    pub hosts: Vec<usize>,
    /// Roll the Supervisor.
    pub supervisor: bool,
    /// Maintenance concurrency.
    pub max_hosts_in_maintenance: u32,
}

/// What can be admitted or rejected as a whole: a cluster or a VM Service VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionUnit {
    /// `NS/CLUSTER` or `NS/vm/NAME`.
    pub name: String,
    /// `None` = must be admitted.
    pub priority: Option<u32>,
    /// Its groups.
    pub groups: Vec<usize>,
}

/// The validated, expanded topology.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// Policy with defaults.
    pub policy: EffectivePolicy,
    /// Zones: the Supervisor's in its order, then other host zones in order of appearance.
    pub zones: Vec<String>,
    /// A 3-zone Supervisor.
    pub three_zone: bool,
    /// Hosts.
    pub hosts: Vec<HostSpec>,
    /// All VM classes: the 16 defaults (possibly redefined), then added ones.
    pub classes: Vec<ClassSpec>,
    /// Storage policies.
    pub storage_policies: Vec<StoragePolicy>,
    /// Networks.
    pub networks: Vec<Network>,
    /// The Supervisor, if the platform has one.
    pub supervisor: Option<SupervisorSpec>,
    /// The Supervisor's management, workload and load-balancer network indices.
    pub supervisor_networks: Option<[usize; 3]>,
    /// Namespaces.
    pub namespaces: Vec<NamespaceSpec>,
    /// Clusters, over all namespaces.
    pub clusters: Vec<ClusterSpec>,
    /// Groups of identical VM slots.
    pub groups: Vec<Group>,
    /// Every VM slot.
    pub vms: Vec<VmSlot>,
    /// Clusters and VM Service VMs (the Supervisor is always admitted and is not one).
    pub admission_units: Vec<AdmissionUnit>,
    /// Rules.
    pub rules: Vec<RuleSpec>,
    /// Current placement: (vm index, host index).
    pub placement: Vec<(usize, usize)>,
    /// Upgrade request.
    pub upgrade: Option<UpgradeSpec>,
    /// Per group, its admission unit (`None`: the Supervisor's); see [`Inventory::unit_of_group`].
    pub group_units: Vec<Option<usize>>,
    /// Per cluster, its admission unit; see [`Inventory::unit_of_cluster`].
    pub cluster_units: Vec<Option<usize>>,
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

impl Inventory {
    /// Looks a VM up by its derived name.
    pub fn vm_index(&self, name: &str) -> Option<usize> {
        self.vms.iter().position(|vm| vm.name == name)
    }

    /// Looks a host up by name.
    pub fn host_index(&self, name: &str) -> Option<usize> {
        self.hosts.iter().position(|host| host.name == name)
    }

    /// The group of a VM.
    pub fn group_of(&self, vm: usize) -> &Group {
        &self.groups[self.vms[vm].group]
    }

    /// The admission unit a group belongs to (`None` for the Supervisor).
    pub fn unit_of_group(&self, group: usize) -> Option<usize> {
        self.group_units.get(group).copied().flatten()
    }

    /// Hosts, physical cores and physical memory (bytes) of the hosts in service, given which
    /// hosts are in maintenance: what HA admission is computed over.
    pub fn in_service(&self, in_maintenance: &[bool]) -> (u128, u128, u128) {
        self.hosts
            .iter()
            .zip(in_maintenance)
            .filter(|(_, maintenance)| !**maintenance)
            .fold((0, 0, 0), |(hosts, cores, memory), (host, _)| {
                (
                    hosts + 1,
                    cores + u128::from(host.cpu_cores),
                    memory + u128::from(host.memory.0),
                )
            })
    }

    /// What HA admission lets VMs reserve, given which hosts are in maintenance: the physical
    /// cores and memory (bytes) of the hosts in service times (h - k) / h, rounded down, for
    /// `host_failures_to_tolerate` = k; nothing when no host is left after k failures.
    pub fn ha_usable(&self, in_maintenance: &[bool]) -> (u128, u128) {
        let (h, cores, memory) = self.in_service(in_maintenance);
        let k = u128::from(self.policy.host_failures_to_tolerate);
        let usable = |total: u128| if h > k { (h - k) * total / h } else { 0 };
        (usable(cores), usable(memory))
    }

    /// Which hosts the input puts in maintenance.
    pub fn maintenance(&self) -> Vec<bool> {
        self.hosts.iter().map(|host| host.maintenance).collect()
    }

    /// The admission unit of a cluster.
    pub fn unit_of_cluster(&self, cluster: usize) -> Option<usize> {
        self.cluster_units.get(cluster).copied().flatten()
    }

    /// Who consumes a network's addresses (docs/output-and-upgrades.md), the layer that owns a shortage on
    /// it: the Supervisor for the management network and for a Supervisor network no namespace
    /// uses; the namespaces otherwise.
    pub fn network_layer(&self, network: usize) -> crate::Layer {
        let management = self.supervisor_networks.is_some_and(|n| n[0] == network);
        let supervisor_only =
            self.supervisor_networks
                .is_some_and(|n| n.contains(&network))
                && !self.namespaces.iter().any(|ns| {
                    ns.workload_network == network || ns.load_balancer_network == network
                });
        if management || supervisor_only {
            crate::Layer::Supervisor
        } else {
            crate::Layer::Namespace
        }
    }

    /// Management-network addresses the Supervisor needs: replicas + 2.
    pub fn management_ips_needed(&self) -> u32 {
        self.supervisor
            .as_ref()
            .map_or(0, |supervisor| supervisor.replicas + 2)
    }

    /// A compact summary for `vksplan check`.
    pub fn summary(&self) -> Summary {
        let count = |pred: &dyn Fn(&GroupKind) -> bool| -> usize {
            self.groups
                .iter()
                .filter(|g| pred(&g.kind))
                .map(|g| g.vms.len())
                .sum()
        };
        let mut demand = Demand::default();
        for group in &self.groups {
            let n = group.vms.len() as u64;
            demand.vcpus += n * u64::from(group.vcpus);
            demand.memory = Bytes(demand.memory.0 + n * group.memory.0);
            if group.reserved {
                demand.reserved_vcpus += n * u64::from(group.vcpus);
                demand.reserved_memory = Bytes(demand.reserved_memory.0 + n * group.memory.0);
            }
            demand.disk = Bytes(demand.disk.0 + n * group.disk.0);
        }
        let active = self.hosts.iter().filter(|h| !h.maintenance);
        Summary {
            hosts: self.hosts.len(),
            hosts_in_maintenance: self.hosts.iter().filter(|h| h.maintenance).count(),
            zones: self.zones.clone(),
            three_zone_supervisor: self.three_zone,
            host_failures_to_tolerate: self.policy.host_failures_to_tolerate,
            vcpu_mhz: self.policy.vcpu_mhz,
            namespaces: self.namespaces.len(),
            clusters: self.clusters.len(),
            vms: VmCounts {
                total: self.vms.len(),
                supervisor: count(&|k| matches!(k, GroupKind::SupervisorControlPlane)),
                control_plane: count(&|k| matches!(k, GroupKind::ControlPlane { .. })),
                workers: count(&|k| matches!(k, GroupKind::NodePool { .. })),
                service_vms: count(&|k| matches!(k, GroupKind::ServiceVm { .. })),
            },
            demand,
            capacity: Capacity {
                cores: active.clone().map(|h| u64::from(h.cpu_cores)).sum(),
                vcpu_limit: active.clone().map(|h| h.vcpu_limit).sum(),
                memory: Bytes(active.clone().map(|h| h.memory.0).sum()),
                memory_limit: Bytes(active.map(|h| h.memory_limit.0).sum()),
            },
            rules: self.rules.len(),
            placed_today: self.placement.len(),
            upgrade: self.upgrade.as_ref().map(|upgrade| UpgradeSummary {
                clusters: upgrade
                    .clusters
                    .iter()
                    .map(|(c, v)| format!("{} -> {v}", self.clusters[*c].name))
                    .collect(),
                hosts: upgrade
                    .hosts
                    .iter()
                    .map(|h| self.hosts[*h].name.clone())
                    .collect(),
                supervisor: upgrade.supervisor,
                max_hosts_in_maintenance: upgrade.max_hosts_in_maintenance,
            }),
            groups: self
                .groups
                .iter()
                .map(|g| GroupSummary {
                    name: g.name.clone(),
                    replicas: g.vms.len(),
                    class: g.class.clone(),
                    vcpus: g.vcpus,
                    memory: g.memory,
                    reserved: g.reserved,
                    disk: g.disk,
                })
                .collect(),
        }
    }
}

/// The derived inventory `vksplan check` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Hosts listed.
    pub hosts: usize,
    /// Of which in maintenance.
    pub hosts_in_maintenance: usize,
    /// Zones.
    pub zones: Vec<String>,
    /// Whether the Supervisor spans 3 zones.
    pub three_zone_supervisor: bool,
    /// Effective HA k.
    pub host_failures_to_tolerate: u32,
    /// Effective MHz per vCPU.
    pub vcpu_mhz: u64,
    /// Namespaces.
    pub namespaces: usize,
    /// Clusters.
    pub clusters: usize,
    /// VM counts.
    pub vms: VmCounts,
    /// Total demand.
    pub demand: Demand,
    /// Total capacity of hosts not in maintenance.
    pub capacity: Capacity,
    /// Rules.
    pub rules: usize,
    /// VMs with a current host.
    pub placed_today: usize,
    /// Upgrade request.
    pub upgrade: Option<UpgradeSummary>,
    /// Every group of identical VMs.
    pub groups: Vec<GroupSummary>,
}

/// VM counts per kind.
#[derive(Debug, Clone, Serialize)]
pub struct VmCounts {
    /// All.
    pub total: usize,
    /// Supervisor control plane.
    pub supervisor: usize,
    /// Cluster control planes.
    pub control_plane: usize,
    /// Node-pool workers.
    pub workers: usize,
    /// VM Service VMs.
    pub service_vms: usize,
}

/// Demand totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Demand {
    /// vCPUs.
    pub vcpus: u64,
    /// Reserved vCPUs.
    pub reserved_vcpus: u64,
    /// Memory.
    #[serde(
        rename = "memory_mib",
        serialize_with = "crate::document::serialize_mib"
    )]
    pub memory: Bytes,
    /// Reserved memory.
    #[serde(
        rename = "reserved_memory_mib",
        serialize_with = "crate::document::serialize_mib"
    )]
    pub reserved_memory: Bytes,
    /// Disk.
    #[serde(rename = "disk_mib", serialize_with = "crate::document::serialize_mib")]
    pub disk: Bytes,
}

/// Capacity totals.
#[derive(Debug, Clone, Serialize)]
pub struct Capacity {
    /// Physical cores.
    pub cores: u64,
    /// vCPUs allowed with overcommit.
    pub vcpu_limit: u64,
    /// Physical memory.
    #[serde(
        rename = "memory_mib",
        serialize_with = "crate::document::serialize_mib"
    )]
    pub memory: Bytes,
    /// Memory allowed with overcommit.
    #[serde(
        rename = "memory_limit_mib",
        serialize_with = "crate::document::serialize_mib"
    )]
    pub memory_limit: Bytes,
}

/// Upgrade request summary.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeSummary {
    /// `NS/CLUSTER -> version`.
    pub clusters: Vec<String>,
    /// Hosts to patch.
    pub hosts: Vec<String>,
    /// Supervisor roll.
    pub supervisor: bool,
    /// Concurrency.
    pub max_hosts_in_maintenance: u32,
}

/// One group in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct GroupSummary {
    /// Group name.
    pub name: String,
    /// VM count.
    pub replicas: usize,
    /// Class.
    pub class: String,
    /// vCPUs per VM.
    pub vcpus: u32,
    /// Memory per VM.
    #[serde(
        rename = "memory_mib",
        serialize_with = "crate::document::serialize_mib"
    )]
    pub memory: Bytes,
    /// Reserved.
    pub reserved: bool,
    /// Disk per VM.
    #[serde(rename = "disk_mib", serialize_with = "crate::document::serialize_mib")]
    pub disk: Bytes,
}
