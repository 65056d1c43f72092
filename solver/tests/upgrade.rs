//! Upgrade sequences: every returned sequence passes the independent audit of docs/output-and-upgrades.md §11-§17
//! (run again here from the plan document), meets its lower bound on the reference platform,
//! stuck upgrades name the owning layer, and plans corrupted against each rule of section 6
//! are rejected by the audit.

mod common;

use vksplan_model::plan::Action;
use vksplan_model::{Constraint, Inventory, Layer, Plan, Status};
use vksplan_solver::Assignment;

fn case(name: &str) -> (Inventory, Plan) {
    let inventory = common::inventory(&common::root().join(format!("fixtures/cases/{name}.json")));
    let plan = common::plan(&inventory);
    (inventory, plan)
}

/// The start state of the sequence as docs/output-and-upgrades.md §11 defines it, from the plan document.
fn start(inventory: &Inventory, plan: &Plan) -> Assignment {
    let mut start = Assignment::from_plan(inventory, plan);
    for (vm, host) in &inventory.placement {
        if start.host_of[*vm].is_some() {
            start.host_of[*vm] = Some(*host);
        }
    }
    start
}

fn waves(plan: &Plan) -> Vec<Vec<Action>> {
    plan.upgrade
        .as_ref()
        .map(|u| u.waves.clone())
        .unwrap_or_default()
}

/// The rules the independent audit finds broken.
fn replayed(inventory: &Inventory, plan: &Plan, waves: &[Vec<Action>]) -> Vec<String> {
    assert!(inventory.upgrade.is_some(), "no upgrade requested");
    let start = start(inventory, plan);
    vksplan_solver::audit_sequence(inventory, &start.host_of, &start.admitted, waves)
        .into_iter()
        .map(|finding| finding.rule.to_string())
        .collect()
}

#[test]
fn sequences_of_the_reference_platform_are_valid_and_meet_their_lower_bound() {
    for (name, expected_waves) in [
        ("upgrade-rolling-prod", 9), // 3 control-plane slots, then 6 workers at max_surge 1
        ("upgrade-patch-all-hosts", 9), // 8 hosts one at a time, and the last one comes back
        ("upgrade-supervisor", 3),   // one Supervisor slot per wave
        ("upgrade-combined", 9),     // gpu-ml: 3 + 4 workers; prod: 3 + 6 workers
        // prod's 6 workers without surge, 2 unavailable: deleted 2 a wave, created the next.
        ("upgrade-rollout-unavailable", 7),
        // surge 2 and 1 unavailable: 2 W + (W - 1) >= 6 gives W = 3 waves after the 3 CP waves.
        ("upgrade-rollout-surge-and-unavailable", 6),
    ] {
        let (inventory, plan) = case(name);
        let upgrade = plan
            .upgrade
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no upgrade block"));
        assert_eq!(upgrade.status, Status::Optimal, "{name}");
        assert_eq!(upgrade.waves.len(), expected_waves, "{name}");
        assert_eq!(upgrade.lower_bound_waves as usize, expected_waves, "{name}");
        assert_eq!(
            replayed(&inventory, &plan, &upgrade.waves),
            Vec::<String>::new(),
            "{name}"
        );
    }
}

/// A stuck case and the groups its diagnosis must name: (layer, constraint, subject).
type Case = (&'static str, &'static [(Layer, &'static str, &'static str)]);

/// Each stuck case names exactly its conflict: the roll or patch that cannot go on and the
/// groups that block it (each entry with the layer that owns it), and nothing else (the
/// cheapest fix is added by `plan_bytes`; `fixes.rs` applies it).
/// A stuck upgrade is `infeasible` only with a proof: the weakest state its blocked task needs
/// has no placement. The diagnosis names the task and that state's minimal conflict, exactly.
#[test]
fn every_stuck_case_names_exactly_its_conflict() {
    use Layer::{Cluster, Infrastructure, Namespace, Supervisor};
    let cases: [Case; 5] = [
        (
            "stuck-namespace-limit",
            &[
                (Cluster, "upgrade_infeasible", "apps/web"),
                (Cluster, "admission", "apps/web"),
                (Namespace, "memory_limit", "apps"),
            ],
        ),
        (
            "stuck-workload-ips",
            &[
                (Cluster, "upgrade_infeasible", "apps/web"),
                (Cluster, "admission", "apps/web"),
                (Namespace, "ip_addresses", "net"),
            ],
        ),
        // The placement itself is infeasible: the management network cannot hold the Supervisor.
        (
            "stuck-management-ips",
            &[
                (Supervisor, "management_ips", "mgmt"),
                (Supervisor, "admission", "supervisor"),
                (Supervisor, "ip_addresses", "mgmt"),
            ],
        ),
        (
            "stuck-host-capacity",
            &[
                (Cluster, "upgrade_infeasible", "apps/web"),
                (Cluster, "admission", "apps/web"),
                (Infrastructure, "host_capacity", "esx-01"),
                (Infrastructure, "host_capacity", "esx-02"),
            ],
        ),
        (
            "stuck-anti-affinity",
            &[
                (Infrastructure, "upgrade_infeasible", "esx-01"),
                (Cluster, "admission", "apps/web"),
                (Cluster, "anti_affinity", "apps/web/cp"),
                (Infrastructure, "maintenance", "esx-01"),
            ],
        ),
    ];
    for (name, expected) in cases {
        let (_, plan) = case(name);
        let upgrade = plan
            .upgrade
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no upgrade block"));
        assert_eq!(upgrade.status, Status::Infeasible, "{name}");
        assert!(upgrade.waves.is_empty(), "{name}");
        let mut named: Vec<(Layer, &str, &str)> = plan
            .diagnosis
            .iter()
            .filter(|d| d.constraint != Constraint::CheapestFix)
            .map(|d| (d.layer, d.constraint.as_str(), d.subject.as_str()))
            .collect();
        named.sort();
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(named, expected, "{name}: {:?}", plan.diagnosis);
    }
}

