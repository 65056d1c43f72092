//! The topology document of docs/input-format.md as Rust types, decoded field by field so that
//! every error is collected (see [`super::decode`]).

use super::decode::{check_range, decode_map, Decode, Errors, Fields, Path};
use super::quantity::Bytes;
use super::version::Version;
use serde_json::Value;

/// The whole input document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    /// Format version; only 1 exists.
    pub version: u32,
    /// Solver and accounting policy.
    pub policy: Policy,
    /// ESXi hosts.
    pub hosts: Vec<Host>,
    /// VM classes added to (or redefining) the 16 defaults.
    pub vm_classes: Vec<VmClass>,
    /// Storage policies (datastores behind them).
    pub storage_policies: Vec<StoragePolicy>,
    /// IP address pools.
    pub networks: Vec<Network>,
    /// The Supervisor; absent for a plain vSphere cluster.
    pub supervisor: Option<Supervisor>,
    /// vSphere Namespaces.
    pub namespaces: Vec<Namespace>,
    /// DRS-style rules.
    pub rules: Vec<Rule>,
    /// Where VMs run today, in document order: (VM name, host name).
    pub placement: Vec<(String, String)>,
    /// What to roll, if anything.
    pub upgrade: Option<Upgrade>,
}

/// `policy`: every field optional.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// vCPU : physical core ratio per host (default 4.0).
    pub cpu_overcommit: f64,
    /// Configured : physical memory ratio per host (default 1.0).
    pub memory_overcommit: f64,
    /// MHz charged per vCPU against namespace limits; default: the fastest host's clock.
    pub vcpu_mhz: Option<u64>,
    /// Host failures to tolerate; default 1 with >= 3 hosts, else 0.
    pub host_failures_to_tolerate: Option<u32>,
    /// Step 4 of the objective.
    pub objective: ObjectiveKind,
    /// Solver wall-clock bound in seconds (default 30).
    pub time_limit_s: f64,
    /// Relative MIP gap at which the solver may stop (default 0).
    pub mip_gap: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            cpu_overcommit: 4.0,
            memory_overcommit: 1.0,
            vcpu_mhz: None,
            host_failures_to_tolerate: None,
            objective: ObjectiveKind::Balance,
            time_limit_s: 30.0,
            mip_gap: 0.0,
        }
    }
}

/// Step 4 of the objective.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ObjectiveKind {
    /// Minimise the highest host utilisation.
    #[default]
    Balance,
    /// Minimise the total cost of hosts in use.
    Consolidate,
}

/// An ESXi host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Host {
    /// Host name.
    pub name: String,
    /// vSphere zone, if any.
    pub zone: Option<String>,
    /// Physical cores.
    pub cpu_cores: u32,
    /// Core clock in MHz.
    pub cpu_core_mhz: u32,
    /// Physical memory.
    pub memory: Bytes,
    /// Countable devices (vGPU profiles, NICs...).
    pub devices: Vec<(String, u32)>,
    /// Cost used by the `consolidate` objective.
    pub cost: f64,
    /// In maintenance: holds no VM.
    pub maintenance: bool,
}

/// A VM class.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmClass {
    /// Class name.
    pub name: String,
    /// vCPUs.
    pub cpus: u32,
    /// Configured memory.
    pub memory: Bytes,
    /// Guaranteed (reserved) CPU and memory.
    pub reserved: bool,
    /// Devices each VM of the class needs.
    pub devices: Vec<(String, u32)>,
}

/// A storage policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoragePolicy {
    /// Policy name.
    pub name: String,
    /// Capacity; `None` = unlimited.
    pub capacity: Option<Bytes>,
}

/// What an IP pool is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NetworkKind {
    /// The Supervisor management network.
    #[default]
    Management,
    /// A workload network (nodes and VMs).
    Workload,
    /// Load-balancer VIPs.
    LoadBalancer,
}

impl NetworkKind {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkKind::Management => "management",
            NetworkKind::Workload => "workload",
            NetworkKind::LoadBalancer => "load_balancer",
        }
    }

    /// Article and name, for messages.
    pub fn described(self) -> &'static str {
        match self {
            NetworkKind::Management => "a management network",
            NetworkKind::Workload => "a workload network",
            NetworkKind::LoadBalancer => "a load-balancer network",
        }
    }
}

