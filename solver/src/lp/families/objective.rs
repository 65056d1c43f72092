//! The objective expressions of SPEC section 4 and the columns they need: admission (priority
//! sum, then count), migrations against `placement` (on the counts: `m >= current * admitted -
//! count`), balance (`U >= utilisation` per host) or consolidate (`used[host]` binaries), and
//! spread (`s[pool] >= count on each host`). Soft rules are [`super::rules`]'s.

use crate::lp::{gib, Compiler, Family, FamilyStats, Hint};
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
                        host,
                    },
                );
                stats.columns += 1;
                let count: Expression = compiler.counts[block_index]
                    .iter()
                    .find(|(h, _)| *h == host)
                    .map_or(Expression::from(0.0), |(_, count)| Expression::from(*count));
                let kept_away = compiler.admitted(block_index) * f64::from(today) - count;
                compiler.row(None, Expression::from(moved).geq(kept_away));
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
                let bound = balance_lower_bound(compiler);
                compiler.objectives.best.step4 = Some(bound);
                let peak = compiler.column(
                    variable().min(bound).name("utilisation[max]"),
                    Hint::Peak { lower: bound },
                );
                stats.columns += 1;
                for host_index in 0..inventory.hosts.len() {
                    let host = &inventory.hosts[host_index];
                    let (mut vcpus, mut memory) = (Expression::from(0.0), Expression::from(0.0));
                    for (block, count) in &compiler.by_host[host_index] {
                        let group = &inventory.groups[compiler.blocks[*block].group];
                        vcpus += *count * f64::from(group.vcpus);
                        memory += *count * gib(group.memory);
                    }
                    if compiler.by_host[host_index].is_empty() {
                        continue;
                    }
                    // utilisation = use / limit <= peak, as use / limit - peak <= 0 (scaled by
                    // 1/limit so every row has coefficients near 1).
                    if host.vcpu_limit > 0 {
                        compiler.row(None, (vcpus * (1.0 / host.vcpu_limit as f64)).leq(peak));
                        stats.rows += 1;
                    }
                    if host.memory_limit.0 > 0 {
                        compiler.row(None, (memory * (1.0 / gib(host.memory_limit))).leq(peak));
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
                        Hint::Used { host: host_index },
                    );
                    stats.columns += 1;
                    let on_host = compiler.by_host[host_index].clone();
                    for (block, count) in on_host {
                        let size = f64::from(compiler.blocks[block].size());
                        compiler.row(None, Expression::from(count).leq(used * size));
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
                let name = format!("spread[pool={}]", inventory.groups[group].name);
                let most = compiler.column(
                    variable().integer().min(least).name(name),
                    Hint::Spread {
                        group,
                        lower: least,
                    },
                );
                stats.columns += 1;
                for on_host in per_host.into_values() {
                    compiler.row(None, on_host.leq(most));
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

/// The smallest `c` among the candidates `k / limit[j]` with `sum_h floor(c * limit[h]) >= demand`:
/// host loads are whole units, so no host can be loaded to a fraction `c` of its limit with more
/// than `floor(c * limit)` units, and the hosts together must hold the demand. Exact integer
/// arithmetic; 0 when there is no demand or no limit.
pub fn rounding_bound(limits: &[u128], demand: u128) -> f64 {
    if demand == 0 || limits.iter().all(|l| *l == 0) {
        return 0.0;
    }
    let held = |k: u128, base: u128| -> u128 { limits.iter().map(|l| k * l / base).sum() };
    let mut best: Option<(u128, u128)> = None;
    for &base in limits.iter().filter(|l| **l > 0) {
        // Smallest k with held(k / base) >= demand; k = base holds everything (c = 1).
        if held(base, base) < demand {
            return 1.0;
        }
        let (mut low, mut high) = (0u128, base);
        while low < high {
            let middle = (low + high) / 2;
            if held(middle, base) >= demand {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        if best.is_none_or(|(k, b)| low * b < k * base) {
            best = Some((low, base));
        }
    }
    best.map_or(0.0, |(k, base)| k as f64 / base as f64)
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A valid lower bound on the highest host utilisation: the larger of the vCPU and memory
/// rounding bounds over the hosts not in maintenance, for the VMs that must be admitted
/// (the Supervisor and every unit without a priority).
fn balance_lower_bound(compiler: &Compiler) -> f64 {
    let inventory = compiler.inventory;
    let mut vcpus: u128 = 0;
    let mut memory: u128 = 0;
    let mut granule: u128 = 0;
    for block in compiler.blocks {
        let group = &inventory.groups[block.group];
        granule = gcd(granule, u128::from(group.memory.0));
        let mandatory = block
            .unit
            .is_none_or(|unit| inventory.admission_units[unit].priority.is_none());
        if mandatory {
            vcpus += u128::from(block.size()) * u128::from(group.vcpus);
            memory += u128::from(block.size()) * u128::from(group.memory.0);
        }
    }
    let active = inventory.hosts.iter().filter(|h| !h.maintenance);
    let vcpu_limits: Vec<u128> = active.clone().map(|h| u128::from(h.vcpu_limit)).collect();
    let cpu = rounding_bound(&vcpu_limits, vcpus);
    if granule == 0 {
        return cpu;
    }
    // Memory loads are multiples of the granule: count in granules, limits floored to them.
    let memory_limits: Vec<u128> = active.map(|h| u128::from(h.memory_limit.0)).collect();
    let memory_bound = rounding_bound_scaled(&memory_limits, memory / granule, granule);
    // Stay a hair below so floating-point round-off can never cut the optimum itself.
    (cpu.max(memory_bound) - 1e-9).max(0.0)
}

/// [`rounding_bound`] for loads counted in `granule`s against limits in raw units: a host holds
/// `floor(c * limit / granule)` granules.
fn rounding_bound_scaled(limits: &[u128], demand: u128, granule: u128) -> f64 {
    if demand == 0 {
        return 0.0;
    }
    let held = |numerator: u128, denominator: u128| -> u128 {
        limits
            .iter()
            .map(|l| numerator * l / (denominator * granule))
            .sum()
    };
    // Candidates c = k * granule / limit[j]: host j holds exactly k granules at c.
    let mut best: Option<(u128, u128)> = None;
    for &base in limits.iter().filter(|l| **l >= granule) {
        let top = base / granule;
        if held(top * granule, base) < demand {
            continue;
        }
        let (mut low, mut high) = (0u128, top);
        while low < high {
            let middle = (low + high) / 2;
            if held(middle * granule, base) >= demand {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        let numerator = low * granule;
        if best.is_none_or(|(n, b)| numerator * b < n * base) {
            best = Some((numerator, base));
        }
    }
    best.map_or(1.0, |(numerator, base)| numerator as f64 / base as f64)
}

#[cfg(test)]
mod tests {
    use super::rounding_bound;

    #[test]
    fn rounding_bound_is_the_smallest_whole_load_level() {
        // Two hosts of 10 units, 11 units of demand: 6 + 5, so 0.6, while the LP says 0.55.
        assert!((rounding_bound(&[10, 10], 11) - 0.6).abs() < 1e-12);
        // Mixed sizes: 4 and 8 units, demand 6: c = 0.5 holds 2 + 4.
        assert!((rounding_bound(&[4, 8], 6) - 0.5).abs() < 1e-12);
        assert_eq!(rounding_bound(&[4, 8], 0), 0.0);
        assert_eq!(rounding_bound(&[4, 8], 13), 1.0);
    }
}
