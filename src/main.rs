//! The `vksplan` command line: JSON in, JSON out. stdout carries only JSON; messages go to
//! stderr.

mod batch;
mod progress;
mod report;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
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
    /// Validate a topology and print its plan document (docs/output-and-upgrades.md).
    #[command(after_help = EXIT_CODES)]
    Plan {
        /// Topology JSON file, or `-` for stdin.
        input: String,
        /// Output format: the JSON plan document, or a human-readable summary.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Override the policy's time limit (seconds, 0.001 to 86400, as in the policy): one
        /// deadline for validation, placement, upgrade, diagnosis and fix search.
        #[arg(long, value_parser = time_limit)]
        time_limit: Option<f64>,
        /// Threads HiGHS may use (1 to 64; default 1).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
        threads: u32,
        /// Re-plan with a change and report the difference in `what_if`: `PATH=VALUE` with list
        /// elements by name or index (`namespaces.team-a.limits.memory=2Ti`), or `@FILE` with a
        /// JSON merge patch (RFC 7386). Repeatable; applied in order.
        #[arg(long = "what-if", value_name = "CHANGE")]
        what_if: Vec<String>,
    },
    /// Build a topology document from what vCenter, govc and kubectl print (placement
    /// included); facts no dump holds come from --overlay and --set.
    #[command(
        after_help = "Every object the import cannot use is reported on stderr with its kind, \
name and reason; every fact the topology still needs is reported with its JSON path.\n\nExit \
codes: 0 the document is complete and valid, 2 something is missing or an input is malformed \
(the document built so far is still written)."
    )]
    Import(ImportArgs),
    /// Write the HTML page of a plan document made earlier (`vksplan plan` JSON) for the
    /// topology it was made from; the same page as `plan --format html`.
    #[command(
        after_help = "Exit codes: 0 the page is written, 2 the plan or the topology is unusable, \
or the plan places a VM or host the topology does not have, 3 internal error (e.g. a failed \
write)."
    )]
    Report {
        /// The plan document (JSON), or `-` for stdin.
        plan: String,
        /// The topology the plan was made from.
        #[arg(long)]
        topology: String,
    },
    /// Print the JSON Schema (draft 2020-12) of the input (topology) or the plan document; the
    /// same schemas are committed under docs/schema/.
    Schema {
        /// Which document.
        #[arg(value_enum)]
        document: SchemaDocument,
    },
    /// Plan many topologies in parallel; one plan document per input in DIR.
    #[command(
        after_help = "Writes DIR/<path>.json for each input (whole or not at all; <path> is the \
input's path relative to the folder all inputs share), and prints one JSON summary line per \
input on stdout as soon as it is done. An existing output is refused unless --force. One bad \
input never stops the batch; SIGINT or SIGTERM lets the plans in flight finish and reports the \
others as `cancelled`. The exit code is the worst of the inputs' codes.\n\nExit codes: 0 ok, \
1 infeasible, timeout or cancelled, 2 invalid input or refused, 3 internal error."
    )]
    Batch {
        /// Topology JSON files.
        #[arg(required_unless_present = "ndjson")]
        inputs: Vec<PathBuf>,
        /// An NDJSON stream of topologies, one per line (`-` for stdin); each is named by its
        /// line number.
        #[arg(long, value_name = "FILE")]
        ndjson: Option<String>,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Parallel jobs (1 to 256; default: the number of cores). Each solve uses one HiGHS
        /// thread.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
        jobs: Option<u32>,
        /// Override every input's time limit (seconds, 0.001 to 86400).
        #[arg(long, value_parser = time_limit)]
        time_limit: Option<f64>,
        /// Overwrite outputs that exist (refused otherwise).
        #[arg(long)]
        force: bool,
        /// Plan only shard I of N (0 <= I < N): the inputs whose output name hashes to I, so
        /// that N processes plan every input exactly once. Default: `JOB_COMPLETION_INDEX` of
        /// `VKSPLAN_SHARDS` when `VKSPLAN_SHARDS` is set (a Kubernetes Indexed Job), else 0/1.
        #[arg(long, value_name = "I/N", value_parser = batch::Shard::parse)]
        shard: Option<batch::Shard>,
    },
}

