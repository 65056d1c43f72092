//! A human-readable summary of a plan (`vksplan plan --format text`).

use std::fmt::Write;
use vksplan_model::plan::{Action, Plan};

/// Renders a plan for a terminal.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "status: {}", plan.status.as_str());
    if let Some(objective) = &plan.objective {
        let _ = writeln!(
            out,
            "max utilisation {:.1}% (bound {:.1}%), {} host(s) used, {} migration(s), {} soft rule(s) broken",
            objective.max_utilization * 100.0,
            objective.bound * 100.0,
            objective.hosts_used,
            objective.migrations,
            objective.soft_rules_broken
        );
    }
    if !plan.placement.is_empty() {
        let _ = writeln!(out, "placement:");
        for (vm, host) in &plan.placement {
            let _ = writeln!(out, "  {vm:<40} {host}");
        }
    }
    if !plan.rejected.is_empty() {
        let _ = writeln!(out, "rejected: {}", plan.rejected.join(", "));
    }
    if let Some(upgrade) = &plan.upgrade {
        let _ = writeln!(
            out,
            "upgrade: {} in {} wave(s) (lower bound {})",
            upgrade.status.as_str(),
            upgrade.waves.len(),
            upgrade.lower_bound_waves
        );
        for (index, wave) in upgrade.waves.iter().enumerate() {
            let _ = writeln!(out, "  wave {}:", index + 1);
            for action in wave {
                let line = match action {
                    Action::ExitMaintenance { host } => format!("exit maintenance {host}"),
                    Action::Create { vm, host } => format!("create {vm} on {host}"),
                    Action::Migrate { vm, to } => format!("migrate {vm} to {to}"),
                    Action::Delete { vm } => format!("delete {vm}"),
                    Action::EnterMaintenance { host } => format!("enter maintenance {host}"),
                };
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    for entry in &plan.diagnosis {
        let _ = writeln!(
            out,
            "{}: {} ({}); hint: {}",
            entry.layer, entry.message, entry.constraint, entry.hint
        );
    }
    out
}
