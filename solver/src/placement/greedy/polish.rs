//! Local search on a verified plan that never gives back what the earlier steps of the
//! objective achieved: one VM moves at a time, only where every hard rule still holds, no more
//! soft rules break, migrations stay within what the plan has, and (for spread) every host
//! stays within the held level's capacities. It brings moved VMs back to today's hosts
//! ([`Goal::Migrations`]), lowers the peak ([`Goal::Peak`]) or the pools' largest counts per
//! host ([`Goal::Spread`]), or empties hosts to lower the cost of the hosts used
//! ([`Goal::Cost`]); the result is verified by the caller.

use super::state::{Facts, State};
use crate::check::verify::Assignment;
use std::time::Instant;
use vksplan_model::inventory::GroupKind;
use vksplan_model::Inventory;
use vksplan_model::{GroupId, HostId, VmId};

/// What the local search lowers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// The soft rules broken (migrations are not held: their step comes later).
    SoftRules,
    /// The VMs that run away from today's host.
    Migrations,
    /// The highest host utilisation.
    Peak,
    /// The sum over node pools of the largest count of a pool's VMs on one host.
    Spread,
    /// The cost of the hosts used (`consolidate`).
    Cost,
}

/// The search's view of a plan.
pub(super) struct Search<'a> {
    pub(super) state: State<'a>,
    soft_budget: u32,
    migrations: u32,
    migration_budget: u32,
    /// Per host: (vCPUs, memory bytes) no move may exceed.
    caps: Vec<(u64, u128)>,
}

impl<'a> Search<'a> {
    /// The search from `assignment`: no more soft rules broken nor migrations than it has,
    /// and every host within `caps` (vCPUs, memory bytes; the hosts' limits when `None`).
    pub(super) fn new(
        inventory: &'a Inventory,
        facts: &'a Facts,
        assignment: &Assignment,
        caps: Option<&[(u64, u128)]>,
    ) -> Search<'a> {
        let mut state = State::new(inventory, facts);
        for (vm, host) in assignment.host_of.iter().enumerate() {
            if let Some(host) = host {
                state.apply(vm, host.index(), true);
            }
        }
        let migrations = (0..inventory.vms.len())
            .map(|vm| match (facts.current[vm], state.host_of[vm]) {
                (Some(today), Some(now)) => u32::from(today != now),
                _ => 0,
            })
            .sum();
        let caps = caps.map_or_else(
            || {
                inventory
                    .hosts
                    .iter()
                    .map(|h| (h.vcpu_limit, u128::from(h.memory_limit.0)))
                    .collect()
            },
            <[(u64, u128)]>::to_vec,
        );
        Search {
            soft_budget: state.soft.broken,
            migrations,
            migration_budget: migrations,
            caps,
            state,
        }
    }
}

impl Search<'_> {
    fn migrated(&self, vm: usize, host: Option<usize>) -> u32 {
        match (self.state.facts.current[vm], host) {
            (Some(today), Some(host)) => u32::from(today != host),
            _ => 0,
        }
    }

    /// Moves `vm` (off its host) to `target` if every rule allows; `false` leaves it off.
    pub(super) fn try_place(&mut self, vm: usize, target: usize) -> bool {
        if !self.state.fits(vm, target, Some(self.caps[target])) {
            return false;
        }
        let migrations = self.migrations + self.migrated(vm, Some(target));
        if migrations > self.migration_budget {
            return false;
        }
        if self.state.soft.breaks_more(vm, target, self.soft_budget) {
            return false;
        }
        self.state.apply(vm, target, true);
        self.migrations = migrations;
        true
    }

    /// Per host, the VMs on it.
    fn vms_by_host(&self) -> Vec<Vec<usize>> {
        let mut on_host: Vec<Vec<usize>> = vec![Vec::new(); self.state.inventory.hosts.len()];
        for (vm, host) in self.state.host_of.iter().enumerate() {
            if let Some(host) = host {
                on_host[*host].push(vm);
            }
        }
        on_host
    }

    /// The VMs on `host` now.
    fn residents(&self, host: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.state.host_of.len()).filter(move |vm| self.state.host_of[*vm] == Some(host))
    }

    pub(super) fn lift(&mut self, vm: usize, host: usize) {
        self.migrations -= self.migrated(vm, Some(host));
        self.state.apply(vm, host, false);
    }

    pub(super) fn put_back(&mut self, vm: usize, host: usize) {
        self.migrations += self.migrated(vm, Some(host));
        self.state.apply(vm, host, true);
    }
}

