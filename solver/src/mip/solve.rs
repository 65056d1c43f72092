//! Plain one-shot solves over a compiler's rows: feasibility tests of constraint groups (minimal
//! conflicts) and the minimum of one objective (the cheapest-fix model). The staged placement
//! solve keeps its model across solves instead (see [`super::Session`]).

use super::{ColumnValues, Compiler};
use good_lp::solvers::highs::highs;
use good_lp::{Expression, SolverModel};
use highs::HighsModelStatus;

/// Whether the rows of `compiler` that `keep` accepts can all hold: `Some(true)` feasible,
/// `Some(false)` infeasible, `None` when HiGHS could not tell within `seconds`.
pub fn feasible(
    compiler: &Compiler,
    keep: impl Fn(&Option<super::Owner>) -> bool,
    seconds: f64,
    threads: u32,
) -> Option<bool> {
    match solve_rows(compiler, keep, Expression::from(0.0), seconds, threads) {
        Solved::Found(_) => Some(true),
        Solved::Infeasible => Some(false),
        Solved::Unknown => None,
    }
}

/// The result of [`minimise`]: the best solution found, or why there is none.
#[derive(Debug, Clone)]
pub enum Minimum {
    /// The best solution found (proven optimal or not).
    Found(ColumnValues),
    /// No solution exists.
    Infeasible,
    /// No solution found in time (or HiGHS failed).
    Unknown,
}

/// Minimises `objective` over the rows of `compiler` within `seconds`.
pub fn minimise(compiler: &Compiler, objective: Expression, seconds: f64, threads: u32) -> Minimum {
    match solve_rows(compiler, |_| true, objective, seconds, threads) {
        Solved::Found(values) => {
            let index = ColumnValues::index_of(&compiler.variables);
            Minimum::Found(ColumnValues::new(&index, values))
        }
        Solved::Infeasible => Minimum::Infeasible,
        Solved::Unknown => Minimum::Unknown,
    }
}

/// What one plain HiGHS solve ends with: column values in column order, or why none.
enum Solved {
    Found(Vec<f64>),
    Infeasible,
    Unknown,
}

/// Solves the rows `keep` accepts with `objective` (bounded below), one seeded solve within
/// `seconds`: for feasibility tests and the cheapest-fix model.
fn solve_rows(
    compiler: &Compiler,
    keep: impl Fn(&Option<super::Owner>) -> bool,
    objective: Expression,
    seconds: f64,
    threads: u32,
) -> Solved {
    let mut problem = highs(compiler.variables.clone().minimise(objective));
    for (owner, row) in &compiler.rows {
        if keep(owner) {
            problem.add_constraint(row.clone());
        }
    }
    let Ok(mut model) = problem.try_into_inner() else {
        return Solved::Unknown;
    };
    model.make_quiet();
    let set = model
        .try_set_option("time_limit", seconds.max(0.01))
        .is_ok()
        && model
            .try_set_option("threads", i32::try_from(threads.max(1)).unwrap_or(1))
            .is_ok()
        && model.try_set_option("random_seed", 0).is_ok();
    let Some(solved) = set.then(|| model.try_solve().ok()).flatten() else {
        return Solved::Unknown;
    };
    match solved.status() {
        // The objectives solved here are bounded below: unbounded-or-infeasible is infeasible.
        HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
            Solved::Infeasible
        }
        _ if super::has_solution(&solved) => {
            Solved::Found(solved.get_solution().columns().to_vec())
        }
        _ => Solved::Unknown,
    }
}
