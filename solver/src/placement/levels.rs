//! Utilisation levels for `balance`. A host's load is a whole number of vCPUs and a whole
//! number of memory granules (the gcd of the VMs' memory sizes), so its utilisation takes only
//! the values `k / vcpu_limit` and `k * granule / memory_limit`, and the peak is one of these
//! candidates. A level `c` gives every host integer capacities `floor(c * vcpu_limit)` vCPUs
//! and `floor(c * memory_limit / granule)` granules: a plan has a peak at most `c` exactly when
//! it keeps within them. The optimum is found by a search over candidates, each probe a
//! feasibility problem, between a proven lower bound and the best plan.

use super::score::Ratio;
use std::collections::BTreeMap;
use vksplan_model::{GroupId, Inventory};

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

/// The most (VM kind, host class) pairs the mix bound's LP takes.
const MIX_COLUMN_LIMIT: usize = 100_000;

/// Host classes: (vCPU limit, memory limit, zone, devices) -> hosts.
type Class = (u64, u128, Option<usize>, Vec<(String, u32)>);

/// VM kinds: (vCPUs, memory, devices, zone pin) -> VMs.
type Kind = (u32, u128, Vec<(String, u32)>, Option<usize>);

/// The most levels the mix bound steps up through after its LP (each a feasibility LP of a
/// few milliseconds on the hard suite's platforms).
const MIX_STEPS: usize = 64;

/// The mix bound: the smallest level at which the VMs of the groups `counted` accepts could be
/// spread over the hosts in service even in fractions, when each host keeps within the level
/// on vCPUs and on memory at once, its devices are shared out, and pools pinned to a zone stay
/// in it. Where the rounding bound pools each resource over every host, this one sees that a
/// host full on memory has vCPUs left that memory-heavy VMs cannot use (h288-zones: 0.576 by
/// rounding, 0.719 by mix). VMs of one size, devices and zone count as one kind, and hosts of
/// one size, devices and zone as one class, so the LP stays small. A relaxation of every plan,
/// so a valid bound; `None` when the LP cannot be solved in time. HiGHS runs with `threads`
/// threads: the count every HiGHS solve of the calling thread uses (HiGHS 1.16 refuses a run
/// whose count differs from the one its thread's scheduler started with).
///
/// From the LP's level it then steps up through the candidates while the same shares do not
/// fit the hosts' whole capacities: at a level, a host holds at most `floor(c * limit)`
/// vCPUs, and the counted VMs' load on it is a multiple of the gcd of their vCPUs (likewise
/// memory), so each class holds at most its hosts' count times that capacity rounded down to
/// the gcd. On 288-host platforms without today's placement, where every host is within a VM
/// of its capacity, the LP's level alone stayed one step below the plans found.
pub fn mix_bound(
    inventory: &Inventory,
    levels: &Levels,
    counted: &dyn Fn(GroupId) -> bool,
    seconds: f64,
    threads: u32,
) -> Option<Ratio> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs_f64(seconds.max(0.01));
    let mut classes: BTreeMap<Class, u32> = BTreeMap::new();
    for host in inventory.hosts.iter().filter(|h| !h.maintenance) {
        let key = (
            host.vcpu_limit,
            u128::from(host.memory_limit.0),
            host.zone,
            host.devices.clone(),
        );
        *classes.entry(key).or_default() += 1;
    }
    let mut kinds: BTreeMap<Kind, u32> = BTreeMap::new();
    for (index, group) in inventory.groups.iter().enumerate() {
        if group.vms.is_empty() || !counted(GroupId::new(index)) {
            continue;
        }
        let key = (
            group.vcpus,
            u128::from(group.memory.0),
            group.devices.clone(),
            group.pinned_zone(),
        );
        *kinds.entry(key).or_default() += group.vms.len() as u32;
    }
    if kinds.is_empty() {
        return Some(Ratio::ZERO);
    }
    if classes.len().saturating_mul(kinds.len()) > MIX_COLUMN_LIMIT {
        // Hosts or VMs of too many sizes (an import where every host reports its own memory):
        // the LP would not stay small.
        return None;
    }
    let lp = MixLp {
        kinds: kinds.into_iter().collect(),
        classes: classes.into_iter().collect(),
        threads,
    };
    let value = match lp.solve(None, until)? {
        MixOutcome::Level(value) => value,
        // Kinds with no host they may use at all, or more than every host holds at any level.
        MixOutcome::Infeasible => return Some(Ratio::new(1, 1)),
        MixOutcome::Fits => return None,
    };
    // A hair below the LP's value (its tolerances), then the smallest candidate at or above.
    let below = value * (1.0 - 1e-7) - 1e-9;
    let candidate = levels.at_most(below);
    let mut level = if candidate.to_f64() >= below {
        candidate
    } else {
        levels.next_above(candidate).unwrap_or(Ratio::new(1, 1))
    };
    let (vcpu_unit, memory_unit) = lp.units();
    for _ in 0..MIX_STEPS {
        let caps: Vec<(f64, f64)> = lp
            .classes
            .iter()
            .map(|((vcpus, memory, _, _), count)| {
                let vcpus = level.floor_times(u128::from(*vcpus)) / vcpu_unit * vcpu_unit;
                let memory = level.floor_times(*memory) / memory_unit * memory_unit;
                let count = f64::from(*count);
                (count * vcpus as f64, count * memory as f64 / GIB)
            })
            .collect();
        match lp.solve(Some(&caps), until) {
            Some(MixOutcome::Infeasible) => match levels.next_above(level) {
                Some(next) => level = next,
                None => return Some(Ratio::new(1, 1)),
            },
            _ => break,
        }
    }
    Some(level)
}

