//! The cheapest fix of an infeasible placement over the quantities an operator can change:
//! namespace CPU, memory and storage limits, storage policy capacities and network address
//! counts. Every row over such a quantity gets a slack column (an elastic model, see
//! [`Compiler::elastic`]); the other rows (host capacity, HA admission, anti-affinity, rules,
//! maintenance...) stay hard. The objective counts the quantities changed first (each costs
//! [`CHANGE_WEIGHT`]), then the relative size of each raise (slack / today's value): the fewest
//! changes, then the smallest. The amounts reported are not the slack values but the exact
//! needs of the elastic solution's placement, from [`crate::check::verify::account`], so that the fix
//! is exact; the caller verifies it by planning again with the fix applied.
//!
//! When even unlimited quantities do not help, the problem is in the hard rows: host count,
//! capacity, anti-affinity, maintenance or rules (the facade then tries added hosts).

use crate::check::verify::{account, Alive};
use crate::mip::{families, gib, minimise, Compiler, Minimum, Relaxable};
use crate::placement::blocks::blocks;
use good_lp::{constraint, variable, Expression};
use std::time::Duration;
use vksplan_model::{Bytes, Constraint, Inventory, Layer};

/// What one changed quantity costs in the objective, against a raise's relative size: a raise
/// by up to this many times today's value is cheaper than changing one more quantity.
pub const CHANGE_WEIGHT: f64 = 100.0;

/// One quantity to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    /// The owning layer (docs/output-and-upgrades.md).
    pub layer: Layer,
    /// The namespace, storage policy or network.
    pub subject: String,
    /// The constraint group it relaxes (`memory_limit`, `ip_addresses`...).
    pub constraint: Constraint,
    /// The `--what-if` path of the quantity.
    pub path: String,
    /// Today's value and the value needed, in `unit`.
    pub from: u128,
    /// The value needed.
    pub to: u128,
    /// What the values count.
    pub unit: Unit,
}

/// Units of a [`Raise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// MHz of CPU.
    Mhz,
    /// Bytes (written as MiB in the fix).
    Bytes,
    /// IP addresses.
    Addresses,
}

impl Raise {
    /// The `--what-if` assignment that makes the change.
    pub fn assignment(&self) -> String {
        match self.unit {
            Unit::Bytes => format!("{}={}", self.path, self.to.div_ceil(1 << 20)),
            Unit::Mhz | Unit::Addresses => format!("{}={}", self.path, self.to),
        }
    }

    /// The raise an assignment of a fix makes (`namespaces.apps.limits.memory=65536`, MiB for
    /// bytes), read against today's value; `None` for any other assignment.
    pub fn from_assignment(inventory: &Inventory, assignment: &str) -> Option<Raise> {
        let (path, value) = assignment.split_once('=')?;
        let value: u128 = value.trim().parse().ok()?;
        let parts: Vec<&str> = path.split('.').collect();
        let namespace = |name: &str| inventory.namespaces.iter().find(|n| n.name == name);
        let raise = |layer, subject: &str, constraint, from: u128, to: u128, unit| Raise {
            layer,
            subject: subject.to_string(),
            constraint,
            path: path.to_string(),
            from,
            to,
            unit,
        };
        match parts.as_slice() {
            ["namespaces", ns, "limits", "cpu_mhz"] => Some(raise(
                Layer::Namespace,
                ns,
                Constraint::CpuLimit,
                u128::from(namespace(ns)?.cpu_mhz_limit?),
                value,
                Unit::Mhz,
            )),
            ["namespaces", ns, "limits", "memory"] => Some(raise(
                Layer::Namespace,
                ns,
                Constraint::MemoryLimit,
                u128::from(namespace(ns)?.memory_limit?.0),
                value << 20,
                Unit::Bytes,
            )),
            ["namespaces", ns, "limits", "storage", policy] => {
                let index = inventory
                    .storage_policies
                    .iter()
                    .position(|p| p.name == *policy)?;
                let limit = (*namespace(ns)?.storage_limits.get(index)?)?;
                Some(raise(
                    Layer::Namespace,
                    ns,
                    Constraint::StorageLimit,
                    u128::from(limit.0),
                    value << 20,
                    Unit::Bytes,
                ))
            }
            ["storage_policies", policy, "capacity"] => {
                let spec = inventory
                    .storage_policies
                    .iter()
                    .find(|p| p.name == *policy)?;
                Some(raise(
                    Layer::Infrastructure,
                    policy,
                    Constraint::StorageCapacity,
                    u128::from(spec.capacity?.0),
                    value << 20,
                    Unit::Bytes,
                ))
            }
            ["networks", network, "ips"] => {
                let index = inventory.networks.iter().position(|n| n.name == *network)?;
                Some(raise(
                    inventory.network_layer(index),
                    network,
                    Constraint::IpAddresses,
                    u128::from(inventory.networks[index].ips),
                    value,
                    Unit::Addresses,
                ))
            }
            _ => None,
        }
    }

