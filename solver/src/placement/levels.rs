//! Utilisation levels for `balance`. A host's load is a whole number of vCPUs and a whole
//! number of memory granules (the gcd of the VMs' memory sizes), so its utilisation takes only
//! the values `k / vcpu_limit` and `k * granule / memory_limit`, and the peak is one of these
//! candidates. A level `c` gives every host integer capacities `floor(c * vcpu_limit)` vCPUs
//! and `floor(c * memory_limit / granule)` granules: a plan has a peak at most `c` exactly when
//! it keeps within them. The optimum is found by a search over candidates, each probe a
//! feasibility problem, between a proven lower bound and the best plan.

use super::score::Ratio;
use vksplan_model::Inventory;

/// The hosts in service with the limits a level scales.
#[derive(Debug, Clone)]
pub struct Levels {
    /// (host, allowed vCPUs, allowed memory in bytes), hosts not in maintenance.
    hosts: Vec<(usize, u128, u128)>,
    /// Memory granule in bytes.
    granule: u128,
}

/// A host's capacities at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Host.
    pub host: usize,
    /// vCPUs.
    pub vcpus: u128,
    /// Memory granules.
    pub granules: u128,
}

impl Levels {
    /// The levels of the hosts in service, memory counted in `granule` bytes.
    pub fn new(inventory: &Inventory, granule: u128) -> Levels {
        Levels {
            hosts: inventory
                .hosts
                .iter()
                .enumerate()
                .filter(|(_, host)| !host.maintenance)
                .map(|(index, host)| {
                    (
                        index,
                        u128::from(host.vcpu_limit),
                        u128::from(host.memory_limit.0),
                    )
                })
                .collect(),
            granule: granule.max(1),
        }
    }

    /// The memory granule in bytes.
    pub fn granule(&self) -> u128 {
        self.granule
    }

    /// Every host's capacities at `level`.
    pub fn caps(&self, level: Ratio) -> Vec<Caps> {
        self.hosts
            .iter()
            .map(|(host, vcpus, memory)| Caps {
                host: *host,
                vcpus: level.floor_times(*vcpus),
                granules: level.floor_times(*memory) / self.granule,
            })
            .collect()
    }

    /// The smallest candidate strictly above `level` (`None` above 1).
    pub fn next_above(&self, level: Ratio) -> Option<Ratio> {
        let mut best: Option<Ratio> = None;
        let mut offer = |candidate: Ratio| {
            if candidate > level && best.is_none_or(|b| candidate < b) {
                best = Some(candidate);
            }
        };
        for (_, vcpus, memory) in &self.hosts {
            if *vcpus > 0 {
                let k = level.floor_times(*vcpus) + 1;
                if k <= *vcpus {
                    offer(Ratio::new(k, *vcpus));
                }
            }
            if *memory >= self.granule {
                let k = level.floor_times(*memory) / self.granule + 1;
                if k * self.granule <= *memory {
                    offer(Ratio::new(k * self.granule, *memory));
                }
            }
        }
        best
    }

    /// The largest candidate at most `level` (0 when there is none).
    pub fn at_most(&self, level: f64) -> Ratio {
        let level = level.clamp(0.0, 1.0);
        let mut best = Ratio::ZERO;
        for (_, vcpus, memory) in &self.hosts {
            if *vcpus > 0 {
                let k = ((level * *vcpus as f64).floor() as u128).min(*vcpus);
                best = best.max(Ratio::new(k, *vcpus));
            }
            if *memory >= self.granule {
                let k = ((level * (*memory / self.granule) as f64).floor() as u128)
                    .min(*memory / self.granule);
                best = best.max(Ratio::new(k * self.granule, *memory));
            }
        }
        // Round-off may put a candidate a hair above `level`; step back below it.
        while best.to_f64() > level && best.numerator > 0 {
            let below = self.below(best);
            if below >= best {
                break;
            }
            best = below;
        }
        best
    }

    /// The largest candidate strictly below `level` (0 when there is none).
    pub fn below(&self, level: Ratio) -> Ratio {
        let mut best = Ratio::ZERO;
        for (_, vcpus, memory) in &self.hosts {
            // Largest k with k / limit < level: ceil(level * limit) - 1.
            let under = |limit: u128, unit: u128| -> Option<Ratio> {
                let scaled = level.numerator * limit;
                let k = scaled.div_ceil(level.denominator * unit);
                (k > 0).then(|| Ratio::new((k - 1) * unit, limit))
            };
            if *vcpus > 0 {
                if let Some(candidate) = under(*vcpus, 1) {
                    best = best.max(candidate);
                }
            }
            if *memory >= self.granule {
                if let Some(candidate) = under(*memory, self.granule) {
                    best = best.max(candidate);
                }
            }
        }
        best
    }