/// Improves `assignment` on `goal` without worsening the earlier steps; `caps` (per host:
/// vCPUs, memory bytes) bound every host a VM moves to. Returns the improved plan.
pub fn polish(
    inventory: &Inventory,
    facts: &Facts,
    assignment: &Assignment,
    goal: Goal,
    caps: Option<&[(u64, u128)]>,
    deadline: Instant,
) -> Assignment {
    let mut search = Search::new(inventory, facts, assignment, caps);
    match goal {
        Goal::SoftRules => lower_soft_rules(&mut search, deadline),
        Goal::Migrations => lower_migrations(&mut search, deadline),
        Goal::Peak => lower_peak(&mut search, deadline),
        Goal::Spread => lower_spread(&mut search, deadline),
        Goal::Cost => lower_cost(&mut search, deadline),
    }
    search.state.assignment(assignment.admitted.clone())
}

/// While some VM of a soft rule can move to a host where the rules' excess (see
/// [`super::state::SoftRules::excess_change`]) falls, move it there, the host where it falls
/// most first; where it does not fit, first move elsewhere one of the host's VMs whose own
/// move does not raise the excess (and that shares no soft rule with the first). An excess
/// of 0 breaks no soft rule. Each move lowers the excess; the passes are bounded all the same.
fn lower_soft_rules(search: &mut Search, deadline: Instant) {
    search.migration_budget = u32::MAX;
    search.soft_budget = u32::MAX;
    let selected: Vec<usize> = search.state.soft.selected().collect();
    for _ in 0..selected.len().saturating_mul(4) {
        if search.state.soft.broken == 0 {
            return;
        }
        let mut moved = false;
        for vm in &selected {
            if Instant::now() >= deadline {
                return;
            }
            moved |= move_for_soft_rules(search, *vm);
        }
        if !moved {
            return;
        }
    }
}

/// Moves `vm` to a host where the soft rules' excess falls, evicting one VM there if need
/// be; false (nothing changed) when there is none.
fn move_for_soft_rules(search: &mut Search, vm: usize) -> bool {
    let hosts = search.state.inventory.hosts.len();
    let Some(from) = search.state.host_of[vm] else {
        return false;
    };
    let mut targets: Vec<(i32, usize)> = (0..hosts)
        .filter(|h| *h != from)
        .map(|h| (search.state.soft.excess_change(vm, from, h), h))
        .filter(|(change, _)| *change < 0)
        .collect();
    if targets.is_empty() {
        return false;
    }
    targets.sort_unstable();
    search.lift(vm, from);
    if targets.iter().any(|(_, h)| search.try_place(vm, *h)) {
        return true;
    }
    for (change, target) in targets {
        // Not a VM of the same soft rules: its move would change what `change` counts.
        let residents: Vec<usize> = search
            .residents(target)
            .filter(|w| !search.state.soft.share_a_rule(vm, *w))
            .collect();
        for resident in residents {
            // The resident's own move, weighed before either VM moves.
            let away: Vec<usize> = (0..hosts)
                .filter(|h| *h != target && *h != from)
                .filter(|h| change + search.state.soft.excess_change(resident, target, *h) < 0)
                .collect();
            if away.is_empty() {
                continue;
            }
            search.lift(resident, target);
            if search.try_place(vm, target) {
                if away.iter().any(|h| search.try_place(resident, *h)) {
                    return true;
                }
                search.lift(vm, target);
            }
            search.put_back(resident, target);
        }
    }
    search.put_back(vm, from);
    false
}

