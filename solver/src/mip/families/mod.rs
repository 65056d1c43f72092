//! One file per accounting rule of docs/accounting.md; [`all`] lists them in emission order.
//! Domain restrictions (maintenance hosts, node-pool zones, hard `vm_host` rules) are applied
//! when the count columns are created (see `Compiler::allowed`).

mod anti_affinity;
mod capacity;
mod devices;
mod ha_admission;
mod namespace_limits;
mod networks;
mod objective;
mod rules;
mod storage;
mod symmetry;

use super::Family;

/// Every family, in the order they are emitted. The objective family comes last.
pub fn all() -> Vec<Box<dyn Family>> {
    let mut all = constraints();
    all.push(Box::new(objective::Objective));
    all
}

/// The families that state what a valid placement is (every family but the objective's).
pub fn constraints() -> Vec<Box<dyn Family>> {
    vec![
        Box::new(capacity::HostCapacity),
        Box::new(devices::Devices),
        Box::new(ha_admission::HaAdmission),
        Box::new(anti_affinity::AntiAffinity),
        Box::new(namespace_limits::NamespaceLimits),
        Box::new(storage::StorageCapacity),
        Box::new(networks::IpAddresses),
        Box::new(rules::DrsRules),
        Box::new(symmetry::Symmetry),
    ]
}

/// Names of the families that can be switched off (tests), including the domain ones.
pub const SWITCHABLE: [&str; 11] = [
    "host_capacity",
    "devices",
    "ha_admission",
    "anti_affinity",
    "namespace_limits",
    "storage_capacity",
    "ip_addresses",
    "rules",
    "maintenance",
    "zone_pinning",
    "storage_limits",
];
