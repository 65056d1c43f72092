//! Control-plane anti-affinity, as `mip/families/anti_affinity.rs` states it: the
//! control-plane VMs of the Supervisor and of each 3-replica cluster on pairwise distinct
//! hosts, and with a 3-zone Supervisor in distinct zones. Two copies of one slot (a rollout)
//! may share.

use super::{Alive, ByGroup, Copy};
use std::collections::{BTreeMap, BTreeSet};
use vksplan_model::inventory::GroupKind;
use vksplan_model::HostId;
use vksplan_model::{Constraint, Diagnostic, Inventory, Layer};

/// Control-plane anti-affinity over hosts and zones.
pub(super) fn check(
    inventory: &Inventory,
    alive: Alive,
    by_group: &ByGroup,
    violations: &mut Vec<Diagnostic>,
) {
    for (g, group) in inventory.groups.iter().enumerate() {
        let copies = by_group.of(g);
        if group.anti_affine() {
            let (layer, what) = if group.kind == GroupKind::SupervisorControlPlane {
                (Layer::Supervisor, "the Supervisor control plane")
            } else {
                (Layer::Cluster, "a cluster control plane")
            };
            let in_service = (0..inventory.hosts.len())
                .filter(|h| !alive.maintenance[*h])
                .count();
            if shared_hosts(copies, Some) {
                violations.push(Diagnostic::new(layer, &group.name, Constraint::AntiAffinity, format!("control-plane VMs of `{}` ({what}) would share a host ({} replicas, {in_service} host(s) in service)", group.name, group.vms.len()), "each control-plane VM needs its own host: add a host or patch fewer hosts at once"));
            }
            if inventory.three_zone
                && shared_hosts(copies, |h| inventory.hosts[HostId::new(h)].zone)
            {
                violations.push(Diagnostic::new(
                    layer,
                    &group.name,
                    Constraint::AntiAffinity,
                    format!("control-plane VMs of `{}` would share a zone", group.name),
                    "each control-plane VM needs its own zone",
                ));
            }
        }
    }
}

/// Whether two different slots among `copies` share a place (`key` of a host: the host, or its
/// zone), which breaks "pairwise distinct hosts" (two copies of one slot may share).
pub(super) fn shared_hosts(copies: &[Copy], key: impl Fn(usize) -> Option<usize>) -> bool {
    let mut slots_on: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for copy in copies {
        if let Some(place) = key(copy.host.index()) {
            slots_on.entry(place).or_default().insert(copy.vm.index());
        }
    }
    slots_on.values().any(|slots| slots.len() > 1)
}