const GIB: f64 = (1u64 << 30) as f64;

/// The mix bound's LP: how many VMs of each kind go to each class of hosts.
struct MixLp {
    kinds: Vec<(Kind, u32)>,
    classes: Vec<(Class, u32)>,
    threads: u32,
}

/// What the mix LP says.
enum MixOutcome {
    /// The least level (the LP with the level free).
    Level(f64),
    /// The VMs fit the given capacities.
    Fits,
    /// They do not.
    Infeasible,
}

impl MixLp {
    /// The gcds of the kinds' vCPUs and of their memory sizes.
    fn units(&self) -> (u128, u128) {
        self.kinds
            .iter()
            .fold((0, 0), |(vcpus, memory), ((v, m, _, _), _)| {
                (gcd(vcpus, u128::from(*v)), gcd(memory, *m))
            })
    }

    /// With `caps` (per class: vCPUs, GiB), whether the VMs fit them; without, the least
    /// level at which they fit every class's limits times the level. `None` when HiGHS gives
    /// no answer by `until`.
    fn solve(&self, caps: Option<&[(f64, f64)]>, until: std::time::Instant) -> Option<MixOutcome> {
        use good_lp::{variable, Expression, ProblemVariables, SolverModel};
        let classes = &self.classes;
        let mut problem = ProblemVariables::new();
        let level = problem.add(variable().min(0.0));
        let mut vcpus: Vec<Expression> = vec![Expression::from(0.0); classes.len()];
        let mut memory: Vec<Expression> = vec![Expression::from(0.0); classes.len()];
        let mut devices: Vec<BTreeMap<String, Expression>> = vec![BTreeMap::new(); classes.len()];
        let mut rows = Vec::new();
        for ((kind_vcpus, kind_memory, kind_devices, pin), count) in &self.kinds {
            let mut placed = Expression::from(0.0);
            for (class, ((_, _, zone, host_devices), _)) in classes.iter().enumerate() {
                let has = |(device, need): &(String, u32)| {
                    host_devices
                        .iter()
                        .any(|(name, have)| name == device && have >= need)
                };
                if pin.is_some_and(|pin| *zone != Some(pin)) || !kind_devices.iter().all(has) {
                    continue;
                }
                let share = problem.add(variable().min(0.0));
                placed += share;
                vcpus[class] += f64::from(*kind_vcpus) * share;
                memory[class] += (*kind_memory as f64 / GIB) * share;
                for (device, need) in kind_devices {
                    *devices[class].entry(device.clone()).or_default() += f64::from(*need) * share;
                }
            }
            rows.push(placed.eq(f64::from(*count)));
        }
        for (class, ((vcpu_limit, memory_limit, _, host_devices), count)) in
            classes.iter().enumerate()
        {
            let count = f64::from(*count);
            match caps {
                Some(caps) => {
                    let (cap_vcpus, cap_memory) = caps[class];
                    // A hair of slack: a level is refuted only when the shares miss it by
                    // more than HiGHS's tolerances.
                    rows.push(vcpus[class].clone().leq(cap_vcpus * (1.0 + 1e-9) + 1e-6));
                    rows.push(memory[class].clone().leq(cap_memory * (1.0 + 1e-9) + 1e-6));
                }
                None => {
                    rows.push(
                        (vcpus[class].clone() - count * (*vcpu_limit as f64) * level).leq(0.0),
                    );
                    rows.push(
                        (memory[class].clone() - count * (*memory_limit as f64 / GIB) * level)
                            .leq(0.0),
                    );
                }
            }
            for (device, used) in &devices[class] {
                let have = host_devices
                    .iter()
                    .find(|(name, _)| name == device)
                    .map_or(0, |(_, have)| *have);
                rows.push(used.clone().leq(count * f64::from(have)));
            }
        }
        let mut lp = good_lp::solvers::highs::highs(problem.minimise(level));
        for row in rows {
            lp.add_constraint(row);
        }
        let mut model = lp.try_into_inner().ok()?;
        model.make_quiet();
        let left = until
            .saturating_duration_since(std::time::Instant::now())
            .as_secs_f64();
        if left <= 0.0 {
            return None;
        }
        let set = model.try_set_option("time_limit", left).is_ok()
            && model
                .try_set_option("threads", i32::try_from(self.threads.max(1)).unwrap_or(1))
                .is_ok();
        let solved = set.then(|| model.try_solve().ok()).flatten()?;
        match solved.status() {
            highs::HighsModelStatus::Infeasible => Some(MixOutcome::Infeasible),
            highs::HighsModelStatus::Optimal if caps.is_some() => Some(MixOutcome::Fits),
            highs::HighsModelStatus::Optimal => {
                Some(MixOutcome::Level(*solved.get_solution().columns().first()?))
            }
            _ => None,
        }
    }
}

