//! The `namespaces` section: each namespace's permitted classes and policies, limits and
//! networks, and its VM Service VMs (its clusters are in [`super::clusters`]).

use super::classes::Catalog;
use super::hosts::Zones;
use super::{Resolver, Workloads};
use crate::document::{Bytes, Namespace, NetworkKind, Path};
use crate::inventory::{
    AdmissionUnit, ClassSpec, Group, GroupKind, NamespaceSpec, SupervisorNetworks, MAX_VMS,
};
use std::collections::HashSet;

/// One namespace being resolved: what its clusters and VMs may use.
pub(super) struct Scope<'a> {
    /// Index among the namespaces.
    pub(super) index: usize,
    /// The namespace.
    pub(super) ns: &'a Namespace,
    /// Its path, `namespaces[I]`.
    pub(super) path: Path,
    /// The VM classes it permits.
    permitted_classes: HashSet<&'a str>,
    /// The storage policies it permits.
    permitted_policies: HashSet<&'a str>,
    /// The classes, storage policies and networks of the document.
    pub(super) catalog: &'a Catalog,
}

impl<'a> Scope<'a> {
    /// The scope of namespace `index`.
    fn new(index: usize, ns: &'a Namespace, path: Path, catalog: &'a Catalog) -> Scope<'a> {
        Scope {
            index,
            ns,
            path,
            permitted_classes: ns.vm_classes.iter().map(String::as_str).collect(),
            permitted_policies: ns.storage_policies.iter().map(String::as_str).collect(),
            catalog,
        }
    }
}

/// A group of VMs of one class in namespace `namespace`, without its VM slots yet.
pub(super) fn class_group(
    name: String,
    kind: GroupKind,
    namespace: usize,
    class: &ClassSpec,
    disk: Bytes,
    storage_policy: Option<usize>,
) -> Group {
    Group {
        name,
        kind,
        namespace: Some(namespace),
        class: class.name.clone(),
        vcpus: class.cpus,
        memory: class.memory,
        reserved: class.reserved,
        devices: class.devices.clone(),
        disk,
        storage_policy,
        vms: Vec::new(),
    }
}

