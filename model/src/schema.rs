//! The JSON Schemas (draft 2020-12) of the input and plan documents, generated with schemars.
//!
//! The plan's schema comes from the types the plan is serialised from ([`crate::plan::Plan`]).
//! The input's comes from the types below, which mirror the document's JSON shape field for
//! field (the decoder in [`crate::document`] reads JSON by hand to collect every error at once,
//! so its types are shaped for the solver, not for the document). A test checks that every
//! fixture validates, and that an unknown field anywhere in them is refused by both the schema
//! and the decoder. The schema checks shape, types and ranges; references between names, rule
//! selections and version steps are checked by validation only (`vksplan check`).

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The schema of the input (topology) document.
pub fn input() -> serde_json::Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(TopologyDocument)).unwrap_or_default();
    schema["$id"] = "https://vksplan.invalid/schema/input.json".into();
    schema
}

/// The schema of the plan document (what vksplan writes: fields it leaves out when empty are
/// optional).
pub fn plan() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut schema = serde_json::to_value(generator.into_root_schema_for::<crate::plan::Plan>())
        .unwrap_or_default();
    schema["$id"] = "https://vksplan.invalid/schema/plan.json".into();
    schema
}

/// A name: lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit.
struct Name;

impl JsonSchema for Name {
    fn schema_name() -> Cow<'static, str> {
        "Name".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
            "maxLength": 253,
            "description": "A name: lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit."
        })
    }
}

/// Memory or storage: a whole number of MiB, or a Kubernetes quantity string.
struct Quantity;

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A whole number of MiB, or a Kubernetes quantity string (`16Gi`, `512Mi`, `2Ti`, `20G`, `1.5Gi`; no exponents).",
            "oneOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^([0-9]+|[0-9]*\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$" }
            ]
        })
    }
}

/// A Kubernetes version: `v1.31.4` (a leading `v` optional; pre-release and build suffixes
/// allowed).
struct KubernetesVersion;

impl JsonSchema for KubernetesVersion {
    fn schema_name() -> Cow<'static, str> {
        "KubernetesVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^v?[0-9]{1,6}\\.[0-9]{1,6}\\.[0-9]{1,6}([-+][\\s\\S]*)?$",
            "description": "A Kubernetes version such as `v1.31.4`."
        })
    }
}

/// A control plane's replicas: 1, or 3 for HA.
struct OneOrThree;

impl JsonSchema for OneOrThree {
    fn schema_name() -> Cow<'static, str> {
        "OneOrThree".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "enum": [1, 3],
            "description": "1, or 3 for a highly available control plane."
        })
    }
}

/// Countable devices by name (`{"nvidia-a100": 2}`).
type Devices = BTreeMap<String, u32>;

/// The topology document.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Topology")]
#[allow(dead_code)]
struct TopologyDocument {
    /// Format version: 1.
    #[schemars(range(min = 1, max = 1))]
    version: u32,
    /// Solver and accounting policy; every field optional.
    policy: Option<PolicyDocument>,
    /// ESXi hosts.
    #[schemars(length(min = 1))]
    hosts: Vec<HostDocument>,
    /// VM classes added to (or redefining) the defaults.
    vm_classes: Option<Vec<VmClassDocument>>,
    /// Storage policies.
    storage_policies: Option<Vec<StoragePolicyDocument>>,
    /// IP address pools.
    networks: Option<Vec<NetworkDocument>>,
    /// The Supervisor; absent for a plain vSphere cluster.
    supervisor: Option<SupervisorDocument>,
    /// vSphere Namespaces.
    namespaces: Option<Vec<NamespaceDocument>>,
    /// DRS-style rules.
    rules: Option<Vec<RuleDocument>>,
    /// Where VMs run today: derived VM name to host name.
    placement: Option<BTreeMap<String, Name>>,
    /// What to roll and patch.
    upgrade: Option<UpgradeDocument>,
}

/// `policy`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Policy")]
#[allow(dead_code)]
struct PolicyDocument {
    /// vCPU : physical core ratio allowed per host (default 4).
    #[schemars(range(min = 0.01, max = 100.0))]
    cpu_overcommit: Option<f64>,
    /// Configured : physical memory ratio per host (default 1).
    #[schemars(range(min = 0.01, max = 100.0))]
    memory_overcommit: Option<f64>,
    /// MHz charged per vCPU against namespace CPU limits (default: the fastest host's clock).
    #[schemars(range(min = 1, max = 100_000))]
    vcpu_mhz: Option<u64>,
    /// HA admission control.
    ha: Option<HaDocument>,
    /// Step 4 of the objective.
    objective: Option<ObjectiveDocument>,
    /// Wall-clock limit of the whole run, in seconds (default 30).
    #[schemars(range(min = 0.001, max = 86_400.0))]
    time_limit_s: Option<f64>,
    /// Relative gap at which the solver may stop (default 0).
    #[schemars(range(min = 0.0, max = 1.0))]
    mip_gap: Option<f64>,
}

