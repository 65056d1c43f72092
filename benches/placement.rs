//! Placement benchmarks: every fixture by file name, then generated platforms by size, an
//! upgrade, and the diagnosis of infeasible platforms.
//! The two largest sizes take up to a minute an iteration; they run only with
//! `VKSPLAN_BENCH_LARGE=1`. Numbers go to BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use vksplan::solver::{plan, Options};
use vksplan_testkit::generate::{generate, short_of, Params, Shortage};

fn bench_fixtures(c: &mut Criterion) {
    let mut group = c.benchmark_group("fixtures");
    group.sample_size(20);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let Ok(inventory) = vksplan::model::load(&text) else {
            continue;
        };
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("fixture")
            .to_string();
        group.bench_function(format!("validate {name}"), |b| {
            b.iter(|| vksplan::model::load(&text).is_ok())
        });
        group.bench_function(
            format!(
                "place {name} ({} VMs on {} hosts)",
                inventory.vms.len(),
                inventory.hosts.len()
            ),
            |b| b.iter(|| plan(&inventory, &Options::default()).map(|p| p.status)),
        );
    }
    group.finish();
}

fn bench_generated(c: &mut Criterion) {
    let mut sizes = vec![(8, 100, false), (32, 500, false)];
    if std::env::var_os("VKSPLAN_BENCH_LARGE").is_some() {
        sizes.extend([(96, 3000, false), (288, 10_000, true)]);
    }
    let mut group = c.benchmark_group("generated");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    for (hosts, vms, zones) in sizes {
        let inventory = vksplan::model::load_value(&generate(&Params::sized(1, hosts, vms, zones)));
        let Ok(inventory) = inventory else { continue };
        let zones = if zones { " in 3 zones" } else { "" };
        group.bench_function(
            format!("place {} VMs on {hosts} hosts{zones}", inventory.vms.len()),
            |b| b.iter(|| plan(&inventory, &Options::default()).map(|p| p.status)),
        );
        group.bench_function(
            format!(
                "first feasible, {} VMs on {hosts} hosts{zones}",
                inventory.vms.len()
            ),
            |b| {
                b.iter(|| {
                    plan(
                        &inventory,
                        &Options {
                            first_solution: true,
                            ..Options::default()
                        },
                    )
                    .map(|p| p.status)
                })
            },
        );
    }
    group.finish();
}

fn bench_upgrade(c: &mut Criterion) {
    let mut group = c.benchmark_group("upgrade");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    let mut params = Params::sized(1, 32, 500, false);
    params.upgrade = Some((1, 1));
    let Ok(inventory) = vksplan::model::load_value(&generate(&params)) else {
        return;
    };
    let name = format!(
        "plan and sequence {} VMs on 32 hosts (every cluster and the Supervisor rolled, every host patched)",
        inventory.vms.len()
    );
    group.bench_function(name, |b| {
        b.iter(|| plan(&inventory, &Options::default()).map(|p| p.upgrade.map(|u| u.waves.len())))
    });
    group.finish();
}

/// Diagnosis of infeasible generated platforms through the facade: the failed placement, the
/// minimal conflict and the cheapest fix (checked by planning again).
fn bench_diagnosis(c: &mut Criterion) {
    let mut sizes = vec![(32, 500)];
    if std::env::var_os("VKSPLAN_BENCH_LARGE").is_some() {
        sizes.push((96, 3000));
    }
    let mut group = c.benchmark_group("diagnosis");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    for (hosts, vms) in sizes {
        for (name, shortage) in [
            ("a namespace memory limit", Shortage::NamespaceMemory),
            ("workload addresses", Shortage::Addresses),
            ("host memory at 85%", Shortage::HostMemory(85)),
        ] {
            let mut document = generate(&Params::sized(1, hosts, vms, false));
            short_of(&mut document, shortage);
            let bytes = document.to_string().into_bytes();
            group.bench_function(format!("{hosts} hosts, ~{vms} VMs, short of {name}"), |b| {
                b.iter(|| {
                    vksplan::plan_bytes(&bytes, &Options::default()).map(|p| p.diagnosis.len())
                })
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_fixtures,
    bench_generated,
    bench_upgrade,
    bench_diagnosis
);
criterion_main!(benches);
