//! Large-neighbourhood search, for models too large to solve whole within the limit: re-solve
//! the VMs of a few hosts at a time with the MIP, every other column held at the incumbent's
//! value ([`crate::mip::Matrix::solve_free`]), and keep what improves. Each step of the
//! objective picks its own neighbourhoods: the hosts where a rejected unit could go (step 1),
//! the hosts of a broken soft rule's VMs (step 2), where moved VMs are and were (step 3), the
//! hottest and coolest hosts (balance), the least used hosts or used hosts drawn at random
//! (consolidate, in turn), the hosts where a pool is most crowded (spread).

use super::{tracing, Incumbent, Score, Solve, Step4, StepKind};
use crate::check::verify::Assignment;
use crate::mip::{warm_start, Hint, Outcome};
use good_lp::Expression;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use vksplan_model::document::RuleKind;
use vksplan_model::inventory::{GroupKind, RuleSpec};
use vksplan_model::{HostId, UnitId, VmId};

/// Hosts whose VMs are re-solved, and units whose admission may change.
#[derive(Debug, Default)]
struct Hood {
    hosts: BTreeSet<usize>,
    units: BTreeSet<usize>,
}

/// The longest a single neighbourhood solve may take.
const SOLVE_CAP: Duration = Duration::from_secs(1);

/// Consecutive neighbourhoods without improvement after which a step tries larger ones.
const PATIENCE: usize = 40;

/// How many times the usual size a neighbourhood may grow to: after [`PATIENCE`] rounds
/// without improvement the size doubles, up to this, and the step stops searching only after
/// a run without improvement at this size. On 288-host platforms without today's placement
/// the 5-host neighbourhoods of balance were all infeasible (peak 105/144 against a bound of
/// 104/144, stopped at 8 s of a 38 s budget) and those of a rejected 40-VM cluster all too
/// small. Consolidate's 20-host neighbourhoods stop at local optima that 40-host ones leave
/// (development runs, 60 s: cloud-100 64,540 and 64,460 where four runs without growth gave
/// 64,450-67,660, cloud-200 131,550 -> 130,930, cloud-400 252,640 -> 249,840; annealing is
/// timed, and the suite run after it gave 64,380, 131,260 and 252,640).
const MOST_SCALE: usize = 8;