/// Feasible upgrades that need a preparatory migration are planned (the two 3-host
/// cases): the sequence passes the audit, with the migration first.
#[test]
fn upgrades_that_need_room_first_get_a_sequence() {
    for (name, waves_expected) in [
        ("upgrade-make-room-roll", 5),
        ("upgrade-make-room-patch", 3),
    ] {
        let (inventory, plan) = case(name);
        let upgrade = plan
            .upgrade
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no upgrade block"));
        assert!(
            matches!(upgrade.status, Status::Optimal | Status::Feasible),
            "{name}: {:?} {:?}",
            upgrade.status,
            plan.diagnosis
        );
        assert_eq!(upgrade.waves.len(), waves_expected, "{name}");
        assert!(
            matches!(upgrade.waves[0].first(), Some(Action::Migrate { .. })),
            "{name}: {:?}",
            upgrade.waves[0]
        );
        assert_eq!(
            replayed(&inventory, &plan, &upgrade.waves),
            Vec::<String>::new(),
            "{name}"
        );
    }
}

/// A truly impossible upgrade (3 hosts, a 3-replica control plane, one host to patch) is
/// `infeasible` with its proof: the state with that host empty has no placement.
#[test]
fn an_impossible_patch_is_infeasible_with_its_proof() {
    let (_, plan) = case("upgrade-impossible-patch");
    let upgrade = plan
        .upgrade
        .as_ref()
        .unwrap_or_else(|| panic!("no upgrade block"));
    assert_eq!(upgrade.status, Status::Infeasible);
    let named: Vec<(&str, &str)> = plan
        .diagnosis
        .iter()
        .map(|d| (d.constraint.as_str(), d.subject.as_str()))
        .collect();
    for expected in [
        ("upgrade_infeasible", "esx-a"),
        ("anti_affinity", "apps/db/cp"),
        ("maintenance", "esx-a"),
    ] {
        assert!(named.contains(&expected), "{expected:?} in {named:?}");
    }
}

fn corrupt(name: &str, change: impl Fn(&mut Vec<Vec<Action>>)) -> Vec<String> {
    let (inventory, plan) = case(name);
    let mut waves = waves(&plan);
    assert!(
        replayed(&inventory, &plan, &waves).is_empty(),
        "{name} must be valid before it is corrupted"
    );
    change(&mut waves);
    replayed(&inventory, &plan, &waves)
}

#[test]
fn the_audit_rejects_a_skipped_delete() {
    let broken = corrupt("upgrade-rolling-prod", |waves| {
        let wave = waves
            .iter_mut()
            .find(|w| w.iter().any(|a| matches!(a, Action::Delete { .. })));
        if let Some(wave) = wave {
            wave.retain(|a| !matches!(a, Action::Delete { .. }));
        }
    });
    assert!(
        broken
            .iter()
            .any(|c| c == "roll" || c == "control_plane_roll"),
        "{broken:?}"
    );
}

#[test]
fn the_audit_rejects_two_control_plane_slots_in_one_wave() {
    let broken = corrupt("upgrade-rolling-prod", |waves| {
        let second = waves.remove(1);
        waves[0].extend(second);
        waves[0].sort_by_key(|a| match a {
            Action::ExitMaintenance { .. } => 1,
            Action::Create { .. } | Action::Migrate { .. } => 2,
            Action::Delete { .. } => 3,
            Action::EnterMaintenance { .. } => 4,
        });
    });
    assert!(
        broken.iter().any(|c| c == "control_plane_roll"),
        "{broken:?}"
    );
}