/// `--time-limit`: what the policy accepts (a finite number of seconds, 0.001 to 86400).
fn time_limit(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if seconds.is_finite() && (0.001..=86_400.0).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!("`{text}` is not between 0.001 and 86400 seconds"))
    }
}

/// The `import` subcommand's arguments.
#[derive(clap::Args)]
struct ImportArgs {
    /// Dumps: `kubectl get ... -o json|yaml`, `govc host.info -json '*'`, vCenter namespaces
    /// (a map of namespace to its `GET /api/vcenter/namespaces/instances/{namespace}` body) and
    /// storage policies (`GET /api/vcenter/storage/policies`); JSON or YAML, recognised by
    /// content.
    #[arg(required = true)]
    files: Vec<String>,
    /// A change applied after the import, in the `--what-if` syntax (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// A JSON merge patch (RFC 7386) applied after the import, before `--set`.
    #[arg(long, value_name = "PATCH.json")]
    overlay: Option<String>,
    /// Where to write the topology (default: stdout).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    output: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Text,
    /// One self-contained HTML page: hosts, namespaces, networks, the upgrade timeline and the
    /// diagnosis, drawn in inline SVG.
    Html,
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
    // A HiGHS solve that outlasted its limit was given up on and asked to stop, but HiGHS does
    // not hear that inside every routine (vksplan_solver's `watch`); a normal exit destroys
    // HiGHS's static objects under it. Wait a little for it, then leave without them.
    if !vksplan::solver::settle(SETTLE) {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        vksplan_interrupt::exit_at_once(code);
    }
    ExitCode::from(code as u8)
}

/// How long the process waits at exit for HiGHS solves it gave up on.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// The documents `vksplan schema` describes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SchemaDocument {
    /// The topology document vksplan reads.
    Input,
    /// The plan document vksplan writes.
    Plan,
}

fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Check { input } => check(&input),
        Command::Report { plan, topology } => report_page(&plan, &topology),
        Command::Schema { document } => {
            let schema = match document {
                SchemaDocument::Input => model::schema::input(),
                SchemaDocument::Plan => model::schema::plan(),
            };
            let text = serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n";
            written(write_stdout(&text), 0)
        }
        Command::Import(args) => import(&args),
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
            ndjson,
            out,
            jobs,
            time_limit,
            force,
            shard,
        } => {
            let shard = match shard {
                Some(shard) => shard,
                None => match batch::Shard::from_environment(
                    std::env::var("JOB_COMPLETION_INDEX").ok().as_deref(),
                    std::env::var("VKSPLAN_SHARDS").ok().as_deref(),
                ) {
                    None => batch::Shard::ALL,
                    Some(Ok(shard)) => shard,
                    Some(Err(error)) => {
                        eprintln!("vksplan: {error}");
                        return 2;
                    }
                },
            };
            let options = Options {
                time_limit_s: time_limit,
                threads: 1,
                ..Options::default()
            };
            let mut all = match batch::file_inputs(&inputs, &out) {
                Ok(all) => all,
                Err(error) => {
                    eprintln!("vksplan: {error}");
                    return 2;
                }
            };
            if let Some(source) = ndjson {
                match read_input(&source) {
                    Ok(text) => all.extend(batch::ndjson_inputs(&source, &text)),
                    Err(error) => {
                        report(std::slice::from_ref(&error));
                        return 2;
                    }
                }
            }
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            batch::run(batch::Batch {
                inputs: all,
                out,
                jobs: jobs.map_or(cores, |j| j as usize),
                force,
                options,
                shard,
            })
        }
    }
}

