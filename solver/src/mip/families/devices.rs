//! Devices (vGPU profiles, NICs...): per host, the devices of its VMs within its own count.

use crate::mip::{Compiler, Family, FamilyStats, Owner};
use good_lp::Expression;
use std::collections::BTreeMap;
use vksplan_model::HostId;
use vksplan_model::{Constraint, Layer};

/// Device counts per host.
pub struct Devices;

impl Family for Devices {
    fn name(&self) -> &'static str {
        "devices"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let mut stats = FamilyStats::default();
        for host_index in 0..compiler.inventory.hosts.len() {
            let mut demand: BTreeMap<&str, Expression> = BTreeMap::new();
            for (block, count) in &compiler.by_host[host_index] {
                let group = &compiler.inventory.groups[compiler.blocks[*block].group];
                for (device, per_vm) in &group.devices {
                    *demand.entry(device.as_str()).or_default() += *count * f64::from(*per_vm);
                }
            }
            let host = &compiler.inventory.hosts[HostId::new(host_index)];
            let rows: Vec<_> = demand
                .into_iter()
                .map(|(device, used)| used.leq(f64::from(host.device_count(device))))
                .collect();
            stats.rows += rows.len();
            let owner = Owner::new(Layer::Infrastructure, &host.name, Constraint::Devices);
            for row in rows {
                compiler.row(owner.clone(), row);
            }
        }
        stats
    }
}
