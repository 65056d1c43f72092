//! The MIP against an obviously-right reference: on tiny generated topologies (at most 4
//! hosts and 6 VMs), enumerate every admission decision and every host of every VM, keep the
//! assignments the verifier accepts, rank them by the lexicographic objective (docs/accounting.md §12), and
//! require the plan's objective to equal the best. Also: every plan passes the verifier,
//! results repeat, and removing a VM never turns a feasible topology infeasible.

mod common;

use proptest::prelude::*;
use serde_json::{json, Value};
use vksplan_model::document::ObjectiveKind;
use vksplan_model::VmId;
use vksplan_model::{HostId, IdVec};
use vksplan_model::{Inventory, Status};
use vksplan_solver::{verify, Assignment, Ratio, Report};

/// The objective of docs/accounting.md §12: priority and admitted (negated), soft rules
/// broken, migrations, peak or cost, spread; smaller is better.
type Key = (i64, i64, u32, u32, f64, u32);

/// An assignment's [`Key`].
fn key(inventory: &Inventory, assignment: &Assignment, report: &Report) -> Key {
    let mut priority = 0i64;
    let mut admitted = 0i64;
    for (unit, on) in inventory.admission_units.iter().zip(&assignment.admitted) {
        if *on && unit.priority.is_some() {
            priority += i64::from(unit.priority.unwrap_or(0));
            admitted += 1;
        }
    }
    let step4 = match inventory.policy.objective {
        ObjectiveKind::Balance => report.max_utilization,
        ObjectiveKind::Consolidate => report.cost,
    };
    (
        -priority,
        -admitted,
        report.soft_rules_broken.len() as u32,
        report.migrations,
        step4,
        report.spread,
    )
}

fn better(a: &Key, b: &Key) -> bool {
    let close = (a.4 - b.4).abs() <= 1e-7;
    (a.0, a.1, a.2, a.3) < (b.0, b.1, b.2, b.3)
        || (a.0, a.1, a.2, a.3) == (b.0, b.1, b.2, b.3)
            && (!close && a.4 < b.4 || close && a.5 < b.5)
}

/// The exact peak utilisation of a valid assignment: the verifier's loads over the limits.
fn exact_peak(inventory: &Inventory, report: &Report) -> Ratio {
    let mut peak = Ratio::ZERO;
    for (host, load) in inventory.hosts.iter().zip(&report.accounting.hosts) {
        if load.vms > 0 {
            let vcpus = Ratio::new(u128::from(load.vcpus), u128::from(host.vcpu_limit.max(1)));
            let memory = Ratio::new(load.memory, u128::from(host.memory_limit.0.max(1)));
            peak = peak.max(vcpus).max(memory);
        }
    }
    peak
}

/// The best objective over every assignment with the best one's exact peak, or `None` when
/// nothing is valid.
fn brute_force(inventory: &Inventory) -> Option<(Key, Ratio)> {
    let units = inventory.admission_units.len();
    let hosts = inventory.hosts.len();
    let mut best: Option<(Key, Ratio)> = None;
    for mask in 0u32..(1 << units) {
        let admitted: Vec<bool> = (0..units).map(|u| mask & (1 << u) != 0).collect();
        let placed: Vec<usize> = (0..inventory.vms.len())
            .filter(|vm| {
                let group = inventory.vms[VmId::new(*vm)].group;
                inventory
                    .unit_of_group(group)
                    .is_none_or(|unit| admitted[unit.index()])
            })
            .collect();
        let total = hosts.pow(placed.len() as u32);
        for mut code in 0..total {
            let mut host_of = vec![None; inventory.vms.len()];
            for vm in &placed {
                host_of[*vm] = Some(code % hosts);
                code /= hosts;
            }
            let assignment = Assignment {
                host_of: host_of.iter().map(|h| h.map(HostId::new)).collect(),
                admitted: IdVec::from_vec(admitted.clone()),
            };
            let report = verify(inventory, &assignment);
            if report.violations.is_empty() {
                let candidate = key(inventory, &assignment, &report);
                if best.as_ref().is_none_or(|(b, _)| better(&candidate, b)) {
                    best = Some((candidate, exact_peak(inventory, &report)));
                }
            }
        }
    }
    best
}

