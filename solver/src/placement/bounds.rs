//! Lower bounds that hold once migrations are held (step 3): a VM that runs today on a host it
//! may stay on either stays, loading that host and holding its pool's count there, or moves,
//! which costs a migration. With at most `M` migrations, of which `forced` are VMs that cannot
//! stay (their host is in maintenance, outside their zone or forbidden by a hard rule), the
//! hosts can shed only `M - forced` of today's VMs between them.
//!
//! - Balance: at a level `c`, host `h` must shed at least `r_h(c)` of its staying VMs (the
//!   fewest, largest first, that bring its vCPUs and memory under `c`'s capacities), so `c` is
//!   possible only when `forced + sum_h r_h(c) <= M`.
//! - Spread: a pool holds at least `max_h stay(pool, h) - (moved away)` on some host; lowering
//!   a pool's largest count by one below what stays costs one migration per host at that
//!   count. The cheapest lowering within the budget (marginal costs only grow: a greedy is
//!   exact) gives the bound, together with `ceil(replicas / hosts it may use)`.
//!
//! Only VMs of units that are surely admitted count: units without priority, and every unit
//! when step 1 holds all of them admitted.

use super::levels::Levels;
use super::score::Ratio;
use std::collections::BTreeMap;
use vksplan_model::inventory::GroupKind;
use vksplan_model::topology::RuleKind;
use vksplan_model::Inventory;
use vksplan_model::{GroupId, HostId, VmId};

/// Today's VMs that may stay where they are, per host, and the ones that cannot.
pub struct Staying {
    /// Per host: (vCPUs, memory bytes, group) of each VM that runs there today and may stay.
    per_host: Vec<Vec<(u64, u128, usize)>>,
    /// Per host: how many of those must leave all the same, because two of them break a
    /// rule together (control-plane anti-affinity, hard `separate` rules, and soft ones when
    /// every soft rule holds): the most over any one rule of (its members there - 1).
    crowded: Vec<u32>,
    /// VMs that run today where they may not stay: each is a migration.
    forced: u32,
}

impl Staying {
    /// Today's VMs of surely admitted units (`all_admitted`: every unit is); `soft_hold`:
    /// every soft rule holds (step 2 reached 0).
    pub fn new(inventory: &Inventory, all_admitted: bool, soft_hold: bool) -> Staying {
        let mut per_host = vec![Vec::new(); inventory.hosts.len()];
        let mut forced = 0;
        let mut staying: Vec<(usize, usize)> = Vec::new();
        for (vm, host) in &inventory.placement {
            let group_index = inventory.vms[*vm].group;
            let group = &inventory.groups[group_index];
            let surely = all_admitted
                || inventory
                    .unit_of_group(group_index)
                    .is_none_or(|unit| inventory.admission_units[unit].priority.is_none());
            if !surely {
                continue;
            }
            if may_stay(inventory, *vm, *host, soft_hold) {
                per_host[host.index()].push((
                    u64::from(group.vcpus),
                    u128::from(group.memory.0),
                    group_index.index(),
                ));
                staying.push((vm.index(), host.index()));
            } else {
                forced += 1;
            }
        }
        // Colocations that rules forbid: per (rule, host), members staying there.
        let mut crowded = vec![0u32; inventory.hosts.len()];
        let mut together: BTreeMap<(usize, usize), u32> = BTreeMap::new();
        for (vm, host) in &staying {
            let group_index = inventory.vms[VmId::new(*vm)].group;
            if inventory.groups[group_index].anti_affine() {
                // Key rules after the real ones: groups by index.
                *together
                    .entry((inventory.rules.len() + group_index.index(), *host))
                    .or_default() += 1;
            }
            for (index, rule) in inventory.rules.iter().enumerate() {
                if rule.kind == RuleKind::Separate
                    && (rule.must || soft_hold)
                    && rule.vms.binary_search(&VmId::new(*vm)).is_ok()
                {
                    *together.entry((index, *host)).or_default() += 1;
                }
            }
        }
        for ((_, host), members) in together {
            crowded[host] = crowded[host].max(members.saturating_sub(1));
        }
        Staying {
            per_host,
            crowded,
            forced,
        }
    }

    /// The fewest migrations any plan needs: the VMs that cannot stay, and on each host the
    /// ones that must leave because they break a rule together.
    pub fn migrations_floor(&self) -> u32 {
        self.forced + self.crowded.iter().sum::<u32>()
    }

