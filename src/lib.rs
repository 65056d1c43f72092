//! # vksplan
//!
//! A placement engine for vSphere Kubernetes Service platforms: it reads a topology document
//! (hosts, Supervisor, vSphere Namespaces, workload clusters, rules), validates it, and plans
//! where every VM goes. This crate is the facade over [`model`] (domain types, validation) and
//! [`solver`] (MIP placement and verification), and the home of the `vksplan` CLI.
//!
//! ```
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/lab-1-host.json"))?;
//! let inventory = vksplan::model::load(&text)?;
//! assert_eq!(inventory.vms.len(), 4); // 1 Supervisor VM, 1 control plane, 2 workers
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod generate;

pub use vksplan_model as model;
pub use vksplan_solver as solver;

use model::{Plan, Status};

/// Plans a topology document given as bytes: validation, then placement. Bad input is an
/// `Ok` plan with status `invalid`; `Err` is reserved for vksplan's own failures.
pub fn plan_bytes(document: &[u8], options: &solver::Options) -> Result<Plan, solver::SolverError> {
    match model::load_bytes(document) {
        Err(invalid) => Ok(Plan::invalid(invalid)),
        Ok(inventory) => solver::plan(&inventory, options),
    }
}

/// The exit code the CLI uses for a plan: 0 plan found, 1 infeasible or timeout, 2 invalid.
pub fn exit_code(plan: &Plan) -> i32 {
    plan.status.exit_code()
}

/// Whether a status means a placement was produced.
pub fn has_placement(status: Status) -> bool {
    matches!(status, Status::Optimal | Status::Feasible)
}
