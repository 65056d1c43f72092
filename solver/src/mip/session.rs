//! One HiGHS model kept across solves: built once from a [`Compiler`]'s columns and rows, then
//! changed in place (objective, extra rows, column bounds) between solves, so that the steps of
//! the objective and the probes of a search do not rebuild a model of 100k+ columns each time.
//!
//! HiGHS 1.16 measures `time_limit` per run (its report's `Timing` restarts with each run, as
//! measured here), so each solve sets it to that solve's budget.
//!
//! With two threads or more, a session holds two models and races them: the same model, solved
//! at once on two threads with different random seeds. HiGHS's proofs near an optimum (root
//! cuts, conflicts) take from one to several times as long depending on the seed (see
//! BENCHMARKS.md), and HiGHS 1.16 adds a second tree-search worker only once its node queue
//! grows, which these root proofs never reach: a second seeded instance is what uses the second
//! core. The first to prove (optimal or infeasible) stops the other; when neither does, the best
//! solution and the higher of the two dual bounds are kept. Which seed wins, and so which of the
//! optimal plans comes back, may differ from run to run; with one thread it never does.
//!
//! Every solve runs on a thread of its own and is waited for until `SolveOptions::give_up`
//! (see [`super::watch`]): an instance still solving then is lost with its answer, and with no
//! instance left the session is over.

use super::{watch, ColumnIndex, ColumnValues, Compiler, Owner};
use good_lp::{Constraint, Expression, IntoAffineExpression, Variable};
use highs::{Col, HighsModelStatus, Model, RowProblem, Sense};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vksplan_interrupt::{solve_until, Movable};

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
    /// Threads: with two or more, the session's racers (if it has two) share them.
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
    /// The longest the caller waits for the solve (HiGHS does not always keep its time limit):
    /// past it the solve is given up on (a session loses the instance with it).
    pub give_up: Duration,
}

