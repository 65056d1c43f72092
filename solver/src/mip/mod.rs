//! The only module that speaks good_lp and HiGHS: the [`Compiler`] that turns an inventory into
//! a MIP over counts, the constraint families, and the staged solve.

pub mod families;
mod matrix;
mod session;
mod solve;
mod warm;
pub(crate) mod watch;

pub use matrix::Matrix;
pub use session::{Outcome, Session, SolveOptions, Solved};
pub use solve::{feasible, minimise, Minimum};
pub use warm::{canonical, warm_start, Hint};

use crate::placement::blocks::Block;
use good_lp::{variable, Constraint, Expression, ProblemVariables, Variable};
use vksplan_model::Inventory;
use vksplan_model::{HostId, UnitId};

/// Whether a solve ended with a feasible solution. Reads HiGHS's info value itself: the
/// `highs` crate panics on a status it does not know (HiGHS reports -1 for a model with no
/// columns, as a consolidate platform with no VM gave).
pub(crate) fn has_solution(solved: &highs::SolvedModel) -> bool {
    // kSolutionStatusFeasible.
    matches!(solved.int_info_value(c"primal_solution_status"), Ok(2))
}

/// Memory and disk in the MIP are in GiB: coefficients near the vCPU counts keep HiGHS well
/// scaled, and dividing bytes by 2^30 is exact in binary floating point.
pub fn gib(bytes: vksplan_model::Bytes) -> f64 {
    bytes.0 as f64 / (1u64 << 30) as f64
}

/// Column values of a solution, addressable by variable.
#[derive(Debug, Clone, Default)]
pub struct ColumnValues {
    index: ColumnIndex,
    values: Vec<f64>,
}

/// Where each variable's value sits in a solution vector; built once per model and shared.
pub type ColumnIndex = std::sync::Arc<std::collections::HashMap<Variable, usize>>;

impl ColumnValues {
    /// The column of every variable (columns are created in variable order).
    pub fn index_of(variables: &ProblemVariables) -> ColumnIndex {
        std::sync::Arc::new(
            variables
                .iter_variables_with_def()
                .enumerate()
                .map(|(i, (v, _))| (v, i))
                .collect(),
        )
    }

    /// Values in column order, addressed through a shared `index`.
    pub fn new(index: &ColumnIndex, values: Vec<f64>) -> ColumnValues {
        ColumnValues {
            index: index.clone(),
            values,
        }
    }

    /// The value of a variable (0 when unknown).
    pub fn get(&self, variable: Variable) -> f64 {
        self.index
            .get(&variable)
            .and_then(|i| self.values.get(*i))
            .copied()
            .unwrap_or(0.0)
    }
}

impl good_lp::Solution for ColumnValues {
    fn status(&self) -> good_lp::SolutionStatus {
        good_lp::SolutionStatus::Optimal
    }
    fn value(&self, variable: Variable) -> f64 {
        self.get(variable)
    }
}

/// Who owns a row: the layer to debug, the entity, and what the row encodes. Minimal conflicts
/// are sets of owners.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner {
    /// The owning layer.
    pub layer: vksplan_model::Layer,
    /// The entity (`esx-03`, `team-a`, `team-a/prod/cp`...).
    pub subject: String,
    /// What the rows encode (`host_capacity`, `memory_limit`...).
    pub constraint: vksplan_model::Constraint,
}

impl Owner {
    /// The group that says a unit must run (`None`: the Supervisor, which always must); `None`
    /// for a unit with a priority, which may be rejected.
    pub fn must_run(inventory: &Inventory, unit: Option<UnitId>) -> Option<Owner> {
        match unit {
            None => Owner::new(
                vksplan_model::Layer::Supervisor,
                "supervisor",
                vksplan_model::Constraint::Admission,
            ),
            Some(unit) if inventory.admission_units[unit].priority.is_none() => Owner::new(
                vksplan_model::Layer::Cluster,
                &inventory.admission_units[unit].name,
                vksplan_model::Constraint::Admission,
            ),
            Some(_) => None,
        }
    }

