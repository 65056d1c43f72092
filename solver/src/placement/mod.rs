//! The staged placement solve. Greedy starts give a verified incumbent at once; then each step
//! of the lexicographic objective (docs/accounting.md §12) gets its turn and a share of the time limit: a step
//! whose incumbent already reaches a bound known before solving is proven without a solve;
//! balance is solved exactly by a search over utilisation levels (`levels`); the other steps
//! by HiGHS on one model kept across steps ([`crate::mip::Session`]), warm-started from the
//! incumbent. A step stopped by its budget keeps its best value, and the later steps still run
//! on top of it. Every candidate is scored by the verifier's replay, never by the MIP, and the
//! incumbent only changes for a plan that is lexicographically better.

pub(crate) mod blocks;
mod bounds;
pub(crate) mod greedy;
mod levels;
mod lns;
pub(crate) mod place;
mod score;
#[cfg(test)]
mod testing;

pub use levels::Levels;
pub use score::{Ratio, Score, Step4, StepKind};

use crate::check::verify::Assignment;
use crate::mip::{families, warm_start, Compiler, Matrix, Outcome, Session, SolveOptions};
use crate::Options;
use blocks::{blocks, Block};
use good_lp::Expression;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use vksplan_model::document::ObjectiveKind;
use vksplan_model::plan::{Stats, StepStats};
use vksplan_model::Inventory;
use vksplan_model::{GroupId, HostId};

/// How the staged solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every step proven optimal (within the gap the policy allows).
    Optimal,
    /// A plan, but some step was not proven (time limit).
    Feasible,
    /// The time limit hit before any plan.
    Timeout,
    /// No placement exists.
    Infeasible,
}

/// A placement with how it was obtained.
#[derive(Debug, Clone)]
pub struct Placed {
    /// How the solve ended.
    pub ending: Ending,
    /// The placement (`None` without a solution).
    pub assignment: Option<Assignment>,
    /// Best bound on step 4.
    pub step4_bound: Option<f64>,
    /// Model size, time and the steps.
    pub stats: Stats,
    /// A HiGHS error, if any.
    pub error: Option<String>,
}

/// Models with more columns than this are solved without HiGHS's presolve, which on them can
/// take the whole limit before any incumbent (measured on the 288-host platforms).
pub const PRESOLVE_COLUMN_LIMIT: usize = 500_000;

/// Whole models with at least this many columns solve their root LPs by interior point: the
/// dual simplex took more than 20 s on h96-memory's spread step (53k columns; its root LP
/// never finished in two attempts, where interior point proves the step in 16 s), while
/// interior point was slower on the 32-48-host platforms (h30-zones' spread 1.0 s -> 3.6 s).
pub const IPM_ROOT_COLUMN_LIMIT: usize = 20_000;

/// The share of its budget a solve with an interior-point root gets when it may run up to the
/// placement's deadline (see [`Solve::options`]).
const IPM_DEADLINE_SHARE: f64 = 0.7;

/// How long past its time a HiGHS solve may run before it is given up on (see
/// [`SolveOptions::give_up`]): a whole-model solve the placement's deadline, a neighbourhood
/// its own budget.
const GIVE_UP_GRACE: Duration = Duration::from_millis(250);

/// Models with more columns than this (and a greedy start) are improved a few hosts at a time
/// (`lns`) instead of solved whole: on the 288-host hard platform (700k columns) a whole
/// solve of any step took its budget without improving on the start.
pub const LNS_COLUMN_LIMIT: usize = 250_000;

/// Shares of the remaining time per step (the last step present gets all that is left).
fn weight(step: StepKind) -> f64 {
    match step {
        StepKind::Priority | StepKind::Admitted | StepKind::SoftRules => 1.0,
        StepKind::Migrations => 1.5,
        StepKind::Step4 => 3.0,
        StepKind::Spread => 1.5,
    }
}

/// Consolidate: the share of what is left of the step's budget the first annealing takes
/// (cloud-200: 133,000-134,000 after about 20 s, from 161,920), and the share each later one
/// takes, starting at `REHEAT` times the first's temperature, once neighbourhoods stop
/// improving. No round starts with less than [`ANNEAL_AT_LEAST`] left.
const FIRST_ANNEAL_SHARE: f64 = 0.4;
const ANNEAL_SHARE: f64 = 0.3;
const REHEAT: f64 = 0.25;
const ANNEAL_AT_LEAST: Duration = Duration::from_millis(100);

/// The share of a step's budget the whole model gets before neighbourhoods take over. Only the
/// whole model proves a step, and a second whole solve starts its search again: at 0.4,
/// h96-memory's migrations step stopped at 5.7 s, where its proof takes 4.8-7 s, in three of
/// four HiGHS seeds (then balance and spread went unproven too); at 0.75 every step was proven
/// in all four (BENCHMARKS.md).
const WHOLE_SHARE: f64 = 0.75;

