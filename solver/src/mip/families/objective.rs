//! The objective expressions of docs/accounting.md §12 and the columns they need: admission (priority
//! sum, then count), migrations against `placement` (on the counts: `m >= current * admitted -
//! count`), balance (per host, its vCPU and memory load as integer level columns whose bounds
//! the level search sets, and, where VMs run today, a `shed` column at most the migrations away
//! from it, whose lower bound the level search sets to what the level makes the host shed), consolidate (`used[host]` binaries on the capacity rows) and spread
//! (`s[pool] >= count on each host`). The rows over these columns are kept apart (see
//! `Objectives::step_rows`): they bind nothing before their step, as its columns are free. Soft
//! rules are [`super::rules`]'s.

use crate::mip::{gib, Compiler, Family, FamilyStats, Hint, Level};
use crate::placement::StepKind;
use good_lp::{variable, Expression};
use std::collections::BTreeMap;
use vksplan_model::document::ObjectiveKind;
use vksplan_model::GroupKind;
use vksplan_model::{GroupId, HostId};

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
        compiler.objectives.best.priority = Some(
            optional
                .iter()
                .map(|(priority, _)| f64::from(*priority))
                .sum(),
        );
        compiler.objectives.best.admitted = Some(optional.len() as f64);
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
        let mut moved_from: BTreeMap<usize, Expression> = BTreeMap::new();
        for block_index in 0..compiler.blocks.len() {
            let current = compiler.blocks[block_index].current.clone();
            for (host, today) in current {
                any_current = true;
                let group = &inventory.groups[compiler.blocks[block_index].group];
                let name = format!(
                    "moved[block={}#{block_index},host={}]",
                    group.name, inventory.hosts[host].name
                );
                let moved = compiler.column(
                    variable().min(0).name(name),
                    Hint::Moved {
                        block: block_index,
                        host: host.index(),
                    },
                );
                stats.columns += 1;
                let count: Expression = compiler.counts[block_index]
                    .iter()
                    .find(|(h, _)| *h == host.index())
                    .map_or(Expression::from(0.0), |(_, count)| Expression::from(*count));
                let kept_away = compiler.admitted(block_index) * f64::from(today) - count;
                compiler.row(None, Expression::from(moved).geq(kept_away));
                stats.rows += 1;
                migrations += moved;
                *moved_from.entry(host.index()).or_default() += moved;
            }
        }
        if any_current {
            compiler.objectives.migrations = Some(migrations);
        }

        // Step 4.
        match inventory.policy.objective {
            ObjectiveKind::Balance => stats += level_columns(compiler, moved_from),
            ObjectiveKind::Consolidate => stats += used_columns(compiler),
        }

        // Step 5: spread of node pools.
        let mut per_pool: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (block_index, block) in compiler.blocks.iter().enumerate() {
            if matches!(
                inventory.groups[block.group].kind,
                GroupKind::NodePool { .. }
            ) && block.size() > 0
            {
                per_pool
                    .entry(block.group.index())
                    .or_default()
                    .push(block_index);
            }
        }
        if !per_pool.is_empty() {
            let mut spread = Expression::from(0.0);
            let mut spread_bound = 0.0;
            for (group, blocks) in per_pool {
                let mut per_host: BTreeMap<usize, Expression> = BTreeMap::new();
                let mut replicas = 0u32;
                for block in &blocks {
                    replicas += compiler.blocks[*block].size();
                    for (host, count) in &compiler.counts[*block] {
                        *per_host.entry(*host).or_default() += *count;
                    }
                }
                // A pool that must be admitted puts at least ceil(replicas / hosts it may use)
                // VMs on its fullest host: a valid bound that often proves step 5 at once.
                let unit = compiler.blocks[blocks[0]].unit;
                let mandatory =
                    unit.is_none_or(|unit| inventory.admission_units[unit].priority.is_none());
                let least = if mandatory && !per_host.is_empty() {
                    replicas.div_ceil(per_host.len() as u32)
                } else {
                    0
                };
                let name = format!(
                    "spread[pool={}]",
                    inventory.groups[GroupId::new(group)].name
                );
                let most = compiler.column(
                    variable().integer().min(least).name(name),
                    Hint::Spread {
                        group,
                        lower: least,
                    },
                );
                stats.columns += 1;
                for on_host in per_host.into_values() {
                    compiler
                        .objectives
                        .step_rows
                        .push((StepKind::Spread, on_host.leq(most)));
                    stats.rows += 1;
                }
                spread += most;
                spread_bound += f64::from(least);
            }
            compiler.objectives.spread = Some(spread);
            compiler.objectives.best.spread = Some(spread_bound);
        }
        stats
    }
}

