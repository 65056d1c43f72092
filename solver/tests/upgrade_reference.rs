//! The upgrade planner against an exhaustive reference on tiny platforms (at most 3 hosts and
//! 8 VMs): a breadth-first search over the states between waves, each wave any combination of
//! the actions docs/output-and-upgrades.md §11-§17 allows, judged by the independent audit. It finds the fewest
//! waves, or proves that no sequence exists. The planner never says `infeasible` when the
//! search finds a sequence, reaches the search's wave count whenever it says `optimal`, and
//! says `infeasible` only where the search finds none.

mod common;

use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use vksplan_model::plan::Action;
use vksplan_model::{HostId, VmId};
use vksplan_model::{Inventory, Status};
use vksplan_solver::AuditReplay as Replay;

/// What the search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// The fewest waves of a valid sequence.
    Waves(usize),
    /// No valid sequence exists.
    Impossible,
    /// Deeper than the search goes.
    TooDeep,
}

/// One VM's choices in a wave.
fn choices(replay: &Replay, inventory: &Inventory, vm: usize) -> Vec<Vec<Action>> {
    let name = inventory.vms[VmId::new(vm)].name.clone();
    let hosts: Vec<usize> = (0..inventory.hosts.len())
        .filter(|h| !replay.host(*h).2)
        .collect();
    let host = |h: usize| inventory.hosts[HostId::new(h)].name.clone();
    let (old, new) = replay.copies(vm);
    let (created, deleted) = replay.progress(vm);
    let mut options = vec![Vec::new()];
    if replay.rolled(vm) && !created && !deleted && old.is_some() {
        for h in &hosts {
            options.push(vec![
                Action::Create {
                    vm: name.clone(),
                    host: host(*h),
                },
                Action::Delete { vm: name.clone() },
            ]);
        }
        // Deleted first, created later: only where the pool may have a slot unavailable.
        if let vksplan_model::GroupKind::NodePool { cluster, .. } =
            inventory.group_of(VmId::new(vm)).kind
        {
            if inventory.clusters[cluster].max_unavailable > 0 {
                options.push(vec![Action::Delete { vm: name.clone() }]);
            }
        }
    }
    if replay.rolled(vm) && deleted && !created {
        for h in &hosts {
            options.push(vec![Action::Create {
                vm: name.clone(),
                host: host(*h),
            }]);
        }
    }
    if let (Some(live), None) | (None, Some(live)) = (old, new) {
        for h in hosts.iter().filter(|h| **h != live) {
            options.push(vec![Action::Migrate {
                vm: name.clone(),
                to: host(*h),
            }]);
        }
    }
    options
}

fn phase(action: &Action) -> u8 {
    match action {
        Action::ExitMaintenance { .. } => 1,
        Action::Create { .. } | Action::Migrate { .. } => 2,
        Action::Delete { .. } => 3,
        Action::EnterMaintenance { .. } => 4,
    }
}

/// Breadth-first over the states between waves, up to `depth` waves.
fn search(
    inventory: &Inventory,
    start: &[Option<usize>],
    admitted: &[bool],
    depth: usize,
) -> Search {
    let Some(first) = Replay::new(inventory, start, admitted) else {
        return Search::Waves(0);
    };
    let done = |replay: &Replay| {
        replay.finish().is_empty() && (0..inventory.hosts.len()).all(|h| !replay.host(h).2)
    };
    if done(&first) {
        return Search::Waves(0);
    }
    let mut seen: HashSet<Vec<u64>> = HashSet::new();
    seen.insert(first.key());
    let mut frontier = vec![first];
    for waves in 1..=depth {
        let mut next = Vec::new();
        for replay in &frontier {
            // Hosts in maintenance come back at once (keeping one out never helps).
            let exits: Vec<Action> = (0..inventory.hosts.len())
                .filter(|h| replay.host(*h).2 && replay.host(*h).1)
                .map(|h| Action::ExitMaintenance {
                    host: inventory.hosts[HostId::new(h)].name.clone(),
                })
                .collect();
            let per_vm: Vec<Vec<Vec<Action>>> = (0..inventory.vms.len())
                .filter(|vm| replay.copies(*vm) != (None, None) || replay.rolled(*vm))
                .map(|vm| choices(replay, inventory, vm))
                .collect();
            let enterable: Vec<usize> = (0..inventory.hosts.len())
                .filter(|h| replay.host(*h).0 && !replay.host(*h).1)
                .collect();
            let combinations: usize =
                per_vm.iter().map(Vec::len).product::<usize>() << enterable.len();
            if combinations > 300_000 {
                return Search::TooDeep;
            }
            for mut code in 0..combinations {
                let mut actions = exits.clone();
                for options in &per_vm {
                    actions.extend(options[code % options.len()].iter().cloned());
                    code /= options.len();
                }
                for host in &enterable {
                    if code % 2 == 1 {
                        actions.push(Action::EnterMaintenance {
                            host: inventory.hosts[HostId::new(*host)].name.clone(),
                        });
                    }
                    code /= 2;
                }
                if actions.is_empty() {
                    continue;
                }
                actions.sort_by_key(phase);
                let mut after = replay.clone();
                if !after.wave(&actions).is_empty() {
                    continue;
                }
                if done(&after) {
                    return Search::Waves(waves);
                }
                if seen.insert(after.key()) {
                    next.push(after);
                }
            }
        }
        if next.is_empty() {
            return Search::Impossible;
        }
        frontier = next;
    }
    Search::TooDeep
}

