//! The catalog sections: `vm_classes` (merged over the default classes), `storage_policies`
//! and `networks`.

use super::{Names, Resolver};
use crate::document::{NetworkKind, Path};
use crate::inventory::{default_classes, ClassSpec};

/// What workloads refer to by name: VM classes, storage policies and networks.
pub(super) struct Catalog {
    /// The default VM classes, overridden or extended by the document's.
    pub(super) classes: Vec<ClassSpec>,
    /// Name -> index into `classes`.
    pub(super) class_names: Names,
    /// Name -> index into the document's storage policies.
    pub(super) policy_names: Names,
    /// Name -> index into the document's networks.
    pub(super) network_names: Names,
}

impl Resolver<'_> {
    /// Checks the names of the VM classes, storage policies and networks, and merges the
    /// document's VM classes over the default ones.
    pub(super) fn catalog(&mut self) -> Catalog {
        let t = self.t;
        let class_path = self.root.key("vm_classes");
        // Duplicate and name checks only: user classes are looked up through the merged table.
        self.names(
            "VM class",
            t.vm_classes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.as_str(), class_path.index(i).key("name"))),
        );
        let classes = self.classes();
        let class_names = Names(
            classes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i))
                .collect(),
        );
        let policy_path = self.root.key("storage_policies");
        let policy_names = self.names(
            "storage policy",
            t.storage_policies
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.as_str(), policy_path.index(i).key("name"))),
        );
        let network_path = self.root.key("networks");
        let network_names = self.names(
            "network",
            t.networks
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.as_str(), network_path.index(i).key("name"))),
        );
        Catalog {
            classes,
            class_names,
            policy_names,
            network_names,
        }
    }

    /// The default VM classes with the document's merged over them (same name: replaced;
    /// new: appended), then the check of the document's device names.
    fn classes(&mut self) -> Vec<ClassSpec> {
        let t = self.t;
        let mut classes = default_classes();
        for class in &t.vm_classes {
            let mut devices = class.devices.clone();
            devices.sort();
            let spec = ClassSpec {
                name: class.name.clone(),
                cpus: class.cpus,
                memory: class.memory,
                reserved: class.reserved,
                devices,
            };
            match classes.iter_mut().find(|c| c.name == class.name) {
                Some(existing) => *existing = spec,
                None => classes.push(spec),
            }
        }
        for (i, class) in t.vm_classes.iter().enumerate() {
            let class_path = self.root.key("vm_classes").index(i);
            for (device, _) in &class.devices {
                self.check_name("device", device, &class_path.key("devices").key(device));
            }
        }
        classes
    }

    /// Looks network `name` up; an error when it is not of `kind`.
    pub(super) fn network_of_kind(
        &mut self,
        catalog: &Catalog,
        name: &str,
        kind: NetworkKind,
        path: &Path,
        subject: &str,
    ) -> Option<usize> {
        let index = self.reference(&catalog.network_names, "network", name, path, subject)?;
        let actual = self.t.networks[index].kind;
        if actual != kind {
            self.error(
                path,
                subject,
                "wrong_network_kind",
                format!(
                    "network `{name}` is {}, but `{path}` needs {}",
                    actual.described(),
                    kind.described()
                ),
                format!(
                    "name {} here or change the `kind` of `{name}`",
                    kind.described()
                ),
            );
        }
        Some(index)
    }
}