impl Solve<'_> {
    /// Utilisation of every host under the incumbent.
    fn utilisations(&self, incumbent: &Incumbent) -> Vec<f64> {
        let inventory = self.inventory;
        let hosts = inventory.hosts.len();
        let (mut vcpus, mut memory) = (vec![0u64; hosts], vec![0u128; hosts]);
        for (vm, host) in incumbent.assignment.host_of.iter().enumerate() {
            if let Some(host) = host {
                vcpus[host.index()] += u64::from(inventory.group_of(VmId::new(vm)).vcpus);
                memory[host.index()] += u128::from(inventory.group_of(VmId::new(vm)).memory.0);
            }
        }
        (0..hosts)
            .map(|h| {
                let spec = &inventory.hosts[HostId::new(h)];
                (vcpus[h] as f64 / spec.vcpu_limit.max(1) as f64)
                    .max(memory[h] as f64 / spec.memory_limit.0.max(1) as f64)
            })
            .collect()
    }

    /// How many hosts a neighbourhood takes: about 300 VMs' worth.
    fn hood_size(&self) -> usize {
        let inventory = self.inventory;
        let per_host = inventory.vms.len() as f64 / inventory.hosts.len().max(1) as f64;
        ((200.0 / per_host.max(1.0)) as usize).clamp(4, 20)
    }

    /// Hosts in service sorted by utilisation, coolest first.
    fn by_utilisation(&self, utilisation: &[f64]) -> Vec<usize> {
        let mut hosts: Vec<usize> = (0..self.inventory.hosts.len())
            .filter(|h| !self.inventory.hosts[HostId::new(*h)].maintenance)
            .collect();
        hosts.sort_by(|a, b| {
            utilisation[*a]
                .partial_cmp(&utilisation[*b])
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(b))
        });
        hosts
    }

    /// The neighbourhood of the `round`-th try on `step`, of `scale` times the usual size;
    /// `None` when the step has none.
    fn hood(&self, step: StepKind, round: usize, scale: usize) -> Option<Hood> {
        let inventory = self.inventory;
        let incumbent = self.incumbent.as_ref()?;
        let size = self.hood_size() * scale;
        let utilisation = self.utilisations(incumbent);
        let coolest = self.by_utilisation(&utilisation);
        let mut hood = Hood::default();
        let pick = Pick {
            coolest: &coolest,
            round,
            size,
        };
        let fill = |hood: &mut Hood, allowed: &dyn Fn(usize) -> bool| pick.fill(hood, allowed);
        match step {
            StepKind::Priority | StepKind::Admitted => {
                let mut rejected: Vec<usize> = (0..inventory.admission_units.len())
                    .filter(|u| !incumbent.assignment.admitted[UnitId::new(*u)])
                    .collect();
                if rejected.is_empty() {
                    return None;
                }
                rejected.sort_by_key(|u| {
                    (
                        std::cmp::Reverse(
                            inventory.admission_units[UnitId::new(*u)]
                                .priority
                                .unwrap_or(0),
                        ),
                        *u,
                    )
                });
                let unit = rejected[round % rejected.len()];
                hood.units.insert(unit);
                pick.unit(&mut hood, &self.unit_hosts(unit));
            }
            StepKind::SoftRules => {
                let broken = self.broken_soft_rules(incumbent);
                if broken.is_empty() {
                    return None;
                }
                let rule = &inventory.rules[broken[round % broken.len()]];
                pick.soft_rule(&mut hood, rule, &incumbent.assignment);
            }
            StepKind::Migrations => {
                // Each round leads with the next moved VM that may go back home, then adds
                // the following ones while there is room.
                let moved = self.returnable(incumbent);
                if moved.is_empty() {
                    return None;
                }
                let start = round % moved.len();
                for vm in moved.iter().cycle().skip(start).take(moved.len()) {
                    let hosts = self.return_hosts(incumbent, *vm);
                    if !hood.hosts.is_empty() && hood.hosts.len() + hosts.len() > size {
                        break;
                    }
                    hood.hosts.extend(hosts);
                }
            }
            StepKind::Step4 => {
                if self.levels.is_some() {
                    let peak = utilisation.iter().copied().fold(0.0, f64::max);
                    let hot: Vec<usize> = coolest
                        .iter()
                        .rev()
                        .copied()
                        .filter(|h| utilisation[*h] >= peak - 1e-9)
                        .collect();
                    let start = (round * size / 2) % hot.len().max(1);
                    for host in hot.iter().cycle().skip(start).take(hot.len().min(size / 2)) {
                        hood.hosts.insert(*host);
                    }
                    let hot = hood.hosts.clone();
                    for (home, now) in self
                        .plane_trades(incumbent, &hot)
                        .into_iter()
                        .take(size / 2)
                    {
                        hood.hosts.extend([home, now]);
                    }
                    fill(&mut hood, &|h| utilisation[h] < peak - 1e-9);
                } else {
                    // Consolidate: the least used hosts that hold something, used hosts with
                    // room to take their VMs, and unused hosts cheap for their capacity.
                    self.consolidate_hood(&mut hood, &coolest, &utilisation, round)?;
                    fill(&mut hood, &|h| utilisation[h] > 0.0);
                }
            }
            StepKind::Spread => {
                for host in self.crowded_pool(incumbent, round)?.iter().take(size / 2) {
                    hood.hosts.insert(*host);
                }
                fill(&mut hood, &|_| true);
            }
        }
        (!hood.hosts.is_empty()).then_some(hood)
    }

    /// The hosts of a consolidate neighbourhood before it is filled up: on alternate rounds a
    /// slice of the least used hosts or used hosts drawn at random (a fixed sequence per round,
    /// so that hosts of every kind meet), then unused hosts cheap for their capacity. `None`
    /// when no host is used.
    fn consolidate_hood(
        &self,
        hood: &mut Hood,
        coolest: &[usize],
        utilisation: &[f64],
        round: usize,
    ) -> Option<()> {
        let inventory = self.inventory;
        let size = self.hood_size();
        let used: Vec<usize> = coolest
            .iter()
            .copied()
            .filter(|h| utilisation[*h] > 0.0)
            .collect();
        if used.is_empty() {
            return None;
        }
        if round % 2 == 0 {
            hood.hosts.extend(rotated(&used, round, size / 2));
        } else {
            let mut draw = crate::placement::greedy::Draw::new(round as u64);
            while hood.hosts.len() < (size / 2).min(used.len()) {
                hood.hosts.insert(used[draw.below(used.len())]);
            }
        }
        let order = crate::placement::greedy::cost_per_capacity_order(inventory, &self.facts);
        let unused: Vec<usize> = order
            .into_iter()
            .filter(|h| utilisation[*h] == 0.0 && !inventory.hosts[HostId::new(*h)].maintenance)
            .collect();
        hood.hosts.extend(rotated(&unused, round, size / 4));
        Some(())
    }

    /// Today's VMs that the incumbent moves and that may go back home (in some choice of the
    /// soft rules the held steps allow): the others' moves save nothing. Control planes last,
    /// as theirs are mostly moves out of a zone another control plane of theirs shares.
    fn returnable(&self, incumbent: &Incumbent) -> Vec<VmId> {
        let inventory = self.inventory;
        let stayings = self.stayings();
        let mut moved: Vec<(bool, VmId)> = inventory
            .placement
            .iter()
            .filter(|(vm, home)| incumbent.assignment.host_of[*vm].is_some_and(|now| now != *home))
            .filter(|(vm, _)| stayings.iter().any(|s| s.may_return(*vm)))
            .map(|(vm, _)| (inventory.group_of(*vm).anti_affine(), *vm))
            .collect();
        moved.sort();
        moved.into_iter().map(|(_, vm)| vm).collect()
    }

    /// The hosts a neighbourhood needs to bring moved `vm` home: where it runs and its home,
    /// and for a control plane, the hosts of the others of its control plane (one of them may
    /// have to leave the zone it would come back to).
    fn return_hosts(&self, incumbent: &Incumbent, vm: VmId) -> BTreeSet<usize> {
        let inventory = self.inventory;
        let host_of = &incumbent.assignment.host_of;
        let mut hosts: BTreeSet<usize> = host_of[vm].iter().map(|h| h.index()).collect();
        hosts.extend(self.facts.current[vm.index()]);
        let group = inventory.group_of(vm);
        if group.anti_affine() {
            hosts.extend(
                group
                    .vms
                    .iter()
                    .filter_map(|other| host_of[*other])
                    .map(|h| h.index()),
            );
        }
        hosts
    }

    /// For the control planes on `hosts`, the (home, now) pairs of hosts that let one of them
    /// trade places with a moved one of its own: with the migrations held, a
    /// control plane can leave a hot host when another of its cluster that left the same zone
    /// comes home instead.
    fn plane_trades(&self, incumbent: &Incumbent, hosts: &BTreeSet<usize>) -> Vec<(usize, usize)> {
        let inventory = self.inventory;
        let host_of = &incumbent.assignment.host_of;
        let mut trades = Vec::new();
        for (vm, host) in host_of.iter().enumerate() {
            let vm = VmId::new(vm);
            let group = inventory.group_of(vm);
            if !group.anti_affine() || !host.is_some_and(|h| hosts.contains(&h.index())) {
                continue;
            }
            for other in group.vms.iter().filter(|other| **other != vm) {
                let home = self.facts.current[other.index()];
                if let (Some(home), Some(now)) = (home, host_of[*other]) {
                    if home != now.index() {
                        trades.push((home, now.index()));
                    }
                }
            }
        }
        trades
    }

    /// The soft rules the incumbent breaks, as indices into the inventory's rules.
    fn broken_soft_rules(&self, incumbent: &Incumbent) -> Vec<usize> {
        let inventory = self.inventory;
        crate::check::verify::verify(inventory, &incumbent.assignment)
            .soft_rules_broken
            .iter()
            .filter_map(|name| inventory.rules.iter().position(|r| &r.name == name))
            .collect()
    }

    /// The fullest hosts of a node pool with several VMs on one host: the pools in order of
    /// their most crowded host, in turn by `round`; `None` when every pool is spread.
    fn crowded_pool(&self, incumbent: &Incumbent, round: usize) -> Option<Vec<usize>> {
        let mut pools: Vec<(u32, usize)> = Vec::new();
        let mut fullest: Vec<Vec<usize>> = Vec::new();
        for group in &self.inventory.groups {
            if !matches!(group.kind, GroupKind::NodePool { .. }) {
                continue;
            }
            let mut counts = std::collections::BTreeMap::new();
            for vm in &group.vms {
                if let Some(host) = incumbent.assignment.host_of[*vm] {
                    *counts.entry(host).or_insert(0u32) += 1;
                }
            }
            let most = counts.values().copied().max().unwrap_or(0);
            if most > 1 {
                pools.push((most, fullest.len()));
                fullest.push(
                    counts
                        .iter()
                        .filter(|(_, n)| **n == most)
                        .map(|(h, _)| h.index())
                        .collect(),
                );
            }
        }
        if pools.is_empty() {
            return None;
        }
        pools.sort_by(|a, b| b.cmp(a));
        let (_, pool) = pools[round % pools.len()];
        fullest.into_iter().nth(pool)
    }

    /// The model as a matrix (built at the first neighbourhood), with the rows and the level
    /// that hold the finished steps.
    fn build_matrix(&mut self) {
        if self.matrix.is_some() {
            return;
        }
        let compiler = self.compiler;
        let mut matrix = crate::mip::Matrix::new(
            compiler,
            compiler
                .objectives
                .step_rows
                .iter()
                .map(|(_, row)| row)
                .chain(&self.holds),
        );
        if let (Some(level), Some(levels)) = (self.held_level, &self.levels) {
            for cap in levels.caps(level) {
                if let Some(load) = compiler
                    .objectives
                    .levels
                    .iter()
                    .find(|l| l.host == cap.host)
                {
                    matrix.set_bounds(load.vcpus, 0.0, cap.vcpus as f64);
                    matrix.set_bounds(load.memory, 0.0, cap.granules as f64);
                }
            }
        }
        self.matrix = Some(matrix);
    }

    /// Per block of a unit, the hosts it may use.
    fn unit_hosts(&self, unit: usize) -> Vec<BTreeSet<usize>> {
        self.blocks
            .iter()
            .zip(&self.compiler.counts)
            .filter(|(block, _)| block.unit == Some(UnitId::new(unit)))
            .map(|(_, counts)| counts.iter().map(|(host, _)| *host).collect())
            .collect()
    }

    /// Which columns a neighbourhood frees: the counts on its hosts of the blocks with a VM
    /// there (or of a unit whose admission may change), what hangs on those hosts (moves,
    /// loads, used, `together` picks), the objective's own columns, and the admission of the
    /// neighbourhood's units.
    fn free_columns(&self, hood: &Hood, incumbent: &Incumbent) -> Vec<bool> {
        let Some(matrix) = self.matrix.as_ref() else {
            return Vec::new();
        };
        let mut present: BTreeSet<usize> = BTreeSet::new();
        for (block_index, block) in self.blocks.iter().enumerate() {
            let here = block.vms.iter().any(|vm| {
                incumbent.assignment.host_of[*vm].is_some_and(|h| hood.hosts.contains(&h.index()))
            });
            if here || block.unit.is_some_and(|u| hood.units.contains(&u.index())) {
                present.insert(block_index);
            }
        }
        let mut free = vec![false; self.compiler.variables.len()];
        for (variable, hint) in &self.compiler.hints {
            let Some(column) = matrix.column(*variable) else {
                continue;
            };
            free[column] = match hint {
                Hint::Count { block, host } => hood.hosts.contains(host) && present.contains(block),
                Hint::Moved { host, .. }
                | Hint::Load { host, .. }
                | Hint::Shed { host }
                | Hint::Used { host }
                | Hint::Together { host, .. } => hood.hosts.contains(host),
                Hint::Admit { unit } => hood.units.contains(unit),
                Hint::Spread { .. } | Hint::Broken { .. } => true,
            };
        }
        free
    }

    /// Searches neighbourhoods for `step` until `until` or until the incumbent reaches
    /// `floor`, the step's best possible value; true when the incumbent improved.
    pub(super) fn neighbourhoods(
        &mut self,
        step: StepKind,
        until: Instant,
        floor: Option<f64>,
    ) -> bool {
        if self.testing {
            return false;
        }
        self.build_matrix();
        let mut improved = false;
        let mut idle = 0;
        let mut round = 0;
        // Migrations: every returnable VM leads a neighbourhood once between improvements (up
        // to four times the usual patience, so that the whole model keeps its turn).
        let patience = match (step, &self.incumbent) {
            (StepKind::Migrations, Some(incumbent)) => {
                (self.returnable(incumbent).len()).clamp(PATIENCE, 4 * PATIENCE)
            }
            _ => PATIENCE,
        };
        // Consolidate keeps the usual size: its neighbourhoods alternate with annealing,
        // which moves VMs across the whole platform.
        let mut scale = 1;
        while Instant::now() < until && !self.at_floor(step, floor) {
            if idle >= patience {
                if scale >= MOST_SCALE {
                    break;
                }
                scale *= 2;
                idle = 0;
            }
            let Some(hood) = self.hood(step, round, scale) else {
                break;
            };
            round += 1;
            let Some(incumbent) = self.incumbent.clone() else {
                break;
            };
            let Some(values) = warm_start(self.compiler, &incumbent.assignment) else {
                break;
            };
            let free = self.free_columns(&hood, &incumbent);
            let (objective, bounds) = self.hood_goal(step, &hood, &incumbent);
            let budget = until
                .saturating_duration_since(Instant::now())
                .min(SOLVE_CAP * scale as u32);
            let mut options = self.options(Instant::now() + budget);
            options.presolve = true;
            // A neighbourhood that overruns is given up on soon after its own budget, not the
            // placement's deadline: the search goes on with the next one.
            options.give_up = options.budget + super::GIVE_UP_GRACE;
            let Some(matrix) = self.matrix.as_ref() else {
                break;
            };
            let solved = matrix.solve_free(&free, &values, &objective, &bounds, &options);
            let better = match (&solved.values, solved.outcome) {
                (Some(values), Outcome::Optimal | Outcome::Feasible) => {
                    self.offer_hood(values, step, &incumbent)
                }
                _ => false,
            };
            if tracing() {
                eprintln!(
                    "vksplan: neighbourhood {round} ({:?}, {} hosts): {:?}{}",
                    step,
                    hood.hosts.len(),
                    solved.outcome,
                    if better { ", improved" } else { "" }
                );
            }
            if better {
                improved = true;
                idle = 0;
                if step == StepKind::Step4 && self.levels.is_none() {
                    // Consolidate: a neighbourhood's repacking often lets more hosts empty.
                    self.improve(crate::placement::greedy::Goal::Cost, None, until);
                }
            } else {
                idle += 1;
            }
        }
        improved
    }

    /// The sub-problem's objective and bound overrides: the step's expression; for balance,
    /// none, with the neighbourhood's hosts capped one level below the peak.
    fn hood_goal(
        &self,
        step: StepKind,
        hood: &Hood,
        incumbent: &Incumbent,
    ) -> (Expression, Vec<(usize, f64, f64)>) {
        if let (StepKind::Step4, Some(levels), Step4::Peak(peak), Some(matrix)) = (
            step,
            &self.levels,
            incumbent.score.step4,
            self.matrix.as_ref(),
        ) {
            let target = levels.below(peak);
            let caps = levels.caps(target);
            let mut bounds = Vec::new();
            for load in &self.compiler.objectives.levels {
                if !hood.hosts.contains(&load.host) {
                    continue;
                }
                if let Some(cap) = caps.iter().find(|c| c.host == load.host) {
                    if let Some(column) = matrix.column(load.vcpus) {
                        bounds.push((column, 0.0, cap.vcpus as f64));
                    }
                    if let Some(column) = matrix.column(load.memory) {
                        bounds.push((column, 0.0, cap.granules as f64));
                    }
                }
            }
            return (Expression::from(0.0), bounds);
        }
        (self.expression(step), Vec::new())
    }

    /// Takes a neighbourhood's solution if it is better; for balance, also if it keeps the
    /// peak with fewer hosts at it (the next neighbourhoods can then lower it).
    fn offer_hood(
        &mut self,
        values: &crate::mip::ColumnValues,
        step: StepKind,
        before: &Incumbent,
    ) -> bool {
        let assignment = crate::placement::place::disaggregate(self.compiler, self.blocks, values);
        let (score, report) = Score::evaluate(self.inventory, &assignment);
        if !report.violations.is_empty() {
            return false;
        }
        let ordering = score.compare(&before.score);
        let cooler = step == StepKind::Step4
            && ordering.is_eq()
            && self.levels.is_some()
            && self.hosts_at_peak(&assignment, &score)
                < self.hosts_at_peak(&before.assignment, &before.score);
        if ordering.is_lt() || cooler {
            let assignment = crate::mip::canonical(self.compiler, &assignment);
            self.incumbent = Some(Incumbent { assignment, score });
            return true;
        }
        false
    }

    fn hosts_at_peak(&self, assignment: &crate::check::verify::Assignment, score: &Score) -> usize {
        let Step4::Peak(peak) = score.step4 else {
            return 0;
        };
        let utilisation = self.utilisations(&Incumbent {
            assignment: assignment.clone(),
            score: *score,
        });
        utilisation
            .iter()
            .filter(|u| **u >= peak.to_f64() - 1e-9)
            .count()
    }
}

