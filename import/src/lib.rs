//! # vksplan-import
//!
//! Turns what an operator can dump with one command each into a vksplan topology document,
//! placement included: `kubectl get ... -o json|yaml` (Cluster API `Cluster` v1beta1/v1beta2,
//! `TanzuKubernetesCluster`, vm-operator `VirtualMachineClass` and `VirtualMachine`, Cluster
//! API `Machine`, `PersistentVolumeClaim`), `govc host.info -json '*'`, and the vSphere
//! Automation API's namespaces (`GET /api/vcenter/namespaces/instances/{namespace}` bodies in a
//! map by namespace name) and storage policies (`GET /api/vcenter/storage/policies`). Each file
//! is recognised by its content, JSON or YAML (multi-document too). Facts no dump holds (IP
//! pools, storage capacities, zones, the Supervisor, policy) come from `--set` and
//! `--overlay`, applied last. Nothing is dropped silently: every object not used is reported
//! with its kind, name and reason.
//!
//! ```
//! let hosts = br#"{"hostSystems": [{"name": "esx-01", "runtime": {"inMaintenanceMode": false},
//!   "summary": {"hardware": {"numCpuCores": 32, "cpuMhz": 2600, "memorySize": 549755813888}}}]}"#;
//! let imported = vksplan_import::import(&[("hosts.json".to_string(), hosts.to_vec())], &[]);
//! assert_eq!(imported.document["hosts"][0]["cpu_cores"], 32);
//! assert_eq!(imported.document["hosts"][0]["memory"], "512Gi");
//! ```
#![deny(missing_docs)]

mod build;
mod read;

pub use read::Source;

use serde_json::Value;
use vksplan_model::document::what_if::Change;

/// Something the import could not use, or could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The file it came from.
    pub file: String,
    /// The object (`Kind namespace/name`), or a position in the file.
    pub object: String,
    /// Why it was left out.
    pub reason: String,
    /// Whether the input itself is broken (unreadable, malformed): the import fails.
    pub error: bool,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.file,
            self.object,
            vksplan_model::diagnostic::escaped(&self.reason)
        )
    }
}

/// What an import made.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The topology document (changes applied).
    pub document: Value,
    /// Everything left out or unreadable.
    pub reports: Vec<Report>,
}

/// Imports `files` (name, content) and applies `changes` (`--set` assignments and `--overlay`
/// merge patches, in order) last.
pub fn import(files: &[(String, Vec<u8>)], changes: &[Change]) -> Imported {
    let mut reports = Vec::new();
    let mut sources = Vec::new();
    for (name, bytes) in files {
        match read::read(name, bytes) {
            Ok(found) => {
                let (recognised, unknown) = read::recognise(name, found);
                sources.extend(recognised);
                reports.extend(unknown);
            }
            Err(report) => reports.push(report),
        }
    }
    let (mut document, more) = build::build(&sources);
    reports.extend(more);
    match vksplan_model::document::what_if::apply(&document, changes) {
        Ok(changed) => document = changed,
        Err(errors) => reports.extend(errors.into_iter().map(|e| Report {
            file: "--set/--overlay".into(),
            object: e.path.clone().unwrap_or_default(),
            reason: e.message,
            error: true,
        })),
    }
    Imported {
        document: sorted(document),
        reports,
    }
}

/// The document with every object's keys sorted (stable output to diff and snapshot).
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
