//! From recognised sources to the topology document.

use crate::read::{capitalised, Source};
use crate::Report;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A field at `path`, each key also tried capitalised (older govc).
fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut here = value;
    for key in path {
        let object = here.as_object()?;
        here = object.get(*key).or_else(|| object.get(&capitalised(key)))?;
    }
    Some(here)
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

fn number(value: &Value, path: &[&str]) -> Option<u64> {
    at(value, path).and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
}

/// A name as the topology spells them: lower case, spaces and underscores as dashes.
fn name_of(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '_' { '-' } else { c })
        .collect()
}

/// `v1.33.6` out of `v1.33.6---vmware.1-fips-vkr.2`.
fn version_of(text: &str) -> Option<String> {
    let core = text.strip_prefix('v').unwrap_or(text);
    let digits: Vec<&str> = core
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?
        .split('.')
        .take(3)
        .collect();
    (digits.len() == 3 && digits.iter().all(|d| !d.is_empty()))
        .then(|| format!("v{}", digits.join(".")))
}

/// Bytes as a topology quantity: whole GiB when they are, else MiB (rounded up).
fn size_of(bytes: u128) -> Value {
    if bytes % (1 << 30) == 0 {
        json!(format!("{}Gi", bytes >> 30))
    } else {
        json!((bytes.div_ceil(1 << 20)) as u64)
    }
}

/// A Kubernetes quantity in bytes (`16Gi`, `512Mi`, `1G`, a plain number).
fn bytes_of(text: &str) -> Option<u128> {
    vksplan_model::Bytes::parse_quantity(text)
        .ok()
        .map(|b| u128::from(b.0))
}

/// CPU cores of a Kubernetes CPU quantity (`4`, `4000m`).
fn cores_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.strip_suffix('m') {
            Some(milli) => milli.parse::<f64>().ok().map(|m| m / 1000.0),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

/// The ClusterClass variables that size what vksplan plans, or that vksplan knows to be
/// irrelevant to it; any other is reported.
const KNOWN_VARIABLES: [&str; 30] = [
    "vmClass",
    "storageClass",
    "volumes",
    "nodePoolVolumes",
    "controlPlaneVolumes",
    "node",
    "nodePoolLabels",
    "nodePoolTaints",
    "vsphereOptions",
    "defaultStorageClass",
    "storageClasses",
    "defaultVolumeSnapshotClass",
    "volumeSnapshotClasses",
    "resourceConfiguration",
    "kubernetes",
    "osConfiguration",
    "bootstrapAddons",
    "kubeAPIServerFQDNs",
    "ntp",
    "proxy",
    "trust",
    "user",
    "podSecurityStandard",
    "controlPlaneCertificateRotation",
    "clusterEncryptionConfigYaml",
    "defaultRegistrySecret",
    "extensionCert",
    "TKR_DATA",
    "clusterName",
    "vsphere",
];

/// Extra disk of a `volumes`-like variable value: `[{capacity: "40Gi" | {storage: "40Gi"}}]`.
fn volumes_bytes(value: &Value) -> u128 {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|volume| {
            let capacity = volume.get("capacity")?;
            let text = capacity
                .as_str()
                .or_else(|| capacity.get("storage")?.as_str())?;
            bytes_of(text)
        })
        .sum()
}

/// One node pool or control plane as read.
#[derive(Debug, Clone, Default)]
struct Pool {
    name: String,
    replicas: Option<u64>,
    vm_class: Option<String>,
    zone: Option<String>,
    extra_disk: u128,
}

/// One cluster as read.
#[derive(Debug, Clone, Default)]
struct Cluster {
    namespace: String,
    name: String,
    version: Option<String>,
    storage_class: Option<String>,
    control_plane: Pool,
    pools: Vec<Pool>,
    file: String,
}

/// A node pool of a cluster: (namespace, cluster, pool; `cp` for the control plane).
type PoolKey = (String, String, String);
/// A node VM: its name, the host it runs on (if known) and its boot disk in bytes.
type NodeVm = (String, Option<String>, u128);

