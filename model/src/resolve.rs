//! Semantic validation: resolves every reference of a decoded [`Topology`] into an
//! [`Inventory`], collecting every error with its JSON path.

use crate::decode::{Errors, Path};
use crate::glob::Glob;
use crate::inventory::*;
use crate::quantity::Bytes;
use crate::topology::{NetworkKind, RuleKind, Topology};
use std::collections::{HashMap, HashSet};

/// Whether `name` is a valid name: `[a-z0-9]([-a-z0-9.]*[a-z0-9])?`, at most 253 characters.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 253
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || *b == b'-' || *b == b'.')
}

struct Resolver {
    errors: Errors,
}

/// A name table of one kind: name -> index, with duplicate detection.
struct Names(HashMap<String, usize>);

impl Resolver {
    fn error(
        &mut self,
        path: &Path,
        subject: &str,
        constraint: &str,
        message: String,
        hint: String,
    ) {
        self.errors.push(path, subject, constraint, message, hint);
    }

    /// Checks the name pattern and uniqueness of a list of names of one kind.
    fn names<'a>(&mut self, kind: &str, items: impl Iterator<Item = (&'a str, Path)>) -> Names {
        let mut table = HashMap::new();
        for (index, (name, path)) in items.enumerate() {
            self.check_name(kind, name, &path);
            // The first definition wins for references; later ones are errors.
            if table.contains_key(name) {
                self.error(
                    &path,
                    name,
                    "duplicate_name",
                    format!("{kind} `{name}` is defined twice"),
                    format!("give each {kind} its own name"),
                );
            } else {
                table.insert(name.to_string(), index);
            }
        }
        Names(table)
    }

    fn check_name(&mut self, kind: &str, name: &str, path: &Path) {
        if !is_valid_name(name) {
            self.error(
                path,
                name,
                "bad_name",
                format!("{kind} name `{name}` is not a valid name"),
                "use lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit".into(),
            );
        }
    }

    fn reference(
        &mut self,
        names: &Names,
        kind: &str,
        name: &str,
        path: &Path,
        subject: &str,
    ) -> Option<usize> {
        let found = names.0.get(name).copied();
        if found.is_none() {
            let mut known: Vec<&str> = names.0.keys().map(String::as_str).collect();
            known.sort_unstable();
            known.truncate(8);
            self.error(
                path,
                subject,
                "unknown_reference",
                format!("{kind} `{name}` does not exist"),
                if known.is_empty() {
                    format!("define {kind} `{name}` first")
                } else {
                    format!(
                        "use one of the defined names ({}) or define `{name}`",
                        known.join(", ")
                    )
                },
            );
        }
        found
    }
}