/// While a VM that runs away from today's host fits back there, move it home; where it does
/// not, first move elsewhere a VM that only visits that host (it counts as a migration
/// already, unless it goes home too).
fn lower_migrations(search: &mut Search, deadline: Instant) {
    let inventory = search.state.inventory;
    let hosts = inventory.hosts.len();
    let mut on_host = search.vms_by_host();
    loop {
        let mut improved = false;
        for vm in 0..inventory.vms.len() {
            if Instant::now() >= deadline {
                return;
            }
            let (Some(home), Some(now)) =
                (search.state.facts.current[vm], search.state.host_of[vm])
            else {
                continue;
            };
            if home == now {
                continue;
            }
            search.lift(vm, now);
            if search.try_place(vm, home) {
                on_host[now].retain(|v| *v != vm);
                on_host[home].push(vm);
                improved = true;
                continue;
            }
            let visitors: Vec<usize> = on_host[home]
                .iter()
                .copied()
                .filter(|v| search.state.facts.current[*v] != Some(home))
                .collect();
            let mut evicted = None;
            for other in visitors {
                search.lift(other, home);
                if search.try_place(vm, home) {
                    let own = search.state.facts.current[other];
                    let target = own
                        .into_iter()
                        .chain(0..hosts)
                        .filter(|h| *h != home)
                        .find(|h| search.try_place(other, *h));
                    if let Some(target) = target {
                        evicted = Some((other, target));
                        break;
                    }
                    search.lift(vm, home);
                }
                search.put_back(other, home);
            }
            match evicted {
                Some((other, target)) => {
                    on_host[now].retain(|v| *v != vm);
                    on_host[home].retain(|v| *v != other);
                    on_host[home].push(vm);
                    on_host[target].push(other);
                    improved = true;
                }
                None => search.put_back(vm, now),
            }
        }
        if !improved {
            return;
        }
    }
}

/// While some VM on a host at the peak can move to a host that stays below it, move it.
fn lower_peak(search: &mut Search, deadline: Instant) {
    let inventory = search.state.inventory;
    let hosts = inventory.hosts.len();
    let mut on_host = search.vms_by_host();
    loop {
        if Instant::now() >= deadline {
            return;
        }
        let peak = (0..hosts)
            .map(|h| search.state.utilisation(h))
            .fold(0.0, f64::max);
        let mut moved = false;
        let hot: Vec<usize> = (0..hosts)
            .filter(|h| search.state.utilisation(*h) >= peak - 1e-12)
            .collect();
        for source in hot {
            let mut candidates = on_host[source].clone();
            candidates.sort_by_key(|vm| {
                let group = inventory.group_of(VmId::new(*vm));
                (
                    std::cmp::Reverse(group.vcpus),
                    std::cmp::Reverse(group.memory.0),
                )
            });
            for vm in candidates {
                search.lift(vm, source);
                let mut targets: Vec<(f64, usize)> = (0..hosts)
                    .filter(|h| *h != source)
                    .map(|h| (search.state.utilisation_with(vm, h), h))
                    .filter(|(after, _)| *after < peak - 1e-12)
                    .collect();
                targets.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                let target = targets
                    .into_iter()
                    .map(|(_, h)| h)
                    .find(|h| search.try_place(vm, *h));
                match target {
                    Some(target) => {
                        on_host[source].retain(|v| *v != vm);
                        on_host[target].push(vm);
                        moved = true;
                        break;
                    }
                    None => search.put_back(vm, source),
                }
            }
            if moved {
                break;
            }
        }
        if !moved {
            return;
        }
    }
}

