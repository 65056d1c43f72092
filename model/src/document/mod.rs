//! The input document: a topology as its author wrote it, before any name is resolved.
//!
//! - `json`: reading the bytes strictly (a byte-order mark skipped, a size cap, every
//!   duplicate key an error with its path);
//! - `decode`: the small decoder over a `serde_json::Value` that walks the document field by
//!   field and collects every error with its JSON path instead of stopping at the first;
//! - `topology`: the document's types ([`Topology`] and its sections), decoded with it;
//! - `quantity` and `version`: its scalar values, memory and storage quantities ([`Bytes`])
//!   and Kubernetes versions ([`Version`]);
//! - `glob`: the patterns its rules select VMs and hosts with;
//! - [`what_if`]: the changes `--what-if` and the fix search make to a document ([`what_if::Change`]),
//!   on the JSON itself, so that a changed document is read like any other.
//!
//! What it means (references resolved, VM slots derived) is the resolver's, into an
//! [`Inventory`](crate::Inventory). The modules are private; what the crate offers is
//! re-exported here.

mod decode;
mod glob;
mod json;
mod quantity;
mod topology;
mod version;
pub mod what_if;

pub use glob::Glob;
pub use json::MAX_DOCUMENT_BYTES;
pub use quantity::{mib_value, serialize_mib, serialize_opt_mib, Bytes, MAX_BYTES, MIB};
pub use topology::{
    Cluster, Host, Namespace, Network, NetworkKind, NodePool, ObjectiveKind, Policy, Rule,
    RuleKind, ServiceVm, StoragePolicy, Supervisor, SupervisorSize, Topology, Upgrade, VmClass,
};
pub use version::Version;

pub(crate) use decode::{Errors, Path};
pub(crate) use json::parse;
pub(crate) use topology::decode as decode_topology;