impl Resolver<'_> {
    /// Whether the namespaces expand to more VMs than vksplan accepts (an error then).
    pub(super) fn too_many_vms(&mut self) -> bool {
        let t = self.t;
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
            self.error(
                &self.root.key("namespaces"),
                "",
                "too_large",
                format!(
                    "the topology expands to {total_vms} VMs, more than the {MAX_VMS} vksplan accepts"
                ),
                "split the topology or check the replica counts".into(),
            );
        }
        total_vms > MAX_VMS
    }

    /// Checks the namespace names, then resolves each namespace in turn: itself, its
    /// clusters, its VM Service VMs.
    pub(super) fn namespaces(
        &mut self,
        zones: &Zones,
        catalog: &Catalog,
        supervisor_networks: Option<SupervisorNetworks>,
        workloads: &mut Workloads,
    ) {
        let t = self.t;
        let namespace_path = self.root.key("namespaces");
        self.names(
            "namespace",
            t.namespaces
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.as_str(), namespace_path.index(i).key("name"))),
        );
        for (ni, ns) in t.namespaces.iter().enumerate() {
            let scope = Scope::new(ni, ns, namespace_path.index(ni), catalog);
            let spec = self.namespace_spec(&scope, supervisor_networks);
            workloads.namespaces.push(spec);
            self.clusters(&scope, zones, workloads);
            self.service_vms(&scope, workloads);
        }
    }

    /// Checks the classes and storage policies a namespace permits, and resolves its
    /// storage limits and networks.
    fn namespace_spec(
        &mut self,
        scope: &Scope,
        supervisor_networks: Option<SupervisorNetworks>,
    ) -> NamespaceSpec {
        let (ns, path) = (scope.ns, &scope.path);
        let subject = ns.name.as_str();
        for (i, class) in ns.vm_classes.iter().enumerate() {
            self.reference(
                &scope.catalog.class_names,
                "VM class",
                class,
                &path.key("vm_classes").index(i),
                subject,
            );
        }
        for (i, policy) in ns.storage_policies.iter().enumerate() {
            self.reference(
                &scope.catalog.policy_names,
                "storage policy",
                policy,
                &path.key("storage_policies").index(i),
                subject,
            );
        }
        let storage_limits = self.storage_limits(scope);
        let workload_network = self.namespace_network(
            scope,
            &ns.workload_network,
            "workload_network",
            NetworkKind::Workload,
            supervisor_networks.map(|n| n.workload),
        );
        let load_balancer_network = self.namespace_network(
            scope,
            &ns.load_balancer_network,
            "load_balancer_network",
            NetworkKind::LoadBalancer,
            supervisor_networks.map(|n| n.load_balancer),
        );
        NamespaceSpec {
            name: ns.name.clone(),
            cpu_mhz_limit: ns.cpu_mhz_limit,
            memory_limit: ns.memory_limit,
            storage_limits,
            workload_network,
            load_balancer_network,
        }
    }

    /// A namespace's storage limit per storage policy index; each limited policy must exist
    /// and be permitted.
    fn storage_limits(&mut self, scope: &Scope) -> Vec<Option<Bytes>> {
        let (ns, path) = (scope.ns, &scope.path);
        let subject = ns.name.as_str();
        let mut storage_limits = vec![None; self.t.storage_policies.len()];
        for (policy, limit) in &ns.storage_limits {
            let limit_path = path.key("limits").key("storage").key(policy);
            if let Some(index) = self.reference(
                &scope.catalog.policy_names,
                "storage policy",
                policy,
                &limit_path,
                subject,
            ) {
                storage_limits[index] = Some(*limit);
                if !scope.permitted_policies.contains(policy.as_str()) {
                    self.error(&limit_path, subject, "not_permitted", format!("namespace `{subject}` limits storage policy `{policy}`, which it does not list"), format!("add `{policy}` to `{path}.storage_policies` or remove the limit"));
                }
            }
        }
        storage_limits
    }

    /// A network of a namespace: its own (`key`, of `kind`), else the Supervisor's
    /// (`default`); an error when there is neither (index 0 then).
    fn namespace_network(
        &mut self,
        scope: &Scope,
        own: &Option<String>,
        key: &'static str,
        kind: NetworkKind,
        default: Option<usize>,
    ) -> usize {
        let path = &scope.path;
        let subject = scope.ns.name.as_str();
        match own {
            Some(name) => self
                .network_of_kind(scope.catalog, name, kind, &path.key(key), subject)
                .unwrap_or(0),
            None => default.unwrap_or_else(|| {
                if self.t.supervisor.is_none() {
                    self.error(&path.key(key), subject, "missing_field", format!("namespace `{subject}` names no {key} and there is no Supervisor to inherit one from"), format!("add `{key}` to the namespace"));
                }
                0
            }),
        }
    }

    /// A VM class used in a namespace (by `user`, at `use_path`): it must exist and be
    /// permitted by the namespace. Returns the class when it exists.
    pub(super) fn use_class(
        &mut self,
        scope: &Scope,
        class: &str,
        use_path: &Path,
        user: &str,
    ) -> Option<ClassSpec> {
        let (ns, path, subject) = (scope.ns, &scope.path, scope.ns.name.as_str());
        let index = self.reference(
            &scope.catalog.class_names,
            "VM class",
            class,
            use_path,
            user,
        )?;
        if !scope.permitted_classes.contains(class) {
            self.error(
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
        Some(scope.catalog.classes[index].clone())
    }

    /// A storage policy used in a namespace (by `user`, at `use_path`): one named must exist
    /// and be permitted; none named is the namespace's first (an error when it lists none).
    pub(super) fn use_policy(
        &mut self,
        scope: &Scope,
        policy: &Option<String>,
        use_path: &Path,
        user: &str,
    ) -> Option<usize> {
        let (ns, path, subject) = (scope.ns, &scope.path, scope.ns.name.as_str());
        let policy_names = &scope.catalog.policy_names;
        match policy {
            Some(policy) => {
                let index =
                    self.reference(policy_names, "storage policy", policy, use_path, user)?;
                if !scope.permitted_policies.contains(policy.as_str()) {
                    self.error(
                        use_path,
                        user,
                        "not_permitted",
                        format!("namespace `{subject}` does not allow storage policy `{policy}`"),
                        format!("add it to `{path}.storage_policies`"),
                    );
                }
                Some(index)
            }
            None => match ns.storage_policies.first() {
                Some(first) => policy_names.0.get(first).copied(),
                None => {
                    self.error(use_path, user, "missing_field", format!("`{user}` names no storage policy and namespace `{subject}` lists none to default to"), format!("add a storage policy to `{path}.storage_policies`"));
                    None
                }
            },
        }
    }

    /// Resolves the VM Service VMs of a namespace: unique valid names, a permitted storage
    /// policy and class; each usable one is a group of one VM and an admission unit.
    fn service_vms(&mut self, scope: &Scope, workloads: &mut Workloads) {
        let ns = scope.ns;
        let mut vm_names: HashSet<&str> = HashSet::new();
        for (vi, vm) in ns.vms.iter().enumerate() {
            let vpath = scope.path.key("vms").index(vi);
            let qualified = format!("{}/vm/{}", ns.name, vm.name);
            self.check_name("VM", &vm.name, &vpath.key("name"));
            if !vm_names.insert(&vm.name) {
                self.error(
                    &vpath.key("name"),
                    &qualified,
                    "duplicate_name",
                    format!("VM `{qualified}` is defined twice"),
                    "give each VM of a namespace its own name".into(),
                );
            }
            let storage_policy = self.use_policy(
                scope,
                &vm.storage_policy,
                &vpath.key("storage_policy"),
                &qualified,
            );
            let Some(class) =
                self.use_class(scope, &vm.vm_class, &vpath.key("vm_class"), &qualified)
            else {
                continue;
            };
            let group = workloads.add_group(
                class_group(
                    qualified.clone(),
                    GroupKind::ServiceVm {
                        priority: vm.priority,
                    },
                    scope.index,
                    &class,
                    vm.disk,
                    storage_policy,
                ),
                vec![qualified.clone()],
            );
            workloads.admission_units.push(AdmissionUnit {
                name: qualified,
                priority: vm.priority,
                groups: vec![group],
            });
        }
    }
}
