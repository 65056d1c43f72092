//! Devices, as `mip/families/devices.rs` states them: per host, the devices of its VMs within
//! its own count.

use crate::check::accounting::Accounting;
use vksplan_model::{Constraint, Diagnostic, Inventory, Layer};

/// Devices per host.
pub(super) fn check(
    inventory: &Inventory,
    accounting: &Accounting,
    violations: &mut Vec<Diagnostic>,
) {
    for (host, load) in inventory.hosts.iter().zip(&accounting.hosts) {
        let name = &host.name;
        for (device, used) in &load.devices {
            let has = u64::from(host.device_count(device));
            if *used > has {
                violations.push(Diagnostic::new(
                    Layer::Infrastructure,
                    name,
                    Constraint::Devices,
                    format!("host `{name}` would give out {used} `{device}` but has {has}"),
                    "place device VMs on hosts with free devices",
                ));
            }
        }
    }
}
