//! The plan document of docs/output-and-upgrades.md: what the engine hands back.

use crate::diagnostic::{Diagnostic, Invalid};
use crate::document::{serialize_mib, serialize_opt_mib, Bytes};
use serde::Serialize;
use std::collections::BTreeMap;

/// Status of the placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Proven optimal.
    Optimal,
    /// A plan was found but the time limit hit before optimality was proven.
    Feasible,
    /// The time limit hit before any plan was found.
    Timeout,
    /// No plan exists.
    Infeasible,
    /// The input has errors.
    Invalid,
}

impl Status {
    /// The CLI exit code: 0 a plan, 1 no plan (infeasible or timeout), 2 invalid input.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Optimal | Status::Feasible => 0,
            Status::Infeasible | Status::Timeout => 1,
            Status::Invalid => 2,
        }
    }

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::Feasible => "feasible",
            Status::Timeout => "timeout",
            Status::Infeasible => "infeasible",
            Status::Invalid => "invalid",
        }
    }
}

/// The plan document.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Plan {
    /// Status of the placement.
    pub status: Status,
    /// VM -> host, sorted by VM name.
    pub placement: BTreeMap<String, String>,
    /// Clusters (`NS/CLUSTER`) and VMs (`NS/vm/NAME`) not admitted, sorted.
    pub rejected: Vec<String>,
    /// Objective values; `null` when there is no plan.
    pub objective: Option<ObjectiveReport>,
    /// Usage against limits; `null` when there is no plan.
    pub usage: Option<Usage>,
    /// Findings; see docs/output-and-upgrades.md.
    pub diagnosis: Vec<Diagnostic>,
    /// Present when the input asks for an upgrade.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradePlan>,
    /// Model size and solve time (the only part that may differ between identical runs).
    pub stats: Stats,
    /// With `--what-if`: the changes and how the plan differs from the plan without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_if: Option<WhatIf>,
}

/// How the plan of a document with `--what-if` changes differs from the plan without them.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WhatIf {
    /// The changes, as given (`PATH=VALUE`, or `merge patch {...}`).
    pub changes: Vec<String>,
    /// The plan of the document as it is, in brief.
    pub before: PlanSummary,
    /// The plan with the changes, in brief.
    pub after: PlanSummary,
    /// What differs.
    pub difference: Difference,
}

/// A plan in brief.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PlanSummary {
    /// Status of the placement.
    pub status: Status,
    /// Units not admitted.
    pub rejected: Vec<String>,
    /// Objective values; `null` when there is no plan.
    pub objective: Option<ObjectiveReport>,
    /// The upgrade in brief, when one was asked for.
    pub upgrade: Option<UpgradeSummary>,
}

/// An upgrade in brief.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct UpgradeSummary {
    /// Status of the sequence.
    pub status: Status,
    /// Number of waves.
    pub waves: usize,
    /// The proven lower bound on the number of waves.
    pub lower_bound_waves: u32,
}

/// What differs between the plan without and with the changes.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Difference {
    /// `before -> after` when the status changed.
    pub status: Option<String>,
    /// Units admitted only with the changes.
    pub admitted: Vec<String>,
    /// Units rejected only with the changes.
    pub rejected: Vec<String>,
    /// VMs placed only with the changes.
    pub vms_placed: Vec<String>,
    /// VMs placed only without the changes.
    pub vms_removed: Vec<String>,
    /// VMs on another host with the changes.
    pub vms_moved: BTreeMap<String, Move>,
}

/// A VM's host without and with the changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Move {
    /// Host without the changes.
    pub from: String,
    /// Host with the changes.
    pub to: String,
}

impl Plan {
    /// The plan document of an invalid input.
    pub fn invalid(invalid: Invalid) -> Plan {
        Plan::without_placement(Status::Invalid, invalid.errors)
    }

    /// A plan document with no placement (invalid, infeasible, timeout).
    pub fn without_placement(status: Status, diagnosis: Vec<Diagnostic>) -> Plan {
        Plan {
            status,
            placement: BTreeMap::new(),
            rejected: Vec::new(),
            objective: None,
            usage: None,
            diagnosis,
            upgrade: None,
            stats: Stats::default(),
            what_if: None,
        }
    }

    /// The CLI exit code: 0 a plan found, 1 infeasible or timeout (of the placement, or of the
    /// upgrade sequence when one is asked for), 2 invalid input.
    pub fn exit_code(&self) -> i32 {
        match &self.upgrade {
            Some(upgrade) if self.status.exit_code() == 0 => upgrade.status.exit_code(),
            _ => self.status.exit_code(),
        }
    }

    /// The document as pretty JSON (serialising plain data cannot fail; an empty object is
    /// returned if it ever did).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// The objective of docs/accounting.md §12, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ObjectiveReport {
    /// Sum of priorities of admitted clusters and VMs that carry one.
    pub priority_admitted: u64,
    /// Soft rules broken.
    pub soft_rules_broken: u32,
    /// Admitted VMs of `placement` whose host changed.
    pub migrations: u32,
    /// Highest host utilisation.
    pub max_utilization: f64,
    /// Hosts holding at least one VM.
    pub hosts_used: u32,
    /// Total cost of those hosts.
    pub cost: f64,
    /// Sum over node pools of the largest count of the pool's VMs on one host.
    pub spread: u32,
    /// Best bound on step 4 (utilisation or cost).
    pub bound: f64,
    /// Relative gap of step 4.
    pub gap: f64,
}

