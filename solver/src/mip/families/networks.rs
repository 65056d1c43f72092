//! IP addresses: the management network holds Supervisor replicas + 2; a workload network one
//! address per Supervisor control-plane VM (the Supervisor's own) and per node and VM Service
//! VM of every namespace on it; a load-balancer network 1 for the Supervisor API and, per
//! cluster, 1 for its API endpoint plus its `load_balancer_services`.

use crate::mip::{Compiler, Family, FamilyStats, Owner, Relaxable};
use good_lp::{Expression, IntoAffineExpression};
use vksplan_model::{Constraint, Inventory};

/// IP address pools.
pub struct IpAddresses;

/// Addresses used on each network, as expressions over admission.
pub fn network_use(compiler: &Compiler) -> Vec<Expression> {
    let inventory: &Inventory = compiler.inventory;
    let mut used = vec![Expression::from(0.0); inventory.networks.len()];
    if let Some(supervisor) = &inventory.supervisor {
        let networks = supervisor.networks;
        let runs = compiler.supervisor();
        used[networks.management] += runs.clone() * f64::from(supervisor.replicas + 2);
        used[networks.workload] += runs.clone() * f64::from(supervisor.replicas);
        used[networks.load_balancer] += runs;
    }
    for (block_index, block) in compiler.blocks.iter().enumerate() {
        let group = &inventory.groups[block.group];
        let Some(namespace) = group.namespace else {
            continue;
        };
        let namespace = &inventory.namespaces[namespace];
        used[namespace.workload_network] +=
            compiler.admitted(block_index) * f64::from(block.size());
    }
    for (cluster_index, cluster) in inventory.clusters.iter().enumerate() {
        let network = inventory.namespaces[cluster.namespace].load_balancer_network;
        let admitted = match inventory
            .unit_of_cluster(cluster_index)
            .and_then(|unit| compiler.admit[unit.index()])
        {
            Some(admit) => Expression::from(admit),
            None => Expression::from(1.0),
        };
        used[network] += admitted * f64::from(cluster.load_balancer_ips);
    }
    used
}

impl Family for IpAddresses {
    fn name(&self) -> &'static str {
        "ip_addresses"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let used = network_use(compiler);
        let inventory = compiler.inventory;
        let mut rows = Vec::new();
        for (index, (used, network)) in used.into_iter().zip(&inventory.networks).enumerate() {
            let layer = inventory.network_layer(index);
            // Everything the network could need (all admitted): the bound of its slack.
            let all: f64 =
                (&used).linear_coefficients().map(|(_, c)| c).sum::<f64>() + used.constant();
            let slack = compiler.slack(Relaxable::Addresses(index), all.ceil());
            rows.push((
                Owner::new(layer, &network.name, Constraint::IpAddresses),
                used.leq(slack + f64::from(network.ips)),
            ));
        }
        compiler.add_rows(rows)
    }
}