/// `vksplan import`: the topology of the dumps, with the overlay and `--set` applied last.
fn import(args: &ImportArgs) -> i32 {
    let mut files = Vec::new();
    let mut failed = false;
    // The overlay is not a dump (so that `--overlay dir/overlay.json dir/*` works).
    let canonical =
        |path: &str| std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path));
    let overlay = args.overlay.as_deref().map(canonical);
    for file in args
        .files
        .iter()
        .filter(|f| overlay.as_ref().is_none_or(|o| canonical(f) != *o))
    {
        match read_input(file) {
            Ok(bytes) => files.push((file.clone(), bytes)),
            Err(error) => {
                report(std::slice::from_ref(&error));
                failed = true;
            }
        }
    }
    let mut changes = Vec::new();
    if let Some(overlay) = &args.overlay {
        match changes_of(&[format!("@{overlay}")]) {
            Ok(found) => changes.extend(found),
            Err(error) => {
                report(std::slice::from_ref(&error));
                return 2;
            }
        }
    }
    match changes_of(&args.set) {
        Ok(found) => changes.extend(found),
        Err(error) => {
            report(std::slice::from_ref(&error));
            return 2;
        }
    }
    let imported = vksplan_import::import(&files, &changes);
    for entry in &imported.reports {
        eprintln!("vksplan import: {entry}");
        failed |= entry.error;
    }
    match model::load_value(&imported.document) {
        Ok(inventory) => eprintln!(
            "vksplan import: a valid topology of {} host(s) and {} VM(s)",
            inventory.hosts.len(),
            inventory.vms.len()
        ),
        Err(invalid) => {
            eprintln!(
                "vksplan import: the topology still needs {} thing(s):",
                invalid.errors.len()
            );
            report(&invalid.errors);
            failed = true;
        }
    }
    let text = serde_json::to_string_pretty(&imported.document).unwrap_or_default() + "\n";
    let written = match &args.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|error| format!("cannot write `{path}`: {error}"))
        }
        None => write_stdout(&text),
    };
    self::written(written, if failed { 2 } else { 0 })
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

/// Writes a document to stdout; a failed write (a full disk, a closed pipe) is an error.
fn print_json(value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
    write_stdout(&format!("{text}\n"))
}

fn write_stdout(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| format!("cannot write the output: {error}"))
}

/// The exit code once the output is written: 3 when it could not be.
fn written(result: Result<(), String>, code: i32) -> i32 {
    match result {
        Ok(()) => code,
        Err(error) => {
            eprintln!("vksplan: {error}");
            3
        }
    }
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
            return written(
                print_json(&serde_json::json!({ "status": "invalid", "diagnosis": [error] })),
                2,
            );
        }
    };
    match model::load_bytes(&bytes) {
        Ok(inventory) => {
            eprintln!(
                "`{input}` is valid: {} host(s), {} VM(s)",
                inventory.hosts.len(),
                inventory.vms.len()
            );
            written(
                print_json(
                    &serde_json::json!({ "status": "valid", "summary": inventory.summary() }),
                ),
                0,
            )
        }
        Err(invalid) => {
            eprintln!("`{input}` has {} error(s):", invalid.errors.len());
            report(&invalid.errors);
            written(
                print_json(
                    &serde_json::json!({ "status": "invalid", "diagnosis": invalid.errors }),
                ),
                2,
            )
        }
    }
}

