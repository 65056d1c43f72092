//! Namespace limits: vCPUs x vcpu_mhz within the CPU limit, memory within the memory limit,
//! disk per storage policy within its storage limit; in a 3-zone Supervisor the CPU and memory
//! limits also hold per zone at a third each (`3 * zone use <= limit`). CPU rows count vCPUs
//! against `floor(limit / vcpu_mhz)` (exact: vCPUs are whole); memory and disk are in GiB. In
//! an elastic model every limit has a slack (see `Compiler::slack`).

use crate::mip::{gib, Compiler, Family, FamilyStats, Owner, Relaxable};
use good_lp::Expression;
use vksplan_model::HostId;
use vksplan_model::{Constraint, Layer};

/// Namespace CPU, memory and storage limits.
pub struct NamespaceLimits;

impl Family for NamespaceLimits {
    fn name(&self) -> &'static str {
        "namespace_limits"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let inventory = compiler.inventory;
        let mhz = inventory.policy.vcpu_mhz;
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
            // Everything the namespace could use: the bounds of its slacks.
            let (mut all_vcpus, mut all_memory) = (0.0, 0.0);
            let mut all_storage = vec![0.0; inventory.storage_policies.len()];
            for (block_index, block) in compiler.blocks.iter().enumerate() {
                let group = &inventory.groups[block.group];
                if group.namespace != Some(namespace_index) {
                    continue;
                }
                all_vcpus += f64::from(block.size()) * f64::from(group.vcpus);
                all_memory += f64::from(block.size()) * gib(group.memory);
                if let Some(policy) = group.storage_policy {
                    all_storage[policy] += f64::from(block.size()) * gib(group.disk);
                }
                for (host, count) in &compiler.counts[block_index] {
                    cpu += *count * f64::from(group.vcpus);
                    memory += *count * gib(group.memory);
                    if let (true, Some(zone)) = (
                        inventory.three_zone,
                        inventory.hosts[HostId::new(*host)].zone,
                    ) {
                        zone_cpu[zone] += *count * f64::from(group.vcpus);
                        zone_memory[zone] += *count * gib(group.memory);
                    }
                }
                if let Some(policy) = group.storage_policy {
                    storage[policy] += compiler.admitted(block_index)
                        * (f64::from(block.size()) * gib(group.disk));
                }
            }
            if let Some(limit) = namespace.cpu_mhz_limit {
                // vCPUs are whole: sum * mhz <= limit  <=>  sum <= floor(limit / mhz), and
                // 3 * zone sum * mhz <= limit  <=>  zone sum <= floor(limit / (3 * mhz)).
                // With slack (elastic model, in vCPUs): sum <= limit / mhz + slack and
                // 3 * zone sum <= limit / mhz + slack, the same for whole sums.
                let owner = Owner::new(Layer::Namespace, &namespace.name, Constraint::CpuLimit);
                let slack = compiler.slack(Relaxable::CpuLimit(namespace_index), 3.0 * all_vcpus);
                if compiler.is_elastic() {
                    let limit = limit as f64 / mhz as f64;
                    rows.push((owner.clone(), cpu.leq(slack.clone() + limit)));
                    rows.extend(
                        zone_cpu
                            .into_iter()
                            .map(|use_| (owner.clone(), (use_ * 3.0).leq(slack.clone() + limit))),
                    );
                } else {
                    rows.push((owner.clone(), cpu.leq((limit / mhz) as f64)));
                    rows.extend(
                        zone_cpu
                            .into_iter()
                            .map(|use_| (owner.clone(), use_.leq((limit / (3 * mhz)) as f64))),
                    );
                }
            }
            if let Some(limit) = namespace.memory_limit {
                let owner = Owner::new(Layer::Namespace, &namespace.name, Constraint::MemoryLimit);
                let slack =
                    compiler.slack(Relaxable::MemoryLimit(namespace_index), 3.0 * all_memory);
                rows.push((owner.clone(), memory.leq(slack.clone() + gib(limit))));
                rows.extend(
                    zone_memory
                        .into_iter()
                        .map(|use_| (owner.clone(), (use_ * 3.0).leq(slack.clone() + gib(limit)))),
                );
            }
            if storage_on {
                for (policy, used) in storage.into_iter().enumerate() {
                    if let Some(limit) = namespace.storage_limits[policy] {
                        let slack = compiler.slack(
                            Relaxable::StorageLimit(namespace_index, policy),
                            all_storage[policy],
                        );
                        rows.push((
                            Owner::new(Layer::Namespace, &namespace.name, Constraint::StorageLimit),
                            used.leq(slack + gib(limit)),
                        ));
                    }
                }
            }
        }
        compiler.add_rows(rows)
    }
}