/// `policy.ha`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Ha")]
#[allow(dead_code)]
struct HaDocument {
    /// Host failures to tolerate (default 1 with 3 or more hosts, else 0).
    host_failures_to_tolerate: Option<u32>,
}

/// `policy.objective`.
#[derive(JsonSchema)]
#[schemars(rename = "Objective", rename_all = "snake_case")]
#[allow(dead_code)]
enum ObjectiveDocument {
    /// Minimise the highest host utilisation.
    Balance,
    /// Minimise the total cost of the hosts in use.
    Consolidate,
}

/// An ESXi host.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Host")]
#[allow(dead_code)]
struct HostDocument {
    /// Host name.
    name: Name,
    /// vSphere zone.
    zone: Option<Name>,
    /// Physical cores.
    #[schemars(range(min = 1, max = 4096))]
    cpu_cores: u32,
    /// Core clock, MHz.
    #[schemars(range(min = 1, max = 100_000))]
    cpu_core_mhz: u32,
    /// Physical memory (positive).
    memory: Quantity,
    /// Countable devices (vGPU profiles, NICs).
    devices: Option<Devices>,
    /// Cost of using the host (`consolidate`; default 1).
    #[schemars(range(min = 0.0, max = 1e9))]
    cost: Option<f64>,
    /// In maintenance: holds no VM.
    maintenance: Option<bool>,
}

/// A VM class.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "VmClass")]
#[allow(dead_code)]
struct VmClassDocument {
    /// Class name.
    name: Name,
    /// vCPUs.
    #[schemars(range(min = 1, max = 1024))]
    cpus: u32,
    /// Memory (positive).
    memory: Quantity,
    /// Reserved CPU and memory (guaranteed classes).
    reserved: Option<bool>,
    /// Devices each VM of the class takes.
    devices: Option<Devices>,
}

/// A storage policy.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "StoragePolicy")]
#[allow(dead_code)]
struct StoragePolicyDocument {
    /// Policy name.
    name: Name,
    /// Capacity of the datastores behind it (`null` or absent: unlimited).
    capacity: Option<Quantity>,
}

/// An IP address pool.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Network")]
#[allow(dead_code)]
struct NetworkDocument {
    /// Network name.
    name: Name,
    /// What the pool serves.
    kind: NetworkKindDocument,
    /// Usable addresses.
    #[schemars(range(min = 1, max = 16_777_216))]
    ips: u32,
}

/// `networks[].kind`.
#[derive(JsonSchema)]
#[schemars(rename = "NetworkKind", rename_all = "snake_case")]
#[allow(dead_code)]
enum NetworkKindDocument {
    /// Supervisor management addresses.
    Management,
    /// Node addresses.
    Workload,
    /// Virtual IPs.
    LoadBalancer,
}

/// The Supervisor.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Supervisor")]
#[allow(dead_code)]
struct SupervisorDocument {
    /// Control plane.
    control_plane: SupervisorControlPlane,
    /// Management network.
    management_network: Name,
    /// Workload network.
    workload_network: Name,
    /// Load-balancer network.
    load_balancer_network: Name,
    /// Zones of a 3-zone Supervisor.
    zones: Option<Vec<Name>>,
}

/// `supervisor.control_plane`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "SupervisorControlPlane")]
#[allow(dead_code)]
struct SupervisorControlPlane {
    /// 1 or 3.
    replicas: OneOrThree,
    /// Size of each control-plane VM.
    size: SupervisorSizeDocument,
}

/// `supervisor.control_plane.size`.
#[derive(JsonSchema)]
#[schemars(rename = "SupervisorSize", rename_all = "snake_case")]
#[allow(dead_code)]
enum SupervisorSizeDocument {
    /// 2 vCPUs, 8 GiB.
    Tiny,
    /// 4 vCPUs, 16 GiB.
    Small,
    /// 8 vCPUs, 24 GiB.
    Medium,
    /// 16 vCPUs, 32 GiB.
    Large,
}