prop_compose! {
    fn tiny_topology()(
        host_count in 2usize..=4,
        cores in prop::collection::vec(prop_oneof![Just(2u32), Just(4), Just(8)], 4),
        memory_gib in prop::collection::vec(prop_oneof![Just(8u32), Just(16), Just(32)], 4),
        costs in prop::collection::vec(1u32..=3, 4),
        maintenance in prop::option::of(0usize..4),
        overcommit in prop_oneof![Just(1.0f64), Just(2.0), Just(4.0)],
        consolidate in any::<bool>(),
        supervisor in any::<bool>(),
        cp_replicas in prop_oneof![Just(1u32), Just(3)],
        pool_replicas in 0u32..=2,
        pool_class in prop_oneof![Just("best-effort-medium"), Just("guaranteed-small"), Just("best-effort-large")],
        cluster_priority in prop::option::of(0u32..=5),
        vm_count in 0usize..=2,
        vm_priorities in prop::collection::vec(prop::option::of(0u32..=5), 2),
        memory_limit_gib in prop::option::of(8u32..=48),
        workload_ips in 3u32..=10,
        rules in prop::collection::vec((0usize..3, any::<bool>(), 0usize..6, 0usize..6, 0usize..4, any::<bool>()), 0..=2),
        placed in prop::collection::vec(prop::option::of(0usize..4), 6),
        zoned in any::<bool>(),
    ) -> Value {
        // A 3-zone Supervisor needs a host in each zone.
        let zoned = zoned && supervisor && host_count >= 3;
        let hosts: Vec<Value> = (0..host_count).map(|i| {
            let mut host = json!({ "name": format!("h{i}"), "cpu_cores": cores[i], "cpu_core_mhz": 2000,
                                   "memory": format!("{}Gi", memory_gib[i]), "cost": costs[i] });
            if zoned { host["zone"] = json!(format!("z{}", i % 3)); }
            if maintenance == Some(i) { host["maintenance"] = json!(true); }
            host
        }).collect();
        let mut cluster = json!({ "name": "c", "kubernetes_version": "v1.31.4",
            "control_plane": { "replicas": cp_replicas, "vm_class": "best-effort-small" },
            "node_pools": [ { "name": "p", "replicas": pool_replicas, "vm_class": pool_class } ], "disk": "10Gi" });
        if let Some(priority) = cluster_priority { cluster["priority"] = json!(priority); }
        let vms: Vec<Value> = (0..vm_count).map(|i| {
            let mut vm = json!({ "name": format!("v{i}"), "vm_class": "guaranteed-small", "disk": "10Gi" });
            if let Some(priority) = vm_priorities[i] { vm["priority"] = json!(priority); }
            vm
        }).collect();
        let mut names: Vec<String> = (1..=cp_replicas).map(|r| format!("ns/c/cp-{r}")).collect();
        names.extend((1..=pool_replicas).map(|r| format!("ns/c/p-{r}")));
        names.extend((0..vm_count).map(|i| format!("ns/vm/v{i}")));
        let mut namespace = json!({ "name": "ns", "vm_classes": ["best-effort-small", "best-effort-medium", "best-effort-large", "guaranteed-small"],
            "storage_policies": ["s"], "workload_network": "w", "load_balancer_network": "lb", "clusters": [cluster], "vms": vms });
        if let Some(gib) = memory_limit_gib { namespace["limits"] = json!({ "memory": format!("{gib}Gi") }); }
        let mut document = json!({
            "version": 1,
            "policy": { "cpu_overcommit": overcommit, "objective": if consolidate { "consolidate" } else { "balance" } },
            "hosts": hosts,
            "storage_policies": [ { "name": "s" } ],
            "networks": [ { "name": "m", "kind": "management", "ips": 3 }, { "name": "w", "kind": "workload", "ips": workload_ips },
                          { "name": "lb", "kind": "load_balancer", "ips": 4 } ],
            "namespaces": [namespace],
        });
        if supervisor {
            document["supervisor"] = json!({ "control_plane": { "replicas": 1, "size": "tiny" }, "management_network": "m",
                "workload_network": "w", "load_balancer_network": "lb" });
            names.push("supervisor/cp-1".into());
            if zoned {
                document["supervisor"]["zones"] = json!(["z0", "z1", "z2"]);
                document["supervisor"]["control_plane"]["replicas"] = json!(3);
                names.extend(["supervisor/cp-2".into(), "supervisor/cp-3".into()]);
            }
        }
        let rules: Vec<Value> = rules.iter().enumerate().filter(|_| names.len() >= 2).map(|(r, (kind, must, a, b, host, run_on))| {
            let kinds = ["separate", "together", "vm_host"];
            let mut rule = json!({ "name": format!("r{r}"), "kind": kinds[*kind], "vms": [names[a % names.len()], names[b % names.len()]], "must": must });
            if *kind == 2 { rule["hosts"] = json!([format!("h{}", host % host_count)]); rule["run_on"] = json!(run_on); }
            rule
        }).collect();
        if !rules.is_empty() { document["rules"] = json!(rules); }
        let placement: serde_json::Map<String, Value> = names.iter().zip(&placed)
            .filter_map(|(name, host)| host.map(|h| (name.clone(), json!(format!("h{}", h % host_count))))).collect();
        if !placement.is_empty() { document["placement"] = Value::Object(placement); }
        document
    }
}

