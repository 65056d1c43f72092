//! What an adversarial user found (issue 11), each kept as a test: flags checked like the
//! document, duplicate keys refused with their path, write errors reported, `--what-if`
//! ambiguity refused, a byte-order mark accepted, sizes below 1 MiB refused, control
//! characters escaped, errors capped, an empty consolidate model never reaching HiGHS, the
//! time limit kept on 10,000 hosts, and batches that lose nothing when killed.

mod common;

use serde_json::{json, Value};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn vksplan(args: &[&str]) -> Output {
    common::run(args, None)
}

/// Runs `vksplan ARGS -` with `document` on stdin.
fn with_stdin(args: &[&str], document: &[u8]) -> Output {
    common::run(args, Some(document))
}

fn temporary(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("vksplan-faults-{}-{name}", std::process::id()))
}

fn one_host(objective: &str) -> Value {
    json!({
        "version": 1,
        "policy": { "objective": objective },
        "hosts": [ { "name": "esx-01", "cpu_cores": 8, "cpu_core_mhz": 2000, "memory": "64Gi" } ],
        "networks": [ { "name": "w", "kind": "workload", "ips": 8 }, { "name": "lb", "kind": "load_balancer", "ips": 4 } ],
        "storage_policies": [ { "name": "s" } ],
        "namespaces": []
    })
}

