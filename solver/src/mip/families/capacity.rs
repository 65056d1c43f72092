//! Host capacity: reserved vCPUs and memory within the physical cores and memory, all vCPUs and
//! memory within the overcommitted limits.

use crate::mip::{gib, Compiler, Family, FamilyStats, Owner};
use good_lp::Expression;
use vksplan_model::HostId;
use vksplan_model::{Constraint, Layer};

/// Host capacity, reserved and overcommitted.
pub struct HostCapacity;

impl Family for HostCapacity {
    fn name(&self) -> &'static str {
        "host_capacity"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let mut stats = FamilyStats::default();
        for host_index in 0..compiler.inventory.hosts.len() {
            let host = &compiler.inventory.hosts[HostId::new(host_index)];
            let (mut vcpus, mut memory) = (Expression::from(0.0), Expression::from(0.0));
            let (mut reserved_vcpus, mut reserved_memory) =
                (Expression::from(0.0), Expression::from(0.0));
            let mut any_reserved = false;
            for (block, count) in &compiler.by_host[host_index] {
                let group = &compiler.inventory.groups[compiler.blocks[*block].group];
                vcpus += *count * f64::from(group.vcpus);
                memory += *count * gib(group.memory);
                if group.reserved {
                    any_reserved = true;
                    reserved_vcpus += *count * f64::from(group.vcpus);
                    reserved_memory += *count * gib(group.memory);
                }
            }
            if compiler.by_host[host_index].is_empty() {
                continue;
            }
            let mut rows = vec![
                vcpus.leq(host.vcpu_limit as f64),
                memory.leq(gib(host.memory_limit)),
            ];
            if any_reserved {
                rows.push(reserved_vcpus.leq(f64::from(host.cpu_cores)));
                rows.push(reserved_memory.leq(gib(host.memory)));
            }
            stats.rows += rows.len();
            let owner = Owner::new(
                Layer::Infrastructure,
                &compiler.inventory.hosts[HostId::new(host_index)].name,
                Constraint::HostCapacity,
            );
            for row in rows {
                compiler.row(owner.clone(), row);
            }
        }
        stats
    }
}