#[test]
fn the_audit_rejects_maintenance_on_a_host_that_still_holds_vms() {
    let broken = corrupt("upgrade-patch-all-hosts", |waves| {
        for wave in waves.iter_mut() {
            wave.retain(|a| !matches!(a, Action::Migrate { .. }));
        }
    });
    assert!(broken.iter().any(|c| c == "maintenance"), "{broken:?}");
}

#[test]
fn the_audit_rejects_pools_before_their_control_plane_and_actions_out_of_phase_order() {
    let broken = corrupt("upgrade-rolling-prod", |waves| {
        let workers = waves.remove(3); // the first worker wave, after the 3 control-plane waves
        waves.insert(0, workers);
    });
    assert!(
        broken.iter().any(|c| c == "control_plane_first"),
        "{broken:?}"
    );
    let broken = corrupt("upgrade-supervisor", |waves| waves[0].reverse());
    assert!(broken.iter().any(|c| c == "phase_order"), "{broken:?}");
}

#[test]
fn the_audit_rejects_a_surge_beyond_max_surge() {
    let broken = corrupt("upgrade-rolling-prod", |waves| {
        // Move the 5th wave's worker roll into the 4th: two surge copies at one peak.
        let fifth = waves.remove(4);
        waves[3].extend(fifth);
        waves[3].sort_by_key(|a| matches!(a, Action::Delete { .. }));
    });
    assert!(broken.iter().any(|c| c == "max_surge"), "{broken:?}");
}

fn phase(action: &Action) -> u8 {
    match action {
        Action::ExitMaintenance { .. } => 1,
        Action::Create { .. } | Action::Migrate { .. } => 2,
        Action::Delete { .. } => 3,
        Action::EnterMaintenance { .. } => 4,
    }
}

#[test]
fn the_audit_rejects_more_unavailable_slots_than_max_unavailable() {
    // Two slots unavailable at a time are allowed; a third deleted early is not.
    let broken = corrupt("upgrade-rollout-unavailable", |waves| {
        let first_delete_wave = waves
            .iter()
            .position(|w| {
                w.iter()
                    .any(|a| matches!(a, Action::Delete { vm } if vm.contains("workers")))
            })
            .unwrap_or(0);
        let next = first_delete_wave + 1;
        let moved: Vec<Action> = waves[next]
            .iter()
            .filter(|a| matches!(a, Action::Delete { .. }))
            .take(1)
            .cloned()
            .collect();
        waves[next].retain(|a| !moved.contains(a));
        waves[first_delete_wave].extend(moved);
        waves[first_delete_wave].sort_by_key(phase);
    });
    assert!(broken.iter().any(|c| c == "max_unavailable"), "{broken:?}");
}

#[test]
fn the_audit_rejects_a_new_copy_on_a_host_in_maintenance_and_too_many_hosts_down() {
    let broken = corrupt("upgrade-combined", |waves| {
        // The first host to enter maintenance gets a new copy in the wave after.
        let Some((w, host)) = waves.iter().enumerate().find_map(|(w, wave)| {
            wave.iter().find_map(|a| match a {
                Action::EnterMaintenance { host } => Some((w, host.clone())),
                _ => None,
            })
        }) else {
            return;
        };
        if let Some(Action::Create { host: target, .. }) = waves
            .iter_mut()
            .skip(w)
            .flat_map(|wave| wave.iter_mut())
            .find(|a| matches!(a, Action::Create { .. }))
        {
            *target = host;
        }
    });
    assert!(broken.iter().any(|c| c == "maintenance"), "{broken:?}");
    let broken = corrupt("upgrade-patch-all-hosts", |waves| {
        // The first host patched comes back only at the very end: two hosts are in
        // maintenance at once (max 1).
        let Some(w) = waves.iter().position(|wave| {
            wave.iter()
                .any(|a| matches!(a, Action::ExitMaintenance { .. }))
        }) else {
            return;
        };
        let position = waves[w]
            .iter()
            .position(|a| matches!(a, Action::ExitMaintenance { .. }))
            .unwrap_or(0);
        let exit = waves[w].remove(position);
        waves.push(vec![exit]);
    });
    assert!(broken.iter().any(|c| c == "maintenance"), "{broken:?}");
}

#[test]
fn the_audit_rejects_a_migration_of_a_slot_with_two_copies_and_a_created_twice_slot() {
    let broken = corrupt("upgrade-rolling-prod", |waves| {
        // A control-plane slot, while its new copy and old copy are both alive, also migrates.
        let wave = &mut waves[0];
        let created = wave.iter().find_map(|a| match a {
            Action::Create { vm, .. } => Some(vm.clone()),
            _ => None,
        });
        if let Some(vm) = created {
            wave.push(Action::Migrate {
                vm,
                to: "esx-08".into(),
            });
            wave.sort_by_key(phase);
        }
    });
    assert!(broken.iter().any(|c| c == "migrate"), "{broken:?}");
    let broken = corrupt("upgrade-rolling-prod", |waves| {
        let again: Vec<Action> = waves[0]
            .iter()
            .filter(|a| matches!(a, Action::Create { .. }))
            .cloned()
            .collect();
        waves[1].extend(again);
        waves[1].sort_by_key(phase);
    });
    assert!(broken.iter().any(|c| c == "roll"), "{broken:?}");
}

