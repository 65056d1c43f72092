//! Host capacity, as `mip/families/capacity.rs` states it, and maintenance: a host in
//! maintenance holds no VM.

use super::Alive;
use crate::check::accounting::Accounting;
use vksplan_model::{Bytes, Constraint, Diagnostic, Inventory, Layer};

/// Maintenance and host capacity: reserved vCPUs and memory within the physical cores and
/// memory, all vCPUs and memory within the overcommitted limits.
pub(super) fn check(
    inventory: &Inventory,
    alive: Alive,
    accounting: &Accounting,
    violations: &mut Vec<Diagnostic>,
) {
    let policy = &inventory.policy;
    for (host_index, (host, load)) in inventory.hosts.iter().zip(&accounting.hosts).enumerate() {
        let name = &host.name;
        if alive.maintenance[host_index] && load.vms > 0 {
            violations.push(Diagnostic::new(
                Layer::Infrastructure,
                name,
                Constraint::Maintenance,
                format!(
                    "host `{name}` is in maintenance but holds {} VM(s)",
                    load.vms
                ),
                "move the VMs off the host",
            ));
        }
        if load.vcpus as f64 > f64::from(host.cpu_cores) * policy.cpu_overcommit + 1e-9 {
            violations.push(Diagnostic::new(
                Layer::Infrastructure,
                name,
                Constraint::HostVcpus,
                format!(
                    "host `{name}` would run {} vCPUs; {} cores x {} overcommit allow {}",
                    load.vcpus, host.cpu_cores, policy.cpu_overcommit, host.vcpu_limit
                ),
                "move VMs, add hosts or raise cpu_overcommit",
            ));
        }
        if load.memory as f64 > host.memory.0 as f64 * policy.memory_overcommit * (1.0 + 1e-12) {
            violations.push(Diagnostic::new(
                Layer::Infrastructure,
                name,
                Constraint::HostMemory,
                format!(
                    "host `{name}` would run {} of memory; it has {} x {} overcommit",
                    Bytes(load.memory as u64),
                    host.memory,
                    policy.memory_overcommit
                ),
                "move VMs, add hosts or add memory",
            ));
        }
        if load.reserved_vcpus > u64::from(host.cpu_cores) {
            violations.push(Diagnostic::new(
                Layer::Infrastructure,
                name,
                Constraint::HostReservedVcpus,
                format!(
                    "host `{name}` would reserve {} vCPUs on {} cores",
                    load.reserved_vcpus, host.cpu_cores
                ),
                "reserved vCPUs cannot be overcommitted: add hosts",
            ));
        }
        if load.reserved_memory > u128::from(host.memory.0) {
            violations.push(Diagnostic::new(
                Layer::Infrastructure,
                name,
                Constraint::HostReservedMemory,
                format!(
                    "host `{name}` would reserve {} of {} memory",
                    Bytes(load.reserved_memory as u64),
                    host.memory
                ),
                "reserved memory cannot be overcommitted: add hosts",
            ));
        }
    }
}
