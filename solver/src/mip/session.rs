//! One HiGHS model kept across solves: built once from a [`Compiler`]'s columns and rows, then
//! changed in place (objective, extra rows, column bounds) between solves, so that the steps of
//! the objective and the probes of a search do not rebuild a model of 100k+ columns each time.
//!
//! HiGHS 1.16 measures `time_limit` per run (its report's `Timing` restarts with each run, as
//! measured here), so each solve sets it to that solve's budget.

use super::{ColumnIndex, ColumnValues, Compiler, Owner};
use good_lp::{Constraint, Expression, IntoAffineExpression, Variable};
use highs::{Col, HighsModelStatus, Model, RowProblem, Sense};
use std::time::Duration;

/// How a solve of a [`Session`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Proven optimal (or, without an objective, feasible).
    Optimal,
    /// A solution, not proven optimal (time limit).
    Feasible,
    /// Proven to have no solution.
    Infeasible,
    /// No solution and no proof within the time.
    Unknown,
}

/// What a solve returned.
#[derive(Debug, Clone)]
pub struct Solved {
    /// How it ended.
    pub outcome: Outcome,
    /// The best solution found, in column order.
    pub values: Option<ColumnValues>,
    /// HiGHS's dual bound on the objective (minimisation; `-inf` when unknown).
    pub bound: f64,
    /// HiGHS's objective value of the solution (without the expression's constant).
    pub objective: f64,
}

/// Options of one solve.
#[derive(Debug, Clone, Copy)]
pub struct SolveOptions {
    /// Wall-clock budget of this solve.
    pub budget: Duration,
    /// HiGHS threads.
    pub threads: u32,
    /// Relative MIP gap at which HiGHS may stop.
    pub mip_gap: f64,
    /// Stop at the first solution.
    pub first_solution: bool,
    /// Run HiGHS's presolve.
    pub presolve: bool,
    /// Solve the root LP by interior point (HiGHS's IPX) when there is no basis, in place of
    /// the dual simplex.
    pub ipm_root: bool,
}

/// A HiGHS model built from a compiler, changed in place between solves.
pub struct Session {
    model: Option<Model>,
    columns: Vec<Col>,
    index: ColumnIndex,
    /// Columns whose cost the current objective set (to clear them for the next one).
    costed: Vec<usize>,
    /// Rows in the model.
    rows: usize,
}

/// `expression <= 0` or `== 0` as row bounds and coefficients.
pub(super) fn row_of(constraint: &Constraint) -> (f64, f64, Vec<(Variable, f64)>) {
    let expression = constraint.expression();
    let constant = expression.constant();
    let terms: Vec<(Variable, f64)> = expression
        .linear_coefficients()
        .filter(|(_, coefficient)| *coefficient != 0.0)
        .collect();
    let upper = -constant;
    let lower = if constraint.is_equality() {
        upper
    } else {
        f64::NEG_INFINITY
    };
    (lower, upper, terms)
}