#[test]
fn an_empty_consolidate_model_never_reaches_the_solver() {
    for objective in ["consolidate", "balance"] {
        let output = with_stdin(&["plan", "-"], one_host(objective).to_string().as_bytes());
        assert_eq!(
            output.status.code(),
            Some(0),
            "{objective}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let plan: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan["status"], "optimal");
    }
}

#[test]
fn flags_are_checked_like_the_document() {
    for bad in ["nan", "-1", "-inf", "inf", "0", "1e9", "soon"] {
        let output = vksplan(&["plan", "fixtures/lab-1-host.json", "--time-limit", bad]);
        assert_eq!(output.status.code(), Some(2), "--time-limit {bad}");
        assert!(output.stdout.is_empty());
    }
    let output = vksplan(&["plan", "fixtures/lab-1-host.json", "--threads", "100000"]);
    assert_eq!(output.status.code(), Some(2));
    let out = temporary("jobs");
    let output = vksplan(&[
        "batch",
        "fixtures/lab-1-host.json",
        "--out",
        &out.to_string_lossy(),
        "--jobs",
        "100000",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_duplicate_key_is_an_error_with_its_path() {
    let text = std::fs::read_to_string(common::root().join("fixtures/lab-1-host.json"))
        .unwrap_or_default();
    let duplicated = text.replacen("\"hosts\"", "\"hosts\": [], \"hosts\"", 1);
    let output = with_stdin(&["check", "-"], duplicated.as_bytes());
    assert_eq!(output.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report["diagnosis"].as_array().is_some_and(|d| d
            .iter()
            .any(|e| e["constraint"] == "duplicate_key" && e["path"] == "hosts")),
        "{report}"
    );
}

#[test]
fn a_failed_write_is_an_internal_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let output = Command::new(env!("CARGO_BIN_EXE_vksplan"))
        .args(["plan", "fixtures/lab-1-host.json"])
        .current_dir(common::root())
        .stdout(full)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot write"));
}

#[test]
fn a_what_if_segment_that_is_both_a_name_and_an_index_is_refused() {
    let mut document = one_host("balance");
    document["hosts"] = json!([
        { "name": "1", "cpu_cores": 8, "cpu_core_mhz": 2000, "memory": "64Gi" },
        { "name": "0", "cpu_cores": 8, "cpu_core_mhz": 2000, "memory": "64Gi" }
    ]);
    let output = with_stdin(
        &["plan", "-", "--what-if", "hosts.1.maintenance=true"],
        document.to_string().as_bytes(),
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = with_stdin(
        &["plan", "-", "--what-if", "hosts[1].maintenance=true"],
        document.to_string().as_bytes(),
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_byte_order_mark_is_accepted_and_tiny_sizes_and_control_characters_are_not() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes
        .extend(std::fs::read(common::root().join("fixtures/lab-1-host.json")).unwrap_or_default());
    assert_eq!(with_stdin(&["check", "-"], &bytes).status.code(), Some(0));
    let mut document = one_host("balance");
    document["hosts"][0]["memory"] = json!("0.0000001Mi");
    assert_eq!(
        with_stdin(&["check", "-"], document.to_string().as_bytes())
            .status
            .code(),
        Some(2)
    );
    let mut document = one_host("balance");
    document["hosts"][0]["name"] = json!("esx\u{0}\u{1b}[31m");
    let output = with_stdin(&["check", "-"], document.to_string().as_bytes());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        !output.stderr.contains(&0u8) && !output.stderr.contains(&0x1bu8),
        "raw control characters on stderr"
    );
}

#[test]
fn errors_are_capped_and_huge_documents_refused() {
    let mut document = one_host("balance");
    document["hosts"] = Value::Array(
        (0..3000)
            .map(|i| json!({ "name": format!("h{i}"), "cpu_cores": 8, "cpu_core_mhz": 2000, "memory": "64Gi", "oops": 1 }))
            .collect(),
    );
    let output = with_stdin(&["check", "-"], document.to_string().as_bytes());
    assert_eq!(output.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}"));
    let errors = report["diagnosis"].as_array().map_or(0, Vec::len);
    assert_eq!(errors, vksplan::model::MAX_REPORTED_ERRORS + 1);
    let huge = vec![b' '; vksplan::model::document::MAX_DOCUMENT_BYTES + 1];
    let output = with_stdin(&["check", "-"], &huge);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("at most"));
}

#[test]
fn half_a_second_on_ten_thousand_hosts_returns_within_five_seconds() {
    let mut document = one_host("balance");
    document["hosts"] = Value::Array(
        (0..10_000)
            .map(|i| json!({ "name": format!("h{i}"), "cpu_cores": 8, "cpu_core_mhz": 2000, "memory": "64Gi" }))
            .collect(),
    );
    document["namespaces"] = json!([ { "name": "ns", "vm_classes": ["best-effort-small"], "storage_policies": ["s"],
        "workload_network": "w", "load_balancer_network": "lb",
        "vms": (0..4).map(|i| json!({ "name": format!("v{i}"), "vm_class": "best-effort-small", "disk": "1Gi" })).collect::<Vec<_>>() } ]);
    let started = Instant::now();
    let output = with_stdin(
        &["plan", "-", "--time-limit", "0.5"],
        document.to_string().as_bytes(),
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `--what-if` run plans twice (the document as it is, and changed) within one limit: on a
/// platform whose balance step uses all the time it gets, 4 s returns within 7 s (it took twice
/// the limit when each plan had the whole limit).
#[test]
fn a_what_if_run_shares_one_time_limit() {
    let (_, document) = vksplan_testkit::hard::suite()
        .into_iter()
        .find(|(name, _)| *name == "h30-zones")
        .unwrap_or_else(|| panic!("the hard suite has no h30-zones"));
    let started = Instant::now();
    let output = with_stdin(
        &[
            "plan",
            "-",
            "--time-limit",
            "4",
            "--what-if",
            "hosts[0].cost=2",
        ],
        document.to_string().as_bytes(),
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(7), "took {elapsed:?}");
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert!(plan["what_if"]["before"]["status"].is_string(), "{plan}");
}

/// Inputs that take about a second each, so that a batch can be killed in the middle: a
/// consolidate platform of cloud-balancing shape (100 hosts, 300 VMs) whose optimum takes far
/// longer than its 1 s limit to prove, so that each run uses its whole limit (a 30-host
/// balance platform did until its bounds grew strong enough to prove it at once).
fn slow_inputs(folder: &std::path::Path, count: usize) -> Vec<String> {
    std::fs::create_dir_all(folder).unwrap_or_else(|e| panic!("{e}"));
    let document = vksplan_testkit::hard::cloud(100, 100, 300, 1.0);
    (0..count)
        .map(|i| {
            let path = folder.join(format!("input-{i}.json"));
            std::fs::write(&path, document.to_string()).unwrap_or_else(|e| panic!("{e}"));
            path.to_string_lossy().to_string()
        })
        .collect()
}

fn temporaries(folder: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn a_killed_batch_loses_nothing_it_finished_and_the_next_one_cleans_up() {
    let folder = temporary("batch-in");
    let out = temporary("batch-out");
    let _ = std::fs::remove_dir_all(&out);
    let inputs = slow_inputs(&folder, 6);
    let run = |extra: &[&str]| {
        let mut args = vec!["batch".to_string()];
        args.extend(inputs.iter().cloned());
        args.extend([
            "--out".into(),
            out.to_string_lossy().to_string(),
            "--jobs".into(),
            "1".into(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        Command::new(env!("CARGO_BIN_EXE_vksplan"))
            .args(&args)
            .current_dir(common::root())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // SIGKILL in the middle: every line printed names a whole output.
    let child = run(&[]);
    std::thread::sleep(Duration::from_millis(2500));
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-9", &pid]).status();
    let killed = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let finished = lines(&killed.stdout);
    assert!(
        finished.len() < inputs.len(),
        "the batch finished before it was killed"
    );
    let mut kept = Vec::new();
    for line in &finished {
        let output = line["output"].as_str().unwrap_or_default();
        let text = std::fs::read_to_string(output).unwrap_or_else(|e| panic!("{output}: {e}"));
        let _: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{output} is not whole: {e}"));
        kept.push((output.to_string(), text));
    }
    // SIGTERM: the plan in flight finishes, the rest are `cancelled`; every input has a line;
    // what the killed batch wrote is refused, not overwritten.
    let child = run(&[]);
    std::thread::sleep(Duration::from_millis(1500));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let terminated = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let accounted = lines(&terminated.stdout);
    assert_eq!(accounted.len(), inputs.len(), "{accounted:?}");
    assert!(
        accounted.iter().any(|l| l["status"] == "cancelled"),
        "{accounted:?}"
    );
    assert!(
        accounted
            .iter()
            .filter(|l| l["status"] == "refused")
            .count()
            >= kept.len()
    );
    for (output, text) in &kept {
        assert_eq!(
            &std::fs::read_to_string(output).unwrap_or_default(),
            text,
            "{output} was overwritten"
        );
    }
    assert!(
        temporaries(&out).is_empty(),
        "temporary files left: {:?}",
        temporaries(&out)
    );
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&folder);
}