/// Balance: per host, integer columns for its vCPU load and its memory load in granules (the
/// gcd of every VM's memory, so that the load is a whole number), tied to the counts by rows
/// that the balance step adds. The level search bounds these columns by the capacities of a
/// candidate peak.
fn level_columns(
    compiler: &mut Compiler,
    mut moved_from: BTreeMap<usize, Expression>,
) -> FamilyStats {
    let inventory = compiler.inventory;
    let mut stats = FamilyStats::default();
    let granule = memory_granule(compiler);
    compiler.objectives.memory_granule = granule;
    for host_index in 0..inventory.hosts.len() {
        if compiler.by_host[host_index].is_empty() {
            continue;
        }
        let host = &inventory.hosts[HostId::new(host_index)];
        let name = &host.name;
        let vcpus = compiler.column(
            variable()
                .integer()
                .min(0)
                .max(host.vcpu_limit as f64)
                .name(format!("load_vcpus[host={name}]")),
            Hint::Load {
                host: host_index,
                memory: false,
            },
        );
        let memory = compiler.column(
            variable()
                .integer()
                .min(0)
                .max((u128::from(host.memory_limit.0) / granule.max(1)) as f64)
                .name(format!("load_memory[host={name}]")),
            Hint::Load {
                host: host_index,
                memory: true,
            },
        );
        stats.columns += 2;
        let (mut vcpu_sum, mut memory_sum) = (Expression::from(0.0), Expression::from(0.0));
        for (block, count) in &compiler.by_host[host_index] {
            let group = &inventory.groups[compiler.blocks[*block].group];
            vcpu_sum += *count * f64::from(group.vcpus);
            memory_sum += *count * (u128::from(group.memory.0) / granule.max(1)) as f64;
        }
        let step_rows = &mut compiler.objectives.step_rows;
        step_rows.push((StepKind::Step4, vcpu_sum.leq(vcpus)));
        step_rows.push((StepKind::Step4, memory_sum.leq(memory)));
        stats.rows += 2;
        let shed = moved_from.remove(&host_index).map(|moved| {
            let shed = compiler.column(
                variable().min(0).name(format!("shed[host={name}]")),
                Hint::Shed { host: host_index },
            );
            stats.columns += 1;
            stats.rows += 1;
            compiler
                .objectives
                .step_rows
                .push((StepKind::Step4, moved.geq(shed)));
            shed
        });
        compiler.objectives.levels.push(Level {
            host: host_index,
            vcpus,
            memory,
            shed,
        });
    }
    stats
}

/// The gcd of every VM's memory in bytes (1 when there is none): every host's memory load is
/// a multiple of it.
pub fn memory_granule(compiler: &Compiler) -> u128 {
    let granule = compiler.blocks.iter().fold(0u128, |g, block| {
        gcd(
            g,
            u128::from(compiler.inventory.groups[block.group].memory.0),
        )
    });
    granule.max(1)
}

/// Consolidate: a `used[host]` binary per host, on the host's capacity rows (vCPUs, memory and
/// devices times `used`): a host that holds nothing costs nothing, and the LP relaxation is the
/// fractional bin-packing bound instead of the trivial one per-(block, host) rows give.
fn used_columns(compiler: &mut Compiler) -> FamilyStats {
    let inventory = compiler.inventory;
    let mut stats = FamilyStats::default();
    let mut cost = Expression::from(0.0);
    for host_index in 0..inventory.hosts.len() {
        if compiler.by_host[host_index].is_empty() {
            continue;
        }
        let host = &inventory.hosts[HostId::new(host_index)];
        let used = compiler.column(
            variable()
                .binary()
                .name(format!("used[host={}]", host.name)),
            Hint::Used { host: host_index },
        );
        stats.columns += 1;
        cost += used * host.cost;
        let (mut vcpus, mut memory) = (Expression::from(0.0), Expression::from(0.0));
        let mut devices: std::collections::BTreeMap<&str, Expression> = Default::default();
        let mut weightless = Vec::new();
        for (block, count) in &compiler.by_host[host_index] {
            let group = &inventory.groups[compiler.blocks[*block].group];
            vcpus += *count * f64::from(group.vcpus);
            memory += *count * gib(group.memory);
            for (device, per_vm) in &group.devices {
                *devices.entry(device.as_str()).or_default() += *count * f64::from(*per_vm);
            }
            if group.vcpus == 0 && group.memory.0 == 0 {
                weightless.push((*count, compiler.blocks[*block].size()));
            }
        }
        let step_rows = &mut compiler.objectives.step_rows;
        step_rows.push((StepKind::Step4, vcpus.leq(used * host.vcpu_limit as f64)));
        step_rows.push((StepKind::Step4, memory.leq(used * gib(host.memory_limit))));
        stats.rows += 2;
        for (device, sum) in devices {
            let have = f64::from(host.device_count(device));
            step_rows.push((StepKind::Step4, sum.leq(used * have)));
            stats.rows += 1;
        }
        // A VM of no size still makes its host used.
        for (count, size) in weightless {
            step_rows.push((
                StepKind::Step4,
                Expression::from(count).leq(used * f64::from(size)),
            ));
            stats.rows += 1;
        }
    }
    compiler.objectives.step4 = Some(cost);
    stats
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
