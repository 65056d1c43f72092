//! Every suggested fix works: for each diagnosis entry of a fixture that carries a `fix`, the
//! plan of the fixture with that fix applied (as `--what-if` would) no longer has the problem:
//! an infeasible placement becomes feasible, a stuck upgrade goes through, a rejected unit is
//! admitted, and the entry is gone.

mod common;

use vksplan::model::what_if::Change;
use vksplan::model::Status;
use vksplan::solver::Options;

#[test]
fn applying_each_suggested_fix_resolves_its_entry() {
    let mut checked = 0;
    let mut files = common::fixtures("");
    files.extend(common::fixtures("cases"));
    for path in files {
        let document = std::fs::read(&path).unwrap_or_default();
        let before =
            vksplan::plan_bytes(&document, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
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
            let after = vksplan::plan_what_if(&document, &changes, &Options::default())
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
}
