//! The `supervisor` section: control-plane replicas, zones and networks, and the group of
//! its control-plane VMs.

use super::classes::Catalog;
use super::hosts::Zones;
use super::{numbered, Resolver, Workloads};
use crate::document::{Bytes, NetworkKind, Path, Supervisor};
use crate::inventory::{Group, GroupKind, SupervisorNetworks, SupervisorSpec};
use std::collections::HashSet;

impl Resolver<'_> {
    /// Checks the Supervisor, if any, and adds the group of its control-plane VMs; returns
    /// it resolved, and its networks (management, workload, load balancer) when all three
    /// resolve.
    pub(super) fn supervisor(
        &mut self,
        zones: &Zones,
        catalog: &Catalog,
        workloads: &mut Workloads,
    ) -> Option<SupervisorSpec> {
        let supervisor = self.t.supervisor.as_ref()?;
        let path = self.root.key("supervisor");
        self.supervisor_replicas_and_zones(supervisor, &path, zones);
        let networks = self.supervisor_networks(supervisor, &path, catalog);
        let (vcpus, memory) = supervisor.size.resources();
        let replicas = supervisor.replicas.min(3) as usize;
        let group = workloads.add_group(
            Group {
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
                vms: Vec::new(),
            },
            numbered("supervisor/cp", replicas),
        );
        // Without its networks the document has errors, and no inventory is made of it.
        Some(SupervisorSpec {
            replicas: supervisor.replicas,
            group,
            networks: networks?,
        })
    }

    /// Checks the control-plane replicas (1 or 3) and, for a Supervisor that spans zones,
    /// that it spans 3 distinct ones, each with a host, with one control-plane VM per zone.
    fn supervisor_replicas_and_zones(
        &mut self,
        supervisor: &Supervisor,
        path: &Path,
        zones: &Zones,
    ) {
        if !matches!(supervisor.replicas, 1 | 3) {
            self.error(
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
        if !zones.three_zone {
            return;
        }
        let supervisor_zones = &zones.supervisor;
        let distinct: HashSet<&String> = supervisor_zones.iter().collect();
        if supervisor_zones.len() != 3 || distinct.len() != 3 {
            self.error(&path.key("zones"), "supervisor", "bad_zones", format!("a zonal Supervisor spans exactly 3 distinct zones; `supervisor.zones` lists {}", supervisor_zones.len()), "list 3 distinct zones, or remove `zones` for a 1-zone Supervisor".into());
        }
        if supervisor.replicas != 3 {
            self.error(
                &path.key("control_plane").key("replicas"),
                "supervisor",
                "bad_replicas",
                "a 3-zone Supervisor runs 3 control-plane VMs, one per zone".into(),
                "set `replicas` to 3".into(),
            );
        }
        for (i, zone) in supervisor_zones.iter().enumerate() {
            self.check_name("zone", zone, &path.key("zones").index(i));
            if !self.t.hosts.iter().any(|h| h.zone.as_ref() == Some(zone)) {
                self.error(
                    &path.key("zones").index(i),
                    "supervisor",
                    "unknown_reference",
                    format!("zone `{zone}` of the Supervisor has no host"),
                    format!("put hosts in `{zone}` (host `zone` field) or fix the zone name"),
                );
            }
        }
    }

    /// Resolves the Supervisor's management, workload and load-balancer networks, each of
    /// its kind; all three, or `None` when one does not resolve.
    fn supervisor_networks(
        &mut self,
        supervisor: &Supervisor,
        path: &Path,
        catalog: &Catalog,
    ) -> Option<SupervisorNetworks> {
        let management = self.network_of_kind(
            catalog,
            &supervisor.management_network,
            NetworkKind::Management,
            &path.key("management_network"),
            "supervisor",
        );
        let workload = self.network_of_kind(
            catalog,
            &supervisor.workload_network,
            NetworkKind::Workload,
            &path.key("workload_network"),
            "supervisor",
        );
        let load_balancer = self.network_of_kind(
            catalog,
            &supervisor.load_balancer_network,
            NetworkKind::LoadBalancer,
            &path.key("load_balancer_network"),
            "supervisor",
        );
        match (management, workload, load_balancer) {
            (Some(management), Some(workload), Some(load_balancer)) => Some(SupervisorNetworks {
                management,
                workload,
                load_balancer,
            }),
            _ => None,
        }
    }
}
