//! Namespace limits, as `mip/families/namespace_limits.rs` states them: CPU (vCPUs x
//! vcpu_mhz), memory and disk per storage policy within the namespace's limits, and in a 3-zone
//! Supervisor CPU and memory per zone within a third of them. Each violation carries the
//! `--what-if` change that would lift it.

use crate::check::accounting::Accounting;
use vksplan_model::fix::{Change, Quantity};
use vksplan_model::{Bytes, Constraint, Diagnostic, Inventory, Layer};

/// A namespace's CPU limit.
fn cpu_limit(namespace: &str) -> Quantity {
    Quantity::CpuLimit {
        namespace: namespace.to_string(),
    }
}

/// A namespace's memory limit.
fn memory_limit(namespace: &str) -> Quantity {
    Quantity::MemoryLimit {
        namespace: namespace.to_string(),
    }
}

/// Namespace limits (per zone too in a 3-zone Supervisor) and storage limits.
pub(super) fn check(
    inventory: &Inventory,
    accounting: &Accounting,
    violations: &mut Vec<Diagnostic>,
) {
    let policy = &inventory.policy;
    for (namespace, load) in inventory.namespaces.iter().zip(&accounting.namespaces) {
        let name = &namespace.name;
        let cpu_mhz = u128::from(load.vcpus) * u128::from(policy.vcpu_mhz);
        let zones = inventory
            .three_zone
            .then_some(&load.zones)
            .into_iter()
            .flatten();
        if let Some(limit) = namespace.cpu_mhz_limit {
            if cpu_mhz > u128::from(limit) {
                violations.push(
                    Diagnostic::new(
                        Layer::Namespace,
                        name,
                        Constraint::CpuLimit,
                        format!(
                        "namespace `{name}` would use {cpu_mhz} MHz; its CPU limit is {limit} MHz"
                    ),
                        "raise the limit or shrink the namespace",
                    )
                    .with_fix(Change::new(cpu_limit(name), cpu_mhz).to_string()),
                );
            }
            for (zone, (vcpus, _)) in zones.clone() {
                if 3 * u128::from(*vcpus) * u128::from(policy.vcpu_mhz) > u128::from(limit) {
                    violations.push(Diagnostic::new(Layer::Namespace, name, Constraint::CpuLimit, format!("namespace `{name}` would use more than a third of its CPU limit in zone `{}`", inventory.zones[*zone]), "spread the namespace over the zones or raise the limit").with_fix(Change::new(cpu_limit(name), 3 * u128::from(*vcpus) * u128::from(policy.vcpu_mhz)).to_string()));
                }
            }
        }
        if let Some(limit) = namespace.memory_limit {
            if load.memory > u128::from(limit.0) {
                violations.push(
                    Diagnostic::new(
                        Layer::Namespace,
                        name,
                        Constraint::MemoryLimit,
                        format!(
                            "namespace `{name}` would use {} of memory; its limit is {limit}",
                            Bytes(load.memory as u64)
                        ),
                        "raise the limit or shrink the namespace",
                    )
                    .with_fix(Change::new(memory_limit(name), load.memory).to_string()),
                );
            }
            for (zone, (_, memory)) in zones {
                if 3 * memory > u128::from(limit.0) {
                    violations.push(Diagnostic::new(Layer::Namespace, name, Constraint::MemoryLimit, format!("namespace `{name}` would use more than a third of its memory limit in zone `{}`", inventory.zones[*zone]), "spread the namespace over the zones or raise the limit").with_fix(Change::new(memory_limit(name), 3 * memory).to_string()));
                }
            }
        }
        for (policy_index, used) in &load.storage {
            if let Some(limit) = namespace.storage_limits[*policy_index] {
                if *used > u128::from(limit.0) {
                    violations.push(
                        Diagnostic::new(
                            Layer::Namespace,
                            name,
                            Constraint::StorageLimit,
                            format!(
                                "namespace `{name}` would use {} of `{}`; its limit is {limit}",
                                Bytes(*used as u64),
                                inventory.storage_policies[*policy_index].name
                            ),
                            "raise the storage limit",
                        )
                        .with_fix(
                            Change::new(
                                Quantity::StorageLimit {
                                    namespace: name.clone(),
                                    policy: inventory.storage_policies[*policy_index].name.clone(),
                                },
                                *used,
                            )
                            .to_string(),
                        ),
                    );
                }
            }
        }
    }
}