    /// Whether nothing runs today.
    pub fn is_empty(&self) -> bool {
        self.forced == 0 && self.per_host.iter().all(Vec::is_empty)
    }

    /// The fewest staying VMs host `host` must shed to keep within `vcpus` and `memory`.
    fn shed(&self, host: usize, vcpus: u128, memory: u128) -> u32 {
        let vms = &self.per_host[host];
        let fewest = |sizes: &mut Vec<u128>, cap: u128| -> u32 {
            let mut total: u128 = sizes.iter().sum();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            let mut removed = 0;
            for size in sizes.iter() {
                if total <= cap {
                    break;
                }
                total -= size;
                removed += 1;
            }
            removed
        };
        let mut cpu: Vec<u128> = vms.iter().map(|v| u128::from(v.0)).collect();
        let mut mem: Vec<u128> = vms.iter().map(|v| v.1).collect();
        fewest(&mut cpu, vcpus).max(fewest(&mut mem, memory))
    }

    /// The fewest of today's VMs `host` must shed, to keep within `vcpus` and `memory` and to
    /// break no rule its staying VMs would break together.
    pub fn must_shed(&self, host: usize, vcpus: u128, memory: u128) -> u32 {
        self.shed(host, vcpus, memory).max(self.crowded[host])
    }

    /// Whether a plan with at most `migrations` migrations can have its peak at `level`.
    fn level_possible(&self, levels: &Levels, level: Ratio, migrations: u32) -> bool {
        let mut needed = u64::from(self.forced);
        for caps in levels.caps(level) {
            needed +=
                u64::from(self.must_shed(caps.host, caps.vcpus, caps.granules * levels.granule()));
            if needed > u64::from(migrations) {
                return false;
            }
        }
        true
    }

    /// The smallest level, from `low` up to `high` (a level some plan reaches), that at most
    /// `migrations` migrations allow.
    pub fn balance_bound(
        &self,
        levels: &Levels,
        low: Ratio,
        high: Ratio,
        migrations: u32,
    ) -> Ratio {
        let (mut low, mut high) = (low, high);
        while low < high {
            let mut middle = levels.at_most((low.to_f64() + high.to_f64()) / 2.0);
            if middle < low {
                middle = low;
            }
            if self.level_possible(levels, middle, migrations) {
                high = middle;
            } else {
                match levels.next_above(middle) {
                    Some(next) => low = next,
                    None => return high,
                }
            }
        }
        low
    }

    /// The least total spread of the node pools that at most `migrations` migrations allow,
    /// given each pool's floor (`ceil(replicas / hosts)` for pools surely admitted, else 0).
    pub fn spread_bound(
        &self,
        inventory: &Inventory,
        floors: &BTreeMap<usize, u32>,
        migrations: u32,
    ) -> u32 {
        // Per pool: how many of its VMs stay on each host today.
        let mut stays: BTreeMap<usize, BTreeMap<usize, u32>> = BTreeMap::new();
        for (host, vms) in self.per_host.iter().enumerate() {
            for (_, _, group) in vms {
                if matches!(
                    inventory.groups[GroupId::new(*group)].kind,
                    GroupKind::NodePool { .. }
                ) {
                    *stays.entry(*group).or_default().entry(host).or_default() += 1;
                }
            }
        }
        let mut budget = u64::from(migrations.saturating_sub(self.forced));
        let mut total: u64 = 0;
        // (current count, floor, counts per host sorted) per pool.
        let mut pools: Vec<(u32, u32, Vec<u32>)> = Vec::new();
        for (pool, floor) in floors {
            let counts: Vec<u32> = stays
                .get(pool)
                .map(|per_host| per_host.values().copied().collect())
                .unwrap_or_default();
            let most = counts.iter().copied().max().unwrap_or(0);
            if most <= *floor {
                total += u64::from(*floor);
            } else {
                pools.push((most, *floor, counts));
            }
        }
        // Lower the pool whose next step costs least, while the budget allows.
        loop {
            let cheapest = pools
                .iter()
                .enumerate()
                .filter(|(_, (count, floor, _))| count > floor)
                .map(|(i, (count, _, hosts))| {
                    (hosts.iter().filter(|n| **n >= *count).count() as u64, i)
                })
                .min();
            match cheapest {
                Some((cost, i)) if cost <= budget => {
                    budget -= cost;
                    pools[i].0 -= 1;
                }
                _ => break,
            }
        }
        let sum = total
            + pools
                .iter()
                .map(|(count, _, _)| u64::from(*count))
                .sum::<u64>();
        u32::try_from(sum).unwrap_or(u32::MAX)
    }
}

