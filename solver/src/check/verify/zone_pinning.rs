//! Zone pinning: a node pool pinned to a zone runs only on that zone's hosts (the MIP has no
//! row for it: a pinned pool has no count column outside its zone).

use super::ByGroup;
use vksplan_model::inventory::GroupKind;
use vksplan_model::{Constraint, Diagnostic, Inventory, Layer};

/// Pinned pools within their zones.
pub(super) fn check(inventory: &Inventory, by_group: &ByGroup, violations: &mut Vec<Diagnostic>) {
    for (g, group) in inventory.groups.iter().enumerate() {
        let copies = by_group.of(g);
        if let GroupKind::NodePool {
            zone: Some(zone), ..
        } = group.kind
        {
            if copies
                .iter()
                .any(|c| inventory.hosts[c.host].zone != Some(zone))
            {
                violations.push(Diagnostic::new(
                    Layer::Cluster,
                    &group.name,
                    Constraint::ZonePinning,
                    format!(
                        "node pool `{}` is pinned to zone `{}` but runs outside it",
                        group.name, inventory.zones[zone]
                    ),
                    "keep the pool's VMs on hosts of its zone",
                ));
            }
        }
    }
}
