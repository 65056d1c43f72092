//! The independent verifier: a plain-Rust replay of docs/accounting.md over what is alive (which
//! copy of which VM runs on which host, which hosts are in maintenance, which units are
//! admitted). It reads the topology, never the MIP: every sum is recomputed per copy with exact
//! integer arithmetic (see [`crate::check::accounting`]), and every violation becomes a
//! diagnosis entry owned by the layer docs/output-and-upgrades.md section 5 names. A placement
//! is the case of one copy per VM; upgrade waves (see [`crate::check::replay`]) add surge
//! copies and migrating VMs.
//!
//! One module per constraint family, named as in `mip/families/`, so that a MIP row can be
//! read beside its check.

mod admission;
mod anti_affinity;
mod capacity;
mod devices;
mod ha_admission;
mod namespace_limits;
mod networks;
mod objective;
mod rules;
mod storage;
mod zone_pinning;

use crate::check::accounting::{account, Accounting};
use vksplan_model::{Diagnostic, Inventory};
use vksplan_model::{HostId, VmId};
use vksplan_model::{IdVec, UnitId};

/// A placement to check: per VM its host (`None` = not placed), per admission unit whether
/// it is admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Host of each VM.
    pub host_of: IdVec<VmId, Option<HostId>>,
    /// Admission of each unit.
    pub admitted: IdVec<UnitId, bool>,
}

impl Assignment {
    /// Reads a plan document's placement and rejections back (for checking a plan from outside).
    pub fn from_plan(inventory: &Inventory, plan: &vksplan_model::Plan) -> Assignment {
        let host_of = inventory
            .vms
            .iter()
            .map(|vm| {
                plan.placement
                    .get(&vm.name)
                    .and_then(|host| inventory.host_index(host))
            })
            .collect();
        let admitted = inventory
            .admission_units
            .iter()
            .map(|unit| !plan.rejected.contains(&unit.name))
            .collect();
        Assignment { host_of, admitted }
    }

    /// One copy per placed VM.
    pub fn copies(&self) -> Vec<Copy> {
        self.host_of
            .iter()
            .enumerate()
            .filter_map(|(vm, host)| {
                Some(Copy {
                    vm: VmId::new(vm),
                    host: (*host)?,
                    counted: true,
                })
            })
            .collect()
    }
}

/// One live copy of a VM slot on a host. A slot may have two: the old and the new copy during
/// a rollout (both `counted`), or a migrating VM on its source (`counted`) and destination
/// (not `counted`: it occupies the host but counts once in namespace, IP, storage and HA
/// totals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copy {
    /// VM slot.
    pub vm: VmId,
    /// Host.
    pub host: HostId,
    /// Whether it counts in namespace, IP, storage and HA admission totals.
    pub counted: bool,
}

/// What is alive at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Alive<'a> {
    /// Live copies.
    pub copies: &'a [Copy],
    /// Hosts in maintenance.
    pub maintenance: &'a [bool],
    /// Admission of each unit (load-balancer addresses of clusters).
    pub admitted: &'a [bool],
}

/// What the verifier found about a placement.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Hard violations (empty = the placement is valid).
    pub violations: Vec<Diagnostic>,
    /// The sums behind them.
    pub accounting: Accounting,
    /// Soft rules broken (names).
    pub soft_rules_broken: Vec<String>,
    /// Admitted VMs of `placement` whose host changed.
    pub migrations: u32,
    /// Highest host utilisation.
    pub max_utilization: f64,
    /// Hosts holding at least one VM.
    pub hosts_used: u32,
    /// Their total cost.
    pub cost: f64,
    /// Sum over node pools of the largest number of one pool's VMs on a host.
    pub spread: u32,
}

/// The live copies grouped by VM group (a counting sort: each VM slot is in one group), so
/// that each group reads only its own copies.
struct ByGroup {
    /// Where each group's copies start in `copies` (one more entry than groups).
    start: Vec<usize>,
    copies: Vec<Copy>,
}

impl ByGroup {
    fn new(inventory: &Inventory, alive: Alive) -> ByGroup {
        let mut start = vec![0usize; inventory.groups.len() + 1];
        for copy in alive.copies {
            start[inventory.vms[copy.vm].group.index() + 1] += 1;
        }
        for g in 0..inventory.groups.len() {
            start[g + 1] += start[g];
        }
        let mut next = start.clone();
        let mut copies = alive.copies.to_vec();
        for copy in alive.copies {
            let g = inventory.vms[copy.vm].group;
            copies[next[g.index()]] = *copy;
            next[g.index()] += 1;
        }
        ByGroup { start, copies }
    }

    /// The live copies of group `group`.
    fn of(&self, group: usize) -> &[Copy] {
        &self.copies[self.start[group]..self.start[group + 1]]
    }
}

/// Checks every rule of docs/accounting.md over what is alive. Returns the hard violations, the
/// soft rules broken, and the sums.
pub fn check_state(
    inventory: &Inventory,
    alive: Alive,
) -> (Vec<Diagnostic>, Vec<String>, Accounting) {
    let accounting = account(inventory, alive);
    let by_group = ByGroup::new(inventory, alive);
    let mut violations = Vec::new();
    let mut soft_rules_broken = Vec::new();
    capacity::check(inventory, alive, &accounting, &mut violations);
    devices::check(inventory, &accounting, &mut violations);
    ha_admission::check(inventory, alive, &accounting, &mut violations);
    anti_affinity::check(inventory, alive, &by_group, &mut violations);
    zone_pinning::check(inventory, &by_group, &mut violations);
    namespace_limits::check(inventory, &accounting, &mut violations);
    storage::check(inventory, &accounting, &mut violations);
    networks::check(inventory, &accounting, &mut violations);
    rules::check(
        inventory,
        &by_group,
        &mut violations,
        &mut soft_rules_broken,
    );
    (violations, soft_rules_broken, accounting)
}

/// Checks a placement against docs/accounting.md and computes the objective values of its §12.
pub fn verify(inventory: &Inventory, assignment: &Assignment) -> Report {
    let copies = assignment.copies();
    let maintenance = inventory.maintenance();
    let alive = Alive {
        copies: &copies,
        maintenance: &maintenance,
        admitted: assignment.admitted.raw(),
    };
    let (mut violations, soft_rules_broken, accounting) = check_state(inventory, alive);
    admission::check(inventory, assignment, &mut violations);
    let values = objective::values(inventory, assignment, &accounting);
    Report {
        violations,
        accounting,
        soft_rules_broken,
        migrations: values.migrations,
        max_utilization: values.max_utilization,
        hosts_used: values.hosts_used,
        cost: values.cost,
        spread: values.spread,
    }
}