/// Whether `vm` may run on `host` by the domain rules alone (maintenance, zone pin, hard
/// `vm_host` rules, and soft ones when `soft_hold`).
fn may_stay(inventory: &Inventory, vm: VmId, host: HostId, soft_hold: bool) -> bool {
    let spec = &inventory.hosts[host];
    if spec.maintenance {
        return false;
    }
    if let GroupKind::NodePool {
        zone: Some(zone), ..
    } = inventory.group_of(vm).kind
    {
        if spec.zone != Some(zone) {
            return false;
        }
    }
    inventory.rules.iter().all(|rule| {
        !((rule.must || soft_hold)
            && rule.kind == RuleKind::VmHost
            && rule.vms.binary_search(&vm).is_ok()
            && rule.hosts.binary_search(&host).is_ok() != rule.run_on)
    })
}

/// A lower bound on the cost of the hosts used (consolidate): for each resource (vCPUs,
/// memory, each device), the cheapest fractional cover of the demand of the units surely
/// admitted by hosts in service, cheapest per unit first (exact for one resource, so valid for
/// all together); the largest over the resources.
pub fn cost_floor(inventory: &Inventory, all_admitted: bool) -> f64 {
    let mut devices: Vec<&str> = inventory
        .groups
        .iter()
        .flat_map(|g| g.devices.iter().map(|(d, _)| d.as_str()))
        .collect();
    devices.sort_unstable();
    devices.dedup();
    // Demand per resource: vCPUs, memory (bytes), then each device.
    let mut demand = vec![0f64; 2 + devices.len()];
    for (index, group) in inventory.groups.iter().enumerate() {
        let surely = all_admitted
            || inventory
                .unit_of_group(GroupId::new(index))
                .is_none_or(|unit| inventory.admission_units[unit].priority.is_none());
        if !surely {
            continue;
        }
        let n = group.vms.len() as f64;
        demand[0] += n * f64::from(group.vcpus);
        demand[1] += n * group.memory.0 as f64;
        for (device, count) in &group.devices {
            if let Ok(d) = devices.binary_search(&device.as_str()) {
                demand[2 + d] += n * f64::from(*count);
            }
        }
    }
    let capacity = |host: &vksplan_model::inventory::HostSpec, resource: usize| -> f64 {
        match resource {
            0 => host.vcpu_limit as f64,
            1 => host.memory_limit.0 as f64,
            d => f64::from(host.device_count(devices[d - 2])),
        }
    };
    let mut best: f64 = 0.0;
    for (resource, needed) in demand.iter().enumerate() {
        if *needed <= 0.0 {
            continue;
        }
        let mut hosts: Vec<(f64, f64)> = inventory
            .hosts
            .iter()
            .filter(|h| !h.maintenance)
            .map(|h| (h.cost, capacity(h, resource)))
            .filter(|(_, cap)| *cap > 0.0)
            .collect();
        hosts.sort_by(|a, b| {
            (a.0 / a.1)
                .partial_cmp(&(b.0 / b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let (mut left, mut cost) = (*needed, 0.0);
        for (host_cost, cap) in hosts {
            if left <= 0.0 {
                break;
            }
            let take = cap.min(left);
            cost += host_cost * take / cap;
            left -= take;
        }
        best = best.max(cost);
    }
    // A hair below, so that round-off never cuts the optimum itself.
    (best * (1.0 - 1e-9)).max(0.0)
}

/// The least spread possible: each pool's `ceil(replicas / hosts it may use)` for pools surely
/// admitted, and, with today's VMs and the migrations held (`held`), what they allow.
pub fn spread_floor(
    inventory: &Inventory,
    all_admitted: bool,
    held: Option<(&Staying, u32)>,
) -> u32 {
    let mut floors: BTreeMap<usize, u32> = BTreeMap::new();
    for (group_index, group) in inventory.groups.iter().enumerate() {
        if !matches!(group.kind, GroupKind::NodePool { .. }) || group.vms.is_empty() {
            continue;
        }
        let surely = all_admitted
            || inventory
                .unit_of_group(GroupId::new(group_index))
                .is_none_or(|unit| inventory.admission_units[unit].priority.is_none());
        let hosts = inventory
            .hosts
            .ids()
            .filter(|host| {
                group
                    .vms
                    .iter()
                    .any(|vm| may_stay(inventory, *vm, *host, false))
            })
            .count() as u32;
        let replicas = group.vms.len() as u32;
        let floor = if surely && hosts > 0 {
            replicas.div_ceil(hosts)
        } else {
            0
        };
        floors.insert(group_index, floor);
    }
    let plain: u32 = floors.values().sum();
    match held {
        Some((staying, migrations)) => staying
            .spread_bound(inventory, &floors, migrations)
            .max(plain),
        None => plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::verify::Assignment;
    use crate::placement::score::{Score, Step4};
    use proptest::prelude::*;
    use serde_json::json;
    use vksplan_model::IdVec;

    /// Three hosts and five VMs running on them today; VMs 0 and 1 kept apart when `separate`.
    fn platform(
        cores: &[u32],
        memory_gib: &[u32],
        classes: &[usize],
        today: &[usize],
        separate: bool,
    ) -> Inventory {
        let names = [
            "best-effort-small",
            "best-effort-medium",
            "best-effort-large",
        ];
        let hosts: Vec<_> = (0..3)
            .map(|h| {
                json!({"name": format!("h{h}"), "cpu_cores": cores[h], "cpu_core_mhz": 2000,
                            "memory": format!("{}Gi", memory_gib[h])})
            })
            .collect();
        let vms: Vec<_> = classes
            .iter()
            .enumerate()
            .map(|(i, class)| json!({"name": format!("v{i}"), "vm_class": names[*class], "disk": "10Gi"}))
            .collect();
        let placement: serde_json::Map<String, serde_json::Value> = today
            .iter()
            .enumerate()
            .map(|(i, h)| (format!("ns/vm/v{i}"), json!(format!("h{h}"))))
            .collect();
        let mut document = json!({
            "version": 1,
            "policy": {"cpu_overcommit": 4.0},
            "hosts": hosts,
            "storage_policies": [{"name": "s"}],
            "networks": [{"name": "w", "kind": "workload", "ips": 20},
                         {"name": "lb", "kind": "load_balancer", "ips": 4}],
            "namespaces": [{"name": "ns", "vm_classes": names, "storage_policies": ["s"],
                            "workload_network": "w", "load_balancer_network": "lb", "vms": vms}],
            "placement": placement,
        });
        if separate {
            document["rules"] = json!([{"name": "apart", "kind": "separate", "must": true,
                                        "vms": ["ns/vm/v0", "ns/vm/v1"]}]);
        }
        match vksplan_model::load_value(&document) {
            Ok(inventory) => inventory,
            Err(invalid) => panic!("the test platform is invalid: {invalid:?}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// The shed cut of the level search is valid: every valid plan, at its own peak's
        /// capacities, moves away from each host at least the VMs `must_shed` asks of it.
        #[test]
        fn no_valid_plan_sheds_fewer_than_the_cut_asks(
            cores in prop::collection::vec(4u32..=16, 3),
            memory_gib in prop::collection::vec(8u32..=48, 3),
            classes in prop::collection::vec(0usize..3, 5),
            today in prop::collection::vec(0usize..3, 5),
            separate in any::<bool>(),
        ) {
            let inventory = platform(&cores, &memory_gib, &classes, &today, separate);
            let staying = Staying::new(&inventory, true, false);
            let levels = Levels::new(&inventory, 1);
            let vms = inventory.vms.len();
            let mut valid = 0;
            for code in 0..3usize.pow(vms as u32) {
                let host_of: Vec<Option<usize>> =
                    (0..vms).map(|vm| Some(code / 3usize.pow(vm as u32) % 3)).collect();
                let assignment = Assignment {
                    host_of: host_of.iter().map(|h| h.map(HostId::new)).collect(),
                    admitted: IdVec::from_elem(true, inventory.admission_units.len()),
                };
                let (score, report) = Score::evaluate(&inventory, &assignment);
                let Step4::Peak(peak) = score.step4 else { panic!("balance scores a peak") };
                if !report.violations.is_empty() {
                    continue;
                }
                valid += 1;
                for cap in levels.caps(peak) {
                    let moved = inventory
                        .placement
                        .iter()
                        .filter(|(vm, host)| *host == HostId::new(cap.host) && host_of[vm.index()] != Some(host.index()))
                        .count() as u32;
                    let least = staying.must_shed(cap.host, cap.vcpus, cap.granules * levels.granule());
                    prop_assert!(moved >= least, "host {} sheds {moved} < {least} at {:?}", cap.host, peak);
                }
            }
            prop_assume!(valid > 0);
        }
    }
}