    /// An owner.
    pub fn new(
        layer: vksplan_model::Layer,
        subject: impl Into<String>,
        constraint: vksplan_model::Constraint,
    ) -> Option<Owner> {
        Some(Owner {
            layer,
            subject: subject.into(),
            constraint,
        })
    }
}

/// Rows and columns a family added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FamilyStats {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub columns: usize,
}

impl std::ops::AddAssign for FamilyStats {
    fn add_assign(&mut self, other: FamilyStats) {
        self.rows += other.rows;
        self.columns += other.columns;
    }
}

/// A constraint family: one accounting rule of docs/accounting.md.
pub trait Family {
    /// The family's name, as used to switch it off in tests.
    fn name(&self) -> &'static str;
    /// Adds the family's rows (and any columns it needs).
    fn emit(&self, compiler: &mut Compiler) -> FamilyStats;
}

/// The MIP under construction.
pub struct Compiler<'a> {
    /// The validated topology.
    pub inventory: &'a Inventory,
    /// Interchangeable VM slots.
    pub blocks: &'a [Block],
    /// Columns.
    pub variables: ProblemVariables,
    /// Rows with their owner (`None`: objective and symmetry rows, which no plan can break).
    pub rows: Vec<(Option<Owner>, Constraint)>,
    /// Per block: (host, count variable) for every host the block may use.
    pub counts: Vec<Vec<(usize, Variable)>>,
    /// Per host: (block, count variable).
    pub by_host: Vec<Vec<(usize, Variable)>>,
    /// Per admission unit: its admission binary (`None` = must be admitted). In a diagnosis
    /// model every unit has one, held at 1 by a row its `admission` group owns.
    pub admit: Vec<Option<Variable>>,
    /// In a diagnosis model, the Supervisor's admission binary (held at 1 likewise), so that
    /// what the Supervisor uses drops out with its `admission` group.
    pub supervisor_admit: Option<Variable>,
    /// The objective expressions, one per step of docs/accounting.md §12.
    pub objectives: Objectives,
    /// Families switched off (tests).
    pub disabled: Vec<String>,
    /// What every column means, to compute a warm start from a placement.
    pub hints: std::collections::HashMap<Variable, Hint>,
    /// Classes of interchangeable hosts that the symmetry rows order by load.
    pub symmetric_hosts: Vec<Vec<usize>>,
    /// In an elastic model (see [`Compiler::elastic`]): the slack column of every relaxable
    /// quantity a row has used, in row units, with its upper bound.
    pub slacks: Option<std::collections::BTreeMap<Relaxable, (Variable, f64)>>,
}

/// A quantity of the topology that an operator can change, and that the rows read: what the
/// cheapest fix may raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Relaxable {
    /// A namespace's CPU limit (slack in vCPUs at `vcpu_mhz`).
    CpuLimit(usize),
    /// A namespace's memory limit (GiB).
    MemoryLimit(usize),
    /// A namespace's storage limit on a policy (namespace, policy; GiB).
    StorageLimit(usize, usize),
    /// A storage policy's capacity (GiB).
    StorageCapacity(usize),
    /// A network's address count.
    Addresses(usize),
}

/// Objective expressions of docs/accounting.md §12 (empty when a step has nothing to decide).
#[derive(Default)]
pub struct Objectives {
    /// Step 1a: sum of priorities admitted (maximise).
    pub priority: Option<Expression>,
    /// Step 1b: number of units admitted (maximise).
    pub admitted: Option<Expression>,
    /// Step 2: soft rules broken (minimise).
    pub soft_rules: Option<Expression>,
    /// Step 3: migrations (minimise).
    pub migrations: Option<Expression>,
    /// Step 4 of `consolidate`: cost of hosts used (minimise). Balance has no expression: the
    /// level search bounds [`Objectives::levels`] instead.
    pub step4: Option<Expression>,
    /// Step 5: spread (minimise).
    pub spread: Option<Expression>,
    /// Balance: each host's load columns.
    pub levels: Vec<Level>,
    /// Balance: the memory granule the memory load columns count in (bytes).
    pub memory_granule: u128,
    /// Rows over the objective's own columns, by the step they serve. They bind nothing
    /// before that step (its columns are free until then), but the step-4 ones restate host
    /// capacity, so a model with a family switched off (tests) leaves them out.
    pub step_rows: Vec<(crate::placement::StepKind, Constraint)>,
    /// For each step, the best value it could possibly reach, known before solving (a valid
    /// bound): a solution that reaches it is optimal for that step without asking HiGHS.
    pub best: Bests,
}