/// [`LNS_COLUMN_LIMIT`], or `VKSPLAN_LNS_COLUMNS` (experiments).
fn lns_column_limit() -> usize {
    std::env::var("VKSPLAN_LNS_COLUMNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(LNS_COLUMN_LIMIT)
}

/// [`IPM_ROOT_COLUMN_LIMIT`], or `VKSPLAN_IPM_ROOT_COLUMNS` (experiments).
fn ipm_root_column_limit() -> usize {
    std::env::var("VKSPLAN_IPM_ROOT_COLUMNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(IPM_ROOT_COLUMN_LIMIT)
}

pub(crate) fn tracing() -> bool {
    std::env::var_os("VKSPLAN_TRACE").is_some()
}

/// The incumbent: a plan with its verified score.
#[derive(Clone)]
struct Incumbent {
    assignment: Assignment,
    score: Score,
}

/// Everything a step needs.
struct Solve<'a> {
    inventory: &'a Inventory,
    compiler: &'a Compiler<'a>,
    blocks: &'a [Block],
    /// The whole model in HiGHS, built at its first use (never, for a model solved by
    /// neighbourhoods only).
    session: Option<Session>,
    /// The model as a matrix for neighbourhood solves, built at its first use.
    matrix: Option<Matrix>,
    /// The whole model is too large to solve within the limit: neighbourhoods only.
    whole_too_large: bool,
    threads: u32,
    mip_gap: f64,
    presolve: bool,
    /// Root LPs by interior point (see [`IPM_ROOT_COLUMN_LIMIT`]).
    ipm_root: bool,
    incumbent: Option<Incumbent>,
    levels: Option<Levels>,
    facts: greedy::Facts,
    /// The rows that hold finished steps.
    holds: Vec<good_lp::Constraint>,
    /// The level balance holds (its capacities bound the load columns).
    held_level: Option<Ratio>,
    /// Column bounds that hold from their step on, replayed into a rebuilt session: the
    /// `moved` columns' caps once migrations are held (see [`bounds::movable`]) and the
    /// pools' spread floors (see [`Solve::hold_pool_floors`]).
    held_bounds: Vec<(good_lp::Variable, f64, f64)>,
    /// What may stay today, per choice of soft rules, for (all admitted, soft rules broken).
    #[allow(clippy::type_complexity)]
    stayings: std::cell::RefCell<Option<((bool, Option<u32>), std::rc::Rc<Vec<bounds::Staying>>)>>,
    /// The spread floor for (all admitted, soft rules broken, migrations, level) held.
    #[allow(clippy::type_complexity)]
    spread_floors:
        std::cell::RefCell<Option<((bool, Option<u32>, Option<u32>, Option<Ratio>), u32)>>,
    /// A family is switched off (tests): no heuristics, the MIP alone.
    testing: bool,
    /// Set when a step found the placement infeasible.
    infeasible: bool,
    error: Option<String>,
    /// When the placement must be done (the time limit less what building the plan needs).
    deadline: Instant,
}

/// The MIP of `blocks`: every constraint family's rows (those `options` leaves on), with
/// admission fixed when the options fix it.
fn compile<'a>(inventory: &'a Inventory, blocks: &'a [Block], options: &Options) -> Compiler<'a> {
    let mut compiler = Compiler::new(inventory, blocks, &options.disabled_families);
    if let Some(admission) = &options.admission {
        compiler.fix_admission(admission);
    }
    for family in families::all() {
        if !compiler.disabled(family.name()) {
            let added = family.emit(&mut compiler);
            if tracing() {
                eprintln!(
                    "vksplan: family {}: {} rows, {} columns",
                    family.name(),
                    added.rows,
                    added.columns
                );
            }
        }
    }
    compiler
}

/// The best of the greedy starts (a verified plan at once), by the lexicographic objective.
fn best_start(
    inventory: &Inventory,
    facts: &greedy::Facts,
    levels: Option<&Levels>,
    lower: Option<Ratio>,
    deadline: Instant,
) -> Option<Incumbent> {
    crate::progress::set("placement: greedy starts");
    let mut incumbent: Option<Incumbent> = None;
    for assignment in greedy::starts(inventory, facts, levels, lower, deadline) {
        let (score, _) = Score::evaluate(inventory, &assignment);
        if incumbent
            .as_ref()
            .is_none_or(|i| score.compare(&i.score).is_lt())
        {
            incumbent = Some(Incumbent { assignment, score });
        }
    }
    incumbent
}

/// Solves the placement MIP without verifying the final plan (see [`crate::plan`] for the
/// checked path).
pub fn place(inventory: &Inventory, options: &Options) -> Placed {
    let start = Instant::now();
    let time_limit = options
        .time_limit_s
        .unwrap_or(inventory.policy.time_limit_s)
        .clamp(0.0, 1e7);
    // What remains after the solve is for turning it into a verified plan (2% of the limit,
    // at most 1 s).
    let reserve = (time_limit * 0.02).clamp(0.0, 1.0);
    let deadline = start + Duration::from_secs_f64(time_limit - reserve);
    let blocks = blocks(inventory);
    let compiler = compile(inventory, &blocks, options);
    let balance = inventory.policy.objective == ObjectiveKind::Balance;
    let levels = balance.then(|| Levels::new(inventory, compiler.objectives.memory_granule));
    let lower = levels.as_ref().map(|levels| {
        let seconds = (time_limit * MIX_SHARE).min(MIX_SECONDS);
        balance_lower_bound(inventory, levels, false, seconds, options.threads)
    });
    // Greedy starts (a verified plan at once); with a family switched off (tests), the MIP
    // alone decides.
    let mut facts = greedy::Facts::new(inventory);
    facts.fix_admission(options.admission.clone());
    let incumbent = if options.disabled_families.is_empty() {
        best_start(inventory, &facts, levels.as_ref(), lower, deadline)
    } else {
        None
    };
    if tracing() {
        eprintln!(
            "vksplan: compiled, starts ready at {:.3}s: {:?}",
            start.elapsed().as_secs_f64(),
            incumbent.as_ref().map(|i| i.score)
        );
    }
    let columns = compiler.variables.len();
    let testing = !options.disabled_families.is_empty();
    let incumbent = incumbent.map(|i| Incumbent {
        assignment: crate::mip::canonical(&compiler, &i.assignment),
        score: i.score,
    });
    let mut solve = Solve {
        inventory,
        compiler: &compiler,
        blocks: &blocks,
        session: None,
        matrix: None,
        whole_too_large: columns > lns_column_limit() && incumbent.is_some(),

        threads: options.threads,
        mip_gap: inventory.policy.mip_gap,
        presolve: columns <= PRESOLVE_COLUMN_LIMIT,
        ipm_root: columns >= ipm_root_column_limit(),
        incumbent,
        levels,
        facts,
        testing,
        holds: Vec::new(),
        held_level: None,
        held_bounds: Vec::new(),
        stayings: std::cell::RefCell::new(None),
        spread_floors: std::cell::RefCell::new(None),
        infeasible: false,
        error: None,
        deadline,
    };
    let rows = compiler.rows.len() + compiler.objectives.step_rows.len();
    // With a family switched off (tests), step 4 is left out: its rows (level capacities,
    // used hosts) restate host capacity.
    let steps: Vec<StepKind> = StepKind::ALL
        .into_iter()
        .filter(|step| solve.present(*step) && !(testing && *step == StepKind::Step4))
        .filter(|step| options.last_step.is_none_or(|last| *step <= last))
        .collect();
    let steps = if steps.is_empty() {
        vec![StepKind::SoftRules]
    } else {
        steps
    };
    let mut reports: Vec<StepStats> = Vec::new();
    let mut all_proven = true;
    let mut step4_bound = None;
    for (index, step) in steps.iter().enumerate() {
        let began = Instant::now();
        let remaining = deadline.saturating_duration_since(began);
        let weights: f64 = steps[index..].iter().map(|s| weight(*s)).sum();
        let budget = if index + 1 == steps.len() {
            remaining
        } else {
            remaining.mul_f64(weight(*step) / weights)
        };
        crate::progress::set(step.stage(inventory.policy.objective));
        let result = if options.first_solution && solve.incumbent.is_some() {
            StepResult::unproven(&solve, *step)
        } else {
            solve.run(*step, budget, lower)
        };
        if solve.infeasible || solve.error.is_some() {
            break;
        }
        all_proven &= result.proven;
        if *step == StepKind::Step4 {
            step4_bound = Some(result.bound);
        }
        if tracing() {
            eprintln!(
                "vksplan: step {} {} value {} bound {} in {:.3}s",
                step.name(inventory.policy.objective),
                if result.proven { "optimal" } else { "feasible" },
                result.value,
                result.bound,
                began.elapsed().as_secs_f64()
            );
        }
        reports.push(StepStats {
            step: step.name(inventory.policy.objective).to_string(),
            status: if result.proven { "optimal" } else { "feasible" }.to_string(),
            value: result.value,
            bound: result.bound,
            seconds: began.elapsed().as_secs_f64(),
        });
        solve.hold(*step);
    }
    let ending = if solve.infeasible {
        Ending::Infeasible
    } else if solve.incumbent.is_none() {
        Ending::Timeout
    } else if all_proven && !options.first_solution {
        Ending::Optimal
    } else {
        Ending::Feasible
    };
    Placed {
        ending,
        assignment: solve.incumbent.map(|i| i.assignment),
        step4_bound,
        stats: Stats {
            variables: columns as u64,
            constraints: rows as u64,
            solve_ms: start.elapsed().as_millis() as u64,
            steps: reports,
        },
        error: solve.error,
    }
}

/// Lower bounds on steps 3 to 5 for plans that reach `held` on the steps before each (see
/// `bounds`): what the staged solve uses to prove a step without solving it. Public for the
/// test that checks them against brute force.
#[derive(Debug, Clone, PartialEq)]
pub struct LowerBounds {
    /// Migrations.
    pub migrations: u32,
    /// Peak utilisation (balance).
    pub peak: Option<Ratio>,
    /// Cost of hosts used (consolidate).
    pub cost: Option<f64>,
    /// Spread.
    pub spread: u32,
}

/// The lower bounds the staged solve would use once steps 1 and 2 are held at `held`'s values
/// (and, for steps 4 and 5, step 3 at `held.migrations`). Its LP runs HiGHS with one thread.
pub fn lower_bounds(inventory: &Inventory, held: &Score) -> LowerBounds {
    let optional = inventory
        .admission_units
        .iter()
        .filter(|u| u.priority.is_some())
        .count() as u32;
    let all_admitted = held.admitted >= optional;
    let stayings = bounds::Staying::choices(inventory, all_admitted, Some(held.soft_rules));
    let least = |bound: &dyn Fn(&bounds::Staying) -> u32| -> u32 {
        stayings.iter().map(bound).min().unwrap_or(0)
    };
    let placed = !inventory.placement.is_empty();
    let (peak, cost, level) = match inventory.policy.objective {
        ObjectiveKind::Balance => {
            let blocks = blocks(inventory);
            let granule = blocks.iter().fold(0u128, |g, block| {
                levels::gcd(g, u128::from(inventory.groups[block.group].memory.0))
            });
            let levels = Levels::new(inventory, granule.max(1));
            let rounding = balance_lower_bound(inventory, &levels, all_admitted, 5.0, 1);
            let peak = if placed {
                stayings
                    .iter()
                    .map(|s| s.balance_bound(&levels, rounding, Ratio::new(1, 1), held.migrations))
                    .min()
                    .unwrap_or(rounding)
            } else {
                rounding
            };
            let level = match held.step4 {
                Step4::Peak(level) => Some((levels, level)),
                Step4::Cost(_) => None,
            };
            (Some(peak.max(rounding)), None, level)
        }
        ObjectiveKind::Consolidate => (
            None,
            Some(bounds::cost_floor(inventory, all_admitted)),
            None,
        ),
    };
    LowerBounds {
        migrations: least(&bounds::Staying::migrations_floor),
        peak,
        cost,
        spread: bounds::spread_floor(
            inventory,
            all_admitted,
            placed.then_some(bounds::Held {
                stayings: &stayings,
                migrations: held.migrations,
                level: level.as_ref().map(|(levels, level)| (levels, *level)),
            }),
        ),
    }
}

/// A valid lower bound on the peak: the rounding bound over the hosts in service and the mix
/// bound (see [`levels::mix_bound`], within `seconds`), for the VMs that must be admitted (the
/// Supervisor and every unit without a priority), or every VM when `all_admitted`; its LP with
/// `threads` HiGHS threads.
fn balance_lower_bound(
    inventory: &Inventory,
    levels: &Levels,
    all_admitted: bool,
    seconds: f64,
    threads: u32,
) -> Ratio {
    let counted = |group: GroupId| bounds::surely_admitted(inventory, all_admitted, group);
    let (mut vcpus, mut memory) = (0u128, 0u128);
    for (index, group) in inventory.groups.iter().enumerate() {
        if counted(GroupId::new(index)) {
            vcpus += group.vms.len() as u128 * u128::from(group.vcpus);
            memory += group.vms.len() as u128 * u128::from(group.memory.0);
        }
    }
    let rounding = levels.rounding_bound(vcpus, memory);
    levels::mix_bound(inventory, levels, &counted, seconds, threads)
        .map_or(rounding, |mix| mix.max(rounding))
}

/// The most the mix bound's LP may take (it takes milliseconds on the hard suite's platforms).
const MIX_SECONDS: f64 = 1.0;

/// The share of the time limit (at step 4, of what is left of it) the mix bound's LP may take.
const MIX_SHARE: f64 = 0.05;

/// Balance probes just below the incumbent's peak before the search bisects (see
/// `Solve::balance`).
const DESCENTS: usize = 3;

/// The probe at the balance bound gets this fraction (1 / n) of what is left of the step's
/// whole-model budget (see `Solve::balance`).
const BOUND_PROBE_SHARE: u32 = 20;

/// Whether `value` of `step` is as good as `best` (maximised steps at least, the others at
/// most).
fn reaches_value(step: StepKind, value: f64, best: f64) -> bool {
    match step {
        StepKind::Priority | StepKind::Admitted => value >= best - 1e-9,
        _ => value <= best + 1e-9 * best.abs().max(1.0),
    }
}

/// What a step achieved.
struct StepResult {
    value: f64,
    bound: f64,
    proven: bool,
}

impl StepResult {
    fn unproven(solve: &Solve, step: StepKind) -> StepResult {
        let value = solve.value(step);
        StepResult {
            value,
            bound: value,
            proven: false,
        }
    }
}

impl Solve<'_> {
    /// Whether the step has anything to decide.
    fn present(&self, step: StepKind) -> bool {
        let objectives = &self.compiler.objectives;
        match step {
            StepKind::Priority => objectives.priority.is_some(),
            StepKind::Admitted => objectives.admitted.is_some(),
            StepKind::SoftRules => objectives.soft_rules.is_some(),
            StepKind::Migrations => objectives.migrations.is_some(),
            StepKind::Step4 => objectives.step4.is_some() || !objectives.levels.is_empty(),
            StepKind::Spread => objectives.spread.is_some(),
        }
    }

    fn value(&self, step: StepKind) -> f64 {
        self.incumbent
            .as_ref()
            .map_or(f64::NAN, |i| i.score.value(step))
    }

    /// The expression HiGHS minimises for a step (maximised steps negated).
    fn expression(&self, step: StepKind) -> Expression {
        let objectives = &self.compiler.objectives;
        let or_zero = |e: &Option<Expression>| e.clone().unwrap_or_else(|| Expression::from(0.0));
        match step {
            StepKind::Priority => -or_zero(&objectives.priority),
            StepKind::Admitted => -or_zero(&objectives.admitted),
            StepKind::SoftRules => or_zero(&objectives.soft_rules),
            StepKind::Migrations => or_zero(&objectives.migrations),
            StepKind::Step4 => or_zero(&objectives.step4),
            StepKind::Spread => or_zero(&objectives.spread),
        }
    }

    /// The best value the step could possibly reach, known before solving.
    fn best_possible(&self, step: StepKind, lower: Option<Ratio>) -> Option<f64> {
        let best = &self.compiler.objectives.best;
        match step {
            StepKind::Priority => best.priority,
            StepKind::Admitted => best.admitted,
            StepKind::SoftRules => Some(f64::from(bounds::soft_floor(
                self.inventory,
                self.all_admitted(),
            ))),
            StepKind::Migrations => self
                .stayings()
                .iter()
                .map(bounds::Staying::migrations_floor)
                .min()
                .map(f64::from),
            StepKind::Step4 => match self.inventory.policy.objective {
                ObjectiveKind::Balance => lower.map(Ratio::to_f64),
                ObjectiveKind::Consolidate => {
                    Some(bounds::cost_floor(self.inventory, self.all_admitted()))
                }
            },
            StepKind::Spread => Some(f64::from(self.spread_floor())),
        }
    }

    /// Whether every unit is surely admitted: step 1 holds all optional units admitted.
    fn all_admitted(&self) -> bool {
        let optional = self.compiler.objectives.best.admitted.unwrap_or(0.0);
        self.incumbent
            .as_ref()
            .is_some_and(|i| f64::from(i.score.admitted) >= optional - 0.5)
    }

    /// The migrations the later steps are held to (`None` when nothing runs today).
    fn held_migrations(&self) -> Option<u32> {
        self.present(StepKind::Migrations)
            .then(|| self.incumbent.as_ref().map(|i| i.score.migrations))
            .flatten()
    }

    /// The lowest peak possible: the rounding and mix bounds (over every VM once every unit is
    /// admitted), and what the held migrations allow.
    fn balance_floor(&self, rounding: Ratio) -> Ratio {
        let rounding = match &self.levels {
            // Without units that may be left out (no admission step), `rounding` already
            // counts every VM.
            Some(levels) if self.all_admitted() && self.present(StepKind::Admitted) => {
                let left = self.deadline.saturating_duration_since(Instant::now());
                let seconds = (left.as_secs_f64() * MIX_SHARE).min(MIX_SECONDS);
                rounding.max(balance_lower_bound(
                    self.inventory,
                    levels,
                    true,
                    seconds,
                    self.threads,
                ))
            }
            _ => rounding,
        };
        let (Some(levels), Some(migrations), Some(incumbent)) =
            (&self.levels, self.held_migrations(), &self.incumbent)
        else {
            return rounding;
        };
        let Step4::Peak(high) = incumbent.score.step4 else {
            return rounding;
        };
        let stayings = self.stayings();
        if stayings.iter().any(bounds::Staying::is_empty) || high <= rounding {
            return rounding;
        }
        stayings
            .iter()
            .map(|staying| staying.balance_bound(levels, rounding, high, migrations))
            .min()
            .unwrap_or(rounding)
    }

    /// The least spread possible (see [`bounds::spread_floor`]), computed once per held
    /// state (on 288 hosts one computation is a pass per choice of soft rules).
    fn spread_floor(&self) -> u32 {
        let key = (
            self.all_admitted(),
            self.incumbent.as_ref().map(|i| i.score.soft_rules),
            self.held_migrations(),
            self.held_level,
        );
        if let Some((cached, floor)) = *self.spread_floors.borrow() {
            if cached == key {
                return floor;
            }
        }
        let floor = self.compute_spread_floor();
        *self.spread_floors.borrow_mut() = Some((key, floor));
        floor
    }

    /// See [`Solve::spread_floor`].
    fn compute_spread_floor(&self) -> u32 {
        let stayings = self.stayings();
        bounds::spread_floor(self.inventory, self.all_admitted(), self.held(&stayings))
    }

    /// Today's VMs that may stay, one per choice of the soft rules that hold in the plans
    /// the held steps allow (see [`bounds::Staying::choices`]).
    /// They depend only on step 1's admissions and step 2's count, so they are built once per
    /// pair (a 288-host platform with ~50 soft rules has up to 64 choices, each a pass over
    /// today's placement and the rules).
    fn stayings(&self) -> std::rc::Rc<Vec<bounds::Staying>> {
        let broken = if self.present(StepKind::SoftRules) {
            self.incumbent.as_ref().map(|i| i.score.soft_rules)
        } else {
            Some(0)
        };
        let key = (self.all_admitted(), broken);
        let mut cache = self.stayings.borrow_mut();
        match &*cache {
            Some((cached, stayings)) if *cached == key => stayings.clone(),
            _ => {
                let began = Instant::now();
                let stayings =
                    std::rc::Rc::new(bounds::Staying::choices(self.inventory, key.0, key.1));
                if tracing() {
                    eprintln!(
                        "vksplan: stayings {key:?}: {} in {:.3}s",
                        stayings.len(),
                        began.elapsed().as_secs_f64()
                    );
                }
                *cache = Some((key, stayings.clone()));
                stayings
            }
        }
    }

    /// Whether the incumbent reaches the step's best possible value.
    fn reaches(&self, step: StepKind, lower: Option<Ratio>) -> bool {
        let Some(incumbent) = &self.incumbent else {
            return false;
        };
        if step == StepKind::Step4 {
            if let (Step4::Peak(peak), Some(lower)) = (incumbent.score.step4, lower) {
                return peak <= lower;
            }
        }
        let Some(best) = self.best_possible(step, lower) else {
            return false;
        };
        reaches_value(step, incumbent.score.value(step), best)
    }

    /// Whether the incumbent reaches `floor`, the step's best possible value if known.
    fn at_floor(&self, step: StepKind, floor: Option<f64>) -> bool {
        floor.is_some_and(|floor| reaches_value(step, self.value(step), floor))
    }

    /// Runs one step within `budget`.
    fn run(&mut self, step: StepKind, budget: Duration, lower: Option<Ratio>) -> StepResult {
        // The step's budget counts from here, polishing included.
        let step_deadline = Instant::now() + budget;
        // The later steps start from the incumbent improved by a local search that keeps
        // what the earlier steps achieved.
        let polish_until = Instant::now() + budget / 4;
        match step {
            StepKind::SoftRules => self.improve(greedy::Goal::SoftRules, None, polish_until),
            StepKind::Migrations => self.improve(greedy::Goal::Migrations, None, polish_until),
            StepKind::Step4 if self.levels.is_some() => {
                self.improve(greedy::Goal::Peak, None, polish_until);
            }
            StepKind::Step4 => self.improve(greedy::Goal::Cost, None, polish_until),
            StepKind::Spread => {
                let caps = self.held_caps();
                self.improve(greedy::Goal::Spread, Some(&caps), polish_until);
            }
            _ => {}
        }
        let lower = match (step, lower) {
            (StepKind::Step4, Some(rounding)) => Some(self.balance_floor(rounding)),
            _ => lower,
        };
        if self.reaches(step, lower) {
            let value = self.value(step);
            return StepResult {
                value,
                bound: value,
                proven: true,
            };
        }
        let floor = self.best_possible(step, lower);
        if tracing() {
            eprintln!(
                "vksplan: step {} floor {floor:?}",
                step.name(self.inventory.policy.objective)
            );
        }
        if self.whole_too_large {
            // Neighbourhoods only (and annealing, for consolidate): the whole model is too
            // large to solve within the limit.
            if step == StepKind::Step4 && self.levels.is_none() {
                self.anneal_in_turn(step_deadline);
            } else {
                self.neighbourhoods(step, step_deadline, floor);
            }
            return self.after_neighbourhoods(step, lower, floor);
        }
        if step == StepKind::Spread && !self.testing {
            self.hold_pool_floors();
            // One above the floor: a probe at the floor settles the step.
            if let Some(floor) = floor.filter(|f| self.value(StepKind::Spread) == f.ceil() + 1.0) {
                return self.probe_floor(floor.ceil(), step_deadline);
            }
        }
        // The whole model first, with part of the budget when neighbourhoods can take over.
        let share = match (self.testing, step, self.inventory.policy.objective) {
            (true, _, _) => 1.0,
            // Bin packing by cost: neighbourhoods improve it much faster than the whole MIP
            // (cloud-100: 65,150 in 60 s against 71,550), which mainly gives the bound.
            (_, StepKind::Step4, ObjectiveKind::Consolidate) => 0.15,
            _ => WHOLE_SHARE,
        };
        let whole_deadline = (Instant::now() + budget.mul_f64(share)).min(step_deadline);
        let result = if step == StepKind::Step4 && self.levels.is_some() {
            self.balance(whole_deadline, lower.unwrap_or(Ratio::ZERO))
        } else {
            self.minimise(step, whole_deadline)
        };
        if result.proven || self.testing || self.infeasible || Instant::now() >= step_deadline {
            return result;
        }
        let improved = if step == StepKind::Step4 && self.levels.is_none() {
            self.anneal_in_turn(step_deadline)
        } else {
            self.neighbourhoods(step, step_deadline, floor)
        };
        let mut result = result;
        // Neighbourhoods stop after a run of rounds without progress; what is left of the
        // budget goes to the whole model again, from the improved incumbent (it may prove the
        // step or raise the bound). Balance keeps its level search's bound.
        let left = step_deadline.saturating_duration_since(Instant::now());
        if !(step == StepKind::Step4 && self.levels.is_some()) && left > Duration::from_secs(1) {
            let again = self.minimise(step, step_deadline);
            if again.proven {
                return again;
            }
            result.bound = if matches!(step, StepKind::Priority | StepKind::Admitted) {
                result.bound.min(again.bound)
            } else {
                result.bound.max(again.bound)
            };
        } else if !improved {
            return result;
        }
        let value = self.value(step);
        let proven = floor.is_some_and(|f| (value - f).abs() <= 1e-9 * f.abs().max(1.0))
            || (value - result.bound).abs() <= 1e-9 * value.abs().max(1.0);
        StepResult {
            value,
            bound: if proven { value } else { result.bound },
            proven,
        }
    }

    /// A step's result after neighbourhoods alone: proven only where the incumbent reaches a
    /// bound known before solving.
    fn after_neighbourhoods(
        &self,
        step: StepKind,
        lower: Option<Ratio>,
        floor: Option<f64>,
    ) -> StepResult {
        let value = self.value(step);
        let proven = self.reaches(step, lower);
        StepResult {
            value,
            bound: if proven { value } else { floor.unwrap_or(0.0) },
            proven,
        }
    }

    /// The whole model in HiGHS (built now if it was not yet).
    fn session(&mut self) -> &mut Session {
        let compiler = self.compiler;
        let testing = self.testing;
        let holds = &self.holds;
        let caps = self.held_level;
        let levels = self.levels.clone();
        let stayings = caps.map(|_| self.stayings());
        let held_bounds = &self.held_bounds;
        // Two threads race two seeded instances (see `mip::session`).
        let racers = if self.threads > 1 { 2 } else { 1 };
        self.session.get_or_insert_with(|| {
            let mut session = Session::racing(
                compiler,
                |_| true,
                compiler
                    .objectives
                    .step_rows
                    .iter()
                    .filter(|(step, _)| !(testing && *step == StepKind::Step4))
                    .map(|(_, row)| row)
                    .chain(holds),
                racers,
            );
            if let (Some(level), Some(levels), Some(stayings)) = (caps, levels, stayings) {
                set_caps(&mut session, compiler, &levels, level, &stayings);
            }
            for (column, lower, upper) in held_bounds {
                session.set_bounds(*column, *lower, *upper);
            }
            session
        })
    }

    /// Polishes the incumbent towards `goal` (see [`greedy::polish`]); keeps the result if it
    /// is lexicographically better.
    fn improve(&mut self, goal: greedy::Goal, caps: Option<&[(u64, u128)]>, until: Instant) {
        if self.testing {
            return;
        }
        let Some(incumbent) = &self.incumbent else {
            return;
        };
        let polished = greedy::polish(
            self.inventory,
            &self.facts,
            &incumbent.assignment,
            goal,
            caps,
            until,
        );
        let (score, report) = Score::evaluate(self.inventory, &polished);
        if report.violations.is_empty() && score.compare(&incumbent.score).is_lt() {
            if tracing() {
                eprintln!("vksplan: polished ({goal:?}): {score:?}");
            }
            self.incumbent = Some(Incumbent {
                assignment: polished,
                score,
            });
        }
    }

    /// Consolidate: annealing and neighbourhoods in turn until `until`, each round annealing
    /// from the incumbent (cooler after the first) and then searching neighbourhoods until
    /// they stop improving. True when the incumbent improved.
    fn anneal_in_turn(&mut self, until: Instant) -> bool {
        let mut improved = false;
        let mut round = 0u64;
        while Instant::now() + ANNEAL_AT_LEAST < until {
            let left = until.saturating_duration_since(Instant::now());
            let (share, heat) = if round == 0 {
                (FIRST_ANNEAL_SHARE, 1.0)
            } else {
                (ANNEAL_SHARE, REHEAT)
            };
            improved |= self.anneal(Instant::now() + left.mul_f64(share), heat, round);
            improved |= self.neighbourhoods(StepKind::Step4, until, None);
            round += 1;
        }
        improved
    }

    /// Anneals the incumbent's cost (see [`greedy::anneal`]) until `until`; keeps the result
    /// if it is lexicographically better, and says whether it was.
    fn anneal(&mut self, until: Instant, heat: f64, seed: u64) -> bool {
        let Some(incumbent) = &self.incumbent else {
            return false;
        };
        let annealed = greedy::anneal(
            self.inventory,
            &self.facts,
            &incumbent.assignment,
            until,
            heat,
            seed,
        );
        let (score, report) = Score::evaluate(self.inventory, &annealed);
        let better = report.violations.is_empty() && score.compare(&incumbent.score).is_lt();
        if tracing() {
            eprintln!(
                "vksplan: annealed: {score:?}, {} violations",
                report.violations.len()
            );
        }
        if better {
            self.incumbent = Some(Incumbent {
                assignment: annealed,
                score,
            });
        }
        better
    }

    /// Per host, what the held steps allow a move to add up to: the held level's capacities
    /// (balance), or only hosts already used (consolidate).
    fn held_caps(&self) -> Vec<(u64, u128)> {
        let inventory = self.inventory;
        let full = |h: usize| {
            let spec = &inventory.hosts[HostId::new(h)];
            (spec.vcpu_limit, u128::from(spec.memory_limit.0))
        };
        let Some(incumbent) = &self.incumbent else {
            return (0..inventory.hosts.len()).map(full).collect();
        };
        match (incumbent.score.step4, &self.levels) {
            (Step4::Peak(peak), Some(_)) => inventory
                .hosts
                .iter()
                .map(|spec| {
                    (
                        peak.floor_times(u128::from(spec.vcpu_limit)) as u64,
                        peak.floor_times(u128::from(spec.memory_limit.0)),
                    )
                })
                .collect(),
            _ => {
                let mut used = vec![false; inventory.hosts.len()];
                for host in incumbent.assignment.host_of.iter().flatten() {
                    used[host.index()] = true;
                }
                (0..inventory.hosts.len())
                    .map(|h| if used[h] { full(h) } else { (0, 0) })
                    .collect()
            }
        }
    }

    /// The incumbent's columns (a warm start), if any.
    fn start(&self) -> Option<Vec<f64>> {
        self.incumbent
            .as_ref()
            .and_then(|i| warm_start(self.compiler, &i.assignment))
    }

    fn options(&self, until: Instant) -> SolveOptions {
        let mut budget = until.saturating_duration_since(Instant::now());
        if self.ipm_root && until + Duration::from_millis(1) >= self.deadline {
            // After an interior-point root, HiGHS's first cut separation does not watch the
            // clock (h96-memory's spread: 1.6-3.4 s past budgets of 11-13 s): a solve that may
            // run up to the placement's deadline stops early enough to absorb that.
            budget = budget.mul_f64(IPM_DEADLINE_SHARE);
        }
        SolveOptions {
            budget,
            threads: self.threads,
            mip_gap: self.mip_gap,
            first_solution: false,
            presolve: self.presolve,
            ipm_root: self.ipm_root,
            // Whatever the step's budget, a solve may run up to the placement's deadline
            // (HiGHS overruns some budgets, see above) before it is given up on.
            give_up: budget.max(self.deadline.saturating_duration_since(Instant::now()))
                + GIVE_UP_GRACE,
        }
    }

    /// Takes a solution of the session if it is lexicographically better than the incumbent.
    fn offer(&mut self, values: &crate::mip::ColumnValues) -> bool {
        let assignment = crate::placement::place::disaggregate(self.compiler, self.blocks, values);
        let (score, _) = Score::evaluate(self.inventory, &assignment);
        let better = self
            .incumbent
            .as_ref()
            .is_none_or(|i| score.compare(&i.score).is_lt());
        if better {
            self.incumbent = Some(Incumbent { assignment, score });
        }
        better
    }

    /// One HiGHS solve of the step's objective, warm-started from the incumbent.
    fn minimise(&mut self, step: StepKind, until: Instant) -> StepResult {
        let expression = self.expression(step);
        self.session().minimise(&expression);
        let start = self.start();
        let began = Instant::now();
        let mut solved = {
            let options = self.options(until);
            self.session().solve(start.as_deref(), &options)
        };
        if tracing() {
            eprintln!(
                "vksplan: whole model, {}: {:?} in {:.3}s of {:.3}s",
                step.name(self.inventory.policy.objective),
                solved.outcome,
                began.elapsed().as_secs_f64(),
                until.saturating_duration_since(began).as_secs_f64()
            );
        }
        // HiGHS (1.16) can report an optimum at an objective its returned solution does not
        // have: a MIP start mapped wrongly into the presolved space, or a wrong postsolve (seen
        // cold too). Whenever the solution's own objective disagrees with what HiGHS claims,
        // solve again cold and without presolve, where the solution returned is the one proven.
        if solved.outcome == Outcome::Optimal && disagrees(&expression, &solved) {
            if tracing() {
                eprintln!(
                    "vksplan: HiGHS misreported its optimum; solving again cold, without presolve"
                );
            }
            solved = {
                let mut options = self.options(until);
                options.presolve = false;
                self.session().solve(None, &options)
            };
        }
        if solved.outcome == Outcome::Infeasible && self.incumbent.is_none() {
            self.infeasible = true;
        }
        if let Some(values) = &solved.values {
            self.offer(values);
        }
        let value = self.value(step);
        let sign = if matches!(step, StepKind::Priority | StepKind::Admitted) {
            -1.0
        } else {
            1.0
        };
        let dual = sign * solved.bound;
        let proven = solved.outcome == Outcome::Optimal
            && self.mip_gap == 0.0
            && self.incumbent.is_some()
            && (sign * value) <= solved.objective + 1e-6 * solved.objective.abs().max(1.0);
        let bound = if proven {
            value
        } else if dual.is_finite() {
            if sign < 0.0 {
                dual.max(value)
            } else {
                dual.min(value)
            }
        } else {
            self.best_possible(step, None).unwrap_or(value)
        };
        StepResult {
            value,
            bound,
            proven,
        }
    }

    /// Spread, the last step, with the incumbent one above the step's floor: the only better
    /// value is the floor, so the whole model is asked for a plan within it, with no
    /// objective. None (infeasible) proves the incumbent optimal; any reaches the floor. The
    /// row stays in the model, which no later step uses.
    fn probe_floor(&mut self, floor: f64, until: Instant) -> StepResult {
        let row = self.expression(StepKind::Spread).leq(floor + 0.5);
        self.session().add_row(&row);
        self.session().minimise(&Expression::from(0.0));
        let began = Instant::now();
        let solved = {
            let options = self.options(until);
            self.session().solve(None, &options)
        };
        if tracing() {
            eprintln!(
                "vksplan: spread probe at its floor {floor}: {:?} in {:.3}s",
                solved.outcome,
                began.elapsed().as_secs_f64()
            );
        }
        if let (Outcome::Optimal | Outcome::Feasible, Some(values)) =
            (solved.outcome, &solved.values)
        {
            self.offer(values);
        }
        let value = self.value(StepKind::Spread);
        let proven = solved.outcome == Outcome::Infeasible || value <= floor + 1e-9;
        StepResult {
            value,
            bound: if proven { value } else { floor },
            proven,
        }
    }

    /// Balance by a search over levels: probe a candidate between the proven lower bound and
    /// the incumbent's peak; a plan within its capacities lowers the peak, a proof that none
    /// exists raises the bound past it. Ends proven when no candidate is left between them.
    fn balance(&mut self, until: Instant, lower: Ratio) -> StepResult {
        let Some(levels) = self.levels.clone() else {
            return StepResult::unproven(self, StepKind::Step4);
        };
        self.session().minimise(&Expression::from(0.0));
        let mut low = lower;
        if self.incumbent.is_none() {
            // No start: any plan first (caps at the limits).
            let solved = {
                let options = self.options(until);
                self.session().solve(None, &options)
            };
            match solved.outcome {
                Outcome::Infeasible => {
                    self.infeasible = true;
                    return StepResult::unproven(self, StepKind::Step4);
                }
                _ => {
                    if let Some(values) = &solved.values {
                        self.offer(values);
                    }
                }
            }
        }
        let mut proven = false;
        let mut probes = 0;
        while let Some(Step4::Peak(high)) = self.incumbent.as_ref().map(|i| i.score.step4) {
            if high <= low {
                proven = true;
                break;
            }
            let remaining = until.saturating_duration_since(Instant::now());
            if remaining < Duration::from_millis(5) {
                break;
            }
            // First the level just below the peak: proofs that a level is impossible are the
            // expensive probes near the optimum, and the start is often optimal, so one probe
            // proves it (h30-zones, h32-memory, h32-evacuate, h4-tight: one probe where the
            // bound first took two). Then the bound itself, within a share of the budget: often
            // the optimum, and when it is not HiGHS often refutes it at the root. Then more
            // descents, each from a plan polished below its probe, and after a few of them
            // halfway (by value) between the bound and the peak, so that a poor start cannot
            // cost a probe a level. Before the halving, the LP relaxation's bisection raises
            // the bound where it can (not first: on h96-memory its first solve alone took 6 s
            // and raised nothing, and no hard-suite platform reached the halving).
            if probes == DESCENTS + 1 {
                low = self.lp_floor(&levels, low, high, until);
                if high <= low {
                    proven = true;
                    break;
                }
            }
            let probe_at = match probes {
                1 => low,
                0..=DESCENTS => levels.below(high),
                _ => levels.at_most((low.to_f64() + high.to_f64()) / 2.0),
            };
            probes += 1;
            let mut probe = probe_at;
            if probe < low {
                probe = low;
            }
            self.set_caps(&levels, probe);
            let began = Instant::now();
            // The probe at the bound, when it is not the level just below the peak, gets a
            // share of the budget: refuted at the root it raises the bound at once, but a
            // proof far from the peak can cost as much as the one just below it (h30-zones
            // with a bound of 0.729 and HiGHS seed 3: 3.9 s, where 0.7656 took 3.1 s).
            let capped = probe == low && probe < levels.below(high);
            let probe_until = if capped {
                Instant::now() + until.saturating_duration_since(Instant::now()) / BOUND_PROBE_SHARE
            } else {
                until
            };
            let solved = {
                let options = self.options(probe_until);
                self.session().solve(None, &options)
            };
            if capped && solved.outcome == Outcome::Unknown {
                // Not settled in its share: descend from the peak instead.
                continue;
            }
            if tracing() {
                eprintln!(
                    "vksplan: balance probe {:.6} in [{:.6}, {:.6}]: {:?} in {:.3}s",
                    probe.to_f64(),
                    low.to_f64(),
                    high.to_f64(),
                    solved.outcome,
                    began.elapsed().as_secs_f64()
                );
            }
            match solved.outcome {
                Outcome::Optimal | Outcome::Feasible => {
                    if let Some(values) = &solved.values {
                        if self.offer(values) {
                            // The probe's plan is only within the probe's level: a local
                            // search often lowers its peak further, saving probes.
                            let until = Instant::now()
                                + until.saturating_duration_since(Instant::now()) / 8;
                            self.improve(greedy::Goal::Peak, None, until);
                        }
                    }
                }
                Outcome::Infeasible => match levels.next_above(probe) {
                    Some(next) => low = next,
                    None => break,
                },
                Outcome::Unknown => break,
            }
        }
        let value = self.value(StepKind::Step4);
        StepResult {
            value,
            bound: if proven {
                value
            } else {
                low.to_f64().min(value)
            },
            proven,
        }
    }

    /// Bounds every host's load columns by the capacities of `level`.
    fn set_caps(&mut self, levels: &Levels, level: Ratio) {
        let compiler = self.compiler;
        let stayings = self.stayings();
        set_caps(self.session(), compiler, levels, level, &stayings);
    }

    /// The smallest level whose LP relaxation is feasible, from `low` (every level below it
    /// already proven impossible) up to `high` (a level some plan reaches): a bisection on the
    /// LP, which HiGHS re-solves from its last basis after each change of the caps. An
    /// infeasible relaxation proves the level impossible for the MIP too.
    fn lp_floor(&self, levels: &Levels, low: Ratio, high: Ratio, until: Instant) -> Ratio {
        let mut relaxed = Session::relaxed(
            self.compiler,
            |_| true,
            self.compiler
                .objectives
                .step_rows
                .iter()
                .map(|(_, row)| row)
                .chain(&self.holds),
        );
        relaxed.minimise(&Expression::from(0.0));
        let stayings = self.stayings();
        let (mut low, mut high) = (low, high);
        while low < high && Instant::now() < until {
            let mut probe = levels.at_most((low.to_f64() + high.to_f64()) / 2.0);
            if probe < low {
                probe = low;
            }
            set_caps(&mut relaxed, self.compiler, levels, probe, &stayings);
            let solved = relaxed.solve(None, &self.options(until));
            if tracing() {
                eprintln!(
                    "vksplan: balance LP probe {:.6}: {:?}",
                    probe.to_f64(),
                    solved.outcome
                );
            }
            match solved.outcome {
                Outcome::Infeasible => match levels.next_above(probe) {
                    Some(next) => low = next,
                    None => break,
                },
                Outcome::Optimal | Outcome::Feasible => high = probe,
                Outcome::Unknown => break,
            }
        }
        low
    }

    /// Holds a finished step at the incumbent's value for the steps after it.
    fn hold(&mut self, step: StepKind) {
        let Some(incumbent) = &self.incumbent else {
            return;
        };
        if step == StepKind::Step4 {
            if let (Step4::Peak(peak), Some(levels)) = (incumbent.score.step4, self.levels.clone())
            {
                self.held_level = Some(peak);
                if self.session.is_some() {
                    self.set_caps(&levels, peak);
                }
                if let Some(matrix) = self.matrix.as_mut() {
                    for (cap, load) in levels.caps(peak).iter().filter_map(|cap| {
                        let load = self
                            .compiler
                            .objectives
                            .levels
                            .iter()
                            .find(|l| l.host == cap.host)?;
                        Some((cap, load))
                    }) {
                        matrix.set_bounds(load.vcpus, 0.0, cap.vcpus as f64);
                        matrix.set_bounds(load.memory, 0.0, cap.granules as f64);
                    }
                }
                return;
            }
        }
        let value = incumbent.score.value(step);
        let expression = self.expression(step);
        let row = match step {
            StepKind::Priority | StepKind::Admitted => expression.leq(-value + 0.5),
            StepKind::Step4 => expression.leq(value + 1e-9 + 1e-9 * value.abs()),
            _ => expression.leq(value + 0.5),
        };
        if let Some(session) = self.session.as_mut() {
            session.add_row(&row);
        }
        if let Some(matrix) = self.matrix.as_mut() {
            matrix.add_row(&row);
        }
        self.holds.push(row);
        let migrations = self.incumbent.as_ref().map(|i| i.score.migrations);
        if let (StepKind::Migrations, Some(migrations), false) = (step, migrations, self.testing) {
            self.hold_moves(migrations);
        }
    }

    /// Bounds each `moved` column by what a plan with at most `migrations` migrations can move
    /// (see [`bounds::movable`]): with the migrations at their floor, the VMs that nothing
    /// sends away are fixed where they run, which the migrations row alone does not tell HiGHS.
    fn hold_moves(&mut self, migrations: u32) {
        let stayings = self.stayings();
        let moves = bounds::movable(&stayings, self.blocks, self.inventory, migrations);
        let column: BTreeMap<(usize, usize), good_lp::Variable> = self
            .compiler
            .hints
            .iter()
            .filter_map(|(variable, hint)| match hint {
                crate::mip::Hint::Moved { block, host } => Some(((*block, *host), *variable)),
                _ => None,
            })
            .collect();
        let caps: Vec<_> = moves
            .caps
            .iter()
            .filter_map(|(block, host, most)| {
                Some((*column.get(&(*block, *host))?, 0.0, f64::from(*most)))
            })
            .collect();
        let bounded = caps.len();
        self.hold_bounds(caps);
        // Between them, the VMs that nothing sends away move within the slack.
        let free: Expression = moves
            .free
            .iter()
            .filter_map(|pair| column.get(pair))
            .map(|moved| Expression::from(*moved))
            .sum();
        if tracing() {
            eprintln!(
                "vksplan: migrations held at {migrations}: {bounded} moved columns bounded, {} free within {}",
                moves.free.len(),
                moves.slack
            );
        }
        if !moves.free.is_empty() {
            let row = free.leq(f64::from(moves.slack));
            if let Some(session) = self.session.as_mut() {
                session.add_row(&row);
            }
            if let Some(matrix) = self.matrix.as_mut() {
                matrix.add_row(&row);
            }
            self.holds.push(row);
        }
    }

    /// Sets column bounds that hold from now on, in the whole model and the neighbourhoods'.
    fn hold_bounds(&mut self, bounds: Vec<(good_lp::Variable, f64, f64)>) {
        for (column, lower, upper) in &bounds {
            if let Some(session) = self.session.as_mut() {
                session.set_bounds(*column, *lower, *upper);
            }
            if let Some(matrix) = self.matrix.as_mut() {
                matrix.set_bounds(*column, *lower, *upper);
            }
        }
        self.held_bounds.extend(bounds);
    }

    /// Raises each pool's spread column to the pool's floor with what the earlier steps hold
    /// (see [`bounds::each_pool_floor`]): the LP relaxation can then no longer spread one pool
    /// below its floor to make up for another above its own.
    fn hold_pool_floors(&mut self) {
        let stayings = self.stayings();
        let floors =
            bounds::each_pool_floor(self.inventory, self.all_admitted(), self.held(&stayings));
        let raised: Vec<_> = (self.compiler.hints.iter())
            .filter_map(|(column, hint)| match hint {
                crate::mip::Hint::Spread { group, lower } => {
                    let floor = *floors.get(group)?;
                    (floor > *lower).then_some((*column, f64::from(floor), f64::INFINITY))
                }
                _ => None,
            })
            .collect();
        if tracing() {
            eprintln!(
                "vksplan: spread held: {} pools' floors raised",
                raised.len()
            );
        }
        self.hold_bounds(raised);
    }

    /// What the steps before spread hold, for its floors.
    fn held<'a>(&'a self, stayings: &'a [bounds::Staying]) -> Option<bounds::Held<'a>> {
        let levels = self.levels.as_ref().zip(self.held_level);
        self.held_migrations().map(|migrations| bounds::Held {
            stayings,
            migrations,
            level: levels,
        })
    }
}

