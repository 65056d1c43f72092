//! Lexicographic optimisation by successive solves: each step of SPEC section 4 is optimised
//! with the steps before it held at what they achieved (an extra row per finished step),
//! warm-started from the previous solution, all under one deadline. Steps with nothing to
//! decide are skipped, and so is the solve of a step whose warm start already reaches the best
//! value the step could possibly have (a bound known before solving): HiGHS could only confirm
//! it. Successive solves are exact where weights would need a proof of scale.

use super::{ColumnValues, Compiler};
use good_lp::solvers::highs::highs;
use good_lp::{Constraint, Expression, SolverModel};
use highs::{HighsModelStatus, HighsSolutionStatus};
use std::time::Instant;

/// Models with more columns than this are solved without HiGHS's presolve. Measured on the
/// generated 288-host platforms (BENCHMARKS.md): with presolve, the hard variant's 714k-column
/// model spent the whole 60 s limit in presolve and HiGHS returned no plan; without it, HiGHS
/// admitted every optional unit (the greedy start left 20 out). On the 96-host hard variant
/// (79k columns) presolve is much better, hence the threshold.
pub const PRESOLVE_COLUMN_LIMIT: usize = 500_000;

/// Solve settings.
#[derive(Debug, Clone)]
pub struct Stages {
    /// When the whole plan must be done (the policy's time limit from the start of planning).
    pub deadline: Instant,
    /// Relative MIP gap at which each step may stop.
    pub mip_gap: f64,
    /// HiGHS threads.
    pub threads: u32,
    /// Stop the first step at its first solution and skip the others.
    pub first_solution: bool,
}

/// How the staged solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every step proven optimal (within the gap the policy allows).
    Optimal,
    /// A solution, but some step hit the time limit.
    Feasible,
    /// The time limit hit before any solution.
    Timeout,
    /// No solution exists.
    Infeasible,
}

/// The result of the staged solve.
#[derive(Debug, Clone)]
pub struct StageOutcome {
    /// How it ended.
    pub ending: Ending,
    /// Column values (empty without a solution).
    pub values: ColumnValues,
    /// Best bound of step 4 (its objective is minimised), if step 4 was solved.
    pub step4_bound: Option<f64>,
    /// Columns of the model.
    pub columns: usize,
    /// Rows of the model (without the step-fixing rows).
    pub rows: usize,
    /// Why a step failed, when HiGHS reported an error.
    pub error: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sense {
    Minimise,
    Maximise,
}

struct Step<'e> {
    name: &'static str,
    sense: Sense,
    expression: &'e Expression,
    is_step4: bool,
    best: Option<f64>,
}

struct StepResult {
    status: HighsModelStatus,
    values: Option<Vec<f64>>,
    bound: f64,
    objective: f64,
}

fn tracing() -> bool {
    std::env::var_os("VKSPLAN_TRACE").is_some()
}

