//! `vksplan batch --shard I/N`: N processes over the same mixed inputs (files, a folder, an
//! NDJSON stream, an invalid document, a missing file) plan every input exactly once, write
//! whole outputs, and their summary lines account for every input.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn batch(args: &[String], environment: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vksplan"));
    command
        .arg("batch")
        .args(args)
        .current_dir(common::root())
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("VKSPLAN_SHARDS");
    for (key, value) in environment {
        command.env(key, value);
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run vksplan: {e}"))
}

/// The summary lines of a run, by input name.
fn lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// A scratch folder with a folder of inputs and an NDJSON stream; the inputs as arguments.
fn inputs(scratch: &Path) -> Vec<String> {
    let folder = scratch.join("inputs");
    std::fs::create_dir_all(folder.join("more")).unwrap_or_else(|e| panic!("{e}"));
    let fixture = |name: &str| common::root().join("fixtures").join(name);
    for (from, to) in [
        ("lab-1-host.json", "a.json"),
        ("invalid/three-mistakes.json", "b.json"),
        ("cases/host-capacity.json", "more/c.json"),
        ("cases/rules.json", "more/d.json"),
    ] {
        std::fs::copy(fixture(from), folder.join(to)).unwrap_or_else(|e| panic!("{from}: {e}"));
    }
    let one_line = |name: &str| {
        let text = std::fs::read_to_string(fixture(name)).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        value.to_string()
    };
    let stream = scratch.join("stream.ndjson");
    let ndjson = [
        one_line("lab-1-host.json"),
        one_line("cases/zones.json"),
        "{not json".to_string(),
    ]
    .join("\n");
    std::fs::write(&stream, ndjson).unwrap_or_else(|e| panic!("{e}"));
    vec![
        folder.to_string_lossy().to_string(),
        common::root()
            .join("fixtures/reference.json")
            .to_string_lossy()
            .to_string(),
        scratch.join("missing.json").to_string_lossy().to_string(),
        "--ndjson".into(),
        stream.to_string_lossy().to_string(),
    ]
}

fn scratch(name: &str) -> PathBuf {
    let scratch = std::env::temp_dir().join(format!("vksplan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap_or_else(|e| panic!("{e}"));
    scratch
}

#[test]
fn shards_plan_every_input_exactly_once() {
    let scratch = scratch("shards");
    let inputs = inputs(&scratch);
    let out = scratch.join("out");
    let out_text = out.to_string_lossy().to_string();
    // The whole batch in one process: what the shards must add up to.
    let whole = scratch.join("whole");
    let mut args = inputs.clone();
    args.extend(["--out".into(), whole.to_string_lossy().to_string()]);
    let all = lines(&batch(&args, &[]));
    let expected: BTreeMap<String, String> = all
        .iter()
        .map(|l| (l["input"].to_string(), l["status"].to_string()))
        .collect();
    // 4 files in the folder, the reference, the missing file, 3 NDJSON lines.
    assert_eq!(all.len(), 9, "{all:?}");
    // Three shard processes at once over the same output folder.
    let shards = 3;
    let children: Vec<_> = (0..shards)
        .map(|index| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_vksplan"));
            command
                .arg("batch")
                .args(&inputs)
                .args(["--out", &out_text, "--jobs", "1"])
                .args(["--shard", &format!("{index}/{shards}")])
                .current_dir(common::root())
                .env_remove("JOB_COMPLETION_INDEX")
                .env_remove("VKSPLAN_SHARDS")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut busy = 0;
    for child in children {
        let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        let lines = lines(&output);
        busy += usize::from(!lines.is_empty());
        for line in lines {
            let input = line["input"].to_string();
            assert!(
                seen.insert(input.clone(), line["status"].to_string())
                    .is_none(),
                "{input} planned twice"
            );
            if let Some(written) = line["output"].as_str() {
                let document: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(written).unwrap_or_default())
                        .unwrap_or_else(|e| panic!("{written} is not whole JSON: {e}"));
                assert_eq!(document["status"], line["status"]);
            }
        }
    }
    assert_eq!(seen, expected, "the shards together are the whole batch");
    assert!(busy >= 2, "the inputs should spread over the shards");
    // The shards' outputs are the whole batch's, file for file.
    let files = |folder: &Path| {
        let mut found = Vec::new();
        collect(folder, folder, &mut found);
        found.sort();
        found
    };
    assert_eq!(files(&out), files(&whole));
    let _ = std::fs::remove_dir_all(&scratch);
}

fn collect(root: &Path, folder: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, found);
        } else {
            found.push(
                path.strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .to_string(),
            );
        }
    }
}

