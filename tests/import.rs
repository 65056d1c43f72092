//! `vksplan import`: the fixture platform of `fixtures/import/` (2 namespaces, 4 clusters in all
//! three Cluster forms, VM Service VMs, a vGPU class, 6 hosts) imports to a valid topology with
//! every VM placed or reported, plans end to end, and each source's malformed input is an
//! error naming the file and the object.

mod common;

use std::process::Output;

fn vksplan(args: &[String], stdin: Option<&[u8]>) -> Output {
    common::run(args, stdin)
}

/// `vksplan import fixtures/import/* --overlay fixtures/import/overlay.json EXTRA...`
fn import_fixture(extra: &[&str]) -> Output {
    let mut args = vec!["import".to_string()];
    for path in common::fixtures("import") {
        args.push(path.to_string_lossy().to_string());
    }
    for other in [
        "classes.yaml",
        "clusters.yaml",
        "machines.yaml",
        "pvcs.yaml",
    ] {
        args.push(
            common::root()
                .join("fixtures/import")
                .join(other)
                .to_string_lossy()
                .to_string(),
        );
    }
    args.extend(["--overlay".into(), "fixtures/import/overlay.json".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    vksplan(&args, None)
}

#[test]
fn the_fixture_platform_imports_whole_and_every_vm_is_placed_or_reported() {
    let output = import_fixture(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let document: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}"));
    // `vksplan check -` accepts it.
    let checked = vksplan(&["check".into(), "-".into()], Some(&output.stdout));
    assert_eq!(
        checked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    insta::assert_snapshot!(
        "imported-topology",
        serde_json::to_string_pretty(&document).unwrap_or_default()
    );
    // Every VirtualMachine of the dump: once in placement, or named on stderr.
    let dump: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("fixtures/import/virtual-machines.json"))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    let placed = document["placement"].as_object().map_or(0, |p| p.len());
    let mut reported = 0;
    for vm in dump["items"].as_array().into_iter().flatten() {
        let name = vm["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = vm["metadata"]["namespace"].as_str().unwrap_or_default();
        if stderr.contains(&format!("VirtualMachine {namespace}/{name}")) {
            reported += 1;
        }
    }
    let total = dump["items"].as_array().map_or(0, Vec::len);
    assert_eq!(
        placed + reported,
        total,
        "{placed} placed, {reported} reported of {total}: {stderr}"
    );
}

#[test]
fn the_imported_platform_plans_end_to_end() {
    // The GPU host's vGPU capacity is a fact no dump holds: `--set` gives it.
    let output = import_fixture(&["--set", "hosts[5].devices={\"grid-a100-4c\": 4}"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let planned = vksplan(&["plan".into(), "-".into()], Some(&output.stdout));
    assert_eq!(
        planned.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    let mut plan: serde_json::Value =
        serde_json::from_slice(&planned.stdout).unwrap_or_else(|e| panic!("{e}"));
    plan["stats"] = serde_json::json!({});
    insta::assert_snapshot!(
        "imported-plan",
        serde_json::to_string_pretty(&plan).unwrap_or_default()
    );
}

/// Writes `text` as `name` in a fresh folder and imports it.
fn import_one(name: &str, text: &str) -> Output {
    let folder = std::env::temp_dir().join(format!("vksplan-import-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("{e}"));
    let path = folder.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let output = vksplan(&["import".into(), path.to_string_lossy().to_string()], None);
    let _ = std::fs::remove_dir_all(&folder);
    output
}

#[test]
fn malformed_input_of_each_source_names_the_file_and_the_object() {
    let cases: [(&str, &str, &str); 7] = [
        // govc: cut short, and a host without its core count.
        ("hosts.json", r#"{"hostSystems": [{"name": "esx-01", "summary": {"hardware": {"#, "line"),
        ("hosts2.json", r#"{"hostSystems": [{"name": "esx-01", "summary": {"hardware": {"cpuMhz": 2000, "memorySize": 1073741824}}}]}"#, "numCpuCores"),
        // vCenter namespaces and storage policies that are neither.
        ("namespaces.json", r#"{"team-a": {"nothing": true}}"#, "document 1"),
        ("policies.json", r#"[{"id": "x"}]"#, "document 1"),
        // Kubernetes: broken YAML, a Cluster without a topology, a kind vksplan does not import.
        ("clusters.yaml", "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: {name: [broken\n", "line"),
        ("cluster.yaml", "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: {name: web, namespace: team-a}\nspec: {}\n", "Cluster team-a/web"),
        ("service.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: team-a}\n", "Service team-a/web"),
    ];
    for (name, text, expected) in cases {
        let output = import_one(name, text);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(name),
            "{name}: the file is not named: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{name}: `{expected}` not in: {stderr}"
        );
    }
}
