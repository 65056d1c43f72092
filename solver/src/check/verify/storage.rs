//! Storage capacity, as `mip/families/storage.rs` states it: per storage policy, the disks of
//! every counted copy within its capacity.

use crate::check::accounting::Accounting;
use vksplan_model::fix::{Change, Quantity};
use vksplan_model::{Bytes, Constraint, Diagnostic, Inventory, Layer};

/// Storage policy capacity.
pub(super) fn check(
    inventory: &Inventory,
    accounting: &Accounting,
    violations: &mut Vec<Diagnostic>,
) {
    for (policy_spec, used) in inventory.storage_policies.iter().zip(&accounting.storage) {
        if let Some(capacity) = policy_spec.capacity {
            if *used > u128::from(capacity.0) {
                violations.push(
                    Diagnostic::new(
                        Layer::Infrastructure,
                        &policy_spec.name,
                        Constraint::StorageCapacity,
                        format!(
                            "storage policy `{}` would hold {} of {capacity}",
                            policy_spec.name,
                            Bytes(*used as u64)
                        ),
                        "add capacity",
                    )
                    .with_fix(
                        Change::new(
                            Quantity::StorageCapacity {
                                policy: policy_spec.name.clone(),
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
