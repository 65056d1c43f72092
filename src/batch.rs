//! `vksplan batch`: many topologies planned in parallel, robust to faults. The output folder is
//! checked before anything runs; each input's plan is written whole or not at all (a temporary
//! file of our own naming, then a rename) under a name that says which input it came from (its
//! path relative to the inputs' common folder); an existing output is never overwritten
//! without `--force`; one JSON summary line per input is printed (and flushed) as soon as that
//! input is done, so that a killed batch leaves a summary of everything it finished; SIGINT
//! and SIGTERM let the plans in flight finish and mark the others `cancelled`; temporary files a
//! killed batch left behind are removed by the next one (see [`remove_stale_temporaries`]). With `--shard I/N` (or the variables
//! `JOB_COMPLETION_INDEX` and `VKSPLAN_SHARDS` of a Kubernetes Indexed Job), a process plans only
//! the inputs whose output name hashes to shard I, so N processes plan every input exactly once.

use rayon::prelude::*;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use vksplan::solver::Options;

/// The most parallel jobs a batch takes (each job is a thread with a HiGHS solve).
pub const MAX_JOBS: usize = 256;

/// The prefix of temporary files a batch writes (and removes when it finds them stale).
const TEMPORARY_PREFIX: &str = ".vksplan-";

/// One input of a batch.
#[derive(Debug, Clone)]
pub struct Input {
    /// How the summary names it (a path, or `FILE:LINE` of an NDJSON stream).
    pub name: String,
    /// Where its plan goes, relative to the output folder.
    pub output: PathBuf,
    /// Its document (read when the batch starts: NDJSON lines), or `None` to read `name`.
    pub document: Option<Vec<u8>>,
}

/// Which part of the inputs this process plans: shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This process's shard, below `count`.
    pub index: u64,
    /// How many shards share the inputs.
    pub count: u64,
}

impl Shard {
    /// The whole batch in one process.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` (0 <= I < N).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a shard: write I/N, e.g. 0/4"))?;
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{text}`: the {what} `{part}` is not a whole number"))
        };
        Shard::new(number(index, "shard index")?, number(count, "shard count")?)
            .map_err(|e| format!("`{text}`: {e}"))
    }

    /// Shard `index` of `count`, checked.
    pub fn new(index: u64, count: u64) -> Result<Shard, String> {
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "the shard index {index} must be below the shard count {count} (shards count from 0)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard of a Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` of `VKSPLAN_SHARDS`
    /// (`None` when neither is set). One without the other is an error: an Indexed Job whose
    /// pods each planned everything would plan every input N times.
    pub fn from_environment(
        index: Option<&str>,
        count: Option<&str>,
    ) -> Option<Result<Shard, String>> {
        Some(match (index, count) {
            (None, None) => return None,
            (Some(index), None) => Err(format!(
                "JOB_COMPLETION_INDEX={index} is set but VKSPLAN_SHARDS is not: set it to the Job's completions, or pass --shard"
            )),
            (None, Some(count)) => Err(format!(
                "VKSPLAN_SHARDS={count} needs JOB_COMPLETION_INDEX (the Indexed Job's index)"
            )),
            (Some(index), Some(count)) => Shard::parse(&format!("{index}/{count}")).map_err(|e| {
                format!("JOB_COMPLETION_INDEX and VKSPLAN_SHARDS do not make a shard: {e}")
            }),
        })
    }

    /// Whether this shard plans the input with output name `output`: a stable hash of the name
    /// (FNV-1a over its bytes, '/'-separated) modulo the shard count, the same on every machine.
    pub fn owns(self, output: &Path) -> bool {
        let name: Vec<String> = output
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.join("/").bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash % self.count == self.index
    }
}

/// What the batch is asked to do.
pub struct Batch {
    /// The inputs, in order.
    pub inputs: Vec<Input>,
    /// The output folder.
    pub out: PathBuf,
    /// Parallel jobs.
    pub jobs: usize,
    /// Overwrite existing outputs.
    pub force: bool,
    /// Planning options.
    pub options: Options,
    /// The part of the inputs this process plans.
    pub shard: Shard,
}