/// Bounds every host's load columns in `session` by the capacities of `level`, and its shed
/// column from below by the fewest of today's VMs it must shed to keep within them, over the
/// choices of soft rules that hold (a cut: the LP alone lets a host shed a fraction of a large
/// VM).
fn set_caps(
    session: &mut Session,
    compiler: &Compiler,
    levels: &Levels,
    level: Ratio,
    stayings: &[bounds::Staying],
) {
    let caps = levels.caps(level);
    for load in &compiler.objectives.levels {
        let Some(cap) = caps.iter().find(|c| c.host == load.host) else {
            continue;
        };
        session.set_bounds(load.vcpus, 0.0, cap.vcpus as f64);
        session.set_bounds(load.memory, 0.0, cap.granules as f64);
        if let Some(shed) = load.shed {
            let least = bounds::least_shed(
                stayings,
                cap.host,
                cap.vcpus,
                cap.granules * levels.granule(),
            );
            session.set_bounds(shed, f64::from(least), f64::INFINITY);
        }
    }
}

/// Whether HiGHS's objective value differs from the objective of the solution it returned.
fn disagrees(expression: &Expression, solved: &crate::mip::Solved) -> bool {
    solved.values.as_ref().is_some_and(|values| {
        let achieved = expression.eval_with(values);
        (achieved - solved.objective).abs() > 1e-6 * achieved.abs().max(1.0)
    })
}
