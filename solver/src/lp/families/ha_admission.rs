//! HA admission, percentage policy: with k host failures to tolerate and H hosts not in
//! maintenance, reserved vCPUs <= (1 - k/H) of the cores and reserved memory <= (1 - k/H) of
//! the memory, totalled over those hosts. Written as `H * reserved <= (H - k) * total` so the
//! coefficients stay exact.

use crate::lp::{Compiler, Family, FamilyStats};
use good_lp::Expression;

/// HA admission control.
pub struct HaAdmission;

impl Family for HaAdmission {
    fn name(&self) -> &'static str {
        "ha_admission"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let inventory = compiler.inventory;
        let k = f64::from(inventory.policy.host_failures_to_tolerate);
        if k == 0.0 {
            return FamilyStats::default();
        }
        let active: Vec<_> = inventory.hosts.iter().filter(|h| !h.maintenance).collect();
        let h = active.len() as f64;
        let cores: f64 = active.iter().map(|host| f64::from(host.cpu_cores)).sum();
        let memory: f64 = active.iter().map(|host| host.memory.as_mib_f64()).sum();
        let (mut reserved_vcpus, mut reserved_memory) =
            (Expression::from(0.0), Expression::from(0.0));
        for (block_index, block) in compiler.blocks.iter().enumerate() {
            let group = &inventory.groups[block.group];
            if group.reserved {
                let admitted = compiler.admitted(block_index) * f64::from(block.size());
                reserved_vcpus += admitted.clone() * f64::from(group.vcpus);
                reserved_memory += admitted * group.memory.as_mib_f64();
            }
        }
        compiler.row("ha_admission", (reserved_vcpus * h).leq((h - k) * cores));
        compiler.row("ha_admission", (reserved_memory * h).leq((h - k) * memory));
        FamilyStats {
            rows: 2,
            columns: 0,
        }
    }
}