/// While some pool has a VM on a host at its largest count that can move to a host with at
/// least two fewer of the pool, move it (the counts only even out, so this ends).
fn lower_spread(search: &mut Search, deadline: Instant) {
    let inventory = search.state.inventory;
    let hosts = inventory.hosts.len();
    let pools: Vec<usize> = (0..inventory.groups.len())
        .filter(|g| {
            matches!(
                inventory.groups[GroupId::new(*g)].kind,
                GroupKind::NodePool { .. }
            )
        })
        .collect();
    loop {
        let mut moved = false;
        for pool in &pools {
            if Instant::now() >= deadline {
                return;
            }
            let count = |search: &Search, host: usize| {
                search
                    .state
                    .group_on_host
                    .get(&(*pool, host))
                    .copied()
                    .unwrap_or(0)
            };
            let most = (0..hosts).map(|h| count(search, h)).max().unwrap_or(0);
            if most < 2 {
                continue;
            }
            let fullest: Vec<usize> = (0..hosts).filter(|h| count(search, *h) == most).collect();
            for source in fullest {
                let Some(vm) = inventory.groups[GroupId::new(*pool)]
                    .vms
                    .iter()
                    .copied()
                    .filter(|vm| search.state.host_of[vm.index()] == Some(source))
                    // A VM away from its host of today first (moving it costs nothing).
                    .min_by_key(|vm| {
                        u8::from(search.state.facts.current[vm.index()] == Some(source))
                    })
                else {
                    continue;
                };
                search.lift(vm.index(), source);
                let mut targets: Vec<(u32, usize)> = (0..hosts)
                    .map(|h| (count(search, h), h))
                    .filter(|(n, h)| *h != source && *n + 2 <= most)
                    .collect();
                targets.sort_unstable();
                let targets: Vec<usize> = targets.into_iter().map(|(_, h)| h).collect();
                let target = targets.iter().find(|h| search.try_place(vm.index(), **h));
                match target {
                    Some(_) => moved = true,
                    None if swap_into(search, vm.index(), source, &targets) => moved = true,
                    None => search.put_back(vm.index(), source),
                }
            }
        }
        if !moved {
            return;
        }
    }
}

/// Places `vm` (lifted off `source`) on the first of `targets` where it fits once one of the
/// host's VMs moves to `source` in exchange: a VM of no node pool, or of a pool that has no
/// more VMs on `source` after the exchange than it had on the target before. False (nothing
/// changed but `vm` still lifted) when no exchange fits.
fn swap_into(search: &mut Search, vm: usize, source: usize, targets: &[usize]) -> bool {
    let inventory = search.state.inventory;
    let pool_of = |w: usize| {
        let group = inventory.vms[VmId::new(w)].group;
        matches!(inventory.groups[group].kind, GroupKind::NodePool { .. }).then_some(group.index())
    };
    let own = pool_of(vm);
    for target in targets {
        let residents: Vec<usize> = search
            .residents(*target)
            .filter(|w| {
                let count = |host: usize, pool: usize| {
                    search
                        .state
                        .group_on_host
                        .get(&(pool, host))
                        .copied()
                        .unwrap_or(0)
                };
                match pool_of(*w) {
                    None => true,
                    Some(pool) => Some(pool) != own && count(source, pool) < count(*target, pool),
                }
            })
            .collect();
        for resident in residents {
            search.lift(resident, *target);
            if search.try_place(vm, *target) {
                if search.try_place(resident, source) {
                    return true;
                }
                search.lift(vm, *target);
            }
            search.put_back(resident, *target);
        }
    }
    false
}

/// While some used host can be emptied, its VMs moved into the room of the other used hosts
/// or all onto one unused host that costs less, do it: each such change lowers the cost of
/// the hosts used and nothing else. Hosts costly for what they hold go first.
fn lower_cost(search: &mut Search, deadline: Instant) {
    let inventory = search.state.inventory;
    let hosts = inventory.hosts.len();
    let mut on_host = search.vms_by_host();
    loop {
        let mut used: Vec<(f64, usize)> = (0..hosts)
            .filter(|h| !on_host[*h].is_empty())
            .map(|h| {
                let held = search.state.share[h] / search.state.facts.host_capacity[h].max(1e-12);
                (inventory.hosts[HostId::new(h)].cost / held.max(1e-12), h)
            })
            .collect();
        used.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut improved = false;
        for (_, source) in used {
            if Instant::now() >= deadline {
                return;
            }
            if on_host[source].is_empty() {
                continue;
            }
            let others: Vec<usize> = (0..hosts)
                .filter(|h| *h != source && !on_host[*h].is_empty())
                .collect();
            let mut cheaper: Vec<usize> = (0..hosts)
                .filter(|h| on_host[*h].is_empty() && !inventory.hosts[HostId::new(*h)].maintenance)
                .filter(|h| {
                    inventory.hosts[HostId::new(*h)].cost
                        < inventory.hosts[HostId::new(source)].cost
                })
                .collect();
            cheaper.sort_by(|a, b| {
                inventory.hosts[HostId::new(*a)]
                    .cost
                    .total_cmp(&inventory.hosts[HostId::new(*b)].cost)
                    .then(a.cmp(b))
            });
            let emptied = relocate(search, &mut on_host, source, &others)
                || cheaper
                    .iter()
                    .any(|target| relocate(search, &mut on_host, source, &[*target]));
            improved |= emptied;
        }
        if !improved {
            return;
        }
    }
}