#[test]
fn the_audit_rejects_a_host_never_brought_back_and_an_exit_without_entry() {
    let broken = corrupt("upgrade-patch-all-hosts", |waves| {
        if let Some(last) = waves.last_mut() {
            last.retain(|a| !matches!(a, Action::ExitMaintenance { .. }));
        }
    });
    assert!(broken.iter().any(|c| c == "maintenance"), "{broken:?}");
    let broken = corrupt("upgrade-supervisor", |waves| {
        waves[0].insert(
            0,
            Action::ExitMaintenance {
                host: "esx-01".into(),
            },
        );
    });
    assert!(broken.iter().any(|c| c == "maintenance"), "{broken:?}");
}

#[test]
fn the_audit_rejects_a_peak_that_breaks_section_3() {
    // Every new copy of the first wave on one host, beside the copies already there: control
    // planes share a host, or the host overflows.
    let broken = corrupt("upgrade-combined", |waves| {
        for wave in waves.iter_mut() {
            for action in wave.iter_mut() {
                if let Action::Create { host, .. } = action {
                    *host = "esx-01".into();
                }
            }
        }
    });
    assert!(
        broken.iter().any(|c| matches!(
            c.as_str(),
            "anti_affinity"
                | "host_vcpus"
                | "host_memory"
                | "host_reserved_vcpus"
                | "host_reserved_memory"
                | "devices"
        )),
        "{broken:?}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..proptest::prelude::ProptestConfig::default() })]

    /// Generated platforms with every cluster rolled, some hosts patched and the Supervisor
    /// rolled: every sequence passes the replay (again, from the plan document), never beats
    /// its lower bound, and a stuck one says why.
    #[test]
    fn generated_upgrades_replay_cleanly(seed in proptest::prelude::any::<u64>(), hosts in 4usize..=9,
                                         patch_every in 1usize..=3, concurrency in 1u32..=2, rules in 0usize..=2) {
        let params = vksplan_testkit::generate::Params {
            seed, hosts, three_zones: false, supervisor: true, namespaces: 2, clusters_per_namespace: 2,
            pools_per_cluster: 1, max_pool_replicas: 3, vms_per_namespace: 1, limit_slack: Some(1.5),
            priority_fraction: 0.2, rules, placed_fraction: 0.5, objective: "balance", time_limit_s: 60.0,
            upgrade: Some((patch_every, concurrency)),
        };
        let document = vksplan_testkit::generate::generate(&params);
        let inventory = vksplan_model::load_value(&document).unwrap_or_else(|e| panic!("invalid: {e}"));
        let plan = common::plan(&inventory);
        let upgrade = plan.upgrade.clone().unwrap_or_else(|| panic!("no upgrade block"));
        match upgrade.status {
            Status::Infeasible | Status::Timeout => {
                proptest::prop_assert!(!plan.diagnosis.is_empty());
                proptest::prop_assert!(upgrade.waves.is_empty());
            }
            _ => {
                proptest::prop_assert_eq!(replayed(&inventory, &plan, &upgrade.waves), Vec::<String>::new());
                proptest::prop_assert!(upgrade.waves.len() as u32 >= upgrade.lower_bound_waves);
            }
        }
    }
}

/// The sequencing has the time limit of its own: when it passes, the upgrade is `timeout`
/// with no waves and an `input` entry naming `policy.time_limit_s`, never a partial sequence.
#[test]
fn sequencing_stops_at_its_time_limit() {
    let inventory = common::inventory(&common::root().join("fixtures/cases/upgrade-combined.json"));
    let options = vksplan_solver::Options {
        time_limit_s: Some(0.0),
        ..vksplan_solver::Options::default()
    };
    let plan = vksplan_solver::plan(&inventory, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(plan.status, Status::Optimal | Status::Feasible),
        "{:?}",
        plan.status
    );
    let upgrade = plan
        .upgrade
        .as_ref()
        .unwrap_or_else(|| panic!("no upgrade"));
    assert_eq!(upgrade.status, Status::Timeout);
    assert!(upgrade.waves.is_empty());
    assert!(upgrade.lower_bound_waves > 0);
    assert!(
        plan.diagnosis
            .iter()
            .any(|d| d.constraint == Constraint::TimeLimit
                && d.path.as_deref() == Some("policy.time_limit_s")),
        "{:?}",
        plan.diagnosis
    );
    assert_eq!(plan.exit_code(), 1);
}
