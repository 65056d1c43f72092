//! The `vksplan` command line: JSON in, JSON out. stdout carries only JSON; messages go to
//! stderr.

use clap::{Parser, Subcommand, ValueEnum};
use rayon::prelude::*;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vksplan::model::{self, Diagnostic, Plan, Status};
use vksplan::solver::Options;

const EXIT_CODES: &str =
    "Exit codes: 0 ok (valid / plan found), 1 infeasible or timeout (no plan), \
2 invalid input, 3 internal error. stdout carries only JSON; messages go to stderr.";

#[derive(Parser)]
#[command(name = "vksplan", version, about = "Plan VM placement and upgrades of vSphere Kubernetes Service platforms", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a topology and print the derived inventory (or every error).
    #[command(after_help = EXIT_CODES)]
    Check {
        /// Topology JSON file, or `-` for stdin.
        input: String,
    },
    /// Validate a topology and print its plan document (SPEC section 5).
    #[command(after_help = EXIT_CODES)]
    Plan {
        /// Topology JSON file, or `-` for stdin.
        input: String,
        /// Output format: the JSON plan document, or a human-readable summary.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Override the policy's solver time limit (seconds).
        #[arg(long)]
        time_limit: Option<f64>,
        /// Threads HiGHS may use (default 1).
        #[arg(long, default_value_t = 1)]
        threads: u32,
        /// Re-plan with a change and report the difference in `what_if`: `PATH=VALUE` with list
        /// elements by name or index (`namespaces.team-a.limits.memory=2Ti`), or `@FILE` with a
        /// JSON merge patch (RFC 7386). Repeatable; applied in order.
        #[arg(long = "what-if", value_name = "CHANGE")]
        what_if: Vec<String>,
    },
    /// Plan many topologies in parallel; one plan document per input in DIR.
    #[command(
        after_help = "Writes DIR/<input stem>.json for each input (whole or not at all), and \
prints one JSON summary line per input on stdout. One bad input never stops the batch; the exit \
code is the worst of the inputs' codes.\n\nExit codes: 0 ok, 1 infeasible or timeout, 2 invalid \
input, 3 internal error."
    )]
    Batch {
        /// Topology JSON files.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Parallel jobs (default: the number of cores). Each solve uses one HiGHS thread.
        #[arg(long)]
        jobs: Option<usize>,
        /// Override every input's solver time limit (seconds).
        #[arg(long)]
        time_limit: Option<f64>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Text,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match catch_unwind(AssertUnwindSafe(|| run(cli))) {
        Ok(code) => code,
        Err(_) => {
            eprintln!("vksplan: internal error (a bug): please report it with the input");
            3
        }
    };
    ExitCode::from(code as u8)
}

fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Check { input } => check(&input),
        Command::Plan {
            input,
            format,
            time_limit,
            threads,
            what_if,
        } => {
            let options = Options {
                time_limit_s: time_limit,
                threads,
                ..Options::default()
            };
            plan(&input, format, &options, &what_if)
        }
        Command::Batch {
            inputs,
            out,
            jobs,
            time_limit,
        } => {
            let options = Options {
                time_limit_s: time_limit,
                threads: 1,
                ..Options::default()
            };
            batch(&inputs, &out, jobs, &options)
        }
    }
}

/// Reads a file or stdin; an unreadable input is an input error.
fn read_input(input: &str) -> Result<Vec<u8>, Diagnostic> {
    let mut bytes = Vec::new();
    let result = if input == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(input).map(|read| bytes = read)
    };
    result.map(|()| bytes).map_err(|error| {
        Diagnostic::input(
            "$",
            input,
            "unreadable",
            format!("cannot read `{input}`: {error}"),
            "check the path and its permissions",
        )
    })
}

fn print_json(value: &impl serde::Serialize) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
}

fn report(diagnosis: &[Diagnostic]) {
    for entry in diagnosis {
        eprintln!("{entry}");
    }
}

fn check(input: &str) -> i32 {
    let bytes = match read_input(input) {
        Ok(bytes) => bytes,
        Err(error) => {
            report(std::slice::from_ref(&error));
            print_json(&serde_json::json!({ "status": "invalid", "diagnosis": [error] }));
            return 2;
        }
    };
    match model::load_bytes(&bytes) {
        Ok(inventory) => {
            eprintln!(
                "`{input}` is valid: {} host(s), {} VM(s)",
                inventory.hosts.len(),
                inventory.vms.len()
            );
            print_json(&serde_json::json!({ "status": "valid", "summary": inventory.summary() }));
            0
        }
        Err(invalid) => {
            eprintln!("`{input}` has {} error(s):", invalid.errors.len());
            report(&invalid.errors);
            print_json(&serde_json::json!({ "status": "invalid", "diagnosis": invalid.errors }));
            2
        }
    }
}