    /// The change in words: "raise the memory limit of namespace `team-a` by 16 GiB (from 48
    /// GiB to 64 GiB)".
    pub fn describe(&self) -> String {
        let show = |value: u128| match self.unit {
            Unit::Mhz => format!("{value} MHz"),
            Unit::Bytes => Bytes(value.min(u128::from(u64::MAX)) as u64).to_string(),
            Unit::Addresses => format!("{value}"),
        };
        let what = match self.constraint {
            Constraint::CpuLimit => format!("the CPU limit of namespace `{}`", self.subject),
            Constraint::MemoryLimit => format!("the memory limit of namespace `{}`", self.subject),
            Constraint::StorageLimit => {
                let policy = self.path.rsplit('.').next().unwrap_or_default();
                format!(
                    "the `{policy}` storage limit of namespace `{}`",
                    self.subject
                )
            }
            Constraint::StorageCapacity => {
                format!("the capacity of storage policy `{}`", self.subject)
            }
            _ => format!("the addresses of network `{}`", self.subject),
        };
        if self.unit == Unit::Addresses {
            return format!(
                "add {} address(es) to network `{}` ({} -> {})",
                self.to - self.from,
                self.subject,
                self.from,
                self.to
            );
        }
        format!(
            "raise {what} by {} (from {} to {})",
            show(self.to - self.from),
            show(self.from),
            show(self.to)
        )
    }
}

/// The outcome of a cheapest-fix search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Raising these quantities (possibly none) lets everything that must run be placed.
    Raise(Vec<Raise>),
    /// No raise of the relaxable quantities helps: hard rows conflict.
    NotEnough,
    /// The time limit hit (or HiGHS failed) before an answer.
    Unknown,
}

/// The value of a quantity today, in row units (the scale of its relative raise).
fn today(inventory: &Inventory, quantity: Relaxable) -> f64 {
    let mhz = inventory.policy.vcpu_mhz as f64;
    match quantity {
        Relaxable::CpuLimit(ns) => inventory.namespaces[ns]
            .cpu_mhz_limit
            .map_or(0.0, |l| l as f64 / mhz),
        Relaxable::MemoryLimit(ns) => inventory.namespaces[ns].memory_limit.map_or(0.0, gib),
        Relaxable::StorageLimit(ns, p) => {
            inventory.namespaces[ns].storage_limits[p].map_or(0.0, gib)
        }
        Relaxable::StorageCapacity(p) => inventory.storage_policies[p].capacity.map_or(0.0, gib),
        Relaxable::Addresses(n) => f64::from(inventory.networks[n].ips),
    }
}

/// Finds the cheapest raise of the relaxable quantities that lets every unit that must run be
/// placed, within `budget`.
pub fn cheapest_fix(inventory: &Inventory, budget: Duration) -> Outcome {
    let blocks = blocks(inventory);
    let mut compiler = Compiler::elastic(inventory, &blocks);
    for family in families::all() {
        if family.name() != "objective" {
            family.emit(&mut compiler);
        }
    }
    let slacks = compiler.slacks.clone().unwrap_or_default();
    let mut objective = Expression::from(0.0);
    for (quantity, (slack, bound)) in &slacks {
        if *bound <= 0.0 {
            continue;
        }
        let changed = compiler
            .variables
            .add(variable().binary().name(format!("changed[{quantity:?}]")));
        compiler
            .rows
            .push((None, constraint!(*slack <= *bound * changed)));
        objective +=
            CHANGE_WEIGHT * changed + *slack * (1.0 / today(inventory, *quantity).max(1.0));
    }
    let values = match minimise(&compiler, objective, budget.as_secs_f64(), 1) {
        Minimum::Found(values) => values,
        Minimum::Infeasible => return Outcome::NotEnough,
        Minimum::Unknown => return Outcome::Unknown,
    };
    let assignment = crate::placement::place::disaggregate(&compiler, &blocks, &values);
    let copies = assignment.copies();
    let maintenance = inventory.maintenance();
    let totals = account(
        inventory,
        Alive {
            copies: &copies,
            maintenance: &maintenance,
            admitted: &assignment.admitted,
        },
    );
    Outcome::Raise(raises(inventory, &totals))
}

