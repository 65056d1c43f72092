//! IP address pools, as `mip/families/networks.rs` states them: the addresses each network
//! gives out within its pool.

use crate::check::accounting::Accounting;
use vksplan_model::fix::{Change, Quantity};
use vksplan_model::{Constraint, Diagnostic, Inventory};

/// Addresses per network.
pub(super) fn check(
    inventory: &Inventory,
    accounting: &Accounting,
    violations: &mut Vec<Diagnostic>,
) {
    // IP addresses: the management network and the Supervisor's own workload addresses are the
    // Supervisor's; namespace networks the namespaces'.
    for (network_index, (network, used)) in inventory
        .networks
        .iter()
        .zip(&accounting.network_ips)
        .enumerate()
    {
        if *used > u64::from(network.ips) {
            let layer = inventory.network_layer(network_index);
            violations.push(
                Diagnostic::new(
                    layer,
                    &network.name,
                    Constraint::IpAddresses,
                    format!(
                        "network `{}` would need {used} addresses but has {}",
                        network.name, network.ips
                    ),
                    "add addresses to the pool",
                )
                .with_fix(
                    Change::new(
                        Quantity::Addresses {
                            network: network.name.clone(),
                        },
                        *used,
                    )
                    .to_string(),
                ),
            );
        }
    }
}