/// The inputs named on the command line, with their output names. A file's output name is its
/// path relative to the folder all the file arguments share; a folder stands for every `.json`
/// file below it (the output folder `out` excepted), each named by its path relative to that
/// folder, so that a name does not depend on which other files exist. The same file given twice
/// keeps one name (the second is refused). A folder with no `.json` file is an error.
pub fn file_inputs(paths: &[PathBuf], out: &Path) -> Result<Vec<Input>, String> {
    let skip = std::fs::canonicalize(out).ok();
    let mut inputs = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            json_files_below(path, skip.as_deref(), &mut found);
            if found.is_empty() {
                return Err(format!(
                    "the folder `{}` holds no .json file",
                    path.display()
                ));
            }
            for file in found {
                let relative: PathBuf = file
                    .strip_prefix(path)
                    .unwrap_or(&file)
                    .components()
                    .filter(|c| matches!(c, Component::Normal(_)))
                    .collect();
                inputs.push(Input {
                    name: file.display().to_string(),
                    output: relative.with_extension("json"),
                    document: None,
                });
            }
        } else {
            files.push(path.clone());
        }
    }
    let absolute: Vec<PathBuf> = files
        .iter()
        .map(|p| {
            std::fs::canonicalize(p).unwrap_or_else(|_| {
                std::env::current_dir()
                    .map(|d| d.join(p))
                    .unwrap_or_else(|_| p.clone())
            })
        })
        .collect();
    let root = common_folder(&absolute);
    for (path, full) in files.iter().zip(&absolute) {
        let relative = full.strip_prefix(&root).unwrap_or(full);
        let relative: PathBuf = relative
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        inputs.push(Input {
            name: path.display().to_string(),
            output: relative.with_extension("json"),
            document: None,
        });
    }
    Ok(inputs)
}

/// Every `.json` file below `folder` (any case of the extension; hidden files and folders,
/// symbolic links to folders, and the output folder `skip` excepted), sorted.
fn json_files_below(folder: &Path, skip: Option<&Path>, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        // Unreadable: given as it is, so that its summary line says why.
        files.push(folder.to_path_buf());
        return;
    };
    let mut found: Vec<(PathBuf, bool)> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let kind = e.file_type().ok()?;
            Some((e.path(), kind.is_dir()))
        })
        .collect();
    found.sort();
    for (path, is_dir) in found {
        if is_dir {
            let inside_output = skip
                .is_some_and(|out| std::fs::canonicalize(&path).is_ok_and(|p| p.starts_with(out)));
            if !inside_output {
                json_files_below(&path, skip, files);
            }
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            files.push(path);
        }
    }
}