/// How a neighbourhood picks hosts: the hosts in service coolest first, the round (each takes
/// a different slice) and how many hosts it takes.
struct Pick<'a> {
    coolest: &'a [usize],
    round: usize,
    size: usize,
}

impl Pick<'_> {
    /// Fills `hood` up to the size with cool hosts `allowed` accepts.
    fn fill(&self, hood: &mut Hood, allowed: &dyn Fn(usize) -> bool) {
        self.add(hood, self.size.saturating_sub(hood.hosts.len()), allowed);
    }

    /// Adds up to `count` cool hosts `allowed` accepts to `hood`, a different slice each round.
    fn add(&self, hood: &mut Hood, count: usize, allowed: &dyn Fn(usize) -> bool) {
        let candidates: Vec<usize> = self
            .coolest
            .iter()
            .copied()
            .filter(|h| allowed(*h))
            .collect();
        let mut added = 0;
        for host in rotated(&candidates, self.round * 3, candidates.len()) {
            if added >= count {
                break;
            }
            if hood.hosts.insert(host) {
                added += 1;
            }
        }
    }

    /// A rejected unit's neighbourhood: each of its blocks (`blocks`, the hosts each may use)
    /// gets its share of cool hosts it may use (the coolest hosts any block may use can all be
    /// outside a zone-pinned pool's zone), then cool hosts any block may use.
    fn unit(&self, hood: &mut Hood, blocks: &[BTreeSet<usize>]) {
        let share = self.size.div_ceil(blocks.len().max(1));
        for allowed in blocks {
            let mut added = 0;
            for host in rotated(self.coolest, self.round * 3, self.coolest.len()) {
                if added >= share {
                    break;
                }
                if allowed.contains(&host) && hood.hosts.insert(host) {
                    added += 1;
                }
            }
        }
        self.fill(hood, &|h| blocks.iter().any(|allowed| allowed.contains(&h)));
    }

    /// A broken soft rule's neighbourhood. `vm_host`: the hosts of the VMs where the rule does
    /// not want them, and as many again of the cool hosts where it does (a rule over a whole
    /// namespace has its VMs on half the platform: taking them all, no neighbourhood was
    /// solved in time). The others: the hosts of the rule's VMs, filled up with cool hosts.
    fn soft_rule(&self, hood: &mut Hood, rule: &RuleSpec, assignment: &Assignment) {
        let placed = rule.vms.iter().filter_map(|vm| assignment.host_of[*vm]);
        if rule.kind != RuleKind::VmHost {
            hood.hosts.extend(placed.map(HostId::index));
            self.fill(hood, &|_| true);
            return;
        }
        let wanted = |h: usize| rule.hosts.binary_search(&HostId::new(h)).is_ok() == rule.run_on;
        hood.hosts
            .extend(placed.map(HostId::index).filter(|h| !wanted(*h)));
        self.add(hood, self.size, &wanted);
    }
}

/// At most `count` of `hosts`, starting at the `round`-th and wrapping around.
fn rotated(hosts: &[usize], round: usize, count: usize) -> impl Iterator<Item = usize> + '_ {
    let start = if hosts.is_empty() {
        0
    } else {
        round % hosts.len()
    };
    hosts
        .iter()
        .copied()
        .cycle()
        .skip(start)
        .take(hosts.len().min(count))
}
