//! Questions the solver asks of an [`Inventory`]: lookups by name, the group and admission
//! unit of a VM, HA admission over the hosts in service, and who owns a network's addresses.

use super::{Group, Inventory};
use crate::id::{GroupId, HostId, UnitId, VmId};

impl Inventory {
    /// Looks a VM up by its derived name.
    pub fn vm_index(&self, name: &str) -> Option<VmId> {
        self.vms.position(|vm| vm.name == name)
    }

    /// Looks a host up by name.
    pub fn host_index(&self, name: &str) -> Option<HostId> {
        self.hosts.position(|host| host.name == name)
    }

    /// The group of a VM.
    pub fn group_of(&self, vm: VmId) -> &Group {
        &self.groups[self.vms[vm].group]
    }

    /// The admission unit a group belongs to (`None` for the Supervisor).
    pub fn unit_of_group(&self, group: GroupId) -> Option<UnitId> {
        self.group_units.get(group).copied().flatten()
    }

    /// Hosts, physical cores and physical memory (bytes) of the hosts in service, given which
    /// hosts are in maintenance: what HA admission is computed over.
    pub fn in_service(&self, in_maintenance: &[bool]) -> (u128, u128, u128) {
        self.hosts
            .iter()
            .zip(in_maintenance)
            .filter(|(_, maintenance)| !**maintenance)
            .fold((0, 0, 0), |(hosts, cores, memory), (host, _)| {
                (
                    hosts + 1,
                    cores + u128::from(host.cpu_cores),
                    memory + u128::from(host.memory.0),
                )
            })
    }

    /// What HA admission lets VMs reserve, given which hosts are in maintenance: the physical
    /// cores and memory (bytes) of the hosts in service times (h - k) / h, rounded down, for
    /// `host_failures_to_tolerate` = k; nothing when no host is left after k failures.
    pub fn ha_usable(&self, in_maintenance: &[bool]) -> (u128, u128) {
        let (h, cores, memory) = self.in_service(in_maintenance);
        let k = u128::from(self.policy.host_failures_to_tolerate);
        let usable = |total: u128| if h > k { (h - k) * total / h } else { 0 };
        (usable(cores), usable(memory))
    }

    /// Which hosts the input puts in maintenance.
    pub fn maintenance(&self) -> Vec<bool> {
        self.hosts.iter().map(|host| host.maintenance).collect()
    }

    /// The admission unit of a cluster.
    pub fn unit_of_cluster(&self, cluster: usize) -> Option<UnitId> {
        self.cluster_units.get(cluster).copied().flatten()
    }

    /// Who consumes a network's addresses (docs/output-and-upgrades.md), the layer that owns a shortage on
    /// it: the Supervisor for the management network and for a Supervisor network no namespace
    /// uses; the namespaces otherwise.
    pub fn network_layer(&self, network: usize) -> crate::Layer {
        let networks = self.supervisor.as_ref().map(|s| s.networks);
        let management = networks.is_some_and(|n| n.management == network);
        let supervisor_only = networks.is_some_and(|n| n.contains(network))
            && !self
                .namespaces
                .iter()
                .any(|ns| ns.workload_network == network || ns.load_balancer_network == network);
        if management || supervisor_only {
            crate::Layer::Supervisor
        } else {
            crate::Layer::Namespace
        }
    }

    /// Management-network addresses the Supervisor needs: replicas + 2.
    pub fn management_ips_needed(&self) -> u32 {
        self.supervisor
            .as_ref()
            .map_or(0, |supervisor| supervisor.replicas + 2)
    }
}
