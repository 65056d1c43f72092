//! Every suggested fix works: for each diagnosis entry of a fixture that carries a `fix`, the
//! plan of the fixture with that fix applied (as `--what-if` would) no longer has the problem:
//! an infeasible placement becomes feasible, a stuck upgrade goes through, a rejected unit is
//! admitted, and the entry is gone. Every stuck fixture (no placement, or no upgrade sequence)
//! has a cheapest fix.

mod common;

use vksplan_model::document::what_if::Change;
use vksplan_model::{Constraint, Status};
use vksplan_solver::Options;

#[test]
fn applying_each_suggested_fix_resolves_its_entry() {
    let mut checked = 0;
    let mut stuck_cases = 0;
    let mut files = common::fixtures("");
    files.extend(common::fixtures("cases"));
    for path in files {
        let document = std::fs::read(&path).unwrap_or_default();
        let before = vksplan_solver::plan_bytes(&document, &Options::default())
            .unwrap_or_else(|e| panic!("{e}"));
        // Whatever is stuck gets a cheapest fix; only it carries a `fix` then.
        let stuck = before.status == Status::Infeasible
            || before
                .upgrade
                .as_ref()
                .is_some_and(|u| u.status == Status::Infeasible);
        if stuck {
            stuck_cases += 1;
            assert!(
                before
                    .diagnosis
                    .iter()
                    .any(|d| d.constraint == Constraint::CheapestFix),
                "{}: stuck without a cheapest fix: {:?}",
                path.display(),
                before.diagnosis
            );
            assert!(
                before
                    .diagnosis
                    .iter()
                    .all(|d| d.fix.is_empty() || d.constraint == Constraint::CheapestFix),
                "{}: an unchecked fix: {:?}",
                path.display(),
                before.diagnosis
            );
        }
        for entry in before.diagnosis.iter().filter(|d| !d.fix.is_empty()) {
            let fix = entry.fix.join(" ");
            let changes: Vec<Change> = entry
                .fix
                .iter()
                .map(|f| {
                    Change::parse_assignment(f)
                        .unwrap_or_else(|e| panic!("{}: bad fix {f}: {e}", path.display()))
                })
                .collect();
            let after = vksplan_solver::plan_what_if(&document, &changes, &Options::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let name = format!(
                "{}: fix `{fix}` for {:?} `{}`",
                path.display(),
                entry.constraint,
                entry.subject
            );
            assert!(
                matches!(after.status, Status::Optimal | Status::Feasible),
                "{name}: placement is {:?}",
                after.status
            );
            if let Some(upgrade) = &after.upgrade {
                assert_ne!(
                    upgrade.status,
                    Status::Infeasible,
                    "{name}: the upgrade is still stuck"
                );
            }
            assert!(
                !after.rejected.contains(&entry.subject),
                "{name}: `{}` is still rejected",
                entry.subject
            );
            assert!(
                !after
                    .diagnosis
                    .iter()
                    .any(|d| d.constraint == entry.constraint && d.subject == entry.subject),
                "{name}: the entry is still there: {:?}",
                after.diagnosis
            );
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} fixes were checked");
    assert!(stuck_cases >= 8, "only {stuck_cases} stuck fixtures");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// On generated topologies whose namespace limits and workload addresses are short, the
    /// cheapest fix makes the topology fit, and none of its raises can be left out.
    #[test]
    fn the_cheapest_fix_fits_and_every_raise_is_needed(
        seed in proptest::prelude::any::<u64>(),
        hosts in 3usize..=6,
        slack in 0.5f64..1.2,
        addresses in 0.3f64..1.2,
    ) {
        let params = vksplan_testkit::generate::Params {
            seed, hosts, three_zones: hosts % 3 == 0 && seed % 2 == 0, supervisor: true, namespaces: 2,
            clusters_per_namespace: 1, pools_per_cluster: 2, max_pool_replicas: 3, vms_per_namespace: 1,
            limit_slack: Some(slack), priority_fraction: 0.0, rules: 0, placed_fraction: 0.0,
            objective: "balance", time_limit_s: 60.0, upgrade: None,
        };
        let mut document = vksplan_testkit::generate::generate(&params);
        let workload = document["networks"][1]["ips"].as_u64().unwrap_or(0);
        document["networks"][1]["ips"] = serde_json::json!(((workload as f64) * addresses) as u64);
        let plan = vksplan_solver::plan_bytes(document.to_string().as_bytes(), &Options::default())
            .unwrap_or_else(|e| panic!("{e}"));
        proptest::prop_assume!(plan.status == Status::Infeasible);
        let fix = common::cheapest_fix(&plan);
        proptest::prop_assert!(!fix.is_empty(), "no fix for {document}: {:?}", plan.diagnosis);
        proptest::prop_assert!(common::fits_with(&document, &fix), "the fix {fix:?} does not fit {document}");
        for (i, left_out) in fix.iter().enumerate() {
            if left_out.starts_with("hosts.") {
                continue;
            }
            let rest: Vec<String> = fix.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, f)| f.clone()).collect();
            proptest::prop_assert!(!common::fits_with(&document, &rest), "the fix {fix:?} fits without {left_out}: {document}");
        }
    }
}
