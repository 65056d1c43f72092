//! Lexicographic optimisation by successive solves: each step of SPEC section 4 is optimised
//! with the steps before it held at their optimum (an extra row per finished step), warm
//! started from the previous step's solution, under one overall wall-clock budget. Steps with
//! nothing to decide are skipped. This is exact where weights would need a proof of scale.

use super::{ColumnValues, Compiler};
use good_lp::solvers::highs::highs;
use good_lp::{Constraint, Expression, SolverModel};
use highs::{HighsModelStatus, HighsSolutionStatus};
use std::time::Instant;

/// Solve settings.
#[derive(Debug, Clone)]
pub struct Stages {
    /// Overall wall-clock budget in seconds.
    pub time_limit_s: f64,
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

struct StepResult {
    status: HighsModelStatus,
    values: Option<Vec<f64>>,
    bound: f64,
    objective: f64,
}

fn solve_step(
    compiler: &Compiler,
    objective: &Expression,
    sense: Sense,
    fixed: &[Constraint],
    warm: Option<&[f64]>,
    settings: &Stages,
    seconds: f64,
) -> Result<StepResult, String> {
    let variables = compiler.variables.clone();
    let unsolved = match sense {
        Sense::Minimise => variables.minimise(objective.clone()),
        Sense::Maximise => variables.maximise(objective.clone()),
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
    let threads = i32::try_from(settings.threads.max(1)).unwrap_or(1);
    let options: [(&str, f64); 2] = [
        ("time_limit", seconds.max(0.01)),
        ("mip_rel_gap", settings.mip_gap),
    ];
    for (name, value) in options {
        model
            .try_set_option(name, value)
            .map_err(|e| format!("HiGHS option {name}: {e:?}"))?;
    }
    model
        .try_set_option("threads", threads)
        .map_err(|e| format!("HiGHS option threads: {e:?}"))?;
    model
        .try_set_option("random_seed", 0)
        .map_err(|e| format!("HiGHS option random_seed: {e:?}"))?;
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
    let objective = solved.objective_value();
    Ok(StepResult {
        status,
        values,
        bound,
        objective,
    })
}

/// Whether HiGHS's objective value differs from the objective of the solution it returned.
fn disagrees(compiler: &Compiler, expression: &Expression, result: &StepResult) -> bool {
    result.values.as_ref().is_some_and(|values| {
        let achieved =
            expression.eval_with(&ColumnValues::new(&compiler.variables, values.clone()));
        (achieved - result.objective).abs() > 1e-6 * achieved.abs().max(1.0)
    })
}

/// Runs every step of the objective in order; returns the last solution found.
/// `warm_start`: a complete solution to warm-start the first step with (see [`super::warm_start`]).
pub fn solve_stages(
    compiler: &Compiler,
    settings: &Stages,
    warm_start: Option<Vec<f64>>,
) -> StageOutcome {
    let start = Instant::now();
    let objectives = &compiler.objectives;
    let candidates = [
        ("priority", Sense::Maximise, &objectives.priority, false),
        ("admitted", Sense::Maximise, &objectives.admitted, false),
        ("soft_rules", Sense::Minimise, &objectives.soft_rules, false),
        ("migrations", Sense::Minimise, &objectives.migrations, false),
        ("step4", Sense::Minimise, &objectives.step4, true),
        ("spread", Sense::Minimise, &objectives.spread, false),
    ];
    let mut steps: Vec<(&str, Sense, &Expression, bool)> = candidates
        .into_iter()
        .filter_map(|(name, sense, expression, step4)| {
            Some((name, sense, expression.as_ref()?, step4))
        })
        .collect();
    let zero = Expression::from(0.0);
    if steps.is_empty() {
        steps.push(("feasibility", Sense::Minimise, &zero, false));
    }

    let mut outcome = StageOutcome {
        ending: Ending::Optimal,
        values: ColumnValues::default(),
        step4_bound: None,
        columns: compiler.variables.len(),
        rows: compiler.rows.len(),
        error: None,
    };
    let mut fixed: Vec<Constraint> = Vec::new();
    for (index, (name, sense, expression, step4)) in steps.iter().enumerate() {
        let remaining = settings.time_limit_s - start.elapsed().as_secs_f64();
        if index > 0 && remaining <= 0.0 {
            outcome.ending = Ending::Feasible;
            break;
        }
        let warm = if outcome.values.is_empty() {
            warm_start.as_deref()
        } else {
            Some(outcome.values.as_slice())
        };
        let mut attempt = solve_step(
            compiler, expression, *sense, &fixed, warm, settings, remaining,
        );
        // HiGHS (1.16) can map a MIP start into its presolved space wrongly and then report
        // that start as optimal at an objective it does not have. Whenever the returned
        // solution's own objective disagrees with what HiGHS claims, solve the step again
        // without the start.
        if warm.is_some()
            && attempt
                .as_ref()
                .is_ok_and(|result| disagrees(compiler, expression, result))
        {
            if std::env::var_os("VKSPLAN_TRACE").is_some() {
                eprintln!("vksplan: step {index} ({name}): HiGHS misreported its warm-started optimum; solving again cold");
            }
            let remaining = settings.time_limit_s - start.elapsed().as_secs_f64();
            attempt = solve_step(
                compiler, expression, *sense, &fixed, None, settings, remaining,
            );
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
        if std::env::var_os("VKSPLAN_TRACE").is_some() {
            eprintln!(
                "vksplan: step {index} ({name}) {:?} at {:.3}s, bound {}",
                result.status,
                start.elapsed().as_secs_f64(),
                result.bound
            );
        }
        let Some(values) = result.values else {
            if index == 0 {
                outcome.ending = match result.status {
                    HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
                        Ending::Infeasible
                    }
                    _ => Ending::Timeout,
                };
            } else {
                outcome.ending = Ending::Feasible;
            }
            break;
        };
        let proven = matches!(result.status, HighsModelStatus::Optimal)
            && !(settings.first_solution && steps.len() > 1);
        if !proven {
            outcome.ending = Ending::Feasible;
        }
        let values = ColumnValues::new(&compiler.variables, values);
        let achieved = expression.eval_with(&values);
        if std::env::var_os("VKSPLAN_TRACE").is_some() {
            let earlier: Vec<f64> = steps[..index]
                .iter()
                .map(|(_, _, e, _)| e.eval_with(&values))
                .collect();
            eprintln!("vksplan:   achieved {achieved}; earlier steps now {earlier:?}");
        }
        if *step4 {
            outcome.step4_bound = Some(if proven && settings.mip_gap == 0.0 {
                achieved.min(result.bound)
            } else {
                result.bound
            });
        }
        outcome.values = values;
        // Hold this step at what was achieved for the steps after it.
        let is_integral = !*step4;
        let slack = if is_integral {
            0.5
        } else {
            1e-9 + 1e-9 * achieved.abs()
        };
        let value = if is_integral {
            achieved.round()
        } else {
            achieved
        };
        if settings.first_solution {
            break;
        }
        fixed.push(match sense {
            Sense::Minimise => (*expression).clone().leq(value + slack),
            Sense::Maximise => (*expression).clone().geq(value - slack),
        });
    }
    outcome
}