/// The deepest folder that holds every path.
fn common_folder(paths: &[PathBuf]) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for path in paths {
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        common = Some(match common {
            None => folder,
            Some(current) => current
                .components()
                .zip(folder.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    common.unwrap_or_default()
}

/// Inputs from an NDJSON stream: one topology per line, named `SOURCE:LINE`, written to
/// `SOURCE-STEM/LINE.json`. Empty lines are skipped.
pub fn ndjson_inputs(source: &str, text: &[u8]) -> Vec<Input> {
    let stem = Path::new(source)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| *s != "-")
        .unwrap_or("stdin")
        .to_string();
    text.split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| line.iter().any(|b| !b.is_ascii_whitespace()))
        .map(|(index, line)| Input {
            name: format!("{source}:{}", index + 1),
            output: PathBuf::from(&stem).join(format!("{}.json", index + 1)),
            document: Some(line.to_vec()),
        })
        .collect()
}

/// Checks that `out` is (or can be made) a folder vksplan can write into.
fn prepare(out: &Path) -> Result<(), String> {
    if out.exists() && !out.is_dir() {
        return Err(format!("`{}` exists and is not a folder", out.display()));
    }
    std::fs::create_dir_all(out)
        .map_err(|e| format!("cannot create the output folder `{}`: {e}", out.display()))?;
    let probe = out.join(temporary_name("probe"));
    std::fs::write(&probe, b"").map_err(|e| {
        format!(
            "cannot write into the output folder `{}`: {e}",
            out.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// This machine's name for temporary files (a pod's name in Kubernetes), without dots.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace(['.', '/'], "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The temporary file's name for `file_name`: ours (the prefix), this machine's and process's,
/// and unique within the process. Every pod of a Kubernetes Job runs vksplan as process 1 and a
/// retried pod keeps its name, so host and pid alone do not tell two writers apart: the file is
/// also created exclusively, and the name carries the clock and a counter.
fn temporary_name(file_name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{TEMPORARY_PREFIX}{file_name}.{}.{}.{nanos:x}{:x}.tmp",
        host_name(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// How old a temporary file of any writer must be to count as left behind (a plan's time limit
/// is at most a day).
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(2 * 86_400);

/// Removes temporary files of our naming that a killed batch left, in `folder` and below: on
/// this machine, those of a process that is no longer running; from any machine, those older
/// than two days. Symbolic links are not followed.
fn remove_stale_temporaries(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let here = host_name();
    for entry in entries.filter_map(Result::ok) {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            remove_stale_temporaries(&path);
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name
            .strip_prefix(TEMPORARY_PREFIX)
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        // FILE.HOST.PID.UNIQUE
        let mut parts = rest.rsplitn(4, '.');
        let _unique = parts.next();
        let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
        let host = parts.next().unwrap_or_default();
        let dead_here = host == here
            && pid.is_some_and(|pid| {
                pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
            });
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if dead_here || old {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Writes `text` to `path` whole or not at all: a temporary file in the same folder, then a
/// rename.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let temporary = path.with_file_name(temporary_name(file_name));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        });
    match result.and_then(|()| std::fs::rename(&temporary, path)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(error)
        }
    }
}

/// Runs the batch; returns the worst exit code (2 before anything runs when the request is
/// unusable).
pub fn run(batch: Batch) -> i32 {
    if batch.jobs == 0 || batch.jobs > MAX_JOBS {
        eprintln!(
            "vksplan: --jobs must be between 1 and {MAX_JOBS}, not {}",
            batch.jobs
        );
        return 2;
    }
    if let Err(error) = prepare(&batch.out) {
        eprintln!("vksplan: {error}");
        return 2;
    }
    remove_stale_temporaries(&batch.out);
    let cancelled = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&cancelled));
    }
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(batch.jobs)
        .build()
    {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!(
                "vksplan: cannot start {} worker threads: {error}",
                batch.jobs
            );
            return 3;
        }
    };
    // An output name taken twice (the same file given twice) runs once.
    let mut taken = std::collections::HashSet::new();
    let duplicate: Vec<bool> = batch
        .inputs
        .iter()
        .map(|input| !taken.insert(input.output.clone()))
        .collect();
    // This process's shard of the inputs (a repeated input has its first's name, so its shard).
    let mine: Vec<(&Input, bool)> = batch
        .inputs
        .iter()
        .zip(duplicate)
        .filter(|(input, _)| batch.shard.owns(&input.output))
        .collect();
    let worst = Mutex::new(0);
    let out = &batch.out;
    let bar = crate::progress::batch_bar(mine.len());
    pool.install(|| {
        mine.par_iter().for_each(|&(input, duplicate)| {
            let line = if cancelled.load(Ordering::SeqCst) {
                summary(
                    input,
                    None,
                    "cancelled",
                    None,
                    1,
                    Some("the batch was interrupted before this input ran".into()),
                )
            } else if duplicate {
                summary(
                    input,
                    None,
                    "refused",
                    None,
                    2,
                    Some(format!(
                        "`{}` is given more than once; it runs once",
                        input.name
                    )),
                )
            } else {
                one(input, out, batch.force, &batch.options)
            };
            let code = line["exit_code"].as_i64().unwrap_or(3) as i32;
            if let Ok(mut worst) = worst.lock() {
                *worst = (*worst).max(code);
            }
            bar.inc(1);
            bar.set_message(input.name.clone());
            let mut stdout = std::io::stdout().lock();
            if writeln!(stdout, "{line}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                if let Ok(mut worst) = worst.lock() {
                    *worst = 3;
                }
            }
        });
    });
    bar.finish_and_clear();
    let worst = worst.into_inner().unwrap_or(3);
    if cancelled.load(Ordering::SeqCst) {
        eprintln!("vksplan: interrupted: the plans in flight finished; the others are `cancelled`");
    }
    worst
}

fn summary(
    input: &Input,
    output: Option<&Path>,
    status: &str,
    upgrade: Option<&str>,
    code: i32,
    error: Option<String>,
) -> serde_json::Value {
    serde_json::json!({
        "input": input.name,
        "output": output.map(|o| o.display().to_string()),
        "status": status,
        "upgrade_status": upgrade,
        "exit_code": code,
        "error": error,
    })
}

/// Plans one input and writes its plan; its summary line.
fn one(input: &Input, out: &Path, force: bool, options: &Options) -> serde_json::Value {
    let output = out.join(&input.output);
    if output.exists() && !force {
        return summary(
            input,
            None,
            "refused",
            None,
            2,
            Some(format!(
                "`{}` exists; pass --force to overwrite it",
                output.display()
            )),
        );
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| match &input.document {
        Some(document) => vksplan::plan_bytes(document, options).map_err(|e| e.to_string()),
        None => match std::fs::read(&input.name) {
            Ok(document) => vksplan::plan_bytes(&document, options).map_err(|e| e.to_string()),
            Err(error) => Ok(vksplan::model::Plan::without_placement(
                vksplan::model::Status::Invalid,
                vec![vksplan::model::Diagnostic::input(
                    "$",
                    &input.name,
                    "unreadable",
                    format!("cannot read `{}`: {error}", input.name),
                    "check the path and its permissions",
                )],
            )),
        },
    }));
    let plan = match outcome {
        Ok(Ok(plan)) => plan,
        Ok(Err(error)) => {
            return summary(
                input,
                None,
                "internal_error",
                None,
                3,
                Some(format!("{error}: no plan written")),
            )
        }
        Err(_) => {
            return summary(
                input,
                None,
                "internal_error",
                None,
                3,
                Some("a panic (a bug): no plan written".into()),
            )
        }
    };
    let code = vksplan::exit_code(&plan);
    let upgrade = plan.upgrade.as_ref().map(|u| u.status.as_str());
    match write_atomically(&output, &plan.to_json()) {
        Ok(()) => summary(
            input,
            Some(&output),
            plan.status.as_str(),
            upgrade,
            code,
            None,
        ),
        Err(error) => summary(
            input,
            None,
            plan.status.as_str(),
            upgrade,
            3,
            Some(format!("cannot write `{}`: {error}", output.display())),
        ),
    }
}
