//! # vksplan-solver
//!
//! Compiles a validated [`vksplan_model::Inventory`] into one mixed-integer program (counts of
//! interchangeable VMs per host, one file per constraint family under `mip/families`), solves it
//! with HiGHS step by step in the lexicographic order of the objective (docs/accounting.md §12),
//! names every VM's host, and checks the result with an independent [`verify`] before returning
//! it. Upgrades are sequenced wave by wave and audited; a stuck plan gets its minimal conflict and
//! cheapest fix. `docs/ARCHITECTURE.md` in the repository shows what each folder owns.
//!
//! ```
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/lab-1-host.json"))?;
//! let inventory = vksplan_model::load(&text)?;
//! let plan = vksplan_solver::plan(&inventory, &vksplan_solver::Options::default())?;
//! assert_eq!(plan.status, vksplan_model::Status::Optimal);
//! assert_eq!(plan.placement["lab/tkc/cp-1"], "esx-lab");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod check;
mod deadline;
mod diagnosis;
mod document;
mod mip;
mod placement;
mod progress;
mod upgrade;

// The entry points.
pub use deadline::Deadline;
pub use diagnosis::fix::{cheapest_fix, MAX_ADDED_HOSTS};
pub use document::{plan_bytes, plan_what_if};
pub use placement::place::plan;
pub use progress::stage as current_stage;
// A process that planned waits for solves it gave up on before it exits.
pub use mip::watch::settle;

// The independent checks.
pub use check::audit::{check as audit_sequence, Replay as AuditReplay};
pub use check::verify::{verify, Assignment, Report};

// Diagnosis.
pub use diagnosis::conflict::{holds, minimal_conflict, Conflict};
pub use diagnosis::text::render as render_text;

// Building blocks that tests, benchmarks and examples drive on their own.
pub use mip::families::SWITCHABLE as SWITCHABLE_FAMILIES;
pub use placement::greedy::{greedy, Strategy};
pub use placement::{lower_bounds, place, Ratio, Score, Step4, StepKind};

/// How to run the solver; everything else comes from the topology's `policy`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Overrides the policy's `time_limit_s`.
    pub time_limit_s: Option<f64>,
    /// HiGHS threads (1 under rayon: let rayon own the cores).
    pub threads: u32,
    /// Constraint families to switch off. For tests that prove a family matters; a plan made
    /// with a family off fails verification and is reported as an internal error.
    pub disabled_families: Vec<String>,
    /// Stop at the first feasible placement (benchmarks: time to first feasible). The plan is
    /// still verified; its status is `feasible` unless that first solution was proven optimal.
    pub first_solution: bool,
    /// Search for a minimal conflict when the placement is infeasible (on by default; off
    /// for the re-plans of a fix search).
    pub find_conflicts: bool,
    /// Admission fixed per unit (the states an upgrade passes through: what is admitted
    /// stays admitted, what is rejected stays out).
    pub admission: Option<Vec<bool>>,
    /// Solve the steps of the objective up to this one only (`None`: all of them; states of an
    /// upgrade need a placement, or the one with the fewest migrations).
    pub last_step: Option<StepKind>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            time_limit_s: None,
            threads: 1,
            disabled_families: Vec::new(),
            first_solution: false,
            find_conflicts: true,
            admission: None,
            last_step: None,
        }
    }
}

/// A failure that is vksplan's fault, never the input's.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    /// The plan the MIP produced fails the independent verifier: a bug.
    #[error("internal error: the plan fails verification ({} problem(s)); first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Unverified(Vec<vksplan_model::Diagnostic>),
    /// The MIP's proven objective disagrees with the verified plan: a modelling bug.
    #[error("internal error: {0}")]
    Inconsistent(String),
    /// HiGHS reported an error.
    #[error("internal error: HiGHS: {0}")]
    Highs(String),
}