/// The topology document of `sources`, and what was left out.
pub fn build(sources: &[Source]) -> (Value, Vec<Report>) {
    let mut reports = Vec::new();
    let Gathered {
        mut hosts,
        policy_names,
        vcenter,
        objects,
    } = gather(sources, &mut reports);
    let known_hosts: Vec<String> = hosts
        .iter()
        .filter_map(|h| h["name"].as_str().map(str::to_string))
        .collect();
    let (claims, machines) = claims_and_machines(&objects);
    let classes = classes(&objects, &mut reports);
    let clusters = clusters(&objects, &mut reports);
    let VirtualMachines {
        mut placement,
        service_vms,
        node_vms,
    } = virtual_machines(&objects, &known_hosts, &claims, &machines, &mut reports);
    let disks = node_slots(node_vms, &clusters, &mut placement, &mut reports);
    let mut namespaces = vcenter_namespaces(&vcenter, &policy_names, &mut reports);
    add_clusters(&mut namespaces, &clusters, &disks, &mut reports);
    for (namespace, vms) in service_vms {
        let entry = namespaces.entry(name_of(&namespace)).or_insert_with(
            || json!({ "name": name_of(&namespace), "storage_policies": [], "vm_classes": [] }),
        );
        entry["vms"] = json!(vms);
    }
    let all_policies = storage_policies(&mut namespaces, &policy_names);
    report_unused(&objects, &mut reports);
    hosts.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let mut document = json!({
        "version": 1,
        "hosts": hosts,
        "vm_classes": classes.into_values().collect::<Vec<_>>(),
        "storage_policies": all_policies.iter().map(|p| json!({ "name": p })).collect::<Vec<_>>(),
        "namespaces": namespaces.into_values().collect::<Vec<_>>(),
    });
    if !placement.is_empty() {
        document["placement"] = Value::Object(placement);
    }
    (document, reports)
}

/// The sources sorted by what they hold.
struct Gathered {
    /// The host documents (hosts that cannot be read are reported).
    hosts: Vec<Value>,
    /// Storage policy id -> topology name.
    policy_names: BTreeMap<String, String>,
    /// vCenter namespaces: (name, instance info, file).
    vcenter: Vec<(String, Value, String)>,
    /// Kubernetes objects: (file, object).
    objects: Vec<(String, Value)>,
}

/// Sorts the sources by what they hold; reports the hosts that cannot be read.
fn gather(sources: &[Source], reports: &mut Vec<Report>) -> Gathered {
    let mut gathered = Gathered {
        hosts: Vec::new(),
        policy_names: BTreeMap::new(),
        vcenter: Vec::new(),
        objects: Vec::new(),
    };
    for source in sources {
        match source {
            Source::Hosts { file, hosts: found } => {
                for host in found {
                    match host_of(host) {
                        Ok(document) => gathered.hosts.push(document),
                        Err(reason) => reports.push(Report {
                            file: file.clone(),
                            object: format!("host {}", text(host, &["name"]).unwrap_or("?")),
                            reason,
                            error: false,
                        }),
                    }
                }
            }
            Source::Policies { policies, .. } => {
                for (id, name) in policies {
                    gathered.policy_names.insert(id.clone(), name_of(name));
                }
            }
            Source::Namespaces { file, namespaces } => {
                for (name, info) in namespaces {
                    gathered
                        .vcenter
                        .push((name.clone(), info.clone(), file.clone()));
                }
            }
            Source::Object { file, object } => {
                gathered.objects.push((file.clone(), object.clone()))
            }
        }
    }
    gathered
}

/// How an object is named in reports: `Kind namespace/name`.
fn object_id(object: &Value) -> String {
    format!(
        "{} {}/{}",
        text(object, &["kind"]).unwrap_or("?"),
        text(object, &["metadata", "namespace"]).unwrap_or("-"),
        text(object, &["metadata", "name"]).unwrap_or("?")
    )
}

/// An object's `kind` (empty when it has none).
fn kind_of(object: &Value) -> String {
    text(object, &["kind"]).unwrap_or("").to_string()
}

/// Something about objects, by their (namespace, name).
type ByName<T> = BTreeMap<(String, String), T>;

