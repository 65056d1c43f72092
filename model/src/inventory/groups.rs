//! What the workloads expand to: groups of identical VM slots (the replicas of a control plane
//! or node pool, or one VM Service VM), the slots themselves, and the admission units that are
//! admitted or rejected as a whole.

use crate::document::Bytes;
use crate::id::{GroupId, VmId};

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
    /// Its slots, in replica order.
    pub vms: Vec<VmId>,
}

impl Group {
    /// Whether the group's VMs must sit on pairwise distinct hosts (HA control planes).
    pub fn anti_affine(&self) -> bool {
        matches!(
            self.kind,
            GroupKind::SupervisorControlPlane | GroupKind::ControlPlane { .. }
        ) && self.vms.len() > 1
    }

    /// The zone a node pool is pinned to.
    pub fn pinned_zone(&self) -> Option<usize> {
        match self.kind {
            GroupKind::NodePool { zone, .. } => zone,
            _ => None,
        }
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
    /// Its group.
    pub group: GroupId,
}

/// What can be admitted or rejected as a whole: a cluster or a VM Service VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionUnit {
    /// `NS/CLUSTER` or `NS/vm/NAME`.
    pub name: String,
    /// `None` = must be admitted.
    pub priority: Option<u32>,
    /// Its groups.
    pub groups: Vec<GroupId>,
}