/// An IP address pool, by count of usable addresses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    /// Network name.
    pub name: String,
    /// What it is for.
    pub kind: NetworkKind,
    /// Usable addresses.
    pub ips: u32,
}

/// Supervisor control-plane VM sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SupervisorSize {
    /// 2 vCPU, 8 GiB.
    Tiny,
    /// 4 vCPU, 16 GiB.
    #[default]
    Small,
    /// 8 vCPU, 24 GiB.
    Medium,
    /// 16 vCPU, 32 GiB.
    Large,
}

impl SupervisorSize {
    /// (vCPUs, memory) of one control-plane VM of this size.
    pub fn resources(self) -> (u32, Bytes) {
        match self {
            SupervisorSize::Tiny => (2, Bytes::gib(8)),
            SupervisorSize::Small => (4, Bytes::gib(16)),
            SupervisorSize::Medium => (8, Bytes::gib(24)),
            SupervisorSize::Large => (16, Bytes::gib(32)),
        }
    }

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SupervisorSize::Tiny => "tiny",
            SupervisorSize::Small => "small",
            SupervisorSize::Medium => "medium",
            SupervisorSize::Large => "large",
        }
    }
}

/// The Supervisor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Supervisor {
    /// 1 or 3 control-plane VMs.
    pub replicas: u32,
    /// Their size.
    pub size: SupervisorSize,
    /// Management network name.
    pub management_network: String,
    /// Workload network name.
    pub workload_network: String,
    /// Load-balancer network name.
    pub load_balancer_network: String,
    /// The three zones of a 3-zone Supervisor; empty for a 1-zone one.
    pub zones: Vec<String>,
}

/// A vSphere Namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Namespace {
    /// Namespace name.
    pub name: String,
    /// CPU limit in MHz (`None` = unlimited).
    pub cpu_mhz_limit: Option<u64>,
    /// Memory limit.
    pub memory_limit: Option<Bytes>,
    /// Storage limits per storage policy.
    pub storage_limits: Vec<(String, Bytes)>,
    /// Permitted VM classes.
    pub vm_classes: Vec<String>,
    /// Permitted storage policies, the first being the default.
    pub storage_policies: Vec<String>,
    /// Workload network; default the Supervisor's.
    pub workload_network: Option<String>,
    /// Load-balancer network; default the Supervisor's.
    pub load_balancer_network: Option<String>,
    /// Workload clusters.
    pub clusters: Vec<Cluster>,
    /// VM Service VMs.
    pub vms: Vec<ServiceVm>,
}

/// A workload cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster {
    /// Cluster name.
    pub name: String,
    /// Current Kubernetes version.
    pub kubernetes_version: Version,
    /// Control-plane replicas: 1 or 3.
    pub control_plane_replicas: u32,
    /// Control-plane VM class.
    pub control_plane_vm_class: String,
    /// Node pools (MachineDeployments).
    pub node_pools: Vec<NodePool>,
    /// Storage policy of every node; default the namespace's first.
    pub storage_policy: Option<String>,
    /// Disk per node, control plane included.
    pub disk: Bytes,
    /// VIPs beyond the API endpoint.
    pub load_balancer_services: u32,
    /// Node-pool rollout: surge.
    pub max_surge: u32,
    /// Node-pool rollout: unavailable.
    pub max_unavailable: u32,
    /// Admission priority; `None` = must be admitted.
    pub priority: Option<u32>,
}

/// A node pool of identical worker VMs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodePool {
    /// Pool name.
    pub name: String,
    /// Worker count.
    pub replicas: u32,
    /// VM class of every worker.
    pub vm_class: String,
    /// Failure domain (zone) the pool is pinned to.
    pub zone: Option<String>,
}

/// A standalone VM Service VM.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceVm {
    /// VM name.
    pub name: String,
    /// VM class.
    pub vm_class: String,
    /// Disk.
    pub disk: Bytes,
    /// Storage policy; default the namespace's first.
    pub storage_policy: Option<String>,
    /// Admission priority; `None` = must be admitted.
    pub priority: Option<u32>,
}

/// What a DRS rule asks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RuleKind {
    /// Pairwise distinct hosts.
    #[default]
    Separate,
    /// One host.
    Together,
    /// On (or never on) the selected hosts.
    VmHost,
}

