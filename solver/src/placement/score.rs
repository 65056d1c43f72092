//! The value of a placement on each step of the objective, read from the verifier's replay
//! (never from the MIP), with the peak utilisation as an exact fraction so that the level
//! search and the comparison of plans never depend on floating-point round-off.

use crate::check::verify::{verify, Assignment, Report};
use std::cmp::Ordering;
use vksplan_model::document::ObjectiveKind;
use vksplan_model::Inventory;

/// A non-negative fraction `numerator / denominator` (denominator > 0), compared exactly.
#[derive(Debug, Clone, Copy)]
pub struct Ratio {
    /// Numerator.
    pub numerator: u128,
    /// Denominator (> 0).
    pub denominator: u128,
}

impl Ratio {
    /// Zero.
    pub const ZERO: Ratio = Ratio {
        numerator: 0,
        denominator: 1,
    };

    /// `numerator / denominator`; a zero denominator reads as zero.
    pub fn new(numerator: u128, denominator: u128) -> Ratio {
        if denominator == 0 {
            Ratio::ZERO
        } else {
            Ratio {
                numerator,
                denominator,
            }
        }
    }

    /// As a float (for reports).
    pub fn to_f64(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }

    /// `floor(self * limit)`.
    pub fn floor_times(self, limit: u128) -> u128 {
        self.numerator * limit / self.denominator
    }
}

impl PartialEq for Ratio {
    fn eq(&self, other: &Ratio) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ratio {}
impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Ratio) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ratio {
    fn cmp(&self, other: &Ratio) -> Ordering {
        (self.numerator * other.denominator).cmp(&(other.numerator * self.denominator))
    }
}

/// The highest utilisation of any host: max over hosts of vCPUs / allowed vCPUs and memory /
/// allowed memory, exactly.
pub fn peak(inventory: &Inventory, report: &Report) -> Ratio {
    let mut highest = Ratio::ZERO;
    for (host, load) in inventory.hosts.iter().zip(&report.accounting.hosts) {
        if load.vms == 0 {
            continue;
        }
        let cpu = Ratio::new(u128::from(load.vcpus), u128::from(host.vcpu_limit));
        let memory = Ratio::new(load.memory, u128::from(host.memory_limit.0));
        highest = highest.max(cpu).max(memory);
    }
    highest
}

/// Step 4's value: the peak (balance) or the cost of hosts used (consolidate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step4 {
    /// Highest utilisation.
    Peak(Ratio),
    /// Total cost of the hosts that hold a VM.
    Cost(f64),
}

impl Step4 {
    /// As a float (for reports).
    pub fn to_f64(self) -> f64 {
        match self {
            Step4::Peak(ratio) => ratio.to_f64(),
            Step4::Cost(cost) => cost,
        }
    }

    fn compare(&self, other: &Step4) -> Ordering {
        match (self, other) {
            (Step4::Peak(a), Step4::Peak(b)) => a.cmp(b),
            (Step4::Cost(a), Step4::Cost(b)) => {
                if (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0) {
                    Ordering::Equal
                } else {
                    a.partial_cmp(b).unwrap_or(Ordering::Equal)
                }
            }
            _ => Ordering::Equal,
        }
    }
}

/// A placement's value on every step of docs/accounting.md §12.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Step 1a: sum of the priorities admitted (more is better).
    pub priority: u64,
    /// Step 1b: optional units admitted (more is better).
    pub admitted: u32,
    /// Step 2: soft rules broken.
    pub soft_rules: u32,
    /// Step 3: migrations.
    pub migrations: u32,
    /// Step 4.
    pub step4: Step4,
    /// Step 5.
    pub spread: u32,
}

/// The steps of the objective, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKind {
    /// Sum of the priorities admitted.
    Priority,
    /// Optional units admitted.
    Admitted,
    /// Soft rules broken.
    SoftRules,
    /// Migrations.
    Migrations,
    /// Highest utilisation or cost of hosts used.
    Step4,
    /// Spread of node pools.
    Spread,
}

impl StepKind {
    /// Every step, in order.
    pub const ALL: [StepKind; 6] = [
        StepKind::Priority,
        StepKind::Admitted,
        StepKind::SoftRules,
        StepKind::Migrations,
        StepKind::Step4,
        StepKind::Spread,
    ];

    /// The step as a progress display names it.
    pub fn stage(self, objective: ObjectiveKind) -> &'static str {
        match self {
            StepKind::Priority => "placement: priority",
            StepKind::Admitted => "placement: admission",
            StepKind::SoftRules => "placement: soft rules",
            StepKind::Migrations => "placement: migrations",
            StepKind::Step4 => match objective {
                ObjectiveKind::Balance => "placement: balance",
                ObjectiveKind::Consolidate => "placement: consolidate",
            },
            StepKind::Spread => "placement: spread",
        }
    }

    /// The name `stats.steps` reports.
    pub fn name(self, objective: ObjectiveKind) -> &'static str {
        match self {
            StepKind::Priority => "priority",
            StepKind::Admitted => "admitted",
            StepKind::SoftRules => "soft_rules",
            StepKind::Migrations => "migrations",
            StepKind::Step4 => match objective {
                ObjectiveKind::Balance => "balance",
                ObjectiveKind::Consolidate => "consolidate",
            },
            StepKind::Spread => "spread",
        }
    }
}

impl Score {
    /// Reads the score off the verifier's report of `assignment`.
    pub fn of(inventory: &Inventory, assignment: &Assignment, report: &Report) -> Score {
        let (mut priority, mut admitted) = (0u64, 0u32);
        for (unit, on) in inventory.admission_units.iter().zip(&assignment.admitted) {
            if let (true, Some(p)) = (*on, unit.priority) {
                priority += u64::from(p);
                admitted += 1;
            }
        }
        Score {
            priority,
            admitted,
            soft_rules: report.soft_rules_broken.len() as u32,
            migrations: report.migrations,
            step4: match inventory.policy.objective {
                ObjectiveKind::Balance => Step4::Peak(peak(inventory, report)),
                ObjectiveKind::Consolidate => Step4::Cost(report.cost),
            },
            spread: report.spread,
        }
    }

    /// Verifies `assignment` and scores it.
    pub fn evaluate(inventory: &Inventory, assignment: &Assignment) -> (Score, Report) {
        let report = verify(inventory, assignment);
        (Score::of(inventory, assignment, &report), report)
    }

    /// Compares one step (`Less` = better).
    pub fn compare_step(&self, other: &Score, step: StepKind) -> Ordering {
        match step {
            StepKind::Priority => other.priority.cmp(&self.priority),
            StepKind::Admitted => other.admitted.cmp(&self.admitted),
            StepKind::SoftRules => self.soft_rules.cmp(&other.soft_rules),
            StepKind::Migrations => self.migrations.cmp(&other.migrations),
            StepKind::Step4 => self.step4.compare(&other.step4),
            StepKind::Spread => self.spread.cmp(&other.spread),
        }
    }

    /// Lexicographic comparison over every step (`Less` = better).
    pub fn compare(&self, other: &Score) -> Ordering {
        StepKind::ALL
            .iter()
            .map(|step| self.compare_step(other, *step))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    }

    /// The step's value as a float (for reports and hold rows).
    pub fn value(&self, step: StepKind) -> f64 {
        match step {
            StepKind::Priority => self.priority as f64,
            StepKind::Admitted => f64::from(self.admitted),
            StepKind::SoftRules => f64::from(self.soft_rules),
            StepKind::Migrations => f64::from(self.migrations),
            StepKind::Step4 => self.step4.to_f64(),
            StepKind::Spread => f64::from(self.spread),
        }
    }
}
