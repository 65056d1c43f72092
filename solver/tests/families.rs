//! Each constraint family matters: on its case fixture, the plan with every family passes the
//! verifier, and the placement solved with that one family switched off breaks exactly the
//! rule the family encodes (the verifier, which never reads the MIP, says so).

mod common;

use vksplan_solver::place;
use vksplan_solver::verify;
use vksplan_solver::Options;

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
        .map(|v| v.constraint.to_string())
        .collect()
}

fn assert_family_binds(case: &str, family: &str, expected: &[&str]) {
    let violations = violations_without(case, family);
    assert!(
        violations.iter().any(|v| expected.contains(&v.as_str())),
        "switching `{family}` off on `{case}` should break {expected:?}, got {violations:?}"
    );
}

/// Per switchable family: the case fixture where it binds, and the rules (verifier
/// constraint names) that break without it.
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "host_capacity",
        "host-capacity",
        &[
            "host_vcpus",
            "host_memory",
            "host_reserved_vcpus",
            "host_reserved_memory",
        ],
    ),
    ("devices", "devices-gpu", &["devices"]),
    ("ha_admission", "ha-admission", &["ha_admission"]),
    ("anti_affinity", "cp-anti-affinity", &["anti_affinity"]),
    (
        "namespace_limits",
        "namespace-limit-rejects",
        &["memory_limit"],
    ),
    // The per-zone thirds of a 3-zone Supervisor.
    ("namespace_limits", "zones", &["cpu_limit"]),
    ("storage_limits", "storage-limit", &["storage_limit"]),
    (
        "storage_capacity",
        "storage-capacity",
        &["storage_capacity"],
    ),
    ("ip_addresses", "workload-ips", &["ip_addresses"]),
    ("rules", "rules", &["rules"]),
    ("maintenance", "maintenance", &["maintenance"]),
    ("zone_pinning", "zones", &["zone_pinning"]),
];

#[test]
fn each_family_switched_off_breaks_its_rule() {
    for (family, case, expected) in CASES {
        assert_family_binds(case, family, expected);
    }
}

#[test]
fn every_switchable_family_has_a_case() {
    for family in vksplan_solver::SWITCHABLE_FAMILIES {
        assert!(
            CASES.iter().any(|(f, _, _)| *f == family),
            "family `{family}` has no switch-off case"
        );
    }
}
