//! # vksplan
//!
//! A placement engine for vSphere Kubernetes Service platforms: it reads a topology document
//! (hosts, Supervisor, vSphere Namespaces, workload clusters, rules), validates it, and plans
//! where every VM goes. This crate is the facade over [`model`] (domain types, validation) and
//! [`solver`] (MIP placement, upgrade sequencing, verification, diagnosis), and the home of the
//! `vksplan` CLI. The document formats are in `docs/` of the repository.
//!
//! ```
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/lab-1-host.json"))?;
//! let inventory = vksplan::model::load(&text)?;
//! assert_eq!(inventory.vms.len(), 4); // 1 Supervisor VM, 1 control plane, 2 workers
//! let plan = vksplan::plan_bytes(text.as_bytes(), &vksplan::solver::Options::default())?;
//! assert_eq!(vksplan::exit_code(&plan), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub use vksplan_model as model;
pub use vksplan_solver as solver;

pub use solver::{cheapest_fix, plan_bytes, plan_what_if, Deadline, MAX_ADDED_HOSTS};

/// The exit code the CLI uses for a plan: 0 plan found, 1 infeasible or timeout (of the
/// placement, or of the upgrade sequence when one is asked for), 2 invalid.
pub fn exit_code(plan: &model::Plan) -> i32 {
    plan.exit_code()
}
