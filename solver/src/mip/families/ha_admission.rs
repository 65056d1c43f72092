//! HA admission, percentage policy: with k host failures to tolerate and H hosts not in
//! maintenance, reserved vCPUs <= (1 - k/H) of the cores and reserved memory <= (1 - k/H) of
//! the memory, totalled over those hosts. The vCPU row is `reserved <= floor((H - k) * cores /
//! H)` in integers (vCPUs are whole), the memory row in GiB.

use crate::mip::{gib, Compiler, Family, FamilyStats, Owner};
use good_lp::Expression;
use vksplan_model::{Constraint, Layer};

/// HA admission control.
pub struct HaAdmission;

impl Family for HaAdmission {
    fn name(&self) -> &'static str {
        "ha_admission"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let inventory = compiler.inventory;
        let k = u64::from(inventory.policy.host_failures_to_tolerate);
        if k == 0 {
            return FamilyStats::default();
        }
        // No host left after the failures: nothing may be reserved.
        let (usable_cores, usable_memory) = inventory.ha_usable(&inventory.maintenance());
        let usable_memory = vksplan_model::Bytes(usable_memory.min(u128::from(u64::MAX)) as u64);
        let (mut reserved_vcpus, mut reserved_memory) =
            (Expression::from(0.0), Expression::from(0.0));
        for (block_index, block) in compiler.blocks.iter().enumerate() {
            let group = &inventory.groups[block.group];
            if group.reserved {
                let admitted = compiler.admitted(block_index) * f64::from(block.size());
                reserved_vcpus += admitted.clone() * f64::from(group.vcpus);
                reserved_memory += admitted * gib(group.memory);
            }
        }
        let owner = Owner::new(Layer::Infrastructure, "hosts", Constraint::HaAdmission);
        compiler.row(owner.clone(), reserved_vcpus.leq(usable_cores as f64));
        compiler.row(owner, reserved_memory.leq(gib(usable_memory)));
        FamilyStats {
            rows: 2,
            columns: 0,
        }
    }
}
