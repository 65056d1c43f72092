//! Admission, as step 1 of the objective and the admission columns of the MIP state it: units
//! without priority admitted; an admitted unit placed whole and a rejected one absent; the
//! Supervisor always placed.

use super::Assignment;
use vksplan_model::inventory::GroupKind;
use vksplan_model::{Constraint, Diagnostic, Inventory, Layer, UnitId};

/// Admission of every unit against the VMs the assignment places.
pub(super) fn check(
    inventory: &Inventory,
    assignment: &Assignment,
    violations: &mut Vec<Diagnostic>,
) {
    for (unit_index, unit) in inventory.admission_units.iter().enumerate() {
        let admitted = assignment.admitted[UnitId::new(unit_index)];
        if !admitted && unit.priority.is_none() {
            violations.push(Diagnostic::new(
                Layer::Cluster,
                &unit.name,
                Constraint::Admission,
                format!(
                    "`{}` has no priority and must be admitted, but was rejected",
                    unit.name
                ),
                "a bug: report it",
            ));
        }
        for group in &unit.groups {
            for vm in &inventory.groups[*group].vms {
                if assignment.host_of[*vm].is_some() != admitted {
                    let state = if admitted {
                        ("not placed", "admitted")
                    } else {
                        ("placed", "rejected")
                    };
                    violations.push(Diagnostic::new(
                        Layer::Cluster,
                        &inventory.vms[*vm].name,
                        Constraint::Admission,
                        format!(
                            "VM `{}` is {} although `{}` is {}",
                            inventory.vms[*vm].name, state.0, unit.name, state.1
                        ),
                        "a unit is admitted whole or not at all",
                    ));
                }
            }
        }
    }
    for group in inventory
        .groups
        .iter()
        .filter(|g| g.kind == GroupKind::SupervisorControlPlane)
    {
        for vm in &group.vms {
            if assignment.host_of[*vm].is_none() {
                violations.push(Diagnostic::new(
                    Layer::Supervisor,
                    &inventory.vms[*vm].name,
                    Constraint::Admission,
                    format!("Supervisor VM `{}` is not placed", inventory.vms[*vm].name),
                    "the Supervisor is always admitted",
                ));
            }
        }
    }
}