/// A vSphere Namespace.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Namespace")]
#[allow(dead_code)]
struct NamespaceDocument {
    /// Namespace name.
    name: Name,
    /// Limits; each optional (absent: unlimited).
    limits: Option<LimitsDocument>,
    /// VM classes its VMs may use.
    vm_classes: Option<Vec<Name>>,
    /// Storage policies its VMs may use.
    storage_policies: Option<Vec<Name>>,
    /// Workload network (default: the Supervisor's).
    workload_network: Option<Name>,
    /// Load-balancer network (default: the Supervisor's).
    load_balancer_network: Option<Name>,
    /// Workload clusters.
    clusters: Option<Vec<ClusterDocument>>,
    /// VM Service VMs.
    vms: Option<Vec<ServiceVmDocument>>,
}

/// `namespaces[].limits`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Limits")]
#[allow(dead_code)]
struct LimitsDocument {
    /// CPU limit, MHz.
    cpu_mhz: Option<u64>,
    /// Memory limit.
    memory: Option<Quantity>,
    /// Storage limit per storage policy.
    storage: Option<BTreeMap<String, Quantity>>,
}

/// A workload cluster.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Cluster")]
#[allow(dead_code)]
struct ClusterDocument {
    /// Cluster name.
    name: Name,
    /// Running Kubernetes version.
    kubernetes_version: KubernetesVersion,
    /// Control plane.
    control_plane: ClusterControlPlane,
    /// Node pools (MachineDeployments).
    node_pools: Option<Vec<NodePoolDocument>>,
    /// Storage policy of its nodes (default: the namespace's first).
    storage_policy: Option<Name>,
    /// Disk per node.
    disk: Quantity,
    /// Virtual IPs beyond the API endpoint.
    load_balancer_services: Option<u32>,
    /// Rollout of its node pools.
    rollout: Option<RolloutDocument>,
    /// Admission priority (higher first).
    priority: Option<u32>,
}

/// `clusters[].control_plane`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "ClusterControlPlane")]
#[allow(dead_code)]
struct ClusterControlPlane {
    /// 1 or 3.
    replicas: OneOrThree,
    /// VM class of each control-plane VM.
    vm_class: Name,
}

/// `clusters[].rollout`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Rollout")]
#[allow(dead_code)]
struct RolloutDocument {
    /// New nodes beyond the pool's size during a roll (default 1).
    #[schemars(range(max = 10_000))]
    max_surge: Option<u32>,
    /// Nodes that may be missing during a roll (default 0).
    #[schemars(range(max = 10_000))]
    max_unavailable: Option<u32>,
}

/// A node pool.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "NodePool")]
#[allow(dead_code)]
struct NodePoolDocument {
    /// Pool name.
    name: Name,
    /// Worker VMs.
    #[schemars(range(max = 10_000))]
    replicas: u32,
    /// VM class of each worker.
    vm_class: Name,
    /// Failure domain (zone) the pool is pinned to.
    zone: Option<Name>,
}

/// A VM Service VM.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "ServiceVm")]
#[allow(dead_code)]
struct ServiceVmDocument {
    /// VM name.
    name: Name,
    /// VM class.
    vm_class: Name,
    /// Disk.
    disk: Quantity,
    /// Storage policy (default: the namespace's first).
    storage_policy: Option<Name>,
    /// Admission priority (higher first).
    priority: Option<u32>,
}

/// A DRS-style rule.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Rule")]
#[allow(dead_code)]
struct RuleDocument {
    /// Rule name.
    name: Name,
    /// `separate`, `together` or `vm_host`.
    kind: RuleKindDocument,
    /// Globs over derived VM names.
    #[schemars(length(min = 1))]
    vms: Vec<String>,
    /// Globs over host names (`vm_host` only, and required there).
    hosts: Option<Vec<String>>,
    /// Hard (default) or soft.
    must: Option<bool>,
    /// `vm_host` only: run on the hosts (default) or never on them.
    run_on: Option<bool>,
}

/// `rules[].kind`.
#[derive(JsonSchema)]
#[schemars(rename = "RuleKind", rename_all = "snake_case")]
#[allow(dead_code)]
enum RuleKindDocument {
    /// On distinct hosts.
    Separate,
    /// On one host.
    Together,
    /// On (or off) the selected hosts.
    VmHost,
}

/// `upgrade`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Upgrade")]
#[allow(dead_code)]
struct UpgradeDocument {
    /// Clusters to roll (`NS/CLUSTER`) and their target versions.
    clusters: Option<BTreeMap<String, KubernetesVersion>>,
    /// Hosts to patch.
    hosts: Option<Vec<Name>>,
    /// Roll the Supervisor's control plane.
    supervisor: Option<bool>,
    /// Most hosts in maintenance at once (default 1).
    #[schemars(range(min = 1, max = 100_000))]
    max_hosts_in_maintenance: Option<u32>,
}
