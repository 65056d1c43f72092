//! The model as a sparse matrix, for sub-problems: every column outside a chosen set is fixed
//! at a known solution's value and folded into the row bounds, so that HiGHS sees only the
//! free columns and the rows that touch them. Used by the large-neighbourhood search, where
//! the full model is too large to solve but a few hosts at a time are not.

use super::session::{row_of, Outcome, SolveOptions};
use super::{ColumnIndex, ColumnValues, Compiler};
use good_lp::{Constraint, Expression, IntoAffineExpression, Variable};
use highs::{Col, HighsModelStatus, Model, RowProblem, Sense};
use std::sync::atomic::AtomicBool;
use vksplan_interrupt::solve_until;

/// A row: `lower <= sum(terms) <= upper`.
struct Row {
    lower: f64,
    upper: f64,
    terms: Vec<(u32, f64)>,
}

/// A column's bounds and integrality.
#[derive(Clone, Copy)]
struct Column {
    lower: f64,
    upper: f64,
    integer: bool,
}

/// Every column and row of a compiled model, with the rows of each column.
pub struct Matrix {
    index: ColumnIndex,
    columns: Vec<Column>,
    rows: Vec<Row>,
    rows_of: Vec<Vec<u32>>,
}

/// What a sub-problem solve returned: a complete solution (free columns solved, the others
/// as fixed), or none.
pub struct SubSolved {
    /// How it ended.
    pub outcome: Outcome,
    /// The whole solution, when there is one.
    pub values: Option<ColumnValues>,
}

impl Matrix {
    /// The matrix of `compiler`'s columns and rows and of `extra` rows.
    pub fn new<'r>(
        compiler: &'r Compiler,
        extra: impl IntoIterator<Item = &'r Constraint>,
    ) -> Matrix {
        let index = ColumnValues::index_of(&compiler.variables);
        let columns: Vec<Column> = compiler
            .variables
            .iter_variables_with_def()
            .map(|(_, definition)| Column {
                lower: definition.get_min(),
                upper: definition.get_max(),
                integer: definition.is_integer(),
            })
            .collect();
        let mut matrix = Matrix {
            index,
            rows_of: vec![Vec::new(); columns.len()],
            columns,
            rows: Vec::new(),
        };
        for constraint in compiler.rows.iter().map(|(_, c)| c).chain(extra) {
            matrix.add_row(constraint);
        }
        matrix
    }

    /// Adds a row.
    pub fn add_row(&mut self, constraint: &Constraint) {
        let (lower, upper, terms) = row_of(constraint);
        let row = self.rows.len() as u32;
        let terms: Vec<(u32, f64)> = terms
            .iter()
            .filter_map(|(variable, coefficient)| {
                Some((*self.index.get(variable)? as u32, *coefficient))
            })
            .collect();
        for (column, _) in &terms {
            self.rows_of[*column as usize].push(row);
        }
        self.rows.push(Row {
            lower,
            upper,
            terms,
        });
    }

    /// Changes a column's bounds.
    pub fn set_bounds(&mut self, variable: Variable, lower: f64, upper: f64) {
        if let Some(column) = self.index.get(&variable) {
            self.columns[*column].lower = lower;
            self.columns[*column].upper = upper;
        }
    }

    /// The column of a variable.
    pub fn column(&self, variable: Variable) -> Option<usize> {
        self.index.get(&variable).copied()
    }

    /// Minimises `objective` over the columns `free` selects, every other column held at its
    /// value in `values` (a solution of the whole model, which is also the start), within
    /// `options.budget`.
    /// `bounds` override the bounds of some free columns for this solve only.
    pub fn solve_free(
        &self,
        free: &[bool],
        values: &[f64],
        objective: &Expression,
        bounds: &[(usize, f64, f64)],
        options: &SolveOptions,
    ) -> SubSolved {
        let none = SubSolved {
            outcome: Outcome::Unknown,
            values: None,
        };
        let mut problem = RowProblem::default();
        let mut local: Vec<Option<Col>> = vec![None; self.columns.len()];
        let mut order: Vec<usize> = Vec::new();
        let mut cost = vec![0.0; self.columns.len()];
        for (variable, coefficient) in objective.linear_coefficients() {
            if let Some(column) = self.index.get(&variable) {
                cost[*column] = coefficient;
            }
        }
        let mut columns = self.columns.clone();
        for (column, lower, upper) in bounds {
            if let Some(definition) = columns.get_mut(*column) {
                definition.lower = *lower;
                definition.upper = *upper;
            }
        }
        for (column, definition) in columns.iter().enumerate() {
            if free[column] {
                local[column] = Some(problem.add_column_with_integrality(
                    cost[column],
                    definition.lower..=definition.upper,
                    definition.integer,
                ));
                order.push(column);
            }
        }
        let mut seen = vec![false; self.rows.len()];
        for column in &order {
            for row in &self.rows_of[*column] {
                if std::mem::replace(&mut seen[*row as usize], true) {
                    continue;
                }
                let row = &self.rows[*row as usize];
                let mut fixed = 0.0;
                let mut factors = Vec::with_capacity(row.terms.len());
                for (term, coefficient) in &row.terms {
                    match local[*term as usize] {
                        Some(col) => factors.push((col, *coefficient)),
                        None => fixed += coefficient * values[*term as usize],
                    }
                }
                problem.add_row((row.lower - fixed)..=(row.upper - fixed), factors);
            }
        }
        let start: Vec<f64> = order.iter().map(|c| values[*c]).collect();
        let Some((outcome, solution)) = watched(problem, start, options) else {
            return none;
        };
        let found = solution.map(|solution| {
            let mut whole = values.to_vec();
            for (local, column) in order.iter().enumerate() {
                whole[*column] = solution[local];
            }
            ColumnValues::new(&self.index, whole)
        });
        SubSolved {
            outcome,
            values: found,
        }
    }
}

