//! Each constraint family matters: on its case fixture, the plan with every family passes the
//! verifier, and the placement solved with that one family switched off breaks exactly the
//! rule the family encodes (the verifier, which never reads the MIP, says so).

mod common;

use vksplan::solver::place::place;
use vksplan::solver::verify::verify;
use vksplan::solver::Options;

fn violations_without(case: &str, family: &str) -> Vec<String> {
    let inventory = common::inventory(&common::root().join(format!("fixtures/cases/{case}.json")));
    let plan = common::plan(&inventory);
    common::assert_verified(&inventory, &plan);
    let options = Options {
        disabled_families: vec![family.to_string()],
        ..Options::default()
    };
    let placed = place(&inventory, &options);
    let assignment = placed
        .assignment
        .unwrap_or_else(|| panic!("{case}: no placement with `{family}` off"));
    verify(&inventory, &assignment)
        .violations
        .into_iter()
        .map(|v| v.constraint)
        .collect()
}

fn assert_family_binds(case: &str, family: &str, expected: &[&str]) {
    let violations = violations_without(case, family);
    assert!(
        violations.iter().any(|v| expected.contains(&v.as_str())),
        "switching `{family}` off on `{case}` should break {expected:?}, got {violations:?}"
    );
}

#[test]
fn host_capacity() {
    assert_family_binds(
        "host-capacity",
        "host_capacity",
        &[
            "host_vcpus",
            "host_memory",
            "host_reserved_vcpus",
            "host_reserved_memory",
        ],
    );
}

#[test]
fn devices() {
    assert_family_binds("devices-gpu", "devices", &["devices"]);
}

#[test]
fn ha_admission() {
    assert_family_binds("ha-admission", "ha_admission", &["ha_admission"]);
}

#[test]
fn anti_affinity() {
    assert_family_binds("cp-anti-affinity", "anti_affinity", &["anti_affinity"]);
}

#[test]
fn namespace_limits() {
    assert_family_binds(
        "namespace-limit-rejects",
        "namespace_limits",
        &["memory_limit"],
    );
}

#[test]
fn namespace_limits_per_zone() {
    assert_family_binds("zones", "namespace_limits", &["cpu_limit"]);
}

#[test]
fn storage_limits() {
    assert_family_binds("storage-limit", "storage_limits", &["storage_limit"]);
}

#[test]
fn storage_capacity() {
    assert_family_binds(
        "storage-capacity",
        "storage_capacity",
        &["storage_capacity"],
    );
}

#[test]
fn ip_addresses() {
    assert_family_binds("workload-ips", "ip_addresses", &["ip_addresses"]);
}

#[test]
fn rules() {
    assert_family_binds("rules", "rules", &["rules"]);
}

#[test]
fn maintenance() {
    assert_family_binds("maintenance", "maintenance", &["maintenance"]);
}

#[test]
fn zone_pinning() {
    assert_family_binds("zones", "zone_pinning", &["zone_pinning"]);
}

#[test]
fn every_switchable_family_has_a_test() {
    let source: String = include_str!("families.rs").split_whitespace().collect();
    for family in vksplan::solver::lp::families::SWITCHABLE {
        assert!(
            source.contains(&format!("\"{family}\",&[")),
            "family `{family}` has no switch-off test"
        );
    }
}
