//! The objective values of docs/output-and-upgrades.md, as `mip/families/objective.rs` states
//! them: migrations, the highest host utilisation, hosts used and their cost, and the spread of
//! the node pools.

use super::Assignment;
use crate::check::accounting::Accounting;
use std::collections::BTreeMap;
use vksplan_model::inventory::GroupKind;
use vksplan_model::Inventory;

/// The objective values of a placement.
pub(super) struct Values {
    /// Admitted VMs of `placement` whose host changed.
    pub migrations: u32,
    /// Highest host utilisation.
    pub max_utilization: f64,
    /// Hosts holding at least one VM.
    pub hosts_used: u32,
    /// Their total cost.
    pub cost: f64,
    /// Sum over node pools of the largest number of one pool's VMs on a host.
    pub spread: u32,
}

/// Computes the objective values of `assignment` from its accounting.
pub(super) fn values(
    inventory: &Inventory,
    assignment: &Assignment,
    accounting: &Accounting,
) -> Values {
    let mut migrations = 0;
    for (vm, host) in &inventory.placement {
        if let Some(now) = assignment.host_of[*vm] {
            migrations += u32::from(now != *host);
        }
    }
    let mut max_utilization: f64 = 0.0;
    let (mut hosts_used, mut cost) = (0, 0.0);
    for (host, load) in inventory.hosts.iter().zip(&accounting.hosts) {
        // Allowed = whole vCPUs and bytes: the floors of cores x overcommit and memory x
        // overcommit, as `usage.hosts.*_limit` reports them.
        if load.vms > 0 {
            hosts_used += 1;
            cost += host.cost;
            let cpu = load.vcpus as f64 / host.vcpu_limit.max(1) as f64;
            let memory = load.memory as f64 / host.memory_limit.0.max(1) as f64;
            max_utilization = max_utilization.max(cpu).max(memory);
        }
    }
    let mut spread = 0;
    for group in inventory
        .groups
        .iter()
        .filter(|g| matches!(g.kind, GroupKind::NodePool { .. }))
    {
        let mut per_host: BTreeMap<usize, u32> = BTreeMap::new();
        for vm in &group.vms {
            if let Some(host) = assignment.host_of[*vm] {
                *per_host.entry(host.index()).or_insert(0) += 1;
            }
        }
        spread += per_host.values().copied().max().unwrap_or(0);
    }
    Values {
        migrations,
        max_utilization,
        hosts_used,
        cost,
        spread,
    }
}
