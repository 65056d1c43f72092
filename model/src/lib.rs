//! # vksplan-model
//!
//! The domain of vksplan: the topology document of a vSphere Kubernetes Service platform
//! (hosts, Supervisor, vSphere Namespaces, workload clusters, VM Service VMs, rules), its
//! quantities and derived VM names, and a validation that collects every error with its JSON
//! path. It has no solver dependency.
//!
//! Its folders follow a document's way in: [`document`] is the input as written (strict JSON
//! reading, the field-by-field decoder, the types, quantities, versions, rule globs and what-if
//! changes); a private resolver checks it and expands it into an [`Inventory`]
//! ([`inventory`]: the resolved platform the solver works on). [`plan`] is the output
//! document, [`diagnostic`] the findings both sides report, and [`schema`] the JSON Schemas
//! of the two documents.
//!
//! ```
//! use vksplan_model::load;
//!
//! let document = r#"{
//!   "version": 1,
//!   "hosts": [ { "name": "esx-01", "cpu_cores": 16, "cpu_core_mhz": 2600, "memory": "256Gi" } ],
//!   "networks": [ { "name": "primary", "kind": "workload", "ips": 32 },
//!                 { "name": "vips", "kind": "load_balancer", "ips": 8 } ],
//!   "storage_policies": [ { "name": "local" } ],
//!   "namespaces": [ { "name": "lab", "vm_classes": ["best-effort-small"],
//!       "storage_policies": ["local"], "workload_network": "primary",
//!       "load_balancer_network": "vips",
//!       "clusters": [ { "name": "dev", "kubernetes_version": "v1.31.4", "disk": "20Gi",
//!           "control_plane": { "replicas": 1, "vm_class": "best-effort-small" },
//!           "node_pools": [ { "name": "workers", "replicas": 2, "vm_class": "best-effort-small" } ] } ] } ]
//! }"#;
//! let inventory = load(document).expect("a valid topology");
//! let names: Vec<&str> = inventory.vms.iter().map(|vm| vm.name.as_str()).collect();
//! assert_eq!(names, ["lab/dev/cp-1", "lab/dev/workers-1", "lab/dev/workers-2"]);
//!
//! // Mistakes are all reported at once, each with its JSON path.
//! let invalid = load(&document.replace("\"cpu_cores\"", "\"cpu_core\"").replace("v1.31.4", "1.31"))
//!     .unwrap_err();
//! assert_eq!(invalid.errors.len(), 3); // unknown field, missing cpu_cores, bad version
//! ```
#![deny(missing_docs)]

pub mod diagnostic;
pub mod document;
pub mod fix;
pub mod id;
pub mod inventory;
pub mod plan;
mod resolve;
pub mod schema;

pub use diagnostic::{Constraint, Diagnostic, Invalid, Layer};
pub use document::{Bytes, Topology};
pub use id::{GroupId, HostId, IdVec, UnitId, VmId};
pub use inventory::{Group, GroupKind, Inventory};
pub use plan::{Plan, Status};
pub use resolve::is_valid_name;

/// The most errors one validation reports: the first ones, then one entry that counts the
/// rest (a document of 500,000 mistakes would otherwise print more than it holds).
pub const MAX_REPORTED_ERRORS: usize = 1_000;

/// Parses, decodes and validates a topology document.
///
/// `Err` carries every error found: a JSON syntax error (with line and column) alone, or every
/// shape and semantic error, each with its JSON path (duplicate keys too), up to
/// [`MAX_REPORTED_ERRORS`].
pub fn load(document: &str) -> Result<Inventory, Invalid> {
    load_bytes(document.as_bytes())
}

/// Like [`load`], from raw bytes (a file's content: invalid UTF-8 is a syntax error; a UTF-8
/// byte-order mark is skipped; documents over [`document::MAX_DOCUMENT_BYTES`] are refused).
pub fn load_bytes(document: &[u8]) -> Result<Inventory, Invalid> {
    load_document(document).map(|(inventory, _)| inventory)
}

/// Like [`load_bytes`], with the parsed document too (what `--what-if` and the fix search
/// change), so that nothing parses the bytes twice.
pub fn load_document(document: &[u8]) -> Result<(Inventory, serde_json::Value), Invalid> {
    let value = parse_document(document)?;
    let inventory = load_value(&value)?;
    Ok((inventory, value))
}

/// Parses a document strictly: a UTF-8 byte-order mark is skipped, documents over
/// [`document::MAX_DOCUMENT_BYTES`] are refused, and duplicate keys are errors, together with
/// whatever else the document gets wrong.
pub fn parse_document(document: &[u8]) -> Result<serde_json::Value, Invalid> {
    let (value, duplicates) = document::parse(document).map_err(|error| Invalid {
        errors: vec![error],
    })?;
    if duplicates.is_empty() {
        return Ok(value);
    }
    let mut errors = duplicates;
    if let Err(invalid) = load_value(&value) {
        errors.extend(invalid.errors);
    }
    Err(capped(errors))
}

/// Decodes and validates an already parsed document.
pub fn load_value(value: &serde_json::Value) -> Result<Inventory, Invalid> {
    let mut errors = document::Errors::default();
    let topology = document::decode_topology(value, &mut errors);
    resolve::resolve(&topology, errors).map_err(capped)
}

/// At most [`MAX_REPORTED_ERRORS`] errors, the last one saying how many more there were.
fn capped(mut errors: Vec<Diagnostic>) -> Invalid {
    if errors.len() > MAX_REPORTED_ERRORS {
        let more = errors.len() - MAX_REPORTED_ERRORS;
        errors.truncate(MAX_REPORTED_ERRORS);
        errors.push(Diagnostic::input(
            "$",
            "",
            "too_many_errors",
            format!("{more} more error(s) not listed"),
            "fix the errors above and validate again",
        ));
    }
    Invalid { errors }
}