#[test]
fn the_indexed_job_variables_pick_the_shard_and_bad_shards_are_refused() {
    let scratch = scratch("shard-env");
    let inputs = inputs(&scratch);
    let run = |out: &str, extra: &[&str], environment: &[(&str, &str)]| {
        let mut args = inputs.clone();
        args.extend([
            "--out".into(),
            scratch.join(out).to_string_lossy().to_string(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        batch(&args, environment)
    };
    let names = |output: &Output| -> Vec<String> {
        let mut names: Vec<String> = lines(output)
            .iter()
            .map(|l| l["input"].to_string())
            .collect();
        names.sort();
        names
    };
    let flag = run("flag", &["--shard", "1/3"], &[]);
    let environment = run(
        "environment",
        &[],
        &[("JOB_COMPLETION_INDEX", "1"), ("VKSPLAN_SHARDS", "3")],
    );
    assert_eq!(names(&flag), names(&environment));
    for bad in ["3/3", "1/0", "x/2", "2"] {
        let refused = run("bad", &["--shard", bad], &[]);
        assert_eq!(refused.status.code(), Some(2), "--shard {bad}");
        assert!(refused.stdout.is_empty());
    }
    let refused = run("bad", &[], &[("VKSPLAN_SHARDS", "3")]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("JOB_COMPLETION_INDEX"));
    let refused = run("bad", &[], &[("JOB_COMPLETION_INDEX", "1")]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("VKSPLAN_SHARDS"));
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn folder_inputs_are_named_under_their_folder_and_skip_links_and_the_output_folder() {
    let scratch = scratch("folders");
    let inputs = scratch.join("in");
    std::fs::create_dir_all(inputs.join("team-a")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        common::root().join("fixtures/lab-1-host.json"),
        inputs.join("team-a/x.JSON"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // A link back to the folder itself: followed, it would list the inputs forever.
    #[cfg(unix)]
    std::os::unix::fs::symlink(".", inputs.join("loop")).unwrap_or_else(|e| panic!("{e}"));
    let out = inputs.join("plans");
    let args = |force: bool| {
        let mut args = vec![
            inputs.to_string_lossy().to_string(),
            "--out".into(),
            out.to_string_lossy().to_string(),
        ];
        if force {
            args.push("--force".into());
        }
        args
    };
    for force in [false, true] {
        let run = batch(&args(force), &[]);
        let lines = lines(&run);
        // Only the one input, named by its path under the folder, on both runs: the plans
        // written inside the input folder are not inputs.
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["status"], "optimal");
        assert!(out.join("team-a/x.json").exists());
    }
    // A second team does not rename the first one's output.
    std::fs::create_dir_all(inputs.join("team-b")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        common::root().join("fixtures/lab-1-host.json"),
        inputs.join("team-b/y.json"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = batch(&args(true), &[]);
    let mut outputs: Vec<String> = lines(&run)
        .iter()
        .map(|l| l["output"].as_str().unwrap_or_default().to_string())
        .collect();
    outputs.sort();
    assert_eq!(
        outputs,
        vec![
            out.join("team-a/x.json").to_string_lossy().to_string(),
            out.join("team-b/y.json").to_string_lossy().to_string()
        ]
    );
    // A folder with nothing to plan is an error, not an empty success.
    let empty = scratch.join("empty");
    std::fs::create_dir_all(&empty).unwrap_or_else(|e| panic!("{e}"));
    let run = batch(
        &[
            empty.to_string_lossy().to_string(),
            "--out".into(),
            scratch.join("o").to_string_lossy().to_string(),
        ],
        &[],
    );
    assert_eq!(run.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&scratch);
}