/// A host's load columns (balance): vCPUs, and memory in granules.
#[derive(Debug, Clone, Copy)]
pub struct Level {
    /// Host.
    pub host: usize,
    /// vCPUs on the host.
    pub vcpus: Variable,
    /// Memory on the host, in [`Objectives::memory_granule`]s.
    pub memory: Variable,
    /// At most the migrations away from the host (when VMs run there today): its lower bound
    /// is the fewest of today's VMs the host must shed to keep within a level's capacities.
    pub shed: Option<Variable>,
}

/// Best possible values of the objective steps (see [`Objectives::best`]).
#[derive(Default)]
pub struct Bests {
    /// Sum of all priorities.
    pub priority: Option<f64>,
    /// Number of optional units.
    pub admitted: Option<f64>,
    /// Sum of the pools' spread bounds.
    pub spread: Option<f64>,
}

impl<'a> Compiler<'a> {
    /// Whether block `block` may use host `host`, given the families switched off (`disabled`,
    /// their names read as constraint codes).
    fn allowed(
        inventory: &Inventory,
        block: &Block,
        host: usize,
        disabled: &[vksplan_model::Constraint],
    ) -> bool {
        // A restriction's owner is named like the family that imposes it (`maintenance`,
        // `zone_pinning`, `rules`): allowed when every restriction's family is switched off.
        Self::restrictions(inventory, block, host)
            .iter()
            .all(|owner| disabled.contains(&owner.constraint))
    }