/// What the accounted use needs beyond today's quantities.
fn raises(inventory: &Inventory, totals: &crate::check::verify::Accounting) -> Vec<Raise> {
    let mut found = Vec::new();
    let mhz = u128::from(inventory.policy.vcpu_mhz);
    // A raise of a quantity in bytes, to whole MiB (what a fix can write).
    let bytes = |layer, subject: &str, constraint, path: String, from: u64, needed: u128| Raise {
        layer,
        subject: subject.to_string(),
        constraint,
        path,
        from: u128::from(from),
        to: needed.div_ceil(1 << 20) << 20,
        unit: Unit::Bytes,
    };
    for (index, namespace) in inventory.namespaces.iter().enumerate() {
        let load = &totals.namespaces[index];
        let zone_most = |pick: &dyn Fn(&(u64, u128)) -> u128| {
            if inventory.three_zone {
                load.zones.values().map(pick).max().unwrap_or(0) * 3
            } else {
                0
            }
        };
        let name = &namespace.name;
        if let Some(limit) = namespace.cpu_mhz_limit {
            let needed = (u128::from(load.vcpus) * mhz).max(zone_most(&|z| u128::from(z.0)) * mhz);
            if needed > u128::from(limit) {
                found.push(Raise {
                    layer: Layer::Namespace,
                    subject: name.clone(),
                    constraint: Constraint::CpuLimit,
                    path: format!("namespaces.{name}.limits.cpu_mhz"),
                    from: u128::from(limit),
                    to: needed,
                    unit: Unit::Mhz,
                });
            }
        }
        if let Some(limit) = namespace.memory_limit {
            let needed = load.memory.max(zone_most(&|z| z.1));
            if needed > u128::from(limit.0) {
                let path = format!("namespaces.{name}.limits.memory");
                found.push(bytes(
                    Layer::Namespace,
                    name,
                    Constraint::MemoryLimit,
                    path,
                    limit.0,
                    needed,
                ));
            }
        }
        for (policy, limit) in namespace.storage_limits.iter().enumerate() {
            let needed = load.storage.get(&policy).copied().unwrap_or(0);
            if let Some(limit) = limit.filter(|limit| needed > u128::from(limit.0)) {
                let policy_name = &inventory.storage_policies[policy].name;
                let path = format!("namespaces.{name}.limits.storage.{policy_name}");
                found.push(bytes(
                    Layer::Namespace,
                    name,
                    Constraint::StorageLimit,
                    path,
                    limit.0,
                    needed,
                ));
            }
        }
    }
    for (policy, spec) in inventory.storage_policies.iter().enumerate() {
        let needed = totals.storage[policy];
        if let Some(capacity) = spec.capacity.filter(|c| needed > u128::from(c.0)) {
            let path = format!("storage_policies.{}.capacity", spec.name);
            let (layer, name) = (Layer::Infrastructure, &spec.name);
            found.push(bytes(
                layer,
                name,
                Constraint::StorageCapacity,
                path,
                capacity.0,
                needed,
            ));
        }
    }
    for (index, network) in inventory.networks.iter().enumerate() {
        let needed = totals.network_ips[index];
        if needed > u64::from(network.ips) {
            found.push(Raise {
                layer: inventory.network_layer(index),
                subject: network.name.clone(),
                constraint: Constraint::IpAddresses,
                path: format!("networks.{}.ips", network.name),
                from: u128::from(network.ips),
                to: u128::from(needed),
                unit: Unit::Addresses,
            });
        }
    }
    found
}