/// Validates and expands a decoded topology. `Err` carries every error found.
pub(crate) fn resolve(
    topology: &Topology,
    errors: Errors,
) -> Result<Inventory, Vec<crate::Diagnostic>> {
    let mut r = Resolver { errors };
    let root = Path::root();
    let t = topology;

    // --- Hosts and zones -----------------------------------------------------------------
    let root_failed = r
        .errors
        .0
        .iter()
        .any(|e| e.path.as_deref() == Some("$") || e.path.as_deref() == Some("hosts"));
    if t.hosts.is_empty() && !root_failed {
        r.error(
            &root.key("hosts"),
            "",
            "empty",
            "the topology lists no host".into(),
            "add at least one host".into(),
        );
    }
    if t.hosts.len() > 10_000 {
        r.error(
            &root.key("hosts"),
            "",
            "too_large",
            format!(
                "{} hosts is more than the 10,000 vksplan accepts",
                t.hosts.len()
            ),
            "split the topology by vSphere cluster".into(),
        );
    }
    let host_path = |i: usize| root.key("hosts").index(i);
    let host_names = r.names(
        "host",
        t.hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.as_str(), host_path(i).key("name"))),
    );
    let supervisor_zones: Vec<String> = t
        .supervisor
        .as_ref()
        .map(|s| s.zones.clone())
        .unwrap_or_default();
    let mut zones = supervisor_zones.clone();
    for host in &t.hosts {
        if let Some(zone) = &host.zone {
            if !zones.contains(zone) {
                zones.push(zone.clone());
            }
        }
    }
    let three_zone = !supervisor_zones.is_empty();
    for (i, host) in t.hosts.iter().enumerate() {
        for (device, _) in &host.devices {
            r.check_name("device", device, &host_path(i).key("devices").key(device));
        }
        if let Some(zone) = &host.zone {
            r.check_name("zone", zone, &host_path(i).key("zone"));
            if three_zone && !supervisor_zones.contains(zone) {
                r.error(&host_path(i).key("zone"), &host.name, "unknown_reference", format!("host `{}` is in zone `{zone}`, which is not one of the Supervisor's zones ({})", host.name, supervisor_zones.join(", ")), "put the host in one of the Supervisor's zones or add the zone to `supervisor.zones`".into());
            }
        } else if three_zone {
            r.error(
                &host_path(i),
                &host.name,
                "missing_field",
                format!(
                    "host `{}` names no zone, but the Supervisor spans 3 zones",
                    host.name
                ),
                format!(
                    "add `\"zone\"` (one of {}) to the host",
                    supervisor_zones.join(", ")
                ),
            );
        }
    }
    let zone_index = |zone: &str| zones.iter().position(|z| z == zone);

    // --- Policy ---------------------------------------------------------------------------
    let host_count = t.hosts.len() as u32;
    let host_failures_to_tolerate = t
        .policy
        .host_failures_to_tolerate
        .unwrap_or(u32::from(host_count >= 3));
    if host_failures_to_tolerate > 0 && host_failures_to_tolerate >= host_count.max(1) {
        r.error(&root.key("policy").key("ha").key("host_failures_to_tolerate"), "", "out_of_range", format!("HA cannot tolerate {host_failures_to_tolerate} host failure(s) with {host_count} host(s)"), format!("tolerate at most {} failure(s)", host_count.saturating_sub(1)).to_string());
    }
    let fastest = t
        .hosts
        .iter()
        .map(|h| u64::from(h.cpu_core_mhz))
        .max()
        .unwrap_or(1);
    let policy = EffectivePolicy {
        cpu_overcommit: t.policy.cpu_overcommit,
        memory_overcommit: t.policy.memory_overcommit,
        vcpu_mhz: t.policy.vcpu_mhz.unwrap_or(fastest).max(1),
        host_failures_to_tolerate,
        objective: t.policy.objective,
        time_limit_s: t.policy.time_limit_s,
        mip_gap: t.policy.mip_gap,
    };
    let hosts: Vec<HostSpec> = t
        .hosts
        .iter()
        .map(|h| {
            let mut devices = h.devices.clone();
            devices.sort();
            HostSpec {
                name: h.name.clone(),
                zone: h.zone.as_deref().and_then(zone_index),
                cpu_cores: h.cpu_cores,
                cpu_core_mhz: h.cpu_core_mhz,
                memory: h.memory,
                // A tiny epsilon so that 32 * 1.1 = 35.2 floors to 35, not to 35.19999 -> 35.
                vcpu_limit: (f64::from(h.cpu_cores) * policy.cpu_overcommit + 1e-9).floor() as u64,
                memory_limit: Bytes(
                    (h.memory.0 as f64 * policy.memory_overcommit + 1e-6).floor() as u64,
                ),
                devices,
                cost: h.cost,
                maintenance: h.maintenance,
            }
        })
        .collect();

    // --- Classes, storage policies, networks -------------------------------------------------
    let class_path = |i: usize| root.key("vm_classes").index(i);
    // Duplicate and name checks only: user classes are looked up through the merged table.
    r.names(
        "VM class",
        t.vm_classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), class_path(i).key("name"))),
    );
    let mut classes = default_classes();
    for class in &t.vm_classes {
        let mut devices = class.devices.clone();
        devices.sort();
        let spec = ClassSpec {
            name: class.name.clone(),
            cpus: class.cpus,
            memory: class.memory,
            reserved: class.reserved,
            devices,
        };
        match classes.iter_mut().find(|c| c.name == class.name) {
            Some(existing) => *existing = spec,
            None => classes.push(spec),
        }
    }
    for (i, class) in t.vm_classes.iter().enumerate() {
        for (device, _) in &class.devices {
            r.check_name("device", device, &class_path(i).key("devices").key(device));
        }
    }
    let class_names = Names(
        classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect(),
    );
    let policy_path = |i: usize| root.key("storage_policies").index(i);
    let policy_names = r.names(
        "storage policy",
        t.storage_policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), policy_path(i).key("name"))),
    );
    let network_path = |i: usize| root.key("networks").index(i);
    let network_names = r.names(
        "network",
        t.networks
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), network_path(i).key("name"))),
    );

    let network_of_kind = |r: &mut Resolver,
                           name: &str,
                           kind: NetworkKind,
                           path: &Path,
                           subject: &str|
     -> Option<usize> {
        let index = r.reference(&network_names, "network", name, path, subject)?;
        let actual = t.networks[index].kind;
        if actual != kind {
            r.error(
                path,
                subject,
                "wrong_network_kind",
                format!(
                    "network `{name}` is {}, but `{path}` needs {}",
                    actual.described(),
                    kind.described()
                ),
                format!(
                    "name {} here or change the `kind` of `{name}`",
                    kind.described()
                ),
            );
        }
        Some(index)
    };

    // --- Supervisor -----------------------------------------------------------------------
    let mut groups: Vec<Group> = Vec::new();
    let mut vms: Vec<VmSlot> = Vec::new();
    let mut supervisor_networks = None;
    if let Some(supervisor) = &t.supervisor {
        let path = root.key("supervisor");
        if !matches!(supervisor.replicas, 1 | 3) {
            r.error(
                &path.key("control_plane").key("replicas"),
                "supervisor",
                "bad_replicas",
                format!(
                    "the Supervisor control plane has {} replicas; it runs 1 or 3",
                    supervisor.replicas
                ),
                "use 3 for production (HA) or 1 for a lab".into(),
            );
        }
        if three_zone {
            let distinct: HashSet<&String> = supervisor_zones.iter().collect();
            if supervisor_zones.len() != 3 || distinct.len() != 3 {
                r.error(&path.key("zones"), "supervisor", "bad_zones", format!("a zonal Supervisor spans exactly 3 distinct zones; `supervisor.zones` lists {}", supervisor_zones.len()), "list 3 distinct zones, or remove `zones` for a 1-zone Supervisor".into());
            }
            if supervisor.replicas != 3 {
                r.error(
                    &path.key("control_plane").key("replicas"),
                    "supervisor",
                    "bad_replicas",
                    "a 3-zone Supervisor runs 3 control-plane VMs, one per zone".into(),
                    "set `replicas` to 3".into(),
                );
            }
            for (i, zone) in supervisor_zones.iter().enumerate() {
                r.check_name("zone", zone, &path.key("zones").index(i));
                if !t.hosts.iter().any(|h| h.zone.as_ref() == Some(zone)) {
                    r.error(
                        &path.key("zones").index(i),
                        "supervisor",
                        "unknown_reference",
                        format!("zone `{zone}` of the Supervisor has no host"),
                        format!("put hosts in `{zone}` (host `zone` field) or fix the zone name"),
                    );
                }
            }
        }
        let management = network_of_kind(
            &mut r,
            &supervisor.management_network,
            NetworkKind::Management,
            &path.key("management_network"),
            "supervisor",
        );
        let workload = network_of_kind(
            &mut r,
            &supervisor.workload_network,
            NetworkKind::Workload,
            &path.key("workload_network"),
            "supervisor",
        );
        let load_balancer = network_of_kind(
            &mut r,
            &supervisor.load_balancer_network,
            NetworkKind::LoadBalancer,
            &path.key("load_balancer_network"),
            "supervisor",
        );
        if let (Some(m), Some(w), Some(l)) = (management, workload, load_balancer) {
            supervisor_networks = Some([m, w, l]);
        }
        let (vcpus, memory) = supervisor.size.resources();
        let group = groups.len();
        let replicas = supervisor.replicas.min(3) as usize;
        groups.push(Group {
            name: "supervisor/cp".into(),
            kind: GroupKind::SupervisorControlPlane,
            namespace: None,
            class: format!("supervisor-{}", supervisor.size.as_str()),
            vcpus,
            memory,
            reserved: true,
            devices: Vec::new(),
            disk: Bytes(0),
            storage_policy: None,
            vms: (vms.len()..vms.len() + replicas).collect(),
        });
        for n in 1..=replicas {
            vms.push(VmSlot {
                name: format!("supervisor/cp-{n}"),
                group,
            });
        }
    }

    // --- Namespaces, clusters, pools, VMs ------------------------------------------------------
    let total_vms: u64 = t
        .namespaces
        .iter()
        .flat_map(|ns| ns.clusters.iter())
        .map(|c| {
            u64::from(c.control_plane_replicas)
                + c.node_pools
                    .iter()
                    .map(|p| u64::from(p.replicas))
                    .sum::<u64>()
        })
        .sum::<u64>()
        + t.namespaces
            .iter()
            .map(|ns| ns.vms.len() as u64)
            .sum::<u64>();
    if total_vms > MAX_VMS {
        r.error(
            &root.key("namespaces"),
            "",
            "too_large",
            format!(
                "the topology expands to {total_vms} VMs, more than the {MAX_VMS} vksplan accepts"
            ),
            "split the topology or check the replica counts".into(),
        );
        return Err(r.errors.0);
    }
    let namespace_path = |i: usize| root.key("namespaces").index(i);
    r.names(
        "namespace",
        t.namespaces
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), namespace_path(i).key("name"))),
    );
    let mut namespaces = Vec::new();
    let mut clusters: Vec<ClusterSpec> = Vec::new();
    let mut admission_units = Vec::new();
    for (ni, ns) in t.namespaces.iter().enumerate() {
        let path = namespace_path(ni);
        let subject = ns.name.as_str();
        let permitted_classes: HashSet<&str> = ns.vm_classes.iter().map(String::as_str).collect();
        let permitted_policies: HashSet<&str> =
            ns.storage_policies.iter().map(String::as_str).collect();
        for (i, class) in ns.vm_classes.iter().enumerate() {
            r.reference(
                &class_names,
                "VM class",
                class,
                &path.key("vm_classes").index(i),
                subject,
            );
        }
        for (i, policy) in ns.storage_policies.iter().enumerate() {
            r.reference(
                &policy_names,
                "storage policy",
                policy,
                &path.key("storage_policies").index(i),
                subject,
            );
        }
        let mut storage_limits = vec![None; t.storage_policies.len()];
        for (policy, limit) in &ns.storage_limits {
            let limit_path = path.key("limits").key("storage").key(policy);
            if let Some(index) = r.reference(
                &policy_names,
                "storage policy",
                policy,
                &limit_path,
                subject,
            ) {
                storage_limits[index] = Some(*limit);
                if !permitted_policies.contains(policy.as_str()) {
                    r.error(&limit_path, subject, "not_permitted", format!("namespace `{subject}` limits storage policy `{policy}`, which it does not list"), format!("add `{policy}` to `{path}.storage_policies` or remove the limit"));
                }
            }
        }
        let network = |r: &mut Resolver,
                       own: &Option<String>,
                       key: &'static str,
                       kind: NetworkKind,
                       default: Option<usize>|
         -> usize {
            match own {
                Some(name) => network_of_kind(r, name, kind, &path.key(key), subject).unwrap_or(0),
                None => default.unwrap_or_else(|| {
                    if t.supervisor.is_none() {
                        r.error(&path.key(key), subject, "missing_field", format!("namespace `{subject}` names no {key} and there is no Supervisor to inherit one from"), format!("add `{key}` to the namespace"));
                    }
                    0
                }),
            }
        };
        let workload_network = network(
            &mut r,
            &ns.workload_network,
            "workload_network",
            NetworkKind::Workload,
            supervisor_networks.map(|n| n[1]),
        );
        let load_balancer_network = network(
            &mut r,
            &ns.load_balancer_network,
            "load_balancer_network",
            NetworkKind::LoadBalancer,
            supervisor_networks.map(|n| n[2]),
        );
        namespaces.push(NamespaceSpec {
            name: ns.name.clone(),
            cpu_mhz_limit: ns.cpu_mhz_limit,
            memory_limit: ns.memory_limit,
            storage_limits,
            workload_network,
            load_balancer_network,
        });

        // A class or policy use: must exist and be permitted by the namespace.
        let use_class =
            |r: &mut Resolver, class: &str, use_path: &Path, user: &str| -> Option<usize> {
                let index = r.reference(&class_names, "VM class", class, use_path, user)?;
                if !permitted_classes.contains(class) {
                    r.error(
                        use_path,
                        user,
                        "not_permitted",
                        format!("namespace `{subject}` does not allow VM class `{class}`"),
                        format!(
                            "add it to `{path}.vm_classes` or pick one of: {}",
                            ns.vm_classes.join(", ")
                        ),
                    );
                }
                Some(index)
            };
        let use_policy = |r: &mut Resolver,
                          policy: &Option<String>,
                          use_path: &Path,
                          user: &str|
         -> Option<usize> {
            match policy {
                Some(policy) => {
                    let index =
                        r.reference(&policy_names, "storage policy", policy, use_path, user)?;
                    if !permitted_policies.contains(policy.as_str()) {
                        r.error(
                            use_path,
                            user,
                            "not_permitted",
                            format!(
                                "namespace `{subject}` does not allow storage policy `{policy}`"
                            ),
                            format!("add it to `{path}.storage_policies`"),
                        );
                    }
                    Some(index)
                }
                None => match ns.storage_policies.first() {
                    Some(first) => policy_names.0.get(first).copied(),
                    None => {
                        r.error(use_path, user, "missing_field", format!("`{user}` names no storage policy and namespace `{subject}` lists none to default to"), format!("add a storage policy to `{path}.storage_policies`"));
                        None
                    }
                },
            }
        };

        let mut cluster_names: HashSet<&str> = HashSet::new();
        for (ci, cluster) in ns.clusters.iter().enumerate() {
            let cpath = path.key("clusters").index(ci);
            let qualified = format!("{}/{}", ns.name, cluster.name);
            r.check_name("cluster", &cluster.name, &cpath.key("name"));
            if cluster.name == "vm" {
                r.error(
                    &cpath.key("name"),
                    &qualified,
                    "reserved_name",
                    "a cluster may not be named `vm`: `NS/vm/NAME` names VM Service VMs".into(),
                    "rename the cluster".into(),
                );
            }
            if !cluster_names.insert(&cluster.name) {
                r.error(
                    &cpath.key("name"),
                    &qualified,
                    "duplicate_name",
                    format!("cluster `{qualified}` is defined twice"),
                    "give each cluster of a namespace its own name".into(),
                );
            }
            if !matches!(cluster.control_plane_replicas, 1 | 3) {
                r.error(&cpath.key("control_plane").key("replicas"), &qualified, "bad_replicas", format!("cluster `{qualified}` has {} control-plane replicas; Cluster API control planes here run 1 or 3", cluster.control_plane_replicas), "use 3 for HA or 1 for a throwaway cluster".into());
            }
            let storage_policy = use_policy(
                &mut r,
                &cluster.storage_policy,
                &cpath.key("storage_policy"),
                &qualified,
            );
            let cluster_index = clusters.len();
            clusters.push(ClusterSpec {
                name: qualified.clone(),
                namespace: ni,
                kubernetes_version: cluster.kubernetes_version.clone(),
                priority: cluster.priority,
                load_balancer_ips: 1 + cluster.load_balancer_services,
                max_surge: cluster.max_surge,
                max_unavailable: cluster.max_unavailable,
            });
            let mut unit_groups = Vec::new();
            let mut push_group = |r: &mut Resolver,
                                  groups: &mut Vec<Group>,
                                  vms: &mut Vec<VmSlot>,
                                  name: String,
                                  kind: GroupKind,
                                  class: &str,
                                  class_path: &Path,
                                  replicas: usize,
                                  stem: &str| {
                let class_spec =
                    use_class(r, class, class_path, &qualified).map(|i| classes[i].clone());
                let Some(class_spec) = class_spec else { return };
                let group = groups.len();
                groups.push(Group {
                    name,
                    kind,
                    namespace: Some(ni),
                    class: class_spec.name.clone(),
                    vcpus: class_spec.cpus,
                    memory: class_spec.memory,
                    reserved: class_spec.reserved,
                    devices: class_spec.devices.clone(),
                    disk: cluster.disk,
                    storage_policy,
                    vms: (vms.len()..vms.len() + replicas).collect(),
                });
                for n in 1..=replicas {
                    vms.push(VmSlot {
                        name: format!("{stem}-{n}"),
                        group,
                    });
                }
                unit_groups.push(group);
            };
            push_group(
                &mut r,
                &mut groups,
                &mut vms,
                format!("{qualified}/cp"),
                GroupKind::ControlPlane {
                    cluster: cluster_index,
                },
                &cluster.control_plane_vm_class,
                &cpath.key("control_plane").key("vm_class"),
                cluster.control_plane_replicas.min(3) as usize,
                &format!("{qualified}/cp"),
            );
            let mut pool_names: HashSet<&str> = HashSet::new();
            for (pi, pool) in cluster.node_pools.iter().enumerate() {
                let ppath = cpath.key("node_pools").index(pi);
                r.check_name("node pool", &pool.name, &ppath.key("name"));
                if pool.name == "cp" {
                    r.error(&ppath.key("name"), &qualified, "reserved_name", "a node pool may not be named `cp`: `NS/CLUSTER/cp-N` names control-plane VMs".into(), "rename the pool".into());
                }
                if !pool_names.insert(&pool.name) {
                    r.error(
                        &ppath.key("name"),
                        &qualified,
                        "duplicate_name",
                        format!(
                            "node pool `{}` of `{qualified}` is defined twice",
                            pool.name
                        ),
                        "give each pool of a cluster its own name".into(),
                    );
                }
                let zone = pool.zone.as_deref().and_then(|zone| {
                    let found = zone_index(zone);
                    if found.is_none() {
                        r.error(&ppath.key("zone"), &qualified, "unknown_reference", format!("node pool `{}` of `{qualified}` is pinned to zone `{zone}`, which no host is in", pool.name), if zones.is_empty() { "no host names a zone: give hosts a `zone` or remove the pool's `zone`".to_string() } else { format!("use one of the zones ({}) or put hosts in `{zone}`", zones.join(", ")) });
                    }
                    found
                });
                push_group(
                    &mut r,
                    &mut groups,
                    &mut vms,
                    format!("{qualified}/{}", pool.name),
                    GroupKind::NodePool {
                        cluster: cluster_index,
                        pool: pool.name.clone(),
                        zone,
                    },
                    &pool.vm_class,
                    &ppath.key("vm_class"),
                    pool.replicas.min(10_000) as usize,
                    &format!("{qualified}/{}", pool.name),
                );
            }
            admission_units.push(AdmissionUnit {
                name: qualified.clone(),
                priority: cluster.priority,
                groups: unit_groups,
            });
        }
        let mut vm_names: HashSet<&str> = HashSet::new();
        for (vi, vm) in ns.vms.iter().enumerate() {
            let vpath = path.key("vms").index(vi);
            let qualified = format!("{}/vm/{}", ns.name, vm.name);
            r.check_name("VM", &vm.name, &vpath.key("name"));
            if !vm_names.insert(&vm.name) {
                r.error(
                    &vpath.key("name"),
                    &qualified,
                    "duplicate_name",
                    format!("VM `{qualified}` is defined twice"),
                    "give each VM of a namespace its own name".into(),
                );
            }
            let storage_policy = use_policy(
                &mut r,
                &vm.storage_policy,
                &vpath.key("storage_policy"),
                &qualified,
            );
            let Some(class) = use_class(&mut r, &vm.vm_class, &vpath.key("vm_class"), &qualified)
                .map(|i| classes[i].clone())
            else {
                continue;
            };
            let group = groups.len();
            groups.push(Group {
                name: qualified.clone(),
                kind: GroupKind::ServiceVm {
                    priority: vm.priority,
                },
                namespace: Some(ni),
                class: class.name.clone(),
                vcpus: class.cpus,
                memory: class.memory,
                reserved: class.reserved,
                devices: class.devices.clone(),
                disk: vm.disk,
                storage_policy,
                vms: vec![vms.len()],
            });
            vms.push(VmSlot {
                name: qualified.clone(),
                group,
            });
            admission_units.push(AdmissionUnit {
                name: qualified,
                priority: vm.priority,
                groups: vec![group],
            });
        }
    }

    // --- Rules ------------------------------------------------------------------------------
    let rule_path = |i: usize| root.key("rules").index(i);
    r.names(
        "rule",
        t.rules
            .iter()
            .enumerate()
            .map(|(i, rule)| (rule.name.as_str(), rule_path(i).key("name"))),
    );
    let mut rules = Vec::new();
    for (ri, rule) in t.rules.iter().enumerate() {
        let path = rule_path(ri);
        let select = |r: &mut Resolver,
                      key: &str,
                      patterns: &[String],
                      names: &mut dyn Iterator<Item = &str>|
         -> Vec<usize> {
            let names: Vec<&str> = names.collect();
            let mut selected = Vec::new();
            if patterns.is_empty() {
                r.error(
                    &path.key(key),
                    &rule.name,
                    "empty_selection",
                    format!("rule `{}` lists no {key}", rule.name),
                    format!("add at least one pattern to `{key}`"),
                );
            }
            for (pi, pattern) in patterns.iter().enumerate() {
                let ppath = path.key(key).index(pi);
                match Glob::new(pattern) {
                    Err(why) => r.error(
                        &ppath,
                        &rule.name,
                        "bad_glob",
                        format!("rule `{}`: {why}", rule.name),
                        "close every `[` and keep ranges low-high".into(),
                    ),
                    Ok(glob) => {
                        let before = selected.len();
                        selected.extend(
                            names
                                .iter()
                                .enumerate()
                                .filter(|(_, name)| glob.matches(name))
                                .map(|(i, _)| i),
                        );
                        if selected.len() == before {
                            let what = if key == "vms" {
                                "VM (names look like `team-a/prod/workers-1`)"
                            } else {
                                "host"
                            };
                            r.error(
                                &ppath,
                                &rule.name,
                                "empty_selection",
                                format!(
                                    "pattern `{pattern}` of rule `{}` selects no {what}",
                                    rule.name
                                ),
                                "fix the pattern or remove it; `*` matches any run including `/`"
                                    .to_string(),
                            );
                        }
                    }
                }
            }
            selected.sort_unstable();
            selected.dedup();
            selected
        };
        let selected_vms = select(
            &mut r,
            "vms",
            &rule.vms,
            &mut vms.iter().map(|vm| vm.name.as_str()),
        );
        let selected_hosts = if rule.kind == RuleKind::VmHost {
            select(
                &mut r,
                "hosts",
                &rule.hosts,
                &mut hosts.iter().map(|h| h.name.as_str()),
            )
        } else {
            Vec::new()
        };
        rules.push(RuleSpec {
            name: rule.name.clone(),
            kind: rule.kind,
            vms: selected_vms,
            hosts: selected_hosts,
            must: rule.must,
            run_on: rule.run_on,
        });
    }

    // --- Placement --------------------------------------------------------------------------
    let vm_index: HashMap<&str, usize> = vms
        .iter()
        .enumerate()
        .map(|(i, vm)| (vm.name.as_str(), i))
        .collect();
    let mut placement = Vec::new();
    for (vm, host) in &t.placement {
        let path = root.key("placement").key(vm);
        let vm_found = vm_index.get(vm.as_str()).copied();
        if vm_found.is_none() {
            r.error(&path, vm, "unknown_reference", format!("placement names VM `{vm}`, which the topology does not define"), "VM names are derived: `supervisor/cp-N`, `NS/CLUSTER/cp-N`, `NS/CLUSTER/POOL-N`, `NS/vm/NAME`".into());
        }
        let host_found = r.reference(&host_names, "host", host, &path, vm);
        if let (Some(vm), Some(host)) = (vm_found, host_found) {
            placement.push((vm, host));
        }
    }

    // --- Upgrade ----------------------------------------------------------------------------
    let upgrade = t.upgrade.as_ref().map(|upgrade| {
        let path = root.key("upgrade");
        let mut upgrade_clusters = Vec::new();
        for (name, target) in &upgrade.clusters {
            let cpath = path.key("clusters").key(name);
            match clusters.iter().position(|c| &c.name == name) {
                None => r.error(&cpath, name, "unknown_reference", format!("upgrade names cluster `{name}`, which does not exist"), "name clusters as `NAMESPACE/CLUSTER`".into()),
                Some(index) => {
                    let current = &clusters[index].kubernetes_version;
                    let (major, minor, _) = current.numbers;
                    if target < current {
                        r.error(&cpath, name, "downgrade", format!("cluster `{name}` runs {current}; {target} is older, and Kubernetes does not downgrade"), format!("target {current} or later"));
                    } else if target.numbers.0 != major || target.numbers.1 > minor + 1 {
                        r.error(&cpath, name, "version_skip", format!("cluster `{name}` runs {current}; {target} skips a minor version, which Kubernetes upgrades do not allow"), format!("upgrade to v{major}.{}.x first", minor + 1));
                    }
                    upgrade_clusters.push((index, target.clone()));
                }
            }
        }
        let mut upgrade_hosts = Vec::new();
        for (i, host) in upgrade.hosts.iter().enumerate() {
            let hpath = path.key("hosts").index(i);
            if let Some(index) = r.reference(&host_names, "host", host, &hpath, host) {
                if upgrade_hosts.contains(&index) {
                    r.error(&hpath, host, "duplicate_name", format!("host `{host}` is listed twice in `upgrade.hosts`"), "list each host once".into());
                } else {
                    upgrade_hosts.push(index);
                }
            }
        }
        if upgrade.supervisor && t.supervisor.is_none() {
            r.error(&path.key("supervisor"), "supervisor", "unknown_reference", "the upgrade rolls the Supervisor, but the topology has none".into(), "remove `upgrade.supervisor` or describe the Supervisor".into());
        }
        UpgradeSpec { clusters: upgrade_clusters, hosts: upgrade_hosts, supervisor: upgrade.supervisor, max_hosts_in_maintenance: upgrade.max_hosts_in_maintenance }
    });

    if !r.errors.0.is_empty() {
        return Err(r.errors.0);
    }
    let group_units = (0..groups.len())
        .map(|group| {
            admission_units
                .iter()
                .position(|unit| unit.groups.contains(&group))
        })
        .collect();
    let cluster_units = clusters
        .iter()
        .map(|cluster| {
            admission_units
                .iter()
                .position(|unit| unit.name == cluster.name)
        })
        .collect();
    Ok(Inventory {
        topology: topology.clone(),
        policy,
        zones,
        three_zone,
        hosts,
        classes,
        storage_policies: t.storage_policies.clone(),
        networks: t.networks.clone(),
        supervisor_networks,
        namespaces,
        clusters,
        groups,
        vms,
        admission_units,
        rules,
        placement,
        upgrade,
        group_units,
        cluster_units,
    })
}

#[cfg(test)]
mod tests {
    use super::is_valid_name;

    #[test]
    fn names_follow_the_pattern() {
        for good in ["a", "esx-01", "team-a", "v1.2", "0"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "team_a", "a/b", "a b", ".a"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