/// The conflict of an infeasible topology is infeasible and irreducible: without any one of
/// its groups, the others hold.
fn assert_irreducible(inventory: &Inventory) {
    use vksplan_solver::{holds, minimal_conflict};
    let conflict = minimal_conflict(inventory, std::time::Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no conflict found"));
    assert!(conflict.irreducible);
    assert!(!conflict.owners.is_empty());
    assert_eq!(
        holds(inventory, &conflict.owners, 60.0),
        Some(false),
        "the conflict {:?} holds",
        conflict.owners
    );
    for (i, owner) in conflict.owners.iter().enumerate() {
        let mut rest = conflict.owners.clone();
        rest.remove(i);
        assert_eq!(
            holds(inventory, &rest, 60.0),
            Some(true),
            "without {owner:?} the rest of {:?} still fails",
            conflict.owners
        );
    }
}

fn plan(inventory: &Inventory) -> vksplan_model::Plan {
    common::plan(inventory)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_mip_agrees_with_brute_force(document in tiny_topology()) {
        let inventory = vksplan_model::load_value(&document).unwrap_or_else(|e| panic!("generator made an invalid topology: {e}\n{document}"));
        prop_assume!(inventory.vms.len() <= 6);
        let plan = plan(&inventory);
        let best = brute_force(&inventory);
        match best {
            None => {
                prop_assert_eq!(plan.status, Status::Infeasible, "brute force finds nothing valid; {}", document);
                assert_irreducible(&inventory);
            }
            Some((best, _)) => {
                prop_assert_eq!(plan.status, Status::Optimal, "brute force finds {:?}; {}", best, document);
                let assignment = Assignment::from_plan(&inventory, &plan);
                let report = verify(&inventory, &assignment);
                prop_assert!(report.violations.is_empty(), "{:?}", report.violations);
                let got = key(&inventory, &assignment, &report);
                prop_assert_eq!((got.0, got.1, got.2, got.3), (best.0, best.1, best.2, best.3), "{}", document);
                prop_assert!((got.4 - best.4).abs() <= 1e-6, "step 4: {} vs {}; {}", got.4, best.4, document);
                prop_assert_eq!(got.5, best.5, "spread; {}", document);
            }
        }
    }

    /// Every lower bound the staged solve uses to prove a step without solving it is at most
    /// the brute-forced optimum of that step, given the optimum's values on the steps before.
    #[test]
    fn lower_bounds_never_exceed_the_brute_forced_optimum(document in tiny_topology()) {
        let inventory = vksplan_model::load_value(&document).unwrap_or_else(|e| panic!("generator made an invalid topology: {e}\n{document}"));
        prop_assume!(inventory.vms.len() <= 6);
        let Some((best, peak)) = brute_force(&inventory) else {
            return Ok(());
        };
        let held = vksplan_solver::Score {
            priority: (-best.0) as u64,
            admitted: (-best.1) as u32,
            soft_rules: best.2,
            migrations: best.3,
            step4: match inventory.policy.objective {
                ObjectiveKind::Balance => vksplan_solver::Step4::Peak(peak),
                ObjectiveKind::Consolidate => vksplan_solver::Step4::Cost(best.4),
            },
            spread: best.5,
        };
        let bounds = vksplan_solver::lower_bounds(&inventory, &held);
        prop_assert!(bounds.migrations <= best.3, "migrations floor {} > optimum {}; {}", bounds.migrations, best.3, document);
        if let Some(peak) = bounds.peak {
            prop_assert!(peak.to_f64() <= best.4 + 1e-9, "peak floor {} > optimum {}; {}", peak.to_f64(), best.4, document);
        }
        if let Some(cost) = bounds.cost {
            prop_assert!(cost <= best.4 + 1e-9, "cost floor {} > optimum {}; {}", cost, best.4, document);
        }
        prop_assert!(bounds.spread <= best.5, "spread floor {} > optimum {}; {}", bounds.spread, best.5, document);
    }

    #[test]
    fn plans_verify_repeat_and_removing_a_vm_keeps_feasibility(seed in any::<u64>(), hosts in 3usize..=8, rules in 0usize..=3,
                                                               placed in prop_oneof![Just(0.0), Just(0.5)]) {
        let params = vksplan_testkit::generate::Params {
            seed, hosts, three_zones: hosts % 3 == 0 && seed % 2 == 0, supervisor: true, namespaces: 2,
            clusters_per_namespace: 2, pools_per_cluster: 1, max_pool_replicas: 4, vms_per_namespace: 1,
            limit_slack: Some(1.0), priority_fraction: 0.3, rules, placed_fraction: placed,
            objective: if seed % 3 == 0 { "consolidate" } else { "balance" }, time_limit_s: 60.0,
            upgrade: None,
        };
        let document = vksplan_testkit::generate::generate(&params);
        let inventory = vksplan_model::load_value(&document).unwrap_or_else(|e| panic!("invalid: {e}"));
        let first = plan(&inventory);
        prop_assert_eq!(common::stable_json(&first), common::stable_json(&plan(&inventory)));
        if matches!(first.status, Status::Optimal | Status::Feasible) {
            common::assert_verified(&inventory, &first);
            // Remove one VM: the last VM Service VM of the first namespace, or shrink a pool.
            let mut smaller = document.clone();
            let vms = smaller["namespaces"][0]["vms"].as_array_mut();
            let removed = vms.is_some_and(|vms| vms.pop().is_some());
            prop_assume!(removed);
            if let Some(rules) = smaller["rules"].as_array_mut() {
                rules.retain(|rule| !rule["vms"].to_string().contains("ns-01/vm/vm-1"));
                if rules.is_empty() { smaller.as_object_mut().map(|d| d.remove("rules")); }
            }
            if let Some(placement) = smaller["placement"].as_object_mut() { placement.remove("ns-01/vm/vm-1"); }
            let smaller = vksplan_model::load_value(&smaller).unwrap_or_else(|e| panic!("invalid after removal: {e}"));
            let after = plan(&smaller);
            prop_assert!(matches!(after.status, Status::Optimal | Status::Feasible), "removing a VM made it {:?}", after.status);
        }
    }

    /// Hosts short of memory for what must run: the conflict (all hosts' capacity and the
    /// units whose demand exceeds it, found by arithmetic and packings) is irreducible, and
    /// the cheapest fix (hosts added) makes the topology fit.
    #[test]
    fn capacity_shortages_have_irreducible_conflicts_and_a_fix(seed in any::<u64>(), hosts in 2usize..=6,
                                                                 percent in 50u64..100) {
        let params = vksplan_testkit::generate::Params {
            seed, hosts, three_zones: false, supervisor: seed % 2 == 0, namespaces: 2,
            clusters_per_namespace: 2, pools_per_cluster: 1, max_pool_replicas: 3, vms_per_namespace: 1,
            limit_slack: None, priority_fraction: 0.0, rules: 0, placed_fraction: 0.0,
            objective: "balance", time_limit_s: 60.0, upgrade: None,
        };
        let mut document = vksplan_testkit::generate::generate(&params);
        vksplan_testkit::generate::short_of(&mut document, vksplan_testkit::generate::Shortage::HostMemory(percent));
        let inventory = vksplan_model::load_value(&document).unwrap_or_else(|e| panic!("invalid: {e}"));
        let host_memory = inventory.hosts.iter().map(|h| h.memory.0).min().unwrap_or(0);
        let first = plan(&inventory);
        prop_assume!(first.status == Status::Infeasible);
        assert_irreducible(&inventory);
        // Copies of these hosts can only help VMs that fit on one.
        let largest = inventory.vms.iter().map(|vm| inventory.groups[vm.group].memory.0).max().unwrap_or(0);
        prop_assume!(host_memory >= 2 * largest);
        let planned = vksplan_solver::plan_bytes(document.to_string().as_bytes(), &vksplan_solver::Options::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let fix = common::cheapest_fix(&planned);
        prop_assert!(!fix.is_empty(), "no fix: {:?}", planned.diagnosis);
        prop_assert!(common::fits_with(&document, &fix), "the fix {fix:?} does not fit");
    }

    /// Namespace limits and workload addresses short of what must run (3-zone Supervisors
    /// too): every conflict is irreducible, whether found by arithmetic or by the filter.
    #[test]
    fn limit_and_address_shortages_have_irreducible_conflicts(seed in any::<u64>(), hosts in 3usize..=6,
                                                               slack in 0.4f64..1.1, addresses in 0.3f64..1.1) {
        let params = vksplan_testkit::generate::Params {
            seed, hosts, three_zones: hosts % 3 == 0 && seed % 2 == 0, supervisor: true, namespaces: 2,
            clusters_per_namespace: 2, pools_per_cluster: 1, max_pool_replicas: 3, vms_per_namespace: 1,
            limit_slack: Some(slack), priority_fraction: 0.2, rules: 0, placed_fraction: 0.0,
            objective: "balance", time_limit_s: 60.0, upgrade: None,
        };
        let mut document = vksplan_testkit::generate::generate(&params);
        let workload = document["networks"][1]["ips"].as_u64().unwrap_or(0);
        document["networks"][1]["ips"] = json!(((workload as f64) * addresses) as u64);
        let inventory = vksplan_model::load_value(&document).unwrap_or_else(|e| panic!("invalid: {e}"));
        prop_assume!(plan(&inventory).status == Status::Infeasible);
        assert_irreducible(&inventory);
    }
}