fn plan_input(input: &str, options: &Options) -> Result<Plan, String> {
    plan_with_changes(input, options, &[])
}

/// Parses `--what-if` arguments: `PATH=VALUE` or `@FILE` (a JSON merge patch).
fn changes(arguments: &[String]) -> Result<Vec<model::what_if::Change>, Diagnostic> {
    arguments
        .iter()
        .map(|argument| match argument.strip_prefix('@') {
            Some(file) => {
                let bytes = read_input(file)?;
                serde_json::from_slice(&bytes)
                    .map(model::what_if::Change::MergePatch)
                    .map_err(|error| {
                        Diagnostic::input(
                            "--what-if",
                            file,
                            "bad_what_if",
                            format!("`{file}` is not JSON: {error}"),
                            "give a JSON merge patch (RFC 7386)",
                        )
                    })
            }
            None => model::what_if::Change::parse_assignment(argument),
        })
        .collect()
}

fn plan_with_changes(input: &str, options: &Options, what_if: &[String]) -> Result<Plan, String> {
    let bytes = match read_input(input) {
        Ok(bytes) => bytes,
        Err(error) => return Ok(Plan::without_placement(Status::Invalid, vec![error])),
    };
    if what_if.is_empty() {
        return vksplan::plan_bytes(&bytes, options).map_err(|error| error.to_string());
    }
    match changes(what_if) {
        Ok(changes) => {
            vksplan::plan_what_if(&bytes, &changes, options).map_err(|error| error.to_string())
        }
        Err(error) => Ok(Plan::without_placement(Status::Invalid, vec![error])),
    }
}

fn plan(input: &str, format: Format, options: &Options, what_if: &[String]) -> i32 {
    let plan = match plan_with_changes(input, options, what_if) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("vksplan: {error}");
            return 3;
        }
    };
    report(&plan.diagnosis);
    match format {
        Format::Json => print_json(&plan),
        Format::Text => {
            let mut stdout = std::io::stdout().lock();
            let _ = write!(stdout, "{}", vksplan::solver::text::render(&plan));
        }
    }
    vksplan::exit_code(&plan)
}

/// Output file names: the input's stem, made unique with `-2`, `-3`... in input order.
fn output_names(inputs: &[PathBuf]) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    inputs
        .iter()
        .map(|input| {
            let stem = input
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("input")
                .to_string();
            let mut name = format!("{stem}.json");
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{stem}-{n}.json");
                n += 1;
            }
            name
        })
        .collect()
}

/// Writes `text` to `path` whole or not at all: a temporary file in the same folder, then a
/// rename.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = std::fs::File::create(&temporary).and_then(|mut file| {
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

fn batch(inputs: &[PathBuf], out: &Path, jobs: Option<usize>, options: &Options) -> i32 {
    if let Err(error) = std::fs::create_dir_all(out) {
        eprintln!("vksplan: cannot create `{}`: {error}", out.display());
        return 3;
    }
    let names = output_names(inputs);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build();
    let Ok(pool) = pool else {
        eprintln!("vksplan: cannot start the worker threads");
        return 3;
    };
    let results: Vec<(i32, serde_json::Value)> = pool.install(|| {
        inputs
            .par_iter()
            .zip(names.par_iter())
            .map(|(input, name)| {
                let input_text = input.display().to_string();
                let output = out.join(name);
                let outcome = catch_unwind(AssertUnwindSafe(|| plan_input(&input_text, options)));
                let (code, status, upgrade, document) = match outcome {
                    Ok(Ok(plan)) => (
                        vksplan::exit_code(&plan),
                        plan.status.as_str(),
                        plan.upgrade.as_ref().map(|u| u.status.as_str()),
                        plan.to_json(),
                    ),
                    Ok(Err(error)) => (3, "internal_error", None, error),
                    Err(_) => (3, "internal_error", None, "a panic (a bug)".to_string()),
                };
                let written = if code == 3 {
                    Err(format!("{document}: no plan written"))
                } else {
                    write_atomically(&output, &document).map_err(|error| error.to_string())
                };
                let (code, error) = match written {
                    Ok(()) => (code, None),
                    Err(error) => (3, Some(error)),
                };
                let line = serde_json::json!({
                    "input": input_text,
                    "output": error.is_none().then(|| output.display().to_string()),
                    "status": status,
                    "upgrade_status": upgrade,
                    "exit_code": code,
                    "error": error,
                });
                (code, line)
            })
            .collect()
    });
    let mut stdout = std::io::stdout().lock();
    let mut worst = 0;
    for (code, line) in results {
        worst = worst.max(code);
        let _ = writeln!(stdout, "{line}");
    }
    worst
}