prop_compose! {
    fn tiny_upgrade()(
        hosts in 2usize..=3,
        cores in prop::collection::vec(prop_oneof![Just(4u32), Just(6), Just(8)], 3),
        cp_three in any::<bool>(),
        workers in 1u32..=2,
        services in 0usize..=1,
        surge in 0u32..=1,
        patch in prop::option::of(0usize..3),
        roll in any::<bool>(),
        placed in prop::collection::vec(0usize..3, 8),
    ) -> Value {
        let cp = if cp_three && hosts == 3 { 3 } else { 1 };
        let host_docs: Vec<Value> = (0..hosts).map(|h| json!({ "name": format!("h{h}"), "cpu_cores": cores[h],
            "cpu_core_mhz": 2000, "memory": "64Gi" })).collect();
        let mut names: Vec<String> = (1..=cp).map(|r| format!("ns/c/cp-{r}")).collect();
        names.extend((1..=workers).map(|r| format!("ns/c/p-{r}")));
        names.extend((0..services).map(|i| format!("ns/vm/v{i}")));
        let placement: serde_json::Map<String, Value> = names.iter().zip(&placed)
            .map(|(name, h)| (name.clone(), json!(format!("h{}", h % hosts)))).collect();
        let mut upgrade = json!({ "max_hosts_in_maintenance": 1 });
        if roll { upgrade["clusters"] = json!({ "ns/c": "v1.32.0" }); }
        if let Some(h) = patch { upgrade["hosts"] = json!([format!("h{}", h % hosts)]); }
        json!({
            "version": 1,
            "policy": { "cpu_overcommit": 1.0, "time_limit_s": 20 },
            "hosts": host_docs,
            "storage_policies": [ { "name": "s" } ],
            "networks": [ { "name": "w", "kind": "workload", "ips": 32 }, { "name": "lb", "kind": "load_balancer", "ips": 4 } ],
            "namespaces": [ { "name": "ns", "vm_classes": ["best-effort-small", "best-effort-large"], "storage_policies": ["s"],
                "workload_network": "w", "load_balancer_network": "lb",
                "clusters": [ { "name": "c", "kubernetes_version": "v1.31.4",
                    "control_plane": { "replicas": cp, "vm_class": "best-effort-small" },
                    "node_pools": [ { "name": "p", "replicas": workers, "vm_class": "best-effort-large" } ],
                    "disk": "1Gi", "rollout": { "max_surge": surge, "max_unavailable": 1 - surge } } ],
                "vms": (0..services).map(|i| json!({ "name": format!("v{i}"), "vm_class": "best-effort-large", "disk": "1Gi" })).collect::<Vec<_>>() } ],
            "placement": placement,
            "upgrade": upgrade,
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_planner_agrees_with_the_exhaustive_search(document in tiny_upgrade()) {
        let inventory = vksplan_model::load_value(&document).unwrap_or_else(|e| panic!("invalid: {e}\n{document}"));
        prop_assume!(inventory.upgrade.is_some() && inventory.vms.len() <= 5);
        let plan = common::plan(&inventory);
        prop_assume!(matches!(plan.status, Status::Optimal | Status::Feasible));
        let upgrade = plan.upgrade.clone().unwrap_or_else(|| panic!("no upgrade block"));
        let mut start = vksplan_solver::Assignment::from_plan(&inventory, &plan);
        for (vm, host) in &inventory.placement {
            if start.host_of[*vm].is_some() {
                start.host_of[*vm] = Some(*host);
            }
        }
        let start_hosts: Vec<Option<usize>> =
            start.host_of.iter().map(|h| h.map(HostId::index)).collect();
        let found = search(&inventory, &start_hosts, start.admitted.raw(), 7);
        match (upgrade.status, found) {
            (Status::Infeasible, Search::Waves(waves)) => {
                prop_assert!(false, "planner says infeasible; a {waves}-wave sequence exists: {document}");
            }
            (Status::Optimal, Search::Waves(waves)) => {
                prop_assert_eq!(upgrade.waves.len(), waves, "optimal but not the fewest waves: {}", document);
            }
            (Status::Feasible, Search::Waves(waves)) => {
                prop_assert!(upgrade.waves.len() >= waves);
            }
            (Status::Optimal | Status::Feasible, Search::Impossible) => {
                prop_assert!(false, "a sequence where the search proves none: {document}");
            }
            _ => {}
        }
    }
}