/// The sizes of the persistent volume claims and the Machines, by (namespace, name).
fn claims_and_machines(objects: &[(String, Value)]) -> (ByName<u128>, ByName<Value>) {
    let mut claims: ByName<u128> = BTreeMap::new();
    let mut machines: ByName<Value> = BTreeMap::new();
    for (_, object) in objects {
        let key = (
            text(object, &["metadata", "namespace"])
                .unwrap_or("")
                .to_string(),
            text(object, &["metadata", "name"])
                .unwrap_or("")
                .to_string(),
        );
        match kind_of(object).as_str() {
            "PersistentVolumeClaim" => {
                if let Some(size) =
                    text(object, &["spec", "resources", "requests", "storage"]).and_then(bytes_of)
                {
                    claims.insert(key, size);
                }
            }
            "Machine" => {
                machines.insert(key, object.clone());
            }
            _ => {}
        }
    }
    (claims, machines)
}

/// The VM classes of the `VirtualMachineClass` objects, by name; reports those that cannot
/// be read.
fn classes(objects: &[(String, Value)], reports: &mut Vec<Report>) -> BTreeMap<String, Value> {
    let mut classes: BTreeMap<String, Value> = BTreeMap::new();
    for (file, object) in objects
        .iter()
        .filter(|(_, o)| kind_of(o) == "VirtualMachineClass")
    {
        match class_of(object) {
            Ok((name, class)) => {
                classes.insert(name, class);
            }
            Err(reason) => reports.push(Report {
                file: file.clone(),
                object: object_id(object),
                reason,
                error: false,
            }),
        }
    }
    classes
}

/// The clusters of the `Cluster` and `TanzuKubernetesCluster` objects; reports those without
/// a topology.
fn clusters(objects: &[(String, Value)], reports: &mut Vec<Report>) -> Vec<Cluster> {
    let mut clusters: Vec<Cluster> = Vec::new();
    for (file, object) in objects {
        let cluster = match kind_of(object).as_str() {
            "Cluster" => capi_cluster(file, object, reports),
            "TanzuKubernetesCluster" => tkc_cluster(file, object),
            _ => continue,
        };
        match cluster {
            Some(cluster) => clusters.push(cluster),
            None => reports.push(Report {
                file: file.clone(),
                object: object_id(object),
                reason: "no topology (spec.topology) to read a control plane and node pools from"
                    .into(),
                error: false,
            }),
        }
    }
    clusters
}

/// The `VirtualMachine` objects, sorted.
struct VirtualMachines {
    /// Derived VM name -> host, for the VM Service VMs so far.
    placement: Map<String, Value>,
    /// Per namespace, its VM Service VM documents.
    service_vms: BTreeMap<String, Vec<Value>>,
    /// Per node pool, its node VMs.
    node_vms: BTreeMap<PoolKey, Vec<NodeVm>>,
}

/// Sorts the `VirtualMachine` objects into node VMs (by cluster and pool) and VM Service VMs
/// (as documents, with their placement); reports VMs without a known host and workers
/// without a pool.
fn virtual_machines(
    objects: &[(String, Value)],
    known_hosts: &[String],
    claims: &ByName<u128>,
    machines: &ByName<Value>,
    reports: &mut Vec<Report>,
) -> VirtualMachines {
    let mut found = VirtualMachines {
        placement: Map::new(),
        service_vms: BTreeMap::new(),
        node_vms: BTreeMap::new(),
    };
    for (file, object) in objects
        .iter()
        .filter(|(_, o)| kind_of(o) == "VirtualMachine")
    {
        let namespace = text(object, &["metadata", "namespace"])
            .unwrap_or("")
            .to_string();
        let name = text(object, &["metadata", "name"])
            .unwrap_or("")
            .to_string();
        let host = vm_host(file, object, known_hosts, reports);
        let boot = boot_disk(object);
        let label = |key: &str| text(object, &["metadata", "labels", key]).map(str::to_string);
        match (
            label("capv.vmware.com/cluster.name"),
            label("capv.vmware.com/cluster.role"),
        ) {
            (Some(cluster), Some(role)) => {
                let machine = machines.get(&(namespace.clone(), name.clone()));
                match node_pool(object, &role, machine) {
                    Some(pool) => found
                        .node_vms
                        .entry((namespace, cluster, pool))
                        .or_default()
                        .push((name, host, boot)),
                    None => reports.push(Report { file: file.clone(), object: object_id(object), reason: "a worker VM whose node pool no label names (topology.cluster.x-k8s.io/deployment-name on the VM or its Machine)".into(), error: false }),
                }
            }
            _ => {
                let vm = service_vm(object, &namespace, &name, boot, claims);
                if let Some(host) = host {
                    found.placement.insert(
                        format!("{}/vm/{}", name_of(&namespace), name_of(&name)),
                        json!(host),
                    );
                }
                found.service_vms.entry(namespace).or_default().push(vm);
            }
        }
    }
    found
}

