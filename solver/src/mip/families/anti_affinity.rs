//! Control-plane anti-affinity: the control-plane VMs of the Supervisor and of each 3-replica
//! cluster on pairwise distinct hosts (count bounds of 1 already say so per block; this row
//! sums the blocks of one group), and with a 3-zone Supervisor in distinct zones.

use crate::mip::{Compiler, Family, FamilyStats, Owner};
use good_lp::Expression;
use std::collections::BTreeMap;
use vksplan_model::GroupId;
use vksplan_model::HostId;
use vksplan_model::{Constraint, Layer};

/// Control-plane anti-affinity over hosts and zones.
pub struct AntiAffinity;

impl Family for AntiAffinity {
    fn name(&self) -> &'static str {
        "anti_affinity"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let inventory = compiler.inventory;
        let mut rows = Vec::new();
        for (group_index, group) in inventory.groups.iter().enumerate() {
            if !group.anti_affine() {
                continue;
            }
            let mut per_host: BTreeMap<usize, Expression> = BTreeMap::new();
            let mut per_zone: BTreeMap<usize, Expression> = BTreeMap::new();
            for (block_index, block) in compiler.blocks.iter().enumerate() {
                if block.group != GroupId::new(group_index) {
                    continue;
                }
                for (host, count) in &compiler.counts[block_index] {
                    *per_host.entry(*host).or_default() += *count;
                    if let (true, Some(zone)) = (
                        inventory.three_zone,
                        inventory.hosts[HostId::new(*host)].zone,
                    ) {
                        *per_zone.entry(zone).or_default() += *count;
                    }
                }
            }
            let layer = if group.kind == vksplan_model::GroupKind::SupervisorControlPlane {
                Layer::Supervisor
            } else {
                Layer::Cluster
            };
            let owner = Owner::new(layer, &group.name, Constraint::AntiAffinity);
            rows.extend(
                per_host
                    .into_values()
                    .chain(per_zone.into_values())
                    .map(|sum| (owner.clone(), sum.leq(1.0))),
            );
        }
        compiler.add_rows(rows)
    }
}