/// A HiGHS model built from a compiler, changed in place between solves.
pub struct Session {
    /// One HiGHS instance of the model per racer (see the module's documentation); a racer
    /// whose instance HiGHS refused is gone, and with none left the session is over.
    models: Vec<Model>,
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
    /// rows, with `racers` instances of it (1 or 2), raced whenever a solve has two threads or
    /// more. (HiGHS adds rows one at a time to a built model slowly: rows known up front go in
    /// here.)
    pub fn racing<'r>(
        compiler: &'r Compiler,
        keep: impl Fn(&Option<Owner>) -> bool,
        extra: impl IntoIterator<Item = &'r Constraint>,
        racers: usize,
    ) -> Session {
        Session::build(compiler, keep, extra, true, racers.clamp(1, 2))
    }

    /// One instance of [`Session::racing`]'s model with every column continuous: the LP
    /// relaxation, whose infeasibility proves the MIP's. After a change of bounds HiGHS
    /// re-solves it from the last basis.
    pub fn relaxed<'r>(
        compiler: &'r Compiler,
        keep: impl Fn(&Option<Owner>) -> bool,
        extra: impl IntoIterator<Item = &'r Constraint>,
    ) -> Session {
        Session::build(compiler, keep, extra, false, 1)
    }

    fn build<'r>(
        compiler: &'r Compiler,
        keep: impl Fn(&Option<Owner>) -> bool,
        extra: impl IntoIterator<Item = &'r Constraint>,
        integers: bool,
        racers: usize,
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
        let instance = |problem: RowProblem| {
            let mut model = Model::new(problem);
            model.make_quiet();
            if std::env::var_os("VKSPLAN_HIGHS_LOG").is_some() {
                model.set_option("output_flag", true);
                model.set_option("log_to_console", true);
            }
            model
        };
        let mut models: Vec<Model> = (1..racers).map(|_| instance(problem.clone())).collect();
        models.insert(0, instance(problem));
        Session {
            models,
            columns,
            index,
            costed: Vec::new(),
            rows,
        }
    }

    /// Sets the objective to minimise `expression` (its constant is ignored).
    pub fn minimise(&mut self, expression: &Expression) {
        let costs: Vec<(usize, f64)> = expression
            .linear_coefficients()
            .filter_map(|(variable, coefficient)| Some((*self.index.get(&variable)?, coefficient)))
            .collect();
        for model in &mut self.models {
            for column in &self.costed {
                model.change_column_cost(self.columns[*column], 0.0);
            }
            model.set_sense(Sense::Minimise);
            for (column, coefficient) in &costs {
                model.change_column_cost(self.columns[*column], *coefficient);
            }
        }
        self.costed = costs.iter().map(|(column, _)| *column).collect();
    }

    /// Adds a row.
    pub fn add_row(&mut self, constraint: &Constraint) {
        if self.models.is_empty() {
            return;
        }
        let (lower, upper, terms) = row_of(constraint);
        let factors: Vec<(Col, f64)> = terms
            .iter()
            .filter_map(|(variable, coefficient)| {
                Some((self.columns[*self.index.get(variable)?], *coefficient))
            })
            .collect();
        // A racer that refuses the row would solve another model: it leaves the race.
        self.models
            .retain_mut(|model| model.try_add_row(lower..=upper, factors.clone()).is_ok());
        if !self.models.is_empty() {
            self.rows += 1;
        }
    }

    /// Changes a column's bounds.
    pub fn set_bounds(&mut self, variable: Variable, lower: f64, upper: f64) {
        let Some(column) = self.index.get(&variable) else {
            return;
        };
        for model in &mut self.models {
            model.change_column_bounds(self.columns[*column], lower..=upper);
        }
    }

    /// Solves the current model from `start` (a complete solution in column order, or none)
    /// within `options.budget`: with two racers and two threads or more, races them.
    pub fn solve(&mut self, start: Option<&[f64]>, options: &SolveOptions) -> Solved {
        if self.columns.is_empty() {
            // Nothing to decide: an empty model never reaches HiGHS.
            return Solved {
                outcome: Outcome::Optimal,
                values: Some(ColumnValues::new(&self.index, Vec::new())),
                bound: 0.0,
                objective: 0.0,
            };
        }
        let models = std::mem::take(&mut self.models);
        let racing = models.len() > 1 && options.threads > 1;
        let start: Option<Arc<Vec<f64>>> = start.map(|start| Arc::new(start.to_vec()));
        let mut runs: Vec<Run> = Vec::new();
        let mut jobs: Vec<watch::Job<Run>> = Vec::new();
        for (model, racer) in models.into_iter().zip(0..) {
            if racer > 0 && !racing {
                // Not racing: the other instances wait for a race.
                runs.push(Run {
                    model: Some(Movable(model)),
                    result: None,
                    finished: Instant::now(),
                });
                continue;
            }
            let threads = if racing {
                options.threads / 2
            } else {
                options.threads
            };
            let (model, start, options) = (Movable(model), start.clone(), *options);
            jobs.push(Box::new(move |stop: &AtomicBool| {
                // The whole `Movable` moves in, not only the model inside it.
                let model = model;
                let start = start.as_deref().map(Vec::as_slice);
                let run = run(model.0, start, &options, threads, racer, stop);
                if run.proved() {
                    // The first proof of a race stops the other racer.
                    stop.store(true, Ordering::Relaxed);
                }
                run
            }));
        }
        // An instance still solving when the time is up is lost (see `watch`).
        runs.extend(watch::answers(jobs, options.give_up));
        self.finish(runs)
    }

    /// Keeps the racers' instances and returns the race's result: the first proof, else the
    /// best solution with the highest dual bound.
    fn finish(&mut self, runs: Vec<Run>) -> Solved {
        let mut results: Vec<(Instant, RunResult)> = Vec::new();
        for run in runs {
            self.models.extend(run.model.map(|Movable(model)| model));
            if let Some(result) = run.result {
                results.push((run.finished, result));
            }
        }
        let bound = results
            .iter()
            .map(|(_, result)| result.bound)
            .fold(f64::NEG_INFINITY, f64::max);
        let first_proof = (0..results.len())
            .filter(|i| results[*i].1.proved())
            .min_by_key(|i| results[*i].0);
        let best = first_proof.or_else(|| {
            (0..results.len())
                .filter(|i| results[*i].1.values.is_some())
                .min_by(|a, b| results[*a].1.objective.total_cmp(&results[*b].1.objective))
        });
        let Some((_, result)) = best
            .or((!results.is_empty()).then_some(0))
            .map(|i| results.swap_remove(i))
        else {
            return Solved {
                outcome: Outcome::Unknown,
                values: None,
                bound: f64::NEG_INFINITY,
                objective: f64::NAN,
            };
        };
        Solved {
            outcome: result.outcome,
            bound: if result.proved() { result.bound } else { bound },
            objective: result.objective,
            values: result
                .values
                .map(|values| ColumnValues::new(&self.index, values)),
        }
    }
}

