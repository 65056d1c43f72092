//! The `hosts` section: the host list, host names, devices and zones.

use super::{Names, Resolver};
use crate::document::Bytes;
use crate::inventory::{EffectivePolicy, HostSpec};

/// The zones of the platform.
pub(super) struct Zones {
    /// Every zone: the Supervisor's, then those only hosts name, in order of first mention.
    pub(super) all: Vec<String>,
    /// The Supervisor's zones (`supervisor.zones`; empty for a 1-zone Supervisor or none).
    pub(super) supervisor: Vec<String>,
    /// Whether the Supervisor spans zones (lists any).
    pub(super) three_zone: bool,
}

impl Zones {
    /// The index of `zone` among all zones.
    pub(super) fn index(&self, zone: &str) -> Option<usize> {
        self.all.iter().position(|z| z == zone)
    }
}

impl Resolver<'_> {
    /// Checks the host list (not empty, not too long), the host names, and each host's
    /// devices and zone; returns the host name table and the zones.
    pub(super) fn hosts(&mut self) -> (Names, Zones) {
        self.host_count();
        let t = self.t;
        let host_path = self.root.key("hosts");
        let host_names = self.names(
            "host",
            t.hosts
                .iter()
                .enumerate()
                .map(|(i, h)| (h.name.as_str(), host_path.index(i).key("name"))),
        );
        let zones = zones(t);
        self.host_devices_and_zones(&zones);
        (host_names, zones)
    }

    /// Checks that there is at least one host (unless the host list itself failed to decode)
    /// and at most 10,000.
    fn host_count(&mut self) {
        let t = self.t;
        let root_failed = self
            .errors
            .0
            .iter()
            .any(|e| e.path.as_deref() == Some("$") || e.path.as_deref() == Some("hosts"));
        if t.hosts.is_empty() && !root_failed {
            self.error(
                &self.root.key("hosts"),
                "",
                "empty",
                "the topology lists no host".into(),
                "add at least one host".into(),
            );
        }
        if t.hosts.len() > 10_000 {
            self.error(
                &self.root.key("hosts"),
                "",
                "too_large",
                format!(
                    "{} hosts is more than the 10,000 vksplan accepts",
                    t.hosts.len()
                ),
                "split the topology by vSphere cluster".into(),
            );
        }
    }

    /// Checks each host's device names and zone: a valid name, one of the Supervisor's
    /// zones when it spans zones, and present then.
    fn host_devices_and_zones(&mut self, zones: &Zones) {
        let t = self.t;
        let supervisor_zones = &zones.supervisor;
        for (i, host) in t.hosts.iter().enumerate() {
            let host_path = self.root.key("hosts").index(i);
            for (device, _) in &host.devices {
                self.check_name("device", device, &host_path.key("devices").key(device));
            }
            if let Some(zone) = &host.zone {
                self.check_name("zone", zone, &host_path.key("zone"));
                if zones.three_zone && !supervisor_zones.contains(zone) {
                    self.error(&host_path.key("zone"), &host.name, "unknown_reference", format!("host `{}` is in zone `{zone}`, which is not one of the Supervisor's zones ({})", host.name, supervisor_zones.join(", ")), "put the host in one of the Supervisor's zones or add the zone to `supervisor.zones`".into());
                }
            } else if zones.three_zone {
                self.error(
                    &host_path,
                    &host.name,
                    "missing_field",
                    format!(
                        "host `{}` names no zone, but the Supervisor spans 3 zones",
                        host.name
                    ),
                    format!(
                        "add `\"zone\"` (one of {}) to the host",
                        supervisor_zones.join(", ")
                    ),
                );
            }
        }
    }

    /// The hosts as the solver sees them: zone indices, sorted devices, and the vCPU and
    /// memory limits under the policy's overcommit.
    pub(super) fn host_specs(&self, zones: &Zones, policy: &EffectivePolicy) -> Vec<HostSpec> {
        self.t
            .hosts
            .iter()
            .map(|h| {
                let mut devices = h.devices.clone();
                devices.sort();
                HostSpec {
                    name: h.name.clone(),
                    zone: h.zone.as_deref().and_then(|zone| zones.index(zone)),
                    cpu_cores: h.cpu_cores,
                    cpu_core_mhz: h.cpu_core_mhz,
                    memory: h.memory,
                    // A tiny epsilon so that 32 * 1.1 = 35.2 floors to 35, not to 35.19999 -> 35.
                    vcpu_limit: (f64::from(h.cpu_cores) * policy.cpu_overcommit + 1e-9).floor()
                        as u64,
                    memory_limit: Bytes(
                        (h.memory.0 as f64 * policy.memory_overcommit + 1e-6).floor() as u64,
                    ),
                    devices,
                    cost: h.cost,
                    maintenance: h.maintenance,
                }
            })
            .collect()
    }
}

/// The zones: the Supervisor's, then any other a host names.
fn zones(t: &crate::document::Topology) -> Zones {
    let supervisor: Vec<String> = t
        .supervisor
        .as_ref()
        .map(|s| s.zones.clone())
        .unwrap_or_default();
    let mut all = supervisor.clone();
    for host in &t.hosts {
        if let Some(zone) = &host.zone {
            if !all.contains(zone) {
                all.push(zone.clone());
            }
        }
    }
    Zones {
        all,
        three_zone: !supervisor.is_empty(),
        supervisor,
    }
}
