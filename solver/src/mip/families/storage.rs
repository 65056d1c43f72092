//! Storage capacity: per storage policy, the disks of every admitted VM within `capacity`.

use crate::mip::{gib, Compiler, Family, FamilyStats, Owner, Relaxable};
use good_lp::Expression;
use vksplan_model::{Constraint, Layer};

/// Storage policy capacity.
pub struct StorageCapacity;

impl Family for StorageCapacity {
    fn name(&self) -> &'static str {
        "storage_capacity"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let inventory = compiler.inventory;
        let mut used = vec![Expression::from(0.0); inventory.storage_policies.len()];
        let mut all = vec![0.0; inventory.storage_policies.len()];
        for (block_index, block) in compiler.blocks.iter().enumerate() {
            let group = &inventory.groups[block.group];
            if let Some(policy) = group.storage_policy {
                let disks = f64::from(block.size()) * gib(group.disk);
                used[policy] += compiler.admitted(block_index) * disks;
                all[policy] += disks;
            }
        }
        let mut stats = FamilyStats::default();
        for (policy, used) in used.into_iter().enumerate() {
            if let Some(capacity) = inventory.storage_policies[policy].capacity {
                let owner = Owner::new(
                    Layer::Infrastructure,
                    &inventory.storage_policies[policy].name,
                    Constraint::StorageCapacity,
                );
                let slack = compiler.slack(Relaxable::StorageCapacity(policy), all[policy]);
                compiler.row(owner, used.leq(slack + gib(capacity)));
                stats.rows += 1;
            }
        }
        stats
    }
}