/// Parses `--what-if` arguments: `PATH=VALUE` or `@FILE` (a JSON merge patch).
fn changes_of(arguments: &[String]) -> Result<Vec<model::document::what_if::Change>, Diagnostic> {
    arguments
        .iter()
        .map(|argument| match argument.strip_prefix('@') {
            Some(file) => {
                let bytes = read_input(file)?;
                serde_json::from_slice(&bytes)
                    .map(model::document::what_if::Change::MergePatch)
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
            None => model::document::what_if::Change::parse_assignment(argument),
        })
        .collect()
}

/// The plan of the input (with its `--what-if` changes), and the input's bytes.
fn plan_with_changes(
    input: &str,
    options: &Options,
    what_if: &[String],
) -> Result<(Plan, Vec<u8>), String> {
    let bytes = match read_input(input) {
        Ok(bytes) => bytes,
        Err(error) => {
            return Ok((
                Plan::without_placement(Status::Invalid, vec![error]),
                Vec::new(),
            ))
        }
    };
    let plan = if what_if.is_empty() {
        vksplan::plan_bytes(&bytes, options).map_err(|error| error.to_string())?
    } else {
        match changes_of(what_if) {
            Ok(changes) => vksplan::plan_what_if(&bytes, &changes, options)
                .map_err(|error| error.to_string())?,
            Err(error) => Plan::without_placement(Status::Invalid, vec![error]),
        }
    };
    Ok((plan, bytes))
}

/// The validated platform a plan was made for: the document with its `--what-if` changes
/// (`None` when it is invalid; the report then shows the diagnosis only).
fn planned_inventory(bytes: &[u8], what_if: &[String]) -> Option<model::Inventory> {
    let (inventory, value) = model::load_document(bytes).ok()?;
    if what_if.is_empty() {
        return Some(inventory);
    }
    let changes = changes_of(what_if).ok()?;
    let changed = model::document::what_if::apply(&value, &changes).ok()?;
    model::load_value(&changed).ok()
}

fn plan(input: &str, format: Format, options: &Options, what_if: &[String]) -> i32 {
    let (plan, bytes) =
        match progress::while_planning(|| plan_with_changes(input, options, what_if)) {
            Ok(planned) => planned,
            Err(error) => {
                eprintln!("vksplan: {error}");
                return 3;
            }
        };
    report(&plan.diagnosis);
    let result = match format {
        Format::Json => print_json(&plan),
        Format::Text => write_stdout(&vksplan::solver::render_text(&plan)),
        Format::Html => {
            let inventory = planned_inventory(&bytes, what_if);
            let value: serde_json::Value =
                serde_json::from_str(&plan.to_json()).unwrap_or_default();
            write_stdout(&report::render(inventory.as_ref(), &value))
        }
    };
    written(result, vksplan::exit_code(&plan))
}

/// `vksplan report`: the HTML page of a plan document made earlier, for its topology (the
/// changed one, for a plan made with `--what-if`). Exit 0 once the page is written, 2 when an
/// input is unusable or the plan does not belong to the topology.
fn report_page(plan_path: &str, topology: &str) -> i32 {
    if plan_path == "-" && topology == "-" {
        eprintln!("vksplan: the plan and the topology cannot both come from stdin");
        return 2;
    }
    let plan: serde_json::Value = match read_input(plan_path).and_then(|bytes| {
        serde_json::from_slice(&bytes).map_err(|error| {
            Diagnostic::input(
                "$",
                plan_path,
                "bad_json",
                format!("`{plan_path}` is not a plan document: {error}"),
                "give the JSON that `vksplan plan` printed",
            )
        })
    }) {
        Ok(plan) => plan,
        Err(error) => {
            report(std::slice::from_ref(&error));
            return 2;
        }
    };
    if !plan.is_object() || plan.get("status").and_then(|s| s.as_str()).is_none() {
        eprintln!("vksplan: `{plan_path}` is not a plan document (no `status`)");
        return 2;
    }
    let inventory = match read_input(topology) {
        Err(error) => {
            report(std::slice::from_ref(&error));
            return 2;
        }
        Ok(bytes) => match model::load_document(&bytes) {
            Ok((inventory, _)) => inventory,
            Err(invalid) => {
                eprintln!("vksplan: the topology `{topology}` is invalid:");
                report(&invalid.errors);
                return 2;
            }
        },
    };
    if let Some(name) = report::foreign_name(&inventory, &plan) {
        eprintln!(
            "vksplan: the plan `{plan_path}` places {name}, which the topology `{topology}` does not have: give the topology the plan was made from (with its --what-if changes applied)"
        );
        return 2;
    }
    written(write_stdout(&report::render(Some(&inventory), &plan)), 0)
}