    /// Creates the count and admission columns and the admission rows (every block of an
    /// admitted unit is placed whole, a rejected one not at all).
    pub fn new(inventory: &'a Inventory, blocks: &'a [Block], disabled: &[String]) -> Compiler<'a> {
        Self::build(inventory, blocks, disabled, false)
    }

    /// For diagnosis: every (block, host) gets a column, and what [`Compiler::new`] leaves out
    /// of the domain (maintenance hosts, zone pins, hard `vm_host` rules) becomes `count = 0`
    /// rows owned by what imposes them, so that minimal conflicts can name them.
    pub fn for_diagnosis(inventory: &'a Inventory, blocks: &'a [Block]) -> Compiler<'a> {
        Self::build(inventory, blocks, &[], true)
    }

    /// For the cheapest fix: the columns of [`Compiler::new`], and every row over a
    /// [`Relaxable`] quantity gets a slack column (see [`Compiler::slack`]).
    pub fn elastic(inventory: &'a Inventory, blocks: &'a [Block]) -> Compiler<'a> {
        let mut compiler = Self::build(inventory, blocks, &[], false);
        compiler.slacks = Some(Default::default());
        compiler
    }

    /// Whether the rows over relaxable quantities have slack.
    pub fn is_elastic(&self) -> bool {
        self.slacks.is_some()
    }

    /// What a row over `quantity` may exceed it by: 0 in a plain model; in an elastic one, the
    /// quantity's slack column (created at its first use, between 0 and `bound`, whole for
    /// address counts).
    pub fn slack(&mut self, quantity: Relaxable, bound: f64) -> Expression {
        let Some(slacks) = self.slacks.as_mut() else {
            return Expression::from(0.0);
        };
        if let Some((column, _)) = slacks.get(&quantity) {
            return Expression::from(*column);
        }
        let definition = variable()
            .min(0.0)
            .max(bound.max(0.0))
            .name(format!("slack[{quantity:?}]"));
        let definition = if matches!(quantity, Relaxable::Addresses(_)) {
            definition.integer()
        } else {
            definition
        };
        let column = self.variables.add(definition);
        slacks.insert(quantity, (column, bound.max(0.0)));
        Expression::from(column)
    }

    /// The owners of the domain restrictions that forbid `block` on `host`.
    fn restrictions(inventory: &Inventory, block: &Block, host: usize) -> Vec<Owner> {
        let mut owners = Vec::new();
        let host_spec = &inventory.hosts[HostId::new(host)];
        let group = &inventory.groups[block.group];
        if host_spec.maintenance {
            owners.extend(Owner::new(
                vksplan_model::Layer::Infrastructure,
                &host_spec.name,
                vksplan_model::Constraint::Maintenance,
            ));
        }
        if let vksplan_model::GroupKind::NodePool {
            zone: Some(zone), ..
        } = group.kind
        {
            if host_spec.zone != Some(zone) {
                owners.extend(Owner::new(
                    vksplan_model::Layer::Cluster,
                    &group.name,
                    vksplan_model::Constraint::ZonePinning,
                ));
            }
        }
        for rule in block.rules.iter().map(|r| &inventory.rules[*r]) {
            if rule.must
                && rule.kind == vksplan_model::document::RuleKind::VmHost
                && rule.hosts.contains(&HostId::new(host)) != rule.run_on
            {
                owners.extend(Owner::new(
                    vksplan_model::Layer::Rule,
                    &rule.name,
                    vksplan_model::Constraint::Rules,
                ));
            }
        }
        owners
    }

    fn build(
        inventory: &'a Inventory,
        blocks: &'a [Block],
        disabled: &[String],
        domain_as_rows: bool,
    ) -> Compiler<'a> {
        let mut variables = ProblemVariables::new();
        let mut hints = std::collections::HashMap::new();
        let admit: Vec<Option<Variable>> = inventory
            .admission_units
            .iter()
            .enumerate()
            .map(|(index, unit)| {
                (unit.priority.is_some() || domain_as_rows).then(|| {
                    let admit = variables.add(
                        variable()
                            .binary()
                            .name(format!("admit[unit={}]", unit.name)),
                    );
                    hints.insert(admit, Hint::Admit { unit: index });
                    admit
                })
            })
            .collect();
        // The families switched off, read once as constraint codes: anti-affinity and the
        // domain restrictions are named like the family that imposes them.
        let disabled_codes: Vec<vksplan_model::Constraint> = disabled
            .iter()
            .map(|family| vksplan_model::Constraint::parse(family))
            .collect();
        let mut counts = Vec::with_capacity(blocks.len());
        let mut by_host = vec![Vec::new(); inventory.hosts.len()];
        for (block_index, block) in blocks.iter().enumerate() {
            let group = &inventory.groups[block.group];
            // Anti-affinity starts here: a control-plane block holds at most 1 VM per host.
            // (In diagnosis the bound is left to the anti-affinity rows, which conflicts can name.)
            let anti_affine = group.anti_affine()
                && !disabled_codes.contains(&vksplan_model::Constraint::AntiAffinity)
                && !domain_as_rows;
            let upper = if anti_affine { 1 } else { block.size() };
            let mut block_counts = Vec::new();
            for host in 0..inventory.hosts.len() {
                if !domain_as_rows && !Self::allowed(inventory, block, host, &disabled_codes) {
                    continue;
                }
                let name = format!(
                    "count[block={}#{block_index},host={}]",
                    group.name,
                    inventory.hosts[HostId::new(host)].name
                );
                let count = variables.add(variable().integer().min(0).max(upper).name(name));
                hints.insert(
                    count,
                    Hint::Count {
                        block: block_index,
                        host,
                    },
                );
                block_counts.push((host, count));
                by_host[host].push((block_index, count));
            }
            counts.push(block_counts);
        }
        let mut compiler = Compiler {
            inventory,
            blocks,
            variables,
            rows: Vec::new(),
            counts,
            by_host,
            admit,
            objectives: Objectives::default(),
            disabled: disabled.to_vec(),
            hints,
            symmetric_hosts: Vec::new(),
            slacks: None,
            supervisor_admit: None,
        };
        if domain_as_rows && inventory.supervisor.is_some() {
            let admit = compiler
                .variables
                .add(variable().binary().name("admit[supervisor]"));
            compiler.supervisor_admit = Some(admit);
            compiler.rows.push((
                Owner::must_run(inventory, None),
                Expression::from(admit).eq(1.0),
            ));
        }
        if domain_as_rows {
            for unit in 0..inventory.admission_units.len() {
                if let (Some(owner), Some(admit)) = (
                    Owner::must_run(inventory, Some(UnitId::new(unit))),
                    compiler.admit[unit],
                ) {
                    compiler
                        .rows
                        .push((Some(owner), Expression::from(admit).eq(1.0)));
                }
            }
        }
        for block_index in 0..blocks.len() {
            let placed: Expression = compiler.counts[block_index]
                .iter()
                .map(|(_, count)| *count)
                .sum();
            let admitted = compiler.admitted(block_index) * f64::from(blocks[block_index].size());
            // A unit that must run owns its placement rows; an optional one can always be
            // rejected, so its rows never conflict. (In diagnosis, `admit = 1` rows carry that
            // ownership and the placement rows hold for every unit.)
            let owner = if domain_as_rows {
                None
            } else {
                Owner::must_run(inventory, blocks[block_index].unit)
            };
            compiler.rows.push((owner, placed.eq(admitted)));
        }
        if domain_as_rows {
            for (block_index, block) in blocks.iter().enumerate() {
                for (host, count) in compiler.counts[block_index].clone() {
                    for owner in Self::restrictions(inventory, block, host) {
                        compiler
                            .rows
                            .push((Some(owner), Expression::from(count).eq(0.0)));
                    }
                }
            }
        }
        compiler
    }

    /// Holds each unit with an admission binary at `admission[unit]`.
    pub fn fix_admission(&mut self, admission: &[bool]) {
        for (unit, admit) in self.admit.clone().iter().enumerate() {
            if let (Some(admit), Some(fixed)) = (admit, admission.get(unit)) {
                self.rows.push((
                    None,
                    Expression::from(*admit).eq(if *fixed { 1.0 } else { 0.0 }),
                ));
            }
        }
    }

    /// 1 when the block's unit is admitted: the admission binary, or the constant 1.
    pub fn admitted(&self, block: usize) -> Expression {
        match self.blocks[block].unit {
            Some(unit) => self.admit[unit.index()].map_or(Expression::from(1.0), Expression::from),
            None => self.supervisor(),
        }
    }

    /// 1 when the Supervisor runs: its admission binary in a diagnosis model, else 1.
    pub fn supervisor(&self) -> Expression {
        self.supervisor_admit
            .map_or(Expression::from(1.0), Expression::from)
    }

    /// Whether a family is switched off.
    pub fn disabled(&self, family: &str) -> bool {
        self.disabled.iter().any(|d| d == family)
    }

    /// Adds a named column and what it means.
    pub fn column(
        &mut self,
        definition: good_lp::variable::VariableDefinition,
        hint: Hint,
    ) -> Variable {
        let column = self.variables.add(definition);
        self.hints.insert(column, hint);
        column
    }

    /// Adds owned rows; returns them as a family's stats.
    pub fn add_rows(&mut self, rows: Vec<(Option<Owner>, Constraint)>) -> FamilyStats {
        let stats = FamilyStats {
            rows: rows.len(),
            columns: 0,
        };
        self.rows.extend(rows);
        stats
    }

    /// Adds a row and who owns it.
    pub fn row(&mut self, owner: Option<Owner>, constraint: Constraint) {
        self.rows.push((owner, constraint));
    }
}
