//! Measures one generated topology: model size, time to the first feasible plan, and time to
//! the final plan (optimal, or the gap at the time limit). Used to fill BENCHMARKS.md.
//!
//! `cargo run --release --example scale -- HOSTS VMS [--zones] [--hard] [--seed N] [--time-limit S] [--first] [--greedy] [--upgrade] [--infeasible limit|addresses|capacity]`

use std::time::Instant;
use vksplan::solver::{plan, Options};
use vksplan_testkit::generate::{generate, short_of, Params, Shortage};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| {
        args.get(i)
            .and_then(|a| a.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let (hosts, vms) = (number(0), number(1));
    let seed = value("--seed").unwrap_or(1.0) as u64;
    let mut params = if flag("--hard") {
        Params::hard(seed, hosts, vms, flag("--zones"))
    } else {
        Params::sized(seed, hosts, vms, flag("--zones"))
    };
    params.time_limit_s = value("--time-limit").unwrap_or(60.0);
    if flag("--upgrade") {
        // Every cluster and the Supervisor rolled, every host patched, one at a time.
        params.upgrade = Some((1, value("--concurrency").unwrap_or(1.0) as u32));
    }
    let mut document = generate(&params);
    // `--infeasible KIND`: no placement exists because of `limit` (one namespace's memory
    // limit at 1 GiB), `addresses` (the workload network 5% short) or `capacity` (every host's
    // memory cut so that all hosts together hold 97% (`--capacity-percent P`) of the VMs'
    // memory: a conflict over every host).
    let infeasible = args
        .iter()
        .position(|a| a == "--infeasible")
        .map(|i| args.get(i + 1).map_or("limit", String::as_str));
    if let Some(kind) = infeasible {
        let shortage = match kind {
            "limit" => Shortage::NamespaceMemory,
            "addresses" => Shortage::Addresses,
            "capacity" => Shortage::HostMemory(value("--capacity-percent").unwrap_or(97.0) as u64),
            other => panic!("unknown --infeasible kind {other}: limit, addresses or capacity"),
        };
        short_of(&mut document, shortage);
    }
    let started = Instant::now();
    let inventory = match vksplan::model::load_value(&document) {
        Ok(inventory) => inventory,
        Err(invalid) => {
            eprintln!("generated topology is invalid: {invalid}");
            std::process::exit(2);
        }
    };
    let loaded_ms = started.elapsed().as_millis();
    if flag("--greedy") {
        explain_greedy(&inventory);
        return;
    }
    let options = Options {
        first_solution: flag("--first"),
        ..Options::default()
    };
    // Infeasible runs go through the facade: the whole diagnosis, conflict and cheapest fix.
    let planned = if infeasible.is_some() {
        vksplan::plan_bytes(document.to_string().as_bytes(), &options)
    } else {
        plan(&inventory, &options)
    };
    match planned {
        Ok(plan) => {
            let objective = plan.objective.clone();
            println!(
                "{}",
                serde_json::json!({
                    "hosts": hosts, "vms": inventory.vms.len(), "zones": flag("--zones"), "first_solution": flag("--first"), "hard": flag("--hard"), "diagnosis": plan.diagnosis.iter().map(|d| format!("{} {} {}", d.layer, d.subject, d.constraint)).collect::<Vec<_>>(),
                    "status": plan.status.as_str(), "variables": plan.stats.variables, "rows": plan.stats.constraints,
                    "load_ms": loaded_ms, "plan_ms": plan.stats.solve_ms, "total_ms": started.elapsed().as_millis(),
                    "max_utilization": objective.as_ref().map(|o| o.max_utilization), "bound": objective.as_ref().map(|o| o.bound),
                    "gap": objective.as_ref().map(|o| o.gap), "rejected": plan.rejected.len(),
                    "upgrade": plan.upgrade.as_ref().map(|u| serde_json::json!({ "status": u.status.as_str(), "waves": u.waves.len(),
                        "lower_bound_waves": u.lower_bound_waves,
                        "migrations": u.waves.iter().flatten().filter(|a| matches!(a, vksplan::model::plan::Action::Migrate { .. })).count() })),
                })
            );
        }
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(3);
        }
    }
}

/// `--greedy`: why the greedy placement fails, if it does (debugging aid).
fn explain_greedy(inventory: &vksplan::model::Inventory) {
    let strategy = vksplan::solver::Strategy::balance(inventory, None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let found = vksplan::solver::greedy(inventory, &strategy, deadline);
    eprintln!(
        "greedy: {}",
        if found.is_some() {
            "found a verified placement"
        } else {
            "none"
        }
    );
}
