//! The `policy` section: overcommit, HA and solver settings, with their defaults.

use super::Resolver;
use crate::inventory::EffectivePolicy;

impl Resolver<'_> {
    /// The policy with its defaults filled in (HA tolerates one host failure from 3 hosts up;
    /// a vCPU is worth a core of the fastest host); an error when HA would tolerate as many
    /// failures as there are hosts.
    pub(super) fn policy(&mut self) -> EffectivePolicy {
        let t = self.t;
        let host_count = t.hosts.len() as u32;
        let host_failures_to_tolerate = t
            .policy
            .host_failures_to_tolerate
            .unwrap_or(u32::from(host_count >= 3));
        if host_failures_to_tolerate > 0 && host_failures_to_tolerate >= host_count.max(1) {
            self.error(&self.root.key("policy").key("ha").key("host_failures_to_tolerate"), "", "out_of_range", format!("HA cannot tolerate {host_failures_to_tolerate} host failure(s) with {host_count} host(s)"), format!("tolerate at most {} failure(s)", host_count.saturating_sub(1)).to_string());
        }
        let fastest = t
            .hosts
            .iter()
            .map(|h| u64::from(h.cpu_core_mhz))
            .max()
            .unwrap_or(1);
        EffectivePolicy {
            cpu_overcommit: t.policy.cpu_overcommit,
            memory_overcommit: t.policy.memory_overcommit,
            vcpu_mhz: t.policy.vcpu_mhz.unwrap_or(fastest).max(1),
            host_failures_to_tolerate,
            objective: t.policy.objective,
            time_limit_s: t.policy.time_limit_s,
            mip_gap: t.policy.mip_gap,
        }
    }
}