fn solve_step(
    compiler: &Compiler,
    step: &Step,
    fixed: &[Constraint],
    warm: Option<&[f64]>,
    settings: &Stages,
) -> Result<StepResult, String> {
    let variables = compiler.variables.clone();
    let unsolved = match step.sense {
        Sense::Minimise => variables.minimise(step.expression.clone()),
        Sense::Maximise => variables.maximise(step.expression.clone()),
    };
    let mut problem = highs(unsolved);
    for (_, row) in &compiler.rows {
        problem.add_constraint(row.clone());
    }
    for row in fixed {
        problem.add_constraint(row.clone());
    }
    let mut model = problem.try_into_inner().map_err(|e| e.to_string())?;
    model.make_quiet();
    if std::env::var_os("VKSPLAN_HIGHS_LOG").is_some() {
        model.set_option("output_flag", true);
        model.set_option("log_to_console", true);
    }
    // What is left of the deadline once the model is built.
    let seconds = settings
        .deadline
        .saturating_duration_since(Instant::now())
        .as_secs_f64()
        .max(0.01);
    let threads = i32::try_from(settings.threads.max(1)).unwrap_or(1);
    fn option_error(name: &'static str) -> impl Fn(highs::TrySetOptionError) -> String {
        move |e| format!("HiGHS option {name}: {e:?}")
    }
    model
        .try_set_option("time_limit", seconds)
        .map_err(option_error("time_limit"))?;
    model
        .try_set_option("mip_rel_gap", settings.mip_gap)
        .map_err(option_error("mip_rel_gap"))?;
    model
        .try_set_option("threads", threads)
        .map_err(option_error("threads"))?;
    model
        .try_set_option("random_seed", 0)
        .map_err(option_error("random_seed"))?;
    if settings.first_solution {
        model
            .try_set_option("mip_max_improving_sols", 1)
            .map_err(option_error("mip_max_improving_sols"))?;
    }
    if compiler.variables.len() > PRESOLVE_COLUMN_LIMIT {
        // HiGHS's presolve of such models can take the whole time limit (and overrun it)
        // before any incumbent; without it, HiGHS starts from the warm start at once.
        model
            .try_set_option("presolve", "off")
            .map_err(option_error("presolve"))?;
    }
    if let Some(warm) = warm {
        // A warm start is a hint: HiGHS checks it and ignores an unusable one.
        let _ = model.try_set_solution(Some(warm), None, None, None);
    }
    let solved = model
        .try_solve()
        .map_err(|e| format!("HiGHS failed: {e:?}"))?;
    let status = solved.status();
    let values = (solved.primal_solution_status() == HighsSolutionStatus::Feasible)
        .then(|| solved.get_solution().columns().to_vec());
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .unwrap_or(f64::NEG_INFINITY);
    Ok(StepResult {
        status,
        values,
        bound,
        objective: solved.objective_value(),
    })
}

/// Whether HiGHS's objective value differs from the objective of the solution it returned.
fn disagrees(index: &super::ColumnIndex, expression: &Expression, result: &StepResult) -> bool {
    result.values.as_ref().is_some_and(|values| {
        let achieved = expression.eval_with(&ColumnValues::new(index, values.clone()));
        (achieved - result.objective).abs() > 1e-6 * achieved.abs().max(1.0)
    })
}

/// The row that holds a finished step at what it achieved.
fn hold(step: &Step, achieved: f64) -> Constraint {
    if step.is_step4 {
        let slack = 1e-9 + 1e-9 * achieved.abs();
        return step.expression.clone().leq(achieved + slack);
    }
    // Integral steps: half a unit of room absorbs round-off.
    match step.sense {
        Sense::Minimise => step.expression.clone().leq(achieved.round() + 0.5),
        Sense::Maximise => step.expression.clone().geq(achieved.round() - 0.5),
    }
}

fn reaches(step: &Step, value: f64) -> bool {
    let Some(best) = step.best else { return false };
    let tolerance = 1e-9 * best.abs().max(1.0);
    match step.sense {
        Sense::Minimise => value <= best + tolerance,
        Sense::Maximise => value >= best - tolerance,
    }
}

