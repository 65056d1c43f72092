//! The compact summary `vksplan check` prints: counts, demand and capacity totals, the
//! upgrade request and every group.

use super::{GroupKind, Inventory};
use crate::document::Bytes;
use serde::Serialize;

impl Inventory {
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
