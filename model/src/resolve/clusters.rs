//! The clusters of a namespace (`namespaces[I].clusters`): names, replicas, storage policy,
//! and the groups of their control planes and node pools.

use super::hosts::Zones;
use super::namespaces::{class_group, Scope};
use super::{numbered, Resolver, Workloads};
use crate::document::{Cluster, NodePool, Path};
use crate::id::GroupId;
use crate::inventory::{AdmissionUnit, ClusterSpec, GroupKind};
use std::collections::HashSet;

/// One cluster being resolved: what its groups share.
struct ClusterScope<'a> {
    /// Its namespace.
    scope: &'a Scope<'a>,
    /// Index among all clusters.
    index: usize,
    /// The cluster.
    cluster: &'a Cluster,
    /// Its path, `namespaces[I].clusters[J]`.
    path: Path,
    /// `NS/CLUSTER`.
    qualified: String,
    /// The storage policy of its VMs.
    storage_policy: Option<usize>,
}

impl Resolver<'_> {
    /// Resolves the clusters of a namespace, each with its groups and admission unit.
    pub(super) fn clusters<'a>(
        &mut self,
        scope: &'a Scope<'a>,
        zones: &Zones,
        workloads: &mut Workloads,
    ) {
        let mut cluster_names: HashSet<&str> = HashSet::new();
        for (ci, cluster) in scope.ns.clusters.iter().enumerate() {
            let path = scope.path.key("clusters").index(ci);
            let qualified = format!("{}/{}", scope.ns.name, cluster.name);
            self.check_cluster(cluster, &path, &qualified, &mut cluster_names);
            let storage_policy = self.use_policy(
                scope,
                &cluster.storage_policy,
                &path.key("storage_policy"),
                &qualified,
            );
            let index = workloads.clusters.len();
            workloads.clusters.push(ClusterSpec {
                name: qualified.clone(),
                namespace: scope.index,
                kubernetes_version: cluster.kubernetes_version.clone(),
                priority: cluster.priority,
                load_balancer_ips: 1 + cluster.load_balancer_services,
                max_surge: cluster.max_surge,
                max_unavailable: cluster.max_unavailable,
            });
            let cluster_scope = ClusterScope {
                scope,
                index,
                cluster,
                path,
                qualified,
                storage_policy,
            };
            let groups = self.cluster_groups(&cluster_scope, zones, workloads);
            workloads.admission_units.push(AdmissionUnit {
                name: cluster_scope.qualified,
                priority: cluster.priority,
                groups,
            });
        }
    }

    /// Checks a cluster's name (valid, not `vm`, unique in its namespace) and its
    /// control-plane replicas (1 or 3).
    fn check_cluster<'c>(
        &mut self,
        cluster: &'c Cluster,
        path: &Path,
        qualified: &str,
        cluster_names: &mut HashSet<&'c str>,
    ) {
        self.check_name("cluster", &cluster.name, &path.key("name"));
        if cluster.name == "vm" {
            self.error(
                &path.key("name"),
                qualified,
                "reserved_name",
                "a cluster may not be named `vm`: `NS/vm/NAME` names VM Service VMs".into(),
                "rename the cluster".into(),
            );
        }
        if !cluster_names.insert(&cluster.name) {
            self.error(
                &path.key("name"),
                qualified,
                "duplicate_name",
                format!("cluster `{qualified}` is defined twice"),
                "give each cluster of a namespace its own name".into(),
            );
        }
        if !matches!(cluster.control_plane_replicas, 1 | 3) {
            self.error(&path.key("control_plane").key("replicas"), qualified, "bad_replicas", format!("cluster `{qualified}` has {} control-plane replicas; Cluster API control planes here run 1 or 3", cluster.control_plane_replicas), "use 3 for HA or 1 for a throwaway cluster".into());
        }
    }

    /// Adds the groups of a cluster, control plane first, then each node pool; returns the
    /// ids of those whose class is usable.
    fn cluster_groups(
        &mut self,
        cluster_scope: &ClusterScope,
        zones: &Zones,
        workloads: &mut Workloads,
    ) -> Vec<GroupId> {
        let (cluster, cpath, qualified) = (
            cluster_scope.cluster,
            &cluster_scope.path,
            &cluster_scope.qualified,
        );
        let mut groups = Vec::new();
        groups.extend(self.cluster_group(
            cluster_scope,
            format!("{qualified}/cp"),
            GroupKind::ControlPlane {
                cluster: cluster_scope.index,
            },
            (
                &cluster.control_plane_vm_class,
                &cpath.key("control_plane").key("vm_class"),
            ),
            cluster.control_plane_replicas.min(3) as usize,
            workloads,
        ));
        let mut pool_names: HashSet<&str> = HashSet::new();
        for (pi, pool) in cluster.node_pools.iter().enumerate() {
            let ppath = cpath.key("node_pools").index(pi);
            let zone = self.check_pool(pool, &ppath, qualified, &mut pool_names, zones);
            groups.extend(self.cluster_group(
                cluster_scope,
                format!("{qualified}/{}", pool.name),
                GroupKind::NodePool {
                    cluster: cluster_scope.index,
                    pool: pool.name.clone(),
                    zone,
                },
                (&pool.vm_class, &ppath.key("vm_class")),
                pool.replicas.min(10_000) as usize,
                workloads,
            ));
        }
        groups
    }

    /// Checks a node pool's name (valid, not `cp`, unique in its cluster) and its zone, which
    /// some host must be in; returns the zone's index.
    fn check_pool<'p>(
        &mut self,
        pool: &'p NodePool,
        ppath: &Path,
        qualified: &str,
        pool_names: &mut HashSet<&'p str>,
        zones: &Zones,
    ) -> Option<usize> {
        self.check_name("node pool", &pool.name, &ppath.key("name"));
        if pool.name == "cp" {
            self.error(
                &ppath.key("name"),
                qualified,
                "reserved_name",
                "a node pool may not be named `cp`: `NS/CLUSTER/cp-N` names control-plane VMs"
                    .into(),
                "rename the pool".into(),
            );
        }
        if !pool_names.insert(&pool.name) {
            self.error(
                &ppath.key("name"),
                qualified,
                "duplicate_name",
                format!(
                    "node pool `{}` of `{qualified}` is defined twice",
                    pool.name
                ),
                "give each pool of a cluster its own name".into(),
            );
        }
        pool.zone.as_deref().and_then(|zone| {
            let found = zones.index(zone);
            if found.is_none() {
                self.error(&ppath.key("zone"), qualified, "unknown_reference", format!("node pool `{}` of `{qualified}` is pinned to zone `{zone}`, which no host is in", pool.name), if zones.all.is_empty() { "no host names a zone: give hosts a `zone` or remove the pool's `zone`".to_string() } else { format!("use one of the zones ({}) or put hosts in `{zone}`", zones.all.join(", ")) });
            }
            found
        })
    }

    /// Adds a group `name` of a cluster, of `replicas` VMs named `NAME-1` to `NAME-N`, when
    /// its class (name and path) is usable in the namespace; returns its index then.
    fn cluster_group(
        &mut self,
        cluster_scope: &ClusterScope,
        name: String,
        kind: GroupKind,
        (class, class_path): (&str, &Path),
        replicas: usize,
        workloads: &mut Workloads,
    ) -> Option<GroupId> {
        let scope = cluster_scope.scope;
        let class = self.use_class(scope, class, class_path, &cluster_scope.qualified)?;
        let vm_names = numbered(&name, replicas);
        Some(workloads.add_group(
            class_group(
                name,
                kind,
                scope.index,
                &class,
                cluster_scope.cluster.disk,
                cluster_scope.storage_policy,
            ),
            vm_names,
        ))
    }
}