/// Greatest common divisor (`gcd(0, b) = b`).
pub(crate) fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
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

    /// Two VMs of 4 vCPUs and 1 GiB, a host with vCPUs to spare but little memory and one the
    /// other way round: pooled, the resources allow 1/8; per host, the VMs that the memory of
    /// the vCPU-rich host cannot take load the other one's vCPUs.
    #[test]
    fn the_mix_bound_sees_resources_that_do_not_pool() {
        use crate::placement::testing::{class, host, one_namespace, vm};
        let inventory = one_namespace(
            serde_json::json!([host("esx-memory", 8, "64Gi"), host("esx-cpu", 64, "8Gi")]),
            &["x"],
            ("vms", serde_json::json!([vm("a", "x"), vm("b", "x")])),
            serde_json::json!({
                "policy": {"cpu_overcommit": 1.0},
                "vm_classes": [class("x", 4, "1Gi")]
            }),
        );
        let levels = Levels::new(&inventory, 1 << 30);
        assert_eq!(levels.rounding_bound(8, 2 << 30), Ratio::new(1, 8));
        // A share f on the memory-rich host: f = 8f / 8 there, and 2(1 - f) / 8 of the other's
        // memory; they meet at f = 0.2, whose smallest candidate is 13/64. The best plan puts
        // both on the vCPU-rich host, at 2 GiB / 8 GiB = 0.25. Below it, whole loads do not
        // fit: at 13/64 the memory-rich host holds 1 vCPU (less than a VM's 4) and the
        // other 1 GiB; at 1/4 the VMs' 2 GiB fit on the vCPU-rich host.
        let mix = mix_bound(&inventory, &levels, &|_| true, 5.0, 1);
        assert_eq!(mix, Some(Ratio::new(1, 4)));
    }

    /// Three hosts of 5 vCPUs and four VMs of 2: pooled or in fractions they fit at 8/15,
    /// candidate 3/5; but at 3/5 a host holds 3 vCPUs, so one VM, and three hosts hold three.
    /// The best plan has two VMs on a host: 4/5, which the whole-load steps reach.
    #[test]
    fn the_mix_bound_counts_whole_vms() {
        use crate::placement::testing::{class, host, one_namespace, vm};
        let hosts = ["a", "b", "c"].map(|name| host(name, 5, "64Gi"));
        let vms: Vec<_> = ["v1", "v2", "v3", "v4"]
            .iter()
            .map(|name| vm(name, "x"))
            .collect();
        let inventory = one_namespace(
            serde_json::json!(hosts),
            &["x"],
            ("vms", serde_json::json!(vms)),
            serde_json::json!({
                "policy": {"cpu_overcommit": 1.0},
                "vm_classes": [class("x", 2, "1Gi")]
            }),
        );
        let levels = Levels::new(&inventory, 1 << 30);
        assert_eq!(levels.rounding_bound(8, 4 << 30), Ratio::new(3, 5));
        let mix = mix_bound(&inventory, &levels, &|_| true, 5.0, 1);
        assert_eq!(mix, Some(Ratio::new(4, 5)));
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