/// Moves every VM of `source` onto `targets` (each to the target it fills best), or changes
/// nothing and returns false when one of them fits nowhere.
fn relocate(
    search: &mut Search,
    on_host: &mut [Vec<usize>],
    source: usize,
    targets: &[usize],
) -> bool {
    let inventory = search.state.inventory;
    let mut vms = on_host[source].clone();
    vms.sort_by(|a, b| {
        let size = |vm: &usize| {
            search.state.facts.group_size[(inventory.vms[VmId::new(*vm)].group).index()]
        };
        size(b).total_cmp(&size(a)).then(a.cmp(b))
    });
    for vm in &vms {
        search.lift(*vm, source);
    }
    let mut placed: Vec<(usize, usize)> = Vec::with_capacity(vms.len());
    for vm in &vms {
        let mut order: Vec<(f64, usize)> = targets
            .iter()
            .map(|h| (search.state.room_with(*vm, *h), *h))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        match order
            .into_iter()
            .map(|(_, h)| h)
            .find(|h| search.try_place(*vm, *h))
        {
            Some(target) => placed.push((*vm, target)),
            None => {
                for (vm, target) in placed {
                    search.lift(vm, target);
                }
                for vm in &vms {
                    search.put_back(*vm, source);
                }
                return false;
            }
        }
    }
    on_host[source].clear();
    for (vm, target) in placed {
        on_host[target].push(vm);
    }
    true
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::check::verify::verify;
    use crate::placement::testing;
    use vksplan_model::IdVec;

    /// Two VMs of one cluster on two hosts of cost 5, and an empty host of cost 1.
    pub(in crate::placement::greedy) fn spread_out() -> Inventory {
        let host = |name: &str, cost: f64| {
            let mut host = testing::host(name, 16, "64Gi");
            host["cost"] = serde_json::json!(cost);
            host
        };
        let cluster = serde_json::json!({
            "name": "web",
            "kubernetes_version": "v1.31.4",
            "control_plane": {"replicas": 1, "vm_class": "best-effort-medium"},
            "disk": "20Gi",
            "node_pools": [{"name": "workers", "replicas": 1, "vm_class": "best-effort-medium"}]
        });
        testing::one_namespace(
            serde_json::json!([host("esx-a", 5.0), host("esx-b", 5.0), host("esx-c", 1.0)]),
            &["best-effort-medium"],
            ("clusters", serde_json::json!([cluster])),
            serde_json::json!({"policy": {"objective": "consolidate"}}),
        )
    }

    /// Two VMs that fill a host each, swapped away from the hosts they run on today, and a
    /// spare host.
    pub(in crate::placement::greedy) fn swapped() -> (Inventory, Assignment) {
        let hosts = ["esx-a", "esx-b", "esx-c"].map(|name| testing::host(name, 8, "16Gi"));
        let inventory = testing::one_namespace(
            serde_json::json!(hosts),
            &["m16"],
            (
                "vms",
                serde_json::json!([testing::vm("a", "m16"), testing::vm("b", "m16")]),
            ),
            serde_json::json!({
                "vm_classes": [testing::class("m16", 1, "16Gi")],
                "placement": {"apps/vm/a": "esx-a", "apps/vm/b": "esx-b"}
            }),
        );
        let swapped = Assignment {
            host_of: IdVec::from_vec(vec![Some(HostId::new(1)), Some(HostId::new(0))]),
            admitted: IdVec::from_elem(true, inventory.admission_units.len()),
        };
        (inventory, swapped)
    }

    /// Four VMs of 8 GiB, two on each of two 16 GiB hosts, a third host empty, and a soft
    /// rule of `kind` over the first VM of each host.
    fn two_full_hosts(kind: vksplan_model::document::RuleKind) -> (Inventory, Assignment) {
        let hosts = ["esx-a", "esx-b", "esx-c"].map(|name| testing::host(name, 8, "16Gi"));
        let vms = ["x", "z", "y", "w"].map(|name| testing::vm(name, "m8"));
        let mut inventory = testing::one_namespace(
            serde_json::json!(hosts),
            &["m8"],
            ("vms", serde_json::json!(vms)),
            serde_json::json!({"vm_classes": [testing::class("m8", 1, "8Gi")]}),
        );
        inventory.rules.push(vksplan_model::inventory::RuleSpec {
            name: "pair".to_string(),
            kind,
            vms: vec![VmId::new(0), VmId::new(2)],
            hosts: Vec::new(),
            must: false,
            run_on: false,
        });
        let host = |h: usize| Some(HostId::new(h));
        let assignment = Assignment {
            host_of: IdVec::from_vec(vec![host(0), host(0), host(1), host(1)]),
            admitted: IdVec::from_elem(true, inventory.admission_units.len()),
        };
        (inventory, assignment)
    }

    fn polished_soft_rules(inventory: &Inventory, before: &Assignment) -> Assignment {
        let facts = Facts::new(inventory);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let after = polish(inventory, &facts, before, Goal::SoftRules, None, deadline);
        let report = verify(inventory, &after);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        after
    }

    #[test]
    fn soft_rule_search_makes_room_to_bring_a_pair_together() {
        let (inventory, before) = two_full_hosts(vksplan_model::document::RuleKind::Together);
        assert_eq!(verify(&inventory, &before).soft_rules_broken.len(), 1);
        let after = polished_soft_rules(&inventory, &before);
        assert!(verify(&inventory, &after).soft_rules_broken.is_empty());
        assert_eq!(after.host_of[VmId::new(0)], after.host_of[VmId::new(2)]);
    }

    #[test]
    fn soft_rule_search_moves_a_vm_apart_and_keeps_hard_rules() {
        use vksplan_model::document::RuleKind;
        let (mut inventory, mut before) = two_full_hosts(RuleKind::Separate);
        // x and y share esx-a; z and w fill esx-b; a hard rule keeps x off esx-c.
        before.host_of = IdVec::from_vec([0, 1, 0, 1].map(|h| Some(HostId::new(h))).to_vec());
        inventory.rules.push(vksplan_model::inventory::RuleSpec {
            name: "not-c".to_string(),
            kind: RuleKind::VmHost,
            vms: vec![VmId::new(0)],
            hosts: vec![HostId::new(2)],
            must: true,
            run_on: false,
        });
        assert_eq!(verify(&inventory, &before).soft_rules_broken.len(), 1);
        let after = polished_soft_rules(&inventory, &before);
        assert!(verify(&inventory, &after).soft_rules_broken.is_empty());
        assert_ne!(after.host_of[VmId::new(0)], Some(HostId::new(2)));
    }

    #[test]
    fn spread_search_exchanges_a_pool_vm_with_one_of_no_pool() {
        // Two hosts of two 8 GiB VMs each: both workers of `web` on esx-a, the control planes
        // of `web` and `db` on esx-b. No worker fits on esx-b until a control plane leaves.
        let hosts = ["esx-a", "esx-b"].map(|name| testing::host(name, 8, "16Gi"));
        let cluster = |name: &str, workers: u32| {
            serde_json::json!({
                "name": name,
                "kubernetes_version": "v1.31.4",
                "control_plane": {"replicas": 1, "vm_class": "m8"},
                "disk": "20Gi",
                "node_pools": if workers == 0 { serde_json::json!([]) } else {
                    serde_json::json!([{"name": "workers", "replicas": workers, "vm_class": "m8"}])
                }
            })
        };
        let inventory = testing::one_namespace(
            serde_json::json!(hosts),
            &["m8"],
            (
                "clusters",
                serde_json::json!([cluster("web", 2), cluster("db", 0)]),
            ),
            serde_json::json!({"vm_classes": [testing::class("m8", 1, "8Gi")]}),
        );
        let host_of = inventory
            .vms
            .iter()
            .map(|vm| Some(HostId::new(usize::from(!vm.name.contains("workers")))))
            .collect();
        let before = Assignment {
            host_of: IdVec::from_vec(host_of),
            admitted: IdVec::from_elem(true, inventory.admission_units.len()),
        };
        assert_eq!(inventory.vms.len(), 4);
        let report = verify(&inventory, &before);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        assert_eq!(report.spread, 2);
        let facts = Facts::new(&inventory);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let after = polish(&inventory, &facts, &before, Goal::Spread, None, deadline);
        let report = verify(&inventory, &after);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        assert_eq!(report.spread, 1);
    }

    #[test]
    fn migration_search_brings_vms_home_moving_visitors_out_of_the_way() {
        let (inventory, before) = swapped();
        let facts = Facts::new(&inventory);
        assert_eq!(verify(&inventory, &before).migrations, 2);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let after = polish(
            &inventory,
            &facts,
            &before,
            Goal::Migrations,
            None,
            deadline,
        );
        let report = verify(&inventory, &after);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        // Neither fits home while the other is there: one goes home only once the other moves.
        assert_eq!(report.migrations, 0);
        assert_eq!(
            after.host_of.raw(),
            [Some(HostId::new(0)), Some(HostId::new(1))]
        );
    }

    #[test]
    fn cost_search_empties_costly_hosts_onto_a_cheaper_one() {
        let inventory = spread_out();
        let facts = Facts::new(&inventory);
        assert_eq!(inventory.vms.len(), 2);
        let before = Assignment {
            host_of: IdVec::from_vec(vec![Some(HostId::new(0)), Some(HostId::new(1))]),
            admitted: IdVec::from_elem(true, inventory.admission_units.len()),
        };
        assert_eq!(verify(&inventory, &before).cost, 10.0);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let after = polish(&inventory, &facts, &before, Goal::Cost, None, deadline);
        let report = verify(&inventory, &after);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        assert_eq!(
            after.host_of.raw(),
            [Some(HostId::new(2)), Some(HostId::new(2))]
        );
        assert_eq!(report.cost, 1.0);
    }

    /// [`spread_out`] with a hard rule that keeps its two VMs on different hosts.
    pub(in crate::placement::greedy) fn kept_apart() -> Inventory {
        let mut inventory = spread_out();
        inventory.rules.push(vksplan_model::inventory::RuleSpec {
            name: "apart".to_string(),
            kind: vksplan_model::document::RuleKind::Separate,
            vms: vec![VmId::new(0), VmId::new(1)],
            hosts: Vec::new(),
            must: true,
            run_on: false,
        });
        inventory
    }

    #[test]
    fn cost_search_keeps_hard_rules() {
        // The control plane and its worker may not share a host: nothing can empty.
        let inventory = kept_apart();
        let facts = Facts::new(&inventory);
        let before = Assignment {
            host_of: IdVec::from_vec(vec![Some(HostId::new(0)), Some(HostId::new(1))]),
            admitted: IdVec::from_elem(true, inventory.admission_units.len()),
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let after = polish(&inventory, &facts, &before, Goal::Cost, None, deadline);
        let report = verify(&inventory, &after);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        // One VM may move to the cheap host; both may not.
        assert_ne!(after.host_of[VmId::new(0)], after.host_of[VmId::new(1)]);
        assert_eq!(report.cost, 6.0);
    }
}
