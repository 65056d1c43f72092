//! The objective expressions of SPEC section 4 and the columns they need: admission (priority
//! sum, then count), migrations against `placement` (on the counts: `m >= current * admitted -
//! count`), balance (`U >= utilisation` per host) or consolidate (`used[host]` binaries), and
//! spread (`s[pool] >= count on each host`). Soft rules are [`super::rules`]'s.

use crate::lp::{Compiler, Family, FamilyStats};
use good_lp::{variable, Expression};
use std::collections::BTreeMap;
use vksplan_model::topology::ObjectiveKind;
use vksplan_model::GroupKind;

/// Objective steps 1, 3, 4 and 5.
pub struct Objective;

impl Family for Objective {
    fn name(&self) -> &'static str {
        "objective"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let inventory = compiler.inventory;
        let mut stats = FamilyStats::default();

        // Step 1: admission.
        let optional: Vec<(u32, good_lp::Variable)> = inventory
            .admission_units
            .iter()
            .zip(&compiler.admit)
            .filter_map(|(unit, admit)| Some((unit.priority?, (*admit)?)))
            .collect();
        if optional.iter().any(|(priority, _)| *priority > 0) {
            compiler.objectives.priority = Some(
                optional
                    .iter()
                    .map(|(priority, admit)| *admit * f64::from(*priority))
                    .sum(),
            );
        }
        if !optional.is_empty() {
            compiler.objectives.admitted = Some(
                optional
                    .iter()
                    .map(|(_, admit)| Expression::from(*admit))
                    .sum(),
            );
        }

        // Step 3: migrations.
        let mut migrations = Expression::from(0.0);
        let mut any_current = false;
        for block_index in 0..compiler.blocks.len() {
            let current = compiler.blocks[block_index].current.clone();
            for (host, today) in current {
                any_current = true;
                let group = &inventory.groups[compiler.blocks[block_index].group];
                let name = format!(
                    "moved[block={}#{block_index},host={}]",
                    group.name, inventory.hosts[host].name
                );
                let moved = compiler.column(variable().min(0).name(name));
                stats.columns += 1;
                let count: Expression = compiler.counts[block_index]
                    .iter()
                    .find(|(h, _)| *h == host)
                    .map_or(Expression::from(0.0), |(_, count)| Expression::from(*count));
                let kept_away = compiler.admitted(block_index) * f64::from(today) - count;
                compiler.row("objective", Expression::from(moved).geq(kept_away));
                stats.rows += 1;
                migrations += moved;
            }
        }
        if any_current {
            compiler.objectives.migrations = Some(migrations);
        }

        // Step 4.
        match inventory.policy.objective {
            ObjectiveKind::Balance => {
                let peak = compiler.column(variable().min(0).name("utilisation[max]"));
                stats.columns += 1;
                for host_index in 0..inventory.hosts.len() {
                    let host = &inventory.hosts[host_index];
                    let (mut vcpus, mut memory) = (Expression::from(0.0), Expression::from(0.0));
                    for (block, count) in &compiler.by_host[host_index] {
                        let group = &inventory.groups[compiler.blocks[*block].group];
                        vcpus += *count * f64::from(group.vcpus);
                        memory += *count * group.memory.as_mib_f64();
                    }
                    if compiler.by_host[host_index].is_empty() {
                        continue;
                    }
                    // utilisation = use / limit <= peak, as use / limit - peak <= 0 (scaled by
                    // 1/limit so every row has coefficients near 1).
                    if host.vcpu_limit > 0 {
                        compiler.row(
                            "objective",
                            (vcpus * (1.0 / host.vcpu_limit as f64)).leq(peak),
                        );
                        stats.rows += 1;
                    }
                    if host.memory_limit.0 > 0 {
                        compiler.row(
                            "objective",
                            (memory * (1.0 / host.memory_limit.as_mib_f64())).leq(peak),
                        );
                        stats.rows += 1;
                    }
                }
                compiler.objectives.step4 = Some(peak.into());
            }
            ObjectiveKind::Consolidate => {
                let mut cost = Expression::from(0.0);
                for host_index in 0..inventory.hosts.len() {
                    if compiler.by_host[host_index].is_empty() {
                        continue;
                    }
                    let host = &inventory.hosts[host_index];
                    let used = compiler.column(
                        variable()
                            .binary()
                            .name(format!("used[host={}]", host.name)),
                    );
                    stats.columns += 1;
                    let on_host = compiler.by_host[host_index].clone();
                    for (block, count) in on_host {
                        let size = f64::from(compiler.blocks[block].size());
                        compiler.row("objective", Expression::from(count).leq(used * size));
                        stats.rows += 1;
                    }
                    cost += used * host.cost;
                }
                compiler.objectives.step4 = Some(cost);
            }
        }

        // Step 5: spread of node pools.
        let mut per_pool: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (block_index, block) in compiler.blocks.iter().enumerate() {
            if matches!(
                inventory.groups[block.group].kind,
                GroupKind::NodePool { .. }
            ) && block.size() > 0
            {
                per_pool.entry(block.group).or_default().push(block_index);
            }
        }
        if !per_pool.is_empty() {
            let mut spread = Expression::from(0.0);
            for (group, blocks) in per_pool {
                let name = format!("spread[pool={}]", inventory.groups[group].name);
                let most = compiler.column(variable().integer().min(0).name(name));
                stats.columns += 1;
                let mut per_host: BTreeMap<usize, Expression> = BTreeMap::new();
                for block in blocks {
                    for (host, count) in &compiler.counts[block] {
                        *per_host.entry(*host).or_default() += *count;
                    }
                }
                for on_host in per_host.into_values() {
                    compiler.row("objective", on_host.leq(most));
                    stats.rows += 1;
                }
                spread += most;
            }
            compiler.objectives.spread = Some(spread);
        }
        stats
    }
}