/// The host a VM runs on, if a host dump lists it; reported otherwise (no placement then).
fn vm_host(
    file: &str,
    object: &Value,
    known_hosts: &[String],
    reports: &mut Vec<Report>,
) -> Option<String> {
    let host = text(object, &["status", "nodeName"])
        .or_else(|| text(object, &["status", "host"]))
        .map(str::to_string);
    match host {
        Some(h) if known_hosts.contains(&h) => Some(h),
        Some(h) => {
            reports.push(Report {
                file: file.to_string(),
                object: object_id(object),
                reason: format!("runs on `{h}`, which no host dump lists: no placement"),
                error: false,
            });
            None
        }
        None => {
            reports.push(Report {
                file: file.to_string(),
                object: object_id(object),
                reason: "has no host (status.nodeName or status.host): no placement".into(),
                error: false,
            });
            None
        }
    }
}

/// A VM's boot disk: the sum of its classic volumes' limits (else requests), in bytes.
fn boot_disk(object: &Value) -> u128 {
    at(object, &["status", "volumes"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| text(v, &["type"]).is_none_or(|t| t == "Classic"))
        .filter_map(|v| {
            text(v, &["limit"])
                .or_else(|| text(v, &["requested"]))
                .and_then(bytes_of)
        })
        .sum()
}

/// The pool of a node VM of `role`: `cp` for the control plane, else the deployment its
/// labels (or its Machine's) name.
fn node_pool(object: &Value, role: &str, machine: Option<&Value>) -> Option<String> {
    let label = |key: &str| text(object, &["metadata", "labels", key]).map(str::to_string);
    if role == "controlplane" {
        Some("cp".to_string())
    } else {
        label("topology.cluster.x-k8s.io/deployment-name").or_else(|| {
            machine
                .and_then(|m| {
                    text(
                        m,
                        &[
                            "metadata",
                            "labels",
                            "topology.cluster.x-k8s.io/deployment-name",
                        ],
                    )
                })
                .map(str::to_string)
        })
    }
}

/// The document of a VM Service VM: its class, storage policy, and disk (boot disk and
/// claimed volumes).
fn service_vm(
    object: &Value,
    namespace: &str,
    name: &str,
    boot: u128,
    claims: &ByName<u128>,
) -> Value {
    let mut vm = json!({ "name": name_of(name) });
    if let Some(class) = text(object, &["spec", "className"]) {
        vm["vm_class"] = json!(class);
    }
    if let Some(storage) = text(object, &["spec", "storageClass"]) {
        vm["storage_policy"] = json!(name_of(storage));
    }
    let volumes: u128 = at(object, &["spec", "volumes"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| text(v, &["persistentVolumeClaim", "claimName"]))
        .filter_map(|claim| {
            claims
                .get(&(namespace.to_string(), claim.to_string()))
                .copied()
        })
        .sum();
    if boot + volumes > 0 {
        vm["disk"] = size_of(boot + volumes);
    }
    vm
}

/// Node VMs to their cluster's slots, in VM-name order, with their placement; reports VMs
/// beyond the replicas or of an unknown cluster. Returns each cluster's largest boot disk.
fn node_slots(
    node_vms: BTreeMap<PoolKey, Vec<NodeVm>>,
    clusters: &[Cluster],
    placement: &mut Map<String, Value>,
    reports: &mut Vec<Report>,
) -> BTreeMap<(String, String), u128> {
    let mut disks: BTreeMap<(String, String), u128> = BTreeMap::new();
    for ((namespace, cluster, pool), mut vms) in node_vms {
        vms.sort();
        let spec = clusters
            .iter()
            .find(|c| c.namespace == namespace && c.name == cluster);
        let (slots, file) = match spec {
            Some(spec) if pool == "cp" => {
                (spec.control_plane.replicas.unwrap_or(1), spec.file.clone())
            }
            Some(spec) => match spec.pools.iter().find(|p| p.name == pool) {
                Some(found) => (
                    found.replicas.unwrap_or(vms.len() as u64),
                    spec.file.clone(),
                ),
                None => (0, spec.file.clone()),
            },
            None => (0, String::new()),
        };
        for (index, (vm, host, boot)) in vms.into_iter().enumerate() {
            let disk = disks
                .entry((namespace.clone(), cluster.clone()))
                .or_default();
            *disk = (*disk).max(boot);
            if (index as u64) >= slots {
                reports.push(Report {
                    file: if file.is_empty() { "virtual machines".into() } else { file.clone() },
                    object: format!("VirtualMachine {namespace}/{vm}"),
                    reason: if spec.is_none() {
                        format!("belongs to cluster `{cluster}`, which no Cluster or TanzuKubernetesCluster dump defines")
                    } else {
                        format!("one VM more than the {slots} replica(s) of `{namespace}/{cluster}/{pool}`")
                    },
                    error: false,
                });
                continue;
            }
            if let Some(host) = host {
                placement.insert(
                    format!(
                        "{}/{}/{}-{}",
                        name_of(&namespace),
                        name_of(&cluster),
                        name_of(&pool),
                        index + 1
                    ),
                    json!(host),
                );
            }
        }
    }
    disks
}

/// The namespace documents of vCenter's view, by name: limits, storage policies (by name;
/// an id no dump names is reported and used as the name) and VM classes.
fn vcenter_namespaces(
    vcenter: &[(String, Value, String)],
    policy_names: &BTreeMap<String, String>,
    reports: &mut Vec<Report>,
) -> BTreeMap<String, Value> {
    let mut namespaces: BTreeMap<String, Value> = BTreeMap::new();
    for (name, info, file) in vcenter {
        let mut namespace = json!({ "name": name_of(name) });
        let mut limits = Map::new();
        if let Some(cpu) = number(info, &["resource_spec", "cpu_limit"]) {
            limits.insert("cpu_mhz".into(), json!(cpu));
        }
        if let Some(memory) = number(info, &["resource_spec", "memory_limit"]) {
            limits.insert("memory".into(), json!(memory));
        }
        let mut storage = Map::new();
        let mut policies = Vec::new();
        for spec in at(info, &["storage_specs"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(id) = text(spec, &["policy"]) else {
                continue;
            };
            let policy = match policy_names.get(id) {
                Some(name) => name.clone(),
                None => {
                    reports.push(Report { file: file.clone(), object: format!("namespace {name}"), reason: format!("storage policy id `{id}` is in no storage policies dump: named by its id"), error: false });
                    name_of(id)
                }
            };
            if let Some(limit) = number(spec, &["limit"]) {
                storage.insert(policy.clone(), json!(limit));
            }
            policies.push(json!(policy));
        }
        if !storage.is_empty() {
            limits.insert("storage".into(), Value::Object(storage));
        }
        if !limits.is_empty() {
            namespace["limits"] = Value::Object(limits);
        }
        namespace["storage_policies"] = json!(policies);
        namespace["vm_classes"] = at(info, &["vm_service_spec", "vm_classes"])
            .cloned()
            .unwrap_or(json!([]));
        namespaces.insert(name_of(name), namespace);
    }
    namespaces
}

/// Adds each cluster's document to its namespace (one is made, and reported, for a namespace
/// vCenter did not list); a cluster's disk is its largest boot disk plus its largest extra
/// volumes.
fn add_clusters(
    namespaces: &mut BTreeMap<String, Value>,
    clusters: &[Cluster],
    disks: &BTreeMap<(String, String), u128>,
    reports: &mut Vec<Report>,
) {
    for cluster in clusters {
        let namespace = namespaces.entry(name_of(&cluster.namespace)).or_insert_with(|| {
            reports.push(Report { file: cluster.file.clone(), object: format!("namespace {}", cluster.namespace), reason: "in no vCenter namespaces dump: no limits, classes and policies from what its objects use".into(), error: false });
            json!({ "name": name_of(&cluster.namespace), "storage_policies": [], "vm_classes": [] })
        });
        let disk = disks
            .get(&(cluster.namespace.clone(), cluster.name.clone()))
            .copied()
            .unwrap_or(0)
            + cluster.control_plane.extra_disk.max(
                cluster
                    .pools
                    .iter()
                    .map(|p| p.extra_disk)
                    .max()
                    .unwrap_or(0),
            );
        let document = cluster_document(cluster, disk);
        if let Some(list) = namespace["clusters"].as_array_mut() {
            list.push(document);
        } else {
            namespace["clusters"] = json!([document]);
        }
    }
}

/// The document of a cluster, with `disk` bytes per node.
fn cluster_document(cluster: &Cluster, disk: u128) -> Value {
    let mut document = json!({
        "name": name_of(&cluster.name),
        "control_plane": { "replicas": cluster.control_plane.replicas.unwrap_or(1) },
        "node_pools": cluster.pools.iter().map(|pool| {
            let mut p = json!({ "name": pool.name, "replicas": pool.replicas.unwrap_or(0) });
            if let Some(class) = &pool.vm_class { p["vm_class"] = json!(class); }
            if let Some(zone) = &pool.zone { p["zone"] = json!(zone); }
            p
        }).collect::<Vec<_>>(),
    });
    if let Some(version) = &cluster.version {
        document["kubernetes_version"] = json!(version);
    }
    if let Some(class) = &cluster.control_plane.vm_class {
        document["control_plane"]["vm_class"] = json!(class);
    }
    if let Some(storage) = &cluster.storage_class {
        document["storage_policy"] = json!(name_of(storage));
    }
    if disk > 0 {
        document["disk"] = size_of(disk);
    }
    document
}

/// Makes each namespace list the storage policies its clusters and VMs use, after the ones
/// vCenter gave; returns every storage policy (those of the dump and those listed), sorted.
fn storage_policies(
    namespaces: &mut BTreeMap<String, Value>,
    policy_names: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut all_policies: Vec<String> = policy_names.values().cloned().collect();
    for namespace in namespaces.values_mut() {
        let mut used: Vec<String> = Vec::new();
        for item in namespace["clusters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(namespace["vms"].as_array().into_iter().flatten())
        {
            if let Some(policy) = item["storage_policy"].as_str() {
                used.push(policy.to_string());
            }
        }
        let listed = namespace["storage_policies"].as_array_mut();
        if let Some(listed) = listed {
            for policy in used {
                if !listed.iter().any(|p| p == policy.as_str()) {
                    listed.push(json!(policy));
                }
            }
            for policy in listed.iter().filter_map(Value::as_str) {
                all_policies.push(policy.to_string());
            }
        }
    }
    all_policies.sort();
    all_policies.dedup();
    all_policies
}

/// Reports the objects of a kind no conversion uses.
fn report_unused(objects: &[(String, Value)], reports: &mut Vec<Report>) {
    for (file, object) in objects {
        let kind = kind_of(object);
        if !matches!(
            kind.as_str(),
            "Cluster"
                | "TanzuKubernetesCluster"
                | "VirtualMachineClass"
                | "VirtualMachine"
                | "Machine"
                | "PersistentVolumeClaim"
        ) {
            reports.push(Report {
                file: file.clone(),
                object: object_id(object),
                reason: format!("kind `{kind}` is not one vksplan imports"),
                error: false,
            });
        }
    }
}

/// A host of `govc host.info -json`.
fn host_of(host: &Value) -> Result<Value, String> {
    let name = text(host, &["name"]).ok_or("no name")?;
    let cores = number(host, &["summary", "hardware", "numCpuCores"])
        .ok_or("no summary.hardware.numCpuCores")?;
    let mhz =
        number(host, &["summary", "hardware", "cpuMhz"]).ok_or("no summary.hardware.cpuMhz")?;
    let memory = number(host, &["summary", "hardware", "memorySize"])
        .ok_or("no summary.hardware.memorySize")?;
    let maintenance = at(host, &["runtime", "inMaintenanceMode"])
        .or_else(|| at(host, &["summary", "runtime", "inMaintenanceMode"]))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut document = json!({ "name": name_of(name), "cpu_cores": cores, "cpu_core_mhz": mhz, "memory": size_of(u128::from(memory)) });
    if maintenance {
        document["maintenance"] = json!(true);
    }
    Ok(document)
}

/// A `VirtualMachineClass`: name and class document.
fn class_of(object: &Value) -> Result<(String, Value), String> {
    let name = text(object, &["metadata", "name"]).ok_or("no metadata.name")?;
    let cpus = number(object, &["spec", "hardware", "cpus"])
        .or_else(|| number(object, &["spec", "configSpec", "numCPUs"]))
        .ok_or("no spec.hardware.cpus")?;
    let memory = match text(object, &["spec", "hardware", "memory"]) {
        Some(text) => bytes_of(text)
            .ok_or_else(|| format!("spec.hardware.memory `{text}` is not a quantity"))?,
        None => {
            u128::from(
                number(object, &["spec", "configSpec", "memoryMB"])
                    .ok_or("no spec.hardware.memory")?,
            ) << 20
        }
    };
    // Reserved: the requests reserve the full size, or the configSpec reservations do.
    let requests = at(object, &["spec", "policies", "resources", "requests"]);
    let requested_cpu = requests
        .and_then(|r| r.get("cpu"))
        .and_then(cores_of)
        .unwrap_or(0.0);
    let requested_memory = requests
        .and_then(|r| r.get("memory")?.as_str())
        .and_then(bytes_of)
        .unwrap_or(0);
    let reserved_memory_mb = number(
        object,
        &["spec", "configSpec", "memoryAllocation", "reservation"],
    )
    .unwrap_or(0);
    let reserved_cpu_mhz = number(
        object,
        &["spec", "configSpec", "cpuAllocation", "reservation"],
    )
    .unwrap_or(0);
    let reserved = (requested_cpu >= cpus as f64 && requested_memory >= memory)
        || (reserved_cpu_mhz > 0 && u128::from(reserved_memory_mb) << 20 >= memory);
    let mut devices: BTreeMap<String, u64> = BTreeMap::new();
    for device in at(object, &["spec", "hardware", "devices", "vgpuDevices"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(profile) = text(device, &["profileName"]) {
            *devices.entry(name_of(profile)).or_default() += 1;
        }
    }
    if devices.is_empty() {
        for change in at(object, &["spec", "configSpec", "deviceChange"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(profile) = text(change, &["device", "backing", "vgpu"]) {
                *devices.entry(name_of(profile)).or_default() += 1;
            }
        }
    }
    let mut class =
        json!({ "name": name, "cpus": cpus, "memory": size_of(memory), "reserved": reserved });
    if !devices.is_empty() {
        class["devices"] = json!(devices);
    }
    Ok((name.to_string(), class))
}

/// A Cluster API `Cluster` (v1beta1 `topology.class`, v1beta2 `topology.classRef`).
fn capi_cluster(file: &str, object: &Value, reports: &mut Vec<Report>) -> Option<Cluster> {
    let topology = at(object, &["spec", "topology"])?;
    let name = text(object, &["metadata", "name"])?.to_string();
    let namespace = text(object, &["metadata", "namespace"])
        .unwrap_or("default")
        .to_string();
    let variables: BTreeMap<String, Value> = at(topology, &["variables"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| Some((text(v, &["name"])?.to_string(), v.get("value")?.clone())))
        .collect();
    for variable in variables.keys() {
        if !KNOWN_VARIABLES.contains(&variable.as_str()) {
            reports.push(Report {
                file: file.to_string(),
                object: format!("Cluster {namespace}/{name}"),
                reason: format!("ClusterClass variable `{variable}` is not one vksplan reads; if it changes a node's size, the plan does not know"),
                error: false,
            });
        }
    }
    let overrides = |path: &[&str]| -> BTreeMap<String, Value> {
        at(topology, path)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| Some((text(v, &["name"])?.to_string(), v.get("value")?.clone())))
            .collect()
    };
    let pick = |local: &BTreeMap<String, Value>, key: &str| -> Option<Value> {
        local.get(key).or_else(|| variables.get(key)).cloned()
    };
    let control = overrides(&["controlPlane", "variables", "overrides"]);
    let control_plane = Pool {
        name: "cp".into(),
        replicas: number(topology, &["controlPlane", "replicas"]),
        vm_class: pick(&control, "vmClass").and_then(|v| v.as_str().map(str::to_string)),
        zone: None,
        extra_disk: pick(&control, "volumes")
            .or_else(|| pick(&control, "controlPlaneVolumes"))
            .map_or(0, |v| volumes_bytes(&v)),
    };
    let mut pools = Vec::new();
    for deployment in at(topology, &["workers", "machineDeployments"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let local: BTreeMap<String, Value> = at(deployment, &["variables", "overrides"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| Some((text(v, &["name"])?.to_string(), v.get("value")?.clone())))
            .collect();
        let pool_name = text(deployment, &["name"]).unwrap_or("workers").to_string();
        let replicas = number(deployment, &["replicas"]);
        if replicas.is_none() {
            reports.push(Report {
                file: file.to_string(),
                object: format!("Cluster {namespace}/{name}"),
                reason: format!("machine deployment `{pool_name}` gives no replicas (the autoscaler owns them): its VMs found are taken as its replicas"),
                error: false,
            });
        }
        if local
            .get("storageClass")
            .is_some_and(|s| Some(s) != variables.get("storageClass"))
        {
            reports.push(Report {
                file: file.to_string(),
                object: format!("Cluster {namespace}/{name}"),
                reason: format!("machine deployment `{pool_name}` overrides storageClass; vksplan keeps one storage policy per cluster (the cluster's)"),
                error: false,
            });
        }
        pools.push(Pool {
            name: name_of(&pool_name),
            replicas,
            vm_class: pick(&local, "vmClass").and_then(|v| v.as_str().map(str::to_string)),
            zone: text(deployment, &["failureDomain"]).map(str::to_string),
            extra_disk: pick(&local, "volumes")
                .or_else(|| pick(&local, "nodePoolVolumes"))
                .map_or(0, |v| volumes_bytes(&v)),
        });
    }
    Some(Cluster {
        namespace,
        name,
        version: text(topology, &["version"]).and_then(version_of),
        storage_class: variables
            .get("storageClass")
            .and_then(Value::as_str)
            .map(str::to_string),
        control_plane,
        pools,
        file: file.to_string(),
    })
}

/// A `TanzuKubernetesCluster` (`run.tanzu.vmware.com/v1alpha3`).
fn tkc_cluster(file: &str, object: &Value) -> Option<Cluster> {
    let topology = at(object, &["spec", "topology"])?;
    let control = at(topology, &["controlPlane"])?;
    let volumes = |pool: &Value| at(pool, &["volumes"]).map_or(0, volumes_bytes);
    let pools = at(topology, &["nodePools"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|pool| Pool {
            name: name_of(text(pool, &["name"]).unwrap_or("workers")),
            replicas: number(pool, &["replicas"]),
            vm_class: text(pool, &["vmClass"]).map(str::to_string),
            zone: text(pool, &["failureDomain"]).map(str::to_string),
            extra_disk: volumes(pool),
        })
        .collect();
    Some(Cluster {
        namespace: text(object, &["metadata", "namespace"])
            .unwrap_or("default")
            .to_string(),
        name: text(object, &["metadata", "name"])?.to_string(),
        version: text(control, &["tkr", "reference", "name"]).and_then(version_of),
        storage_class: text(control, &["storageClass"]).map(str::to_string),
        control_plane: Pool {
            name: "cp".into(),
            replicas: number(control, &["replicas"]).or(Some(1)),
            vm_class: text(control, &["vmClass"]).map(str::to_string),
            zone: None,
            extra_disk: volumes(control),
        },
        pools,
        file: file.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sizes_and_names_read_as_the_topology_writes_them() {
        assert_eq!(
            version_of("v1.33.6---vmware.1-fips-vkr.2").as_deref(),
            Some("v1.33.6")
        );
        assert_eq!(version_of("v1.26.5+vmware.2").as_deref(), Some("v1.26.5"));
        assert_eq!(version_of("latest"), None);
        assert_eq!(size_of(512 << 30), json!("512Gi"));
        assert_eq!(size_of((1 << 30) + 1), json!(1025));
        assert_eq!(
            name_of("vSAN Default Storage Policy"),
            "vsan-default-storage-policy"
        );
        assert_eq!(cores_of(&json!("4000m")), Some(4.0));
    }
}
