//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `*.json` directly in `fixtures/<folder>`, sorted.
pub fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = root().join("fixtures").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

/// The stem of a fixture path.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("fixture")
        .to_string()
}

/// Loads a fixture that must be valid.
pub fn inventory(path: &Path) -> vksplan::model::Inventory {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    vksplan::model::load(&text).unwrap_or_else(|e| panic!("{} is invalid: {e}", path.display()))
}

/// Plans an inventory with default options; panics on an internal error.
pub fn plan(inventory: &vksplan::model::Inventory) -> vksplan::model::Plan {
    vksplan::solver::plan(inventory, &vksplan::solver::Options::default())
        .unwrap_or_else(|e| panic!("internal error: {e}"))
}

/// The plan as JSON with `stats` (timings, model size) zeroed: what must repeat exactly.
pub fn stable_json(plan: &vksplan::model::Plan) -> String {
    let mut plan = plan.clone();
    plan.stats = Default::default();
    plan.to_json()
}

/// Re-checks a returned plan with the independent verifier, from its JSON-level content.
pub fn assert_verified(inventory: &vksplan::model::Inventory, plan: &vksplan::model::Plan) {
    use vksplan::solver::{verify, Assignment};
    let report = verify(inventory, &Assignment::from_plan(inventory, plan));
    assert!(
        report.violations.is_empty(),
        "plan fails verification: {:#?}",
        report.violations
    );
}

/// The `fix` of a plan's cheapest-fix entries (all carry the same one).
pub fn cheapest_fix(plan: &vksplan::model::Plan) -> Vec<String> {
    plan.diagnosis
        .iter()
        .find(|d| d.constraint == vksplan::model::Constraint::CheapestFix)
        .map(|d| d.fix.clone())
        .unwrap_or_default()
}

/// Whether the document with `fix` applied plans everything it must.
pub fn fits_with(document: &serde_json::Value, fix: &[String]) -> bool {
    let changes: Vec<vksplan::model::what_if::Change> = fix
        .iter()
        .map(|f| {
            vksplan::model::what_if::Change::parse_assignment(f)
                .unwrap_or_else(|e| panic!("bad fix {f}: {e}"))
        })
        .collect();
    let bytes = document.to_string().into_bytes();
    let plan = vksplan::plan_what_if(&bytes, &changes, &vksplan::solver::Options::default())
        .unwrap_or_else(|e| panic!("{e}"));
    matches!(
        plan.status,
        vksplan::model::Status::Optimal | vksplan::model::Status::Feasible
    )
}

/// Runs the `vksplan` binary from the repository root with `args`, `stdin` on its standard
/// input (closed at once when `None`); its output.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&[u8]>) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_vksplan"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run vksplan: {e}"));
    if let (Some(bytes), Some(mut input)) = (stdin, child.stdin.take()) {
        let _ = input.write_all(bytes);
    }
    drop(child.stdin.take());
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("vksplan did not finish: {e}"))
}
