//! HA admission, as `mip/families/ha_admission.rs` states it (percentage policy): with `k`
//! host failures to tolerate, the reserved vCPUs and memory of counted copies within
//! `(1 - k / h)` of the cores and memory of the `h` hosts in service.

use super::Alive;
use crate::check::accounting::Accounting;
use vksplan_model::{Bytes, Constraint, Diagnostic, Inventory, Layer};

/// HA admission over the hosts in service.
pub(super) fn check(
    inventory: &Inventory,
    alive: Alive,
    accounting: &Accounting,
    violations: &mut Vec<Diagnostic>,
) {
    let policy = &inventory.policy;
    let k = u128::from(policy.host_failures_to_tolerate);
    if k > 0 {
        let (h, cores, memory) = inventory.in_service(alive.maintenance);
        let (reserved_vcpus, reserved_memory) = accounting.reserved;
        let over = |reserved: u128, total: u128| {
            reserved > 0 && (h <= k || reserved * h > (h - k) * total)
        };
        if over(reserved_vcpus, cores) {
            violations.push(Diagnostic::new(Layer::Infrastructure, "hosts", Constraint::HaAdmission, format!("reserved vCPUs ({reserved_vcpus}) would exceed the (1 - {k}/{h}) of the {cores} cores of the {h} host(s) in service that HA admission allows"), "add hosts or reserve less"));
        }
        if over(reserved_memory, memory) {
            violations.push(Diagnostic::new(Layer::Infrastructure, "hosts", Constraint::HaAdmission, format!("reserved memory ({}) would exceed the (1 - {k}/{h}) of {} that HA admission allows", Bytes(reserved_memory as u64), Bytes(memory as u64)), "add hosts or reserve less"));
        }
    }
}