impl Session {
    /// Builds the model of `compiler`'s columns, of the rows `keep` accepts and of `extra`
    /// rows. (HiGHS adds rows one at a time to a built model slowly: rows known up front go
    /// in here.)
    pub fn new<'r>(
        compiler: &'r Compiler,
        keep: impl Fn(&Option<Owner>) -> bool,
        extra: impl IntoIterator<Item = &'r Constraint>,
    ) -> Session {
        Session::build(compiler, keep, extra, true)
    }

    /// [`Session::new`] with every column continuous: the LP relaxation, whose infeasibility
    /// proves the MIP's. After a change of bounds HiGHS re-solves it from the last basis.
    pub fn relaxed<'r>(
        compiler: &'r Compiler,
        keep: impl Fn(&Option<Owner>) -> bool,
        extra: impl IntoIterator<Item = &'r Constraint>,
    ) -> Session {
        Session::build(compiler, keep, extra, false)
    }

    fn build<'r>(
        compiler: &'r Compiler,
        keep: impl Fn(&Option<Owner>) -> bool,
        extra: impl IntoIterator<Item = &'r Constraint>,
        integers: bool,
    ) -> Session {
        let index = ColumnValues::index_of(&compiler.variables);
        let mut problem = RowProblem::default();
        let columns: Vec<Col> = compiler
            .variables
            .iter_variables_with_def()
            .map(|(_, definition)| {
                problem.add_column_with_integrality(
                    0.0,
                    definition.get_min()..=definition.get_max(),
                    integers && definition.is_integer(),
                )
            })
            .collect();
        let mut rows = 0;
        let kept = compiler
            .rows
            .iter()
            .filter(|(owner, _)| keep(owner))
            .map(|(_, constraint)| constraint);
        for constraint in kept.chain(extra) {
            let (lower, upper, terms) = row_of(constraint);
            let factors: Vec<(Col, f64)> = terms
                .iter()
                .filter_map(|(variable, coefficient)| {
                    Some((columns[*index.get(variable)?], *coefficient))
                })
                .collect();
            problem.add_row(lower..=upper, factors);
            rows += 1;
        }
        let mut model = Model::new(problem);
        model.make_quiet();
        if std::env::var_os("VKSPLAN_HIGHS_LOG").is_some() {
            model.set_option("output_flag", true);
            model.set_option("log_to_console", true);
        }
        Session {
            model: Some(model),
            columns,
            index,
            costed: Vec::new(),
            rows,
        }
    }

    /// Sets the objective to minimise `expression` (its constant is ignored).
    pub fn minimise(&mut self, expression: &Expression) {
        let Some(model) = self.model.as_mut() else {
            return;
        };
        for column in self.costed.drain(..) {
            model.change_column_cost(self.columns[column], 0.0);
        }
        model.set_sense(Sense::Minimise);
        for (variable, coefficient) in expression.linear_coefficients() {
            if let Some(column) = self.index.get(&variable) {
                model.change_column_cost(self.columns[*column], coefficient);
                self.costed.push(*column);
            }
        }
    }

    /// Adds a row.
    pub fn add_row(&mut self, constraint: &Constraint) {
        let Some(model) = self.model.as_mut() else {
            return;
        };
        let (lower, upper, terms) = row_of(constraint);
        let factors: Vec<(Col, f64)> = terms
            .iter()
            .filter_map(|(variable, coefficient)| {
                Some((self.columns[*self.index.get(variable)?], *coefficient))
            })
            .collect();
        if model.try_add_row(lower..=upper, factors).is_ok() {
            self.rows += 1;
        }
    }

    /// Changes a column's bounds.
    pub fn set_bounds(&mut self, variable: Variable, lower: f64, upper: f64) {
        let (Some(model), Some(column)) = (self.model.as_mut(), self.index.get(&variable)) else {
            return;
        };
        model.change_column_bounds(self.columns[*column], lower..=upper);
    }

    /// Solves the current model from `start` (a complete solution in column order, or none)
    /// within `options.budget`.
    pub fn solve(&mut self, start: Option<&[f64]>, options: &SolveOptions) -> Solved {
        let unknown = Solved {
            outcome: Outcome::Unknown,
            values: None,
            bound: f64::NEG_INFINITY,
            objective: f64::NAN,
        };
        if self.columns.is_empty() {
            // Nothing to decide: an empty model never reaches HiGHS.
            return Solved {
                outcome: Outcome::Optimal,
                values: Some(ColumnValues::new(&self.index, Vec::new())),
                bound: 0.0,
                objective: 0.0,
            };
        }
        let Some(mut model) = self.model.take() else {
            return unknown;
        };
        let limit = options.budget.as_secs_f64().max(0.01);
        let threads = i32::try_from(options.threads.max(1)).unwrap_or(1);
        let set = model.try_set_option("time_limit", limit).is_ok()
            && model.try_set_option("mip_rel_gap", options.mip_gap).is_ok()
            && model.try_set_option("threads", threads).is_ok()
            && model.try_set_option("random_seed", seed()).is_ok()
            && model
                .try_set_option("presolve", if options.presolve { "on" } else { "off" })
                .is_ok()
            && model
                .try_set_option(
                    "mip_max_improving_sols",
                    if options.first_solution { 1 } else { i32::MAX },
                )
                .is_ok();
        if !set {
            self.model = Some(model);
            return unknown;
        }
        if let Some(effort) = std::env::var("VKSPLAN_HEURISTIC_EFFORT")
            .ok()
            .and_then(|e| e.parse::<f64>().ok())
        {
            let _ = model.try_set_option("mip_heuristic_effort", effort);
        }
        let root = if options.ipm_root { "ipm" } else { "simplex" };
        if model.try_set_option("mip_lp_solver", root).is_err() {
            self.model = Some(model);
            return unknown;
        }
        if let Some(start) = start {
            // A start is a hint: HiGHS checks it and ignores an unusable one.
            let _ = model.try_set_solution(Some(start), None, None, None);
        }
        let solved = model.try_solve();
        let Ok(solved) = solved else {
            // HiGHS refused the model; it is gone with the error, so the session is over.
            return unknown;
        };
        let status = solved.status();
        let values = (super::has_solution(&solved))
            .then(|| ColumnValues::new(&self.index, solved.get_solution().columns().to_vec()));
        let bound = solved
            .double_info_value(c"mip_dual_bound")
            .unwrap_or(f64::NEG_INFINITY);
        let objective = solved.objective_value();
        let outcome = match status {
            HighsModelStatus::Optimal if values.is_some() => Outcome::Optimal,
            HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
                Outcome::Infeasible
            }
            _ if values.is_some() => Outcome::Feasible,
            _ => Outcome::Unknown,
        };
        self.model = Some(Model::from(solved));
        Solved {
            outcome,
            values,
            bound,
            objective,
        }
    }
}

/// HiGHS's random seed for whole-model solves: 0, or `VKSPLAN_HIGHS_SEED` (measurements of how
/// much a platform's times depend on HiGHS's luck; see BENCHMARKS.md).
fn seed() -> i32 {
    std::env::var("VKSPLAN_HIGHS_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0)
}