/// One racer's solve: its instance back (unless HiGHS refused it) and what it found.
struct Run {
    model: Option<Movable>,
    result: Option<RunResult>,
    finished: Instant,
}

/// What one racer's solve found, before it is matched to the session's columns.
struct RunResult {
    outcome: Outcome,
    values: Option<Vec<f64>>,
    bound: f64,
    objective: f64,
}

impl RunResult {
    /// Whether the solve ended with a proof: optimal, or infeasible.
    fn proved(&self) -> bool {
        matches!(self.outcome, Outcome::Optimal | Outcome::Infeasible)
    }
}

impl Run {
    fn proved(&self) -> bool {
        self.result.as_ref().is_some_and(RunResult::proved)
    }
}

/// One HiGHS solve of `model` with `threads` threads and racer `racer`'s seed, stopped early
/// once `stop` is set (the other racer proved, or the watch gave up).
fn run(
    mut model: Model,
    start: Option<&[f64]>,
    options: &SolveOptions,
    threads: u32,
    racer: i32,
    stop: &AtomicBool,
) -> Run {
    let limit = options.budget.as_secs_f64().max(0.01);
    let threads = i32::try_from(threads.max(1)).unwrap_or(1);
    let set = model.try_set_option("time_limit", limit).is_ok()
        && model.try_set_option("mip_rel_gap", options.mip_gap).is_ok()
        && model.try_set_option("threads", threads).is_ok()
        && model
            .try_set_option("random_seed", seed().wrapping_add(racer))
            .is_ok()
        && model
            .try_set_option("presolve", if options.presolve { "on" } else { "off" })
            .is_ok()
        && model
            .try_set_option(
                "mip_max_improving_sols",
                if options.first_solution { 1 } else { i32::MAX },
            )
            .is_ok()
        && model
            .try_set_option(
                "mip_lp_solver",
                if options.ipm_root { "ipm" } else { "simplex" },
            )
            .is_ok();
    if !set {
        return Run {
            model: Some(Movable(model)),
            result: None,
            finished: Instant::now(),
        };
    }
    experiment_options(&mut model);
    if let Some(start) = start {
        // A start is a hint: HiGHS checks it and ignores an unusable one.
        let _ = model.try_set_solution(Some(start), None, None, None);
    }
    let solved = solve_until(model, stop);
    let finished = Instant::now();
    let Ok(solved) = solved else {
        // HiGHS refused the model; it is gone with the error.
        return Run {
            model: None,
            result: None,
            finished,
        };
    };
    let values = super::has_solution(&solved).then(|| solved.get_solution().columns().to_vec());
    let outcome = match solved.status() {
        HighsModelStatus::Optimal if values.is_some() => Outcome::Optimal,
        HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
            Outcome::Infeasible
        }
        _ if values.is_some() => Outcome::Feasible,
        _ => Outcome::Unknown,
    };
    let result = RunResult {
        outcome,
        values,
        bound: solved
            .double_info_value(c"mip_dual_bound")
            .unwrap_or(f64::NEG_INFINITY),
        objective: solved.objective_value(),
    };
    Run {
        model: Some(Movable(Model::from(solved))),
        result: Some(result),
        finished,
    }
}

/// Sets the HiGHS options of `VKSPLAN_HIGHS_OPTIONS` (experiments: `name=value` pairs separated
/// by commas, such as `mip_detect_symmetry=false,mip_heuristic_effort=0.1`). A value reads as a
/// bool, an integer, a number or else a string; an option HiGHS refuses is reported on stderr.
fn experiment_options(model: &mut Model) {
    let Ok(options) = std::env::var("VKSPLAN_HIGHS_OPTIONS") else {
        return;
    };
    for pair in options.split(',').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let set = if let Ok(value) = value.parse::<bool>() {
            model.try_set_option(name, value)
        } else if let Ok(value) = value.parse::<i32>() {
            model.try_set_option(name, value)
        } else if let Ok(value) = value.parse::<f64>() {
            model.try_set_option(name, value)
        } else {
            model.try_set_option(name, value)
        };
        if set.is_err() {
            eprintln!("vksplan: VKSPLAN_HIGHS_OPTIONS: HiGHS refused {pair}");
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