/// Runs every step of the objective in order; returns the last solution found.
/// `warm_start`: a complete solution to start the first step from (see [`super::warm_start`]).
pub fn solve_stages(
    compiler: &Compiler,
    settings: &Stages,
    warm_start: Option<Vec<f64>>,
) -> StageOutcome {
    let objectives = &compiler.objectives;
    let best = &objectives.best;
    let candidates = [
        (
            "priority",
            Sense::Maximise,
            &objectives.priority,
            false,
            best.priority,
        ),
        (
            "admitted",
            Sense::Maximise,
            &objectives.admitted,
            false,
            best.admitted,
        ),
        (
            "soft_rules",
            Sense::Minimise,
            &objectives.soft_rules,
            false,
            Some(0.0),
        ),
        (
            "migrations",
            Sense::Minimise,
            &objectives.migrations,
            false,
            Some(0.0),
        ),
        (
            "step4",
            Sense::Minimise,
            &objectives.step4,
            true,
            best.step4,
        ),
        (
            "spread",
            Sense::Minimise,
            &objectives.spread,
            false,
            best.spread,
        ),
    ];
    let zero = Expression::from(0.0);
    let mut steps: Vec<Step> = candidates
        .into_iter()
        .filter_map(|(name, sense, expression, is_step4, best)| {
            Some(Step {
                name,
                sense,
                expression: expression.as_ref()?,
                is_step4,
                best,
            })
        })
        .collect();
    if steps.is_empty() {
        steps.push(Step {
            name: "feasibility",
            sense: Sense::Minimise,
            expression: &zero,
            is_step4: false,
            best: None,
        });
    }

    let mut outcome = StageOutcome {
        ending: Ending::Optimal,
        values: ColumnValues::default(),
        step4_bound: None,
        columns: compiler.variables.len(),
        rows: compiler.rows.len(),
        error: None,
    };
    let columns = ColumnValues::index_of(&compiler.variables);
    let mut fixed: Vec<Constraint> = Vec::new();
    // The start of each step: the previous step's solution, or the given start before any.
    let mut initial: Option<ColumnValues> =
        warm_start.map(|values| ColumnValues::new(&columns, values));
    for (index, step) in steps.iter().enumerate() {
        if index > 0 && Instant::now() >= settings.deadline {
            outcome.ending = Ending::Feasible;
            break;
        }
        let start: Option<&ColumnValues> = if outcome.values.is_empty() {
            initial.as_ref()
        } else {
            Some(&outcome.values)
        };
        // A start that already reaches the step's best possible value is optimal for it.
        let reached = start
            .filter(|_| !settings.first_solution)
            .map(|start| step.expression.eval_with(start))
            .filter(|at_start| reaches(step, *at_start));
        if let Some(at_start) = reached {
            if tracing() {
                eprintln!(
                    "vksplan: step {index} ({}) reached its bound {at_start} at the start",
                    step.name
                );
            }
            if step.is_step4 {
                outcome.step4_bound = step.best;
            }
            fixed.push(hold(step, at_start));
            if outcome.values.is_empty() {
                outcome.values = initial.take().unwrap_or_default();
            }
            continue;
        }
        let warm = start.map(ColumnValues::as_slice);
        let mut attempt = solve_step(compiler, step, &fixed, warm, settings);
        // HiGHS (1.16) can map a MIP start into its presolved space wrongly and then report
        // that start as optimal at an objective it does not have. Whenever the returned
        // solution's own objective disagrees with what HiGHS claims, solve the step again
        // without the start.
        if warm.is_some()
            && attempt
                .as_ref()
                .is_ok_and(|result| disagrees(&columns, step.expression, result))
        {
            if tracing() {
                eprintln!("vksplan: step {index} ({}): HiGHS misreported its warm-started optimum; solving again cold", step.name);
            }
            attempt = solve_step(compiler, step, &fixed, None, settings);
        }
        let result = match attempt {
            Ok(result) => result,
            Err(error) => {
                outcome.error = Some(error);
                outcome.ending = if outcome.values.is_empty() {
                    Ending::Timeout
                } else {
                    Ending::Feasible
                };
                break;
            }
        };
        if tracing() {
            eprintln!(
                "vksplan: step {index} ({}) {:?}, bound {}",
                step.name, result.status, result.bound
            );
        }
        let Some(found) = result.values else {
            outcome.ending = match result.status {
                HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible
                    if index == 0 =>
                {
                    Ending::Infeasible
                }
                _ if outcome.values.is_empty() => Ending::Timeout,
                _ => Ending::Feasible,
            };
            break;
        };
        let proven = result.status == HighsModelStatus::Optimal
            && !(settings.first_solution && steps.len() > 1);
        if !proven {
            outcome.ending = Ending::Feasible;
        }
        let values = ColumnValues::new(&columns, found);
        let achieved = step.expression.eval_with(&values);
        if step.is_step4 {
            let bound = result.bound.max(step.best.unwrap_or(f64::NEG_INFINITY));
            outcome.step4_bound = Some(if proven && settings.mip_gap == 0.0 {
                achieved.min(bound)
            } else {
                bound
            });
        }
        outcome.values = values;
        if settings.first_solution {
            break;
        }
        fixed.push(hold(step, achieved));
    }
    outcome
}

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
        _ if solved.primal_solution_status() == HighsSolutionStatus::Feasible => {
            Solved::Found(solved.get_solution().columns().to_vec())
        }
        _ => Solved::Unknown,
    }
}
