//! Semantic validation: resolves every reference of a decoded [`Topology`] into an
//! [`Inventory`], collecting every error with its JSON path.
//!
//! One file per section of the document, resolved in the document's order (so that errors
//! come out in that order): `hosts` (and their zones), `policy`, `classes` (VM classes,
//! storage policies, networks), `supervisor`, `namespaces` (their clusters and pools in
//! `clusters`), `rules`, `placement` (the current placement) and `upgrade`. What a later
//! section needs from an earlier one (name tables, zones, the groups and VM slots) is passed
//! to it; the errors collect in the [`Resolver`].

mod classes;
mod clusters;
mod hosts;
mod namespaces;
mod placement;
mod policy;
mod rules;
mod supervisor;
mod upgrade;

use crate::document::{Errors, Path, Topology};
use crate::id::{GroupId, IdVec, UnitId, VmId};
use crate::inventory::*;
use std::collections::HashMap;

/// Whether `name` is a valid name: `[a-z0-9]([-a-z0-9.]*[a-z0-9])?`, at most 253 characters.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 253
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || *b == b'-' || *b == b'.')
}

/// One validation in progress: the decoded document and every error found so far (those of
/// decoding first). Each section of the document is resolved by a method of its own.
struct Resolver<'t> {
    /// The decoded document.
    t: &'t Topology,
    /// The document root, where every error path starts.
    root: Path,
    /// The errors, in the order found.
    errors: Errors,
}

/// A name table of one kind: name -> index, with duplicate detection.
struct Names(HashMap<String, usize>);

/// What the Supervisor and the namespaces expand to, in document order: the groups and their
/// VM slots, and the namespaces, clusters and admission units they belong to.
#[derive(Default)]
struct Workloads {
    /// Every group (Supervisor control plane, cluster control planes and pools, Service VMs).
    groups: IdVec<GroupId, Group>,
    /// Every VM slot, group by group.
    vms: IdVec<VmId, VmSlot>,
    /// Every namespace.
    namespaces: Vec<NamespaceSpec>,
    /// Every workload cluster.
    clusters: Vec<ClusterSpec>,
    /// One unit per cluster and per Service VM: what is admitted or not as a whole.
    admission_units: IdVec<UnitId, AdmissionUnit>,
}

impl Workloads {
    /// Adds `group` with one new VM slot per name (its `vms` are set to those slots); returns
    /// the group's id.
    fn add_group(&mut self, mut group: Group, vm_names: Vec<String>) -> GroupId {
        let index = GroupId::new(self.groups.len());
        group.vms = (self.vms.len()..self.vms.len() + vm_names.len())
            .map(VmId::new)
            .collect();
        self.groups.push(group);
        for name in vm_names {
            self.vms.push(VmSlot { name, group: index });
        }
        index
    }
}

/// The names of `replicas` VMs of a group: `STEM-1` to `STEM-N`.
fn numbered(stem: &str, replicas: usize) -> Vec<String> {
    (1..=replicas).map(|n| format!("{stem}-{n}")).collect()
}

impl Resolver<'_> {
    /// Records an error at `path`.
    fn error(
        &mut self,
        path: &Path,
        subject: &str,
        constraint: &str,
        message: String,
        hint: String,
    ) {
        self.errors.push(path, subject, constraint, message, hint);
    }

    /// Checks the name pattern and uniqueness of a list of names of one kind.
    fn names<'a>(&mut self, kind: &str, items: impl Iterator<Item = (&'a str, Path)>) -> Names {
        let mut table = HashMap::new();
        for (index, (name, path)) in items.enumerate() {
            self.check_name(kind, name, &path);
            // The first definition wins for references; later ones are errors.
            if table.contains_key(name) {
                self.error(
                    &path,
                    name,
                    "duplicate_name",
                    format!("{kind} `{name}` is defined twice"),
                    format!("give each {kind} its own name"),
                );
            } else {
                table.insert(name.to_string(), index);
            }
        }
        Names(table)
    }

    /// Checks that `name`, of a `kind` of thing, is a valid name.
    fn check_name(&mut self, kind: &str, name: &str, path: &Path) {
        if !is_valid_name(name) {
            self.error(
                path,
                name,
                "bad_name",
                format!("{kind} name `{name}` is not a valid name"),
                "use lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit".into(),
            );
        }
    }

    /// Looks `name` up in `names`; an error when it is not there, listing some that are.
    fn reference(
        &mut self,
        names: &Names,
        kind: &str,
        name: &str,
        path: &Path,
        subject: &str,
    ) -> Option<usize> {
        let found = names.0.get(name).copied();
        if found.is_none() {
            let mut known: Vec<&str> = names.0.keys().map(String::as_str).collect();
            known.sort_unstable();
            known.truncate(8);
            self.error(
                path,
                subject,
                "unknown_reference",
                format!("{kind} `{name}` does not exist"),
                if known.is_empty() {
                    format!("define {kind} `{name}` first")
                } else {
                    format!(
                        "use one of the defined names ({}) or define `{name}`",
                        known.join(", ")
                    )
                },
            );
        }
        found
    }
}

/// Validates and expands a decoded topology. `Err` carries every error found.
pub(crate) fn resolve(
    topology: &Topology,
    errors: Errors,
) -> Result<Inventory, Vec<crate::Diagnostic>> {
    let mut r = Resolver {
        t: topology,
        root: Path::root(),
        errors,
    };
    let (host_names, zones) = r.hosts();
    let policy = r.policy();
    let hosts = r.host_specs(&zones, &policy);
    let catalog = r.catalog();
    let mut workloads = Workloads::default();
    let supervisor = r.supervisor(&zones, &catalog, &mut workloads);
    if r.too_many_vms() {
        return Err(r.errors.0);
    }
    let supervisor_networks = supervisor.as_ref().map(|s| s.networks);
    r.namespaces(&zones, &catalog, supervisor_networks, &mut workloads);
    let rules = r.rules(workloads.vms.raw(), &hosts);
    let placement = r.placement(workloads.vms.raw(), &host_names);
    let upgrade = r.upgrade(&workloads.clusters, &host_names);
    if !r.errors.0.is_empty() {
        return Err(r.errors.0);
    }
    let group_units = workloads
        .groups
        .ids()
        .map(|group| {
            workloads
                .admission_units
                .position(|unit| unit.groups.contains(&group))
        })
        .collect();
    let cluster_units = workloads
        .clusters
        .iter()
        .map(|cluster| {
            workloads
                .admission_units
                .position(|unit| unit.name == cluster.name)
        })
        .collect();
    Ok(Inventory {
        policy,
        zones: zones.all,
        three_zone: zones.three_zone,
        hosts: hosts.into(),
        classes: catalog.classes,
        storage_policies: topology.storage_policies.clone(),
        networks: topology.networks.clone(),
        supervisor,
        namespaces: workloads.namespaces,
        clusters: workloads.clusters,
        groups: workloads.groups,
        vms: workloads.vms,
        admission_units: workloads.admission_units,
        rules,
        placement,
        upgrade,
        group_units,
        cluster_units,
    })
}

#[cfg(test)]
mod tests {
    use super::is_valid_name;

    #[test]
    fn names_follow_the_pattern() {
        for good in ["a", "esx-01", "team-a", "v1.2", "0"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "team_a", "a/b", "a b", ".a"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