/// Usage per host, namespace, network and storage policy.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Usage {
    /// Per host.
    pub hosts: BTreeMap<String, HostUsage>,
    /// Per namespace.
    pub namespaces: BTreeMap<String, NamespaceUsage>,
    /// Per network.
    pub networks: BTreeMap<String, NetworkUsage>,
    /// Per storage policy.
    pub storage_policies: BTreeMap<String, StorageUsage>,
}

/// One host's usage.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HostUsage {
    /// All vCPUs.
    pub vcpus: u64,
    /// Allowed vCPUs (cores x overcommit).
    pub vcpu_limit: u64,
    /// Reserved vCPUs.
    pub reserved_vcpus: u64,
    /// Physical cores.
    pub cores: u64,
    /// All memory.
    #[serde(rename = "memory_mib", serialize_with = "serialize_mib")]
    #[schemars(with = "f64")]
    pub memory: Bytes,
    /// Allowed memory.
    #[serde(rename = "memory_limit_mib", serialize_with = "serialize_mib")]
    #[schemars(with = "f64")]
    pub memory_limit: Bytes,
    /// Reserved memory.
    #[serde(rename = "reserved_memory_mib", serialize_with = "serialize_mib")]
    #[schemars(with = "f64")]
    pub reserved_memory: Bytes,
    /// Devices used.
    pub devices: BTreeMap<String, u64>,
}

/// One namespace's usage.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct NamespaceUsage {
    /// vCPUs x vcpu_mhz.
    pub cpu_mhz: u64,
    /// Limit.
    pub cpu_mhz_limit: Option<u64>,
    /// Memory.
    #[serde(rename = "memory_mib", serialize_with = "serialize_mib")]
    #[schemars(with = "f64")]
    pub memory: Bytes,
    /// Limit.
    #[serde(rename = "memory_limit_mib", serialize_with = "serialize_opt_mib")]
    #[schemars(with = "Option<f64>")]
    pub memory_limit: Option<Bytes>,
    /// Disk per storage policy, MiB.
    #[schemars(with = "BTreeMap<String, f64>")]
    pub storage_mib: BTreeMap<String, serde_json::Value>,
    /// Limit per storage policy, MiB (`null` = unlimited).
    #[schemars(with = "BTreeMap<String, Option<f64>>")]
    pub storage_limit_mib: BTreeMap<String, serde_json::Value>,
}

/// One network's usage.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct NetworkUsage {
    /// Addresses used.
    pub used: u64,
    /// Addresses available.
    pub ips: u64,
}

/// One storage policy's usage.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StorageUsage {
    /// Used.
    #[serde(rename = "used_mib", serialize_with = "serialize_mib")]
    #[schemars(with = "f64")]
    pub used: Bytes,
    /// Capacity (`null` = unlimited).
    #[serde(rename = "capacity_mib", serialize_with = "serialize_opt_mib")]
    #[schemars(with = "Option<f64>")]
    pub capacity: Option<Bytes>,
}

/// The upgrade block of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct UpgradePlan {
    /// optimal | feasible | infeasible.
    pub status: Status,
    /// Waves of actions in phase order.
    pub waves: Vec<Vec<Action>>,
    /// A proven lower bound on the number of waves.
    pub lower_bound_waves: u32,
}

/// One action of an upgrade wave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Action {
    /// The host is back from the start of the wave.
    ExitMaintenance {
        /// Host.
        host: String,
    },
    /// A new copy of a VM slot on a host.
    Create {
        /// VM slot.
        vm: String,
        /// Host.
        host: String,
    },
    /// Move a VM.
    Migrate {
        /// VM.
        vm: String,
        /// Destination host.
        to: String,
    },
    /// Remove the old copy of a slot.
    Delete {
        /// VM slot.
        vm: String,
    },
    /// The host enters maintenance (must be empty).
    EnterMaintenance {
        /// Host.
        host: String,
    },
}

/// Model size and solve time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Stats {
    /// Columns.
    pub variables: u64,
    /// Rows.
    pub constraints: u64,
    /// Wall-clock milliseconds.
    pub solve_ms: u64,
    /// Each step of the objective the placement solved, in order (empty when it solved none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepStats>,
}

/// How one step of the objective went.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StepStats {
    /// `priority`, `admitted`, `soft_rules`, `migrations`, `balance`, `consolidate` or `spread`.
    pub step: String,
    /// `optimal` (proven) or `feasible` (stopped by its time budget).
    pub status: String,
    /// The value the plan reaches.
    pub value: f64,
    /// The best value possible, as proven (equals `value` when optimal).
    pub bound: f64,
    /// Seconds the step took.
    pub seconds: f64,
}
