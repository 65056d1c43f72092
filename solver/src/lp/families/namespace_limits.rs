//! Namespace limits: vCPUs x vcpu_mhz within the CPU limit, memory within the memory limit,
//! disk per storage policy within its storage limit; in a 3-zone Supervisor the CPU and memory
//! limits also hold per zone at a third each (`3 * zone use <= limit`).

use crate::lp::{Compiler, Family, FamilyStats};
use good_lp::Expression;

/// Namespace CPU, memory and storage limits.
pub struct NamespaceLimits;

impl Family for NamespaceLimits {
    fn name(&self) -> &'static str {
        "namespace_limits"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let inventory = compiler.inventory;
        let mhz = inventory.policy.vcpu_mhz as f64;
        let zones = if inventory.three_zone {
            inventory.zones.len()
        } else {
            0
        };
        let storage_on = !compiler.disabled("storage_limits");
        let mut rows = Vec::new();
        for (namespace_index, namespace) in inventory.namespaces.iter().enumerate() {
            let mut cpu = Expression::from(0.0);
            let mut memory = Expression::from(0.0);
            let mut zone_cpu = vec![Expression::from(0.0); zones];
            let mut zone_memory = vec![Expression::from(0.0); zones];
            let mut storage = vec![Expression::from(0.0); inventory.storage_policies.len()];
            for (block_index, block) in compiler.blocks.iter().enumerate() {
                let group = &inventory.groups[block.group];
                if group.namespace != Some(namespace_index) {
                    continue;
                }
                for (host, count) in &compiler.counts[block_index] {
                    cpu += *count * (f64::from(group.vcpus) * mhz);
                    memory += *count * group.memory.as_mib_f64();
                    if let (true, Some(zone)) = (inventory.three_zone, inventory.hosts[*host].zone)
                    {
                        zone_cpu[zone] += *count * (f64::from(group.vcpus) * mhz);
                        zone_memory[zone] += *count * group.memory.as_mib_f64();
                    }
                }
                if let Some(policy) = group.storage_policy {
                    storage[policy] += compiler.admitted(block_index)
                        * (f64::from(block.size()) * group.disk.as_mib_f64());
                }
            }
            if let Some(limit) = namespace.cpu_mhz_limit {
                rows.push(cpu.leq(limit as f64));
                rows.extend(
                    zone_cpu
                        .into_iter()
                        .map(|use_| (use_ * 3.0).leq(limit as f64)),
                );
            }
            if let Some(limit) = namespace.memory_limit {
                rows.push(memory.leq(limit.as_mib_f64()));
                rows.extend(
                    zone_memory
                        .into_iter()
                        .map(|use_| (use_ * 3.0).leq(limit.as_mib_f64())),
                );
            }
            if storage_on {
                for (policy, used) in storage.into_iter().enumerate() {
                    if let Some(limit) = namespace.storage_limits[policy] {
                        rows.push(used.leq(limit.as_mib_f64()));
                    }
                }
            }
        }
        let stats = FamilyStats {
            rows: rows.len(),
            columns: 0,
        };
        for row in rows {
            compiler.row("namespace_limits", row);
        }
        stats
    }
}