/// Solves `problem` from `start` within `options.budget` on a thread of its own, and gives up
/// on it after `options.give_up` (see [`super::watch`]). `None` when HiGHS refused the model,
/// or the solve was given up on; else how it ended and the solution, in column order.
fn watched(
    problem: RowProblem,
    start: Vec<f64>,
    options: &SolveOptions,
) -> Option<(Outcome, Option<Vec<f64>>)> {
    let options = *options;
    let job: super::watch::Job<_> =
        Box::new(move |stop: &AtomicBool| solve(problem, &start, &options, stop));
    super::watch::answers(vec![job], options.give_up)
        .into_iter()
        .next()
        .flatten()
}

/// One HiGHS solve of `problem` from `start` (see [`watched`]).
fn solve(
    problem: RowProblem,
    start: &[f64],
    options: &SolveOptions,
    stop: &AtomicBool,
) -> Option<(Outcome, Option<Vec<f64>>)> {
    let mut model = Model::new(problem);
    model.make_quiet();
    model.set_sense(Sense::Minimise);
    let set = model
        .try_set_option("time_limit", options.budget.as_secs_f64().max(0.01))
        .is_ok()
        && model
            .try_set_option(
                "threads",
                i32::try_from(options.threads.max(1)).unwrap_or(1),
            )
            .is_ok()
        && model.try_set_option("random_seed", 0).is_ok()
        && model.try_set_option("mip_rel_gap", options.mip_gap).is_ok();
    if !set {
        return None;
    }
    // The start may break the overridden bounds; HiGHS then ignores it.
    let _ = model.try_set_solution(Some(start), None, None, None);
    let solved = solve_until(model, stop).ok()?;
    let outcome = match solved.status() {
        HighsModelStatus::Optimal => Outcome::Optimal,
        HighsModelStatus::Infeasible => Outcome::Infeasible,
        _ if super::has_solution(&solved) => Outcome::Feasible,
        _ => Outcome::Unknown,
    };
    let solution = super::has_solution(&solved).then(|| solved.get_solution().columns().to_vec());
    Some((outcome, solution))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A market-split instance (Cornuéjols and Dawande): three equality knapsacks over 36
    /// binaries, which branch and bound takes far longer than a second to settle.
    fn market_split() -> RowProblem {
        let mut problem = RowProblem::default();
        let columns: Vec<Col> = (0..36)
            .map(|_| problem.add_integer_column(0.0, 0..=1))
            .collect();
        let mut state = 12_345u64;
        for _ in 0..3 {
            let coefficients: Vec<f64> = columns
                .iter()
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    ((state >> 33) % 100) as f64
                })
                .collect();
            let half = (coefficients.iter().sum::<f64>() / 2.0).floor();
            let factors: Vec<(Col, f64)> = columns.iter().copied().zip(coefficients).collect();
            problem.add_row(half..=half, factors);
        }
        problem
    }

    /// A solve still running when its time is up is given up on: no answer, though HiGHS,
    /// left to itself, would have run on for its own (longer) limit.
    #[test]
    fn the_watchdog_gives_up_on_a_solve_that_outlasts_it() {
        let options = |give_up| SolveOptions {
            budget: Duration::from_secs(5),
            threads: 1,
            mip_gap: 0.0,
            first_solution: false,
            presolve: true,
            ipm_root: false,
            give_up,
        };
        let given_up = watched(
            market_split(),
            Vec::new(),
            &options(Duration::from_millis(50)),
        );
        assert!(given_up.is_none(), "{given_up:?}");
        // With time to finish (HiGHS's own 5 s limit), the same solve answers.
        let answered = watched(
            market_split(),
            Vec::new(),
            &options(Duration::from_secs(60)),
        );
        assert!(answered.is_some());
        // The solve given up on was asked to stop: it ends long before its 5 s (and this test
        // binary must not exit while it runs).
        assert!(super::super::watch::settle(Duration::from_secs(60)));
    }
}