impl RuleKind {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Separate => "separate",
            RuleKind::Together => "together",
            RuleKind::VmHost => "vm_host",
        }
    }
}

/// A DRS-style rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    /// Rule name.
    pub name: String,
    /// What it asks.
    pub kind: RuleKind,
    /// Globs over derived VM names.
    pub vms: Vec<String>,
    /// Globs over host names (`vm_host` only).
    pub hosts: Vec<String>,
    /// Hard (`true`) or soft.
    pub must: bool,
    /// `vm_host`: run on (`true`) or never on the hosts.
    pub run_on: bool,
}

/// The `upgrade` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upgrade {
    /// `NS/CLUSTER` -> target version, in document order.
    pub clusters: Vec<(String, Version)>,
    /// Hosts to patch.
    pub hosts: Vec<String>,
    /// Roll the Supervisor control plane.
    pub supervisor: bool,
    /// At most this many hosts in maintenance at once.
    pub max_hosts_in_maintenance: u32,
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Decodes a parsed topology document, recording every shape error (semantic checks are the
/// resolver's, `resolve/`).
pub(crate) fn decode(value: &Value, errors: &mut Errors) -> Topology {
    let root = Path::root();
    let Some(mut fields) = Fields::open(value, &root, errors) else {
        return Topology::default();
    };
    let version: u32 = fields.required("version", errors);
    if fields.has("version")
        && version != 1
        && !errors
            .0
            .iter()
            .any(|e| e.path.as_deref() == Some("version"))
    {
        errors.push(
            &root.key("version"),
            "",
            "unsupported_version",
            format!("document version {version} is not supported"),
            "write \"version\": 1".into(),
        );
    }
    let topology = Topology {
        version,
        policy: fields.optional("policy", errors).unwrap_or_default(),
        hosts: fields.required("hosts", errors),
        vm_classes: fields.optional("vm_classes", errors).unwrap_or_default(),
        storage_policies: fields
            .optional("storage_policies", errors)
            .unwrap_or_default(),
        networks: fields.optional("networks", errors).unwrap_or_default(),
        supervisor: fields.optional("supervisor", errors),
        namespaces: fields.optional("namespaces", errors).unwrap_or_default(),
        rules: fields.optional("rules", errors).unwrap_or_default(),
        placement: match fields.raw("placement") {
            Some((Value::Null, _)) | None => Vec::new(),
            Some((value, path)) => decode_map::<String>(value, &path, errors)
                .into_iter()
                .map(|(vm, host, _)| (vm, host))
                .collect(),
        },
        upgrade: fields.optional("upgrade", errors),
    };
    fields.finish(errors);
    topology
}

/// A positive quantity at most `max`.
fn positive_bytes(fields: &mut Fields, key: &'static str, errors: &mut Errors) -> Bytes {
    let path = fields.path().key(key);
    let bytes: Bytes = fields.required(key, errors);
    if fields.has(key)
        && bytes.0 == 0
        && !errors
            .0
            .iter()
            .any(|e| e.path.as_deref() == Some(path.as_str()))
    {
        errors.push(
            &path,
            "",
            "out_of_range",
            format!("`{path}` must be positive"),
            "give a size above zero".into(),
        );
    }
    bytes
}

fn devices(fields: &mut Fields, errors: &mut Errors) -> Vec<(String, u32)> {
    match fields.raw("devices") {
        Some((Value::Null, _)) | None => Vec::new(),
        Some((value, path)) => decode_map::<u32>(value, &path, errors)
            .into_iter()
            .map(|(name, count, _)| (name, count))
            .collect(),
    }
}

fn enumeration<T: Copy>(
    value: &Value,
    path: &Path,
    errors: &mut Errors,
    options: &[(&str, T)],
) -> Option<T> {
    let found = value
        .as_str()
        .and_then(|text| options.iter().find(|(name, _)| *name == text));
    match found {
        Some((_, option)) => Some(*option),
        None => {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            errors.push(
                path,
                "",
                "bad_value",
                format!(
                    "`{path}` must be one of {}, found {value}",
                    names.join(", ")
                ),
                format!("write one of: {}", names.join(", ")),
            );
            None
        }
    }
}

impl Decode for Policy {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Policy> {
        let mut fields = Fields::open(value, path, errors)?;
        let defaults = Policy::default();
        let cpu_overcommit = fields.optional_in(
            "cpu_overcommit",
            defaults.cpu_overcommit,
            0.01,
            100.0,
            errors,
        );
        let memory_overcommit = fields.optional_in(
            "memory_overcommit",
            defaults.memory_overcommit,
            0.01,
            100.0,
            errors,
        );
        let vcpu_mhz = fields.optional::<u64>("vcpu_mhz", errors);
        if let Some(mhz) = vcpu_mhz {
            check_range(mhz, 1, 100_000, &path.key("vcpu_mhz"), errors);
        }
        let host_failures_to_tolerate = match fields.raw("ha") {
            Some((Value::Null, _)) | None => None,
            Some((value, ha_path)) => {
                let mut ha = Fields::open(value, &ha_path, errors)?;
                let k = ha.optional::<u32>("host_failures_to_tolerate", errors);
                ha.finish(errors);
                k
            }
        };
        let objective = match fields.raw("objective") {
            Some((value, objective_path)) if !value.is_null() => enumeration(
                value,
                &objective_path,
                errors,
                &[
                    ("balance", ObjectiveKind::Balance),
                    ("consolidate", ObjectiveKind::Consolidate),
                ],
            )
            .unwrap_or_default(),
            _ => ObjectiveKind::Balance,
        };
        let time_limit_s = fields.optional_in(
            "time_limit_s",
            defaults.time_limit_s,
            0.001,
            86_400.0,
            errors,
        );
        let mip_gap = fields.optional_in("mip_gap", defaults.mip_gap, 0.0, 1.0, errors);
        fields.finish(errors);
        Some(Policy {
            cpu_overcommit,
            memory_overcommit,
            vcpu_mhz,
            host_failures_to_tolerate,
            objective,
            time_limit_s,
            mip_gap,
        })
    }
}

impl Decode for Host {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Host> {
        let mut fields = Fields::open(value, path, errors)?;
        let host = Host {
            name: fields.required("name", errors),
            zone: fields.optional("zone", errors),
            cpu_cores: fields.required_in("cpu_cores", 1, 4096, errors),
            cpu_core_mhz: fields.required_in("cpu_core_mhz", 1, 100_000, errors),
            memory: positive_bytes(&mut fields, "memory", errors),
            devices: devices(&mut fields, errors),
            cost: fields.optional_in("cost", 1.0, 0.0, 1e9, errors),
            maintenance: fields.optional("maintenance", errors).unwrap_or(false),
        };
        fields.finish(errors);
        Some(host)
    }
}

impl Decode for VmClass {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<VmClass> {
        let mut fields = Fields::open(value, path, errors)?;
        let class = VmClass {
            name: fields.required("name", errors),
            cpus: fields.required_in("cpus", 1, 1024, errors),
            memory: positive_bytes(&mut fields, "memory", errors),
            reserved: fields.optional("reserved", errors).unwrap_or(false),
            devices: devices(&mut fields, errors),
        };
        fields.finish(errors);
        Some(class)
    }
}

impl Decode for StoragePolicy {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<StoragePolicy> {
        let mut fields = Fields::open(value, path, errors)?;
        let name = fields.required("name", errors);
        let capacity = if fields.has("capacity")
            && !fields.raw("capacity").is_some_and(|(v, _)| v.is_null())
        {
            Some(positive_bytes(&mut fields, "capacity", errors))
        } else {
            None
        };
        fields.finish(errors);
        Some(StoragePolicy { name, capacity })
    }
}

impl Decode for Network {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Network> {
        let mut fields = Fields::open(value, path, errors)?;
        let name = fields.required("name", errors);
        let kind = match fields.raw("kind") {
            Some((value, kind_path)) => enumeration(
                value,
                &kind_path,
                errors,
                &[
                    ("management", NetworkKind::Management),
                    ("workload", NetworkKind::Workload),
                    ("load_balancer", NetworkKind::LoadBalancer),
                ],
            )
            .unwrap_or_default(),
            None => {
                let _: String = fields.required("kind", errors);
                NetworkKind::default()
            }
        };
        let ips = fields.required_in("ips", 1, 16_777_216, errors);
        fields.finish(errors);
        Some(Network { name, kind, ips })
    }
}

impl Decode for Supervisor {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Supervisor> {
        let mut fields = Fields::open(value, path, errors)?;
        let (replicas, size) = match fields.raw("control_plane") {
            None => {
                let _: u32 = fields.required("control_plane", errors);
                (3, SupervisorSize::Small)
            }
            Some((value, cp_path)) => {
                let mut cp = Fields::open(value, &cp_path, errors)?;
                let replicas = cp.required::<u32>("replicas", errors);
                let size = match cp.raw("size") {
                    Some((value, size_path)) => enumeration(
                        value,
                        &size_path,
                        errors,
                        &[
                            ("tiny", SupervisorSize::Tiny),
                            ("small", SupervisorSize::Small),
                            ("medium", SupervisorSize::Medium),
                            ("large", SupervisorSize::Large),
                        ],
                    )
                    .unwrap_or_default(),
                    None => {
                        let _: String = cp.required("size", errors);
                        SupervisorSize::Small
                    }
                };
                cp.finish(errors);
                (replicas, size)
            }
        };
        let supervisor = Supervisor {
            replicas,
            size,
            management_network: fields.required("management_network", errors),
            workload_network: fields.required("workload_network", errors),
            load_balancer_network: fields.required("load_balancer_network", errors),
            zones: fields.optional("zones", errors).unwrap_or_default(),
        };
        fields.finish(errors);
        Some(supervisor)
    }
}

impl Decode for Namespace {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Namespace> {
        let mut fields = Fields::open(value, path, errors)?;
        let name = fields.required("name", errors);
        let (mut cpu_mhz_limit, mut memory_limit, mut storage_limits) = (None, None, Vec::new());
        if let Some((value, limits_path)) = fields.raw("limits") {
            if !value.is_null() {
                if let Some(mut limits) = Fields::open(value, &limits_path, errors) {
                    cpu_mhz_limit = limits.optional("cpu_mhz", errors);
                    memory_limit = limits.optional("memory", errors);
                    if let Some((value, storage_path)) = limits.raw("storage") {
                        if !value.is_null() {
                            storage_limits = decode_map::<Bytes>(value, &storage_path, errors)
                                .into_iter()
                                .map(|(policy, bytes, _)| (policy, bytes))
                                .collect();
                        }
                    }
                    limits.finish(errors);
                }
            }
        }
        let namespace = Namespace {
            name,
            cpu_mhz_limit,
            memory_limit,
            storage_limits,
            vm_classes: fields.optional("vm_classes", errors).unwrap_or_default(),
            storage_policies: fields
                .optional("storage_policies", errors)
                .unwrap_or_default(),
            workload_network: fields.optional("workload_network", errors),
            load_balancer_network: fields.optional("load_balancer_network", errors),
            clusters: fields.optional("clusters", errors).unwrap_or_default(),
            vms: fields.optional("vms", errors).unwrap_or_default(),
        };
        fields.finish(errors);
        Some(namespace)
    }
}

impl Decode for Cluster {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Cluster> {
        let mut fields = Fields::open(value, path, errors)?;
        let name = fields.required("name", errors);
        let kubernetes_version = fields.required("kubernetes_version", errors);
        let (mut control_plane_replicas, mut control_plane_vm_class) = (1, String::new());
        match fields.raw("control_plane") {
            None => {
                let _: u32 = fields.required("control_plane", errors);
            }
            Some((value, cp_path)) => {
                if let Some(mut cp) = Fields::open(value, &cp_path, errors) {
                    control_plane_replicas = cp.required("replicas", errors);
                    control_plane_vm_class = cp.required("vm_class", errors);
                    cp.finish(errors);
                }
            }
        }
        let (mut max_surge, mut max_unavailable) = (1, 0);
        if let Some((value, rollout_path)) = fields.raw("rollout") {
            if let Some(mut rollout) = Fields::open(value, &rollout_path, errors) {
                max_surge = rollout.optional_in("max_surge", 1, 0, 10_000, errors);
                max_unavailable = rollout.optional_in("max_unavailable", 0, 0, 10_000, errors);
                if max_surge == 0 && max_unavailable == 0 {
                    errors.push(
                        &rollout_path,
                        "",
                        "bad_rollout",
                        format!("`{rollout_path}` has max_surge 0 and max_unavailable 0: nothing could ever roll"),
                        "allow a surge of at least 1 or at least 1 unavailable node".into(),
                    );
                }
                rollout.finish(errors);
            }
        }
        let cluster = Cluster {
            name,
            kubernetes_version,
            control_plane_replicas,
            control_plane_vm_class,
            node_pools: fields.optional("node_pools", errors).unwrap_or_default(),
            storage_policy: fields.optional("storage_policy", errors),
            disk: fields.required("disk", errors),
            load_balancer_services: fields.optional_in(
                "load_balancer_services",
                0,
                0,
                100_000,
                errors,
            ),
            max_surge,
            max_unavailable,
            priority: fields.optional("priority", errors),
        };
        fields.finish(errors);
        Some(cluster)
    }
}

impl Decode for NodePool {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<NodePool> {
        let mut fields = Fields::open(value, path, errors)?;
        let pool = NodePool {
            name: fields.required("name", errors),
            replicas: fields.required_in("replicas", 0, 10_000, errors),
            vm_class: fields.required("vm_class", errors),
            zone: fields.optional("zone", errors),
        };
        fields.finish(errors);
        Some(pool)
    }
}

impl Decode for ServiceVm {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<ServiceVm> {
        let mut fields = Fields::open(value, path, errors)?;
        let vm = ServiceVm {
            name: fields.required("name", errors),
            vm_class: fields.required("vm_class", errors),
            disk: fields.required("disk", errors),
            storage_policy: fields.optional("storage_policy", errors),
            priority: fields.optional("priority", errors),
        };
        fields.finish(errors);
        Some(vm)
    }
}

impl Decode for Rule {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Rule> {
        let mut fields = Fields::open(value, path, errors)?;
        let name: String = fields.required("name", errors);
        let kind = match fields.raw("kind") {
            Some((value, kind_path)) => enumeration(
                value,
                &kind_path,
                errors,
                &[
                    ("separate", RuleKind::Separate),
                    ("together", RuleKind::Together),
                    ("vm_host", RuleKind::VmHost),
                ],
            )
            .unwrap_or_default(),
            None => {
                let _: String = fields.required("kind", errors);
                RuleKind::Separate
            }
        };
        let vms = fields.required("vms", errors);
        let hosts: Option<Vec<String>> = fields.optional("hosts", errors);
        let run_on: Option<bool> = fields.optional("run_on", errors);
        if kind == RuleKind::VmHost && hosts.is_none() {
            let _: Vec<String> = fields.required("hosts", errors);
        }
        if kind != RuleKind::VmHost {
            for (key, given) in [("hosts", hosts.is_some()), ("run_on", run_on.is_some())] {
                if given {
                    let key_path = path.key(key);
                    errors.push(
                        &key_path,
                        &name,
                        "unused_field",
                        format!(
                            "`{key}` only applies to `vm_host` rules; rule `{name}` is `{}`",
                            kind.as_str()
                        ),
                        format!("remove `{key}` or make the rule `vm_host`"),
                    );
                }
            }
        }
        let rule = Rule {
            name,
            kind,
            vms,
            hosts: hosts.unwrap_or_default(),
            must: fields.optional("must", errors).unwrap_or(true),
            run_on: run_on.unwrap_or(true),
        };
        fields.finish(errors);
        Some(rule)
    }
}

impl Decode for Upgrade {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Upgrade> {
        let mut fields = Fields::open(value, path, errors)?;
        let clusters = match fields.raw("clusters") {
            Some((value, clusters_path)) if !value.is_null() => {
                decode_map::<Version>(value, &clusters_path, errors)
                    .into_iter()
                    .map(|(cluster, version, _)| (cluster, version))
                    .collect()
            }
            _ => Vec::new(),
        };
        let upgrade = Upgrade {
            clusters,
            hosts: fields.optional("hosts", errors).unwrap_or_default(),
            supervisor: fields.optional("supervisor", errors).unwrap_or(false),
            max_hosts_in_maintenance: fields.optional_in(
                "max_hosts_in_maintenance",
                1,
                1,
                100_000,
                errors,
            ),
        };
        fields.finish(errors);
        Some(upgrade)
    }
}
