//! Helpers shared by the solver's integration tests.
#![allow(dead_code)]

#[path = "files.rs"]
mod files;

#[allow(unused_imports)]
pub use files::{fixtures, root};
use std::path::Path;

/// Loads a fixture that must be valid.
pub fn inventory(path: &Path) -> vksplan_model::Inventory {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    vksplan_model::load(&text).unwrap_or_else(|e| panic!("{} is invalid: {e}", path.display()))
}

/// Plans an inventory with default options; panics on an internal error.
pub fn plan(inventory: &vksplan_model::Inventory) -> vksplan_model::Plan {
    vksplan_solver::plan(inventory, &vksplan_solver::Options::default())
        .unwrap_or_else(|e| panic!("internal error: {e}"))
}

/// The plan as JSON with `stats` (timings, model size) zeroed: what must repeat exactly.
pub fn stable_json(plan: &vksplan_model::Plan) -> String {
    let mut plan = plan.clone();
    plan.stats = Default::default();
    plan.to_json()
}

/// Re-checks a returned plan with the independent verifier, from its JSON-level content.
pub fn assert_verified(inventory: &vksplan_model::Inventory, plan: &vksplan_model::Plan) {
    use vksplan_solver::{verify, Assignment};
    let report = verify(inventory, &Assignment::from_plan(inventory, plan));
    assert!(
        report.violations.is_empty(),
        "plan fails verification: {:#?}",
        report.violations
    );
}

/// The `fix` of a plan's cheapest-fix entries (all carry the same one).
pub fn cheapest_fix(plan: &vksplan_model::Plan) -> Vec<String> {
    plan.diagnosis
        .iter()
        .find(|d| d.constraint == vksplan_model::Constraint::CheapestFix)
        .map(|d| d.fix.clone())
        .unwrap_or_default()
}

/// Whether the document with `fix` applied plans everything it must.
pub fn fits_with(document: &serde_json::Value, fix: &[String]) -> bool {
    let changes: Vec<vksplan_model::document::what_if::Change> = fix
        .iter()
        .map(|f| {
            vksplan_model::document::what_if::Change::parse_assignment(f)
                .unwrap_or_else(|e| panic!("bad fix {f}: {e}"))
        })
        .collect();
    let bytes = document.to_string().into_bytes();
    let plan = vksplan_solver::plan_what_if(&bytes, &changes, &vksplan_solver::Options::default())
        .unwrap_or_else(|e| panic!("{e}"));
    matches!(
        plan.status,
        vksplan_model::Status::Optimal | vksplan_model::Status::Feasible
    )
}
