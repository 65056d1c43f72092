//! The validated, expanded topology the solver works on: every reference resolved to an
//! index (a typed [`crate::id`] for hosts, VM slots, groups and admission units), the 16 default VM classes merged in, defaults applied, and every VM slot named.
//!
//! - `specs`: the resolved pieces (policy, hosts, classes, the Supervisor, namespaces,
//!   clusters, rules, upgrade request);
//! - `groups`: groups of identical VM slots, the slots, and admission units;
//! - `queries`: lookups and the derived figures the solver asks for;
//! - `summary`: what `vksplan check` prints.
//!
//! The modules are private; what the crate offers is re-exported here.

mod groups;
mod queries;
mod specs;
mod summary;

pub use groups::{AdmissionUnit, Group, GroupKind, VmSlot};
pub use specs::{
    default_classes, ClassSpec, ClusterSpec, EffectivePolicy, HostSpec, NamespaceSpec, RuleSpec,
    SupervisorNetworks, SupervisorSpec, UpgradeSpec, DEFAULT_CLASS_SIZES,
};
pub use summary::{Capacity, Demand, GroupSummary, Summary, UpgradeSummary, VmCounts};

use crate::document::{Network, StoragePolicy};
use crate::id::{GroupId, HostId, IdVec, UnitId, VmId};

/// The largest number of VMs a topology may expand to; beyond it the input is refused.
pub const MAX_VMS: u64 = 100_000;

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
    pub hosts: IdVec<HostId, HostSpec>,
    /// All VM classes: the 16 defaults (possibly redefined), then added ones.
    pub classes: Vec<ClassSpec>,
    /// Storage policies.
    pub storage_policies: Vec<StoragePolicy>,
    /// Networks.
    pub networks: Vec<Network>,
    /// The Supervisor, if the platform has one.
    pub supervisor: Option<SupervisorSpec>,
    /// Namespaces.
    pub namespaces: Vec<NamespaceSpec>,
    /// Clusters, over all namespaces.
    pub clusters: Vec<ClusterSpec>,
    /// Groups of identical VM slots.
    pub groups: IdVec<GroupId, Group>,
    /// Every VM slot.
    pub vms: IdVec<VmId, VmSlot>,
    /// Clusters and VM Service VMs (the Supervisor is always admitted and is not one).
    pub admission_units: IdVec<UnitId, AdmissionUnit>,
    /// Rules.
    pub rules: Vec<RuleSpec>,
    /// Current placement: (VM, host).
    pub placement: Vec<(VmId, HostId)>,
    /// Upgrade request.
    pub upgrade: Option<UpgradeSpec>,
    /// Per group, its admission unit (`None`: the Supervisor's); see [`Inventory::unit_of_group`].
    pub group_units: IdVec<GroupId, Option<UnitId>>,
    /// Per cluster, its admission unit; see [`Inventory::unit_of_cluster`].
    pub cluster_units: Vec<Option<UnitId>>,
}