    /// The rounding bound: the smallest level at which the hosts together can hold `vcpus`
    /// vCPUs and `memory` bytes (each host holds at most its capacities, and those are whole
    /// vCPUs and granules). Exact; 0 without demand, 1 when even full hosts cannot hold it.
    pub fn rounding_bound(&self, vcpus: u128, memory: u128) -> Ratio {
        let vcpu_limits: Vec<u128> = self.hosts.iter().map(|h| h.1).collect();
        let memory_limits: Vec<u128> = self.hosts.iter().map(|h| h.2).collect();
        rounding(&vcpu_limits, 1, vcpus).max(rounding(
            &memory_limits,
            self.granule,
            memory.div_ceil(self.granule),
        ))
    }
}

/// The smallest `c` among the candidates `k * granule / limit[j]` with
/// `sum_h floor(c * limit[h] / granule) >= demand` (demand in granules).
pub fn rounding(limits: &[u128], granule: u128, demand: u128) -> Ratio {
    if demand == 0 {
        return Ratio::ZERO;
    }
    // Hosts of one size count together (10,000 identical hosts are one term).
    let mut sizes: Vec<(u128, u128)> = Vec::new();
    let mut sorted = limits.to_vec();
    sorted.sort_unstable();
    for limit in sorted {
        match sizes.last_mut() {
            Some((size, count)) if *size == limit => *count += 1,
            _ => sizes.push((limit, 1)),
        }
    }
    let held = |numerator: u128, denominator: u128| -> u128 {
        sizes
            .iter()
            .map(|(limit, count)| count * (numerator * limit / (denominator * granule)))
            .sum()
    };
    let mut best: Option<Ratio> = None;
    for &(base, _) in sizes.iter().filter(|(l, _)| *l >= granule) {
        let top = base / granule;
        if held(top * granule, base) < demand {
            continue;
        }
        // Smallest k with held(k * granule / base) >= demand.
        let (mut low, mut high) = (0u128, top);
        while low < high {
            let middle = (low + high) / 2;
            if held(middle * granule, base) >= demand {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        let candidate = Ratio::new(low * granule, base);
        if best.is_none_or(|b| candidate < b) {
            best = Some(candidate);
        }
    }
    best.unwrap_or(Ratio::new(1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_bound_is_the_smallest_whole_load_level() {
        // Two hosts of 10 units, 11 units of demand: 6 + 5, so 0.6, while the LP says 0.55.
        assert_eq!(rounding(&[10, 10], 1, 11), Ratio::new(6, 10));
        // Mixed sizes: 4 and 8 units, demand 6: c = 0.5 holds 2 + 4.
        assert_eq!(rounding(&[4, 8], 1, 6), Ratio::new(1, 2));
        assert_eq!(rounding(&[4, 8], 1, 0), Ratio::ZERO);
        assert_eq!(rounding(&[4, 8], 1, 13), Ratio::new(1, 1));
        // Granules of 2: limits 10 and 10 hold 5 granules each; 6 granules need 3 + 3 = 0.6.
        assert_eq!(rounding(&[10, 10], 2, 6), Ratio::new(6, 10));
    }

    #[test]
    fn candidates_step_through_every_hosts_loads() {
        let levels = Levels {
            hosts: vec![(0, 4, 16), (1, 6, 24)],
            granule: 4,
        };
        // vCPU candidates k/4, k/6; memory candidates 4k/16, 4k/24.
        assert_eq!(levels.next_above(Ratio::ZERO), Some(Ratio::new(1, 6)));
        assert_eq!(levels.next_above(Ratio::new(1, 6)), Some(Ratio::new(1, 4)));
        assert_eq!(levels.next_above(Ratio::new(1, 1)), None);
        assert_eq!(levels.at_most(0.2), Ratio::new(1, 6));
        assert_eq!(levels.at_most(0.25), Ratio::new(1, 4));
        let caps = levels.caps(Ratio::new(1, 2));
        assert_eq!(
            caps,
            vec![
                Caps {
                    host: 0,
                    vcpus: 2,
                    granules: 2
                },
                Caps {
                    host: 1,
                    vcpus: 3,
                    granules: 3
                }
            ]
        );
    }
}
