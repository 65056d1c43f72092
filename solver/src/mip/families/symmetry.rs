//! Symmetry breaking: hosts that nothing tells apart (same cores, clock, memory, devices, cost,
//! zone and maintenance state; named by no `vm_host` rule and by no current placement) are
//! interchangeable, so any plan can be relabelled to load them in non-increasing vCPU order.
//! These rows cut only relabelled copies of solutions, never a better objective, and save the
//! branch and bound from proving the same bound once per permutation.

use crate::mip::{Compiler, Family, FamilyStats};
use good_lp::Expression;
use std::collections::BTreeMap;

/// Load ordering of interchangeable hosts.
pub struct Symmetry;

impl Family for Symmetry {
    fn name(&self) -> &'static str {
        "symmetry"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let inventory = compiler.inventory;
        let mut named = vec![false; inventory.hosts.len()];
        for rule in inventory
            .rules
            .iter()
            .filter(|r| r.kind == vksplan_model::document::RuleKind::VmHost)
        {
            for host in &rule.hosts {
                named[host.index()] = true;
            }
        }
        for (_, host) in &inventory.placement {
            named[host.index()] = true;
        }
        let mut classes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, host) in inventory.hosts.iter().enumerate() {
            if named[index] || host.maintenance {
                continue;
            }
            let key = format!(
                "{}|{}|{}|{:?}|{}|{:?}",
                host.cpu_cores,
                host.cpu_core_mhz,
                host.memory.0,
                host.devices,
                host.cost,
                host.zone
            );
            classes.entry(key).or_default().push(index);
        }
        let load = |compiler: &Compiler, host: usize| -> Expression {
            compiler.by_host[host]
                .iter()
                .map(|(block, count)| {
                    *count * f64::from(inventory.groups[compiler.blocks[*block].group].vcpus)
                })
                .sum()
        };
        let mut stats = FamilyStats::default();
        compiler.symmetric_hosts = classes
            .values()
            .filter(|hosts| hosts.len() > 1)
            .cloned()
            .collect();
        for hosts in classes.values() {
            for pair in hosts.windows(2) {
                let row = load(compiler, pair[0]).geq(load(compiler, pair[1]));
                compiler.row(None, row);
                stats.rows += 1;
            }
        }
        stats
    }
}
