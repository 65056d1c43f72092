//! The cheapest fix of an infeasible placement over the quantities an operator can change:
//! namespace CPU, memory and storage limits, storage policy capacities and network address
//! counts. Every row over such a quantity gets a slack column (an elastic model, see
//! [`Compiler::elastic`]); the other rows (host capacity, HA admission, anti-affinity, rules,
//! maintenance...) stay hard. The objective counts the quantities changed first (each costs
//! [`CHANGE_WEIGHT`]), then the relative size of each raise (slack / today's value): the fewest
//! changes, then the smallest. The amounts reported are not the slack values but the exact
//! needs of the elastic solution's placement, from [`crate::check::accounting::account`], so that the fix
//! is exact; the caller verifies it by planning again with the fix applied.
//!
//! When even unlimited quantities do not help, the problem is in the hard rows: host count,
//! capacity, anti-affinity, maintenance or rules (the facade then tries added hosts).

use crate::check::accounting::account;
use crate::check::verify::Alive;
use crate::mip::{families, gib, minimise, Compiler, Minimum, Relaxable};
use crate::placement::blocks::blocks;
use good_lp::{constraint, variable, Expression};
use std::time::Duration;
use vksplan_model::fix::{Change, Quantity};
use vksplan_model::{Inventory, Layer};

/// What one changed quantity costs in the objective, against a raise's relative size: a raise
/// by up to this many times today's value is cheaper than changing one more quantity.
pub const CHANGE_WEIGHT: f64 = 100.0;

/// One quantity to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    /// The owning layer (docs/output-and-upgrades.md).
    pub layer: Layer,
    /// The quantity raised: a namespace's limit, a storage policy's capacity, a network's
    /// addresses.
    pub quantity: Quantity,
    /// Today's value, in the quantity's unit.
    pub from: u128,
    /// The value needed, in the quantity's unit.
    pub to: u128,
}

impl Raise {
    /// `quantity` raised to `to`, read against its value in `inventory` today; `None` when
    /// the inventory has no such quantity (an entity it does not have, or no limit).
    pub fn to(inventory: &Inventory, quantity: Quantity, to: u128) -> Option<Raise> {
        let (layer, from) = quantity.today(inventory)?;
        Some(Raise {
            layer,
            quantity,
            from,
            to,
        })
    }

    /// The raise `change` makes, read against today's value in `inventory`.
    pub fn of(inventory: &Inventory, change: Change) -> Option<Raise> {
        Raise::to(inventory, change.quantity, change.value)
    }

    /// The change that makes the raise.
    pub fn change(&self) -> Change {
        Change::new(self.quantity.clone(), self.to)
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
    for family in families::constraints() {
        family.emit(&mut compiler);
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
            admitted: assignment.admitted.raw(),
        },
    );
    Outcome::Raise(raises(inventory, &totals))
}

/// What the accounted use needs beyond today's quantities.
fn raises(inventory: &Inventory, totals: &crate::check::accounting::Accounting) -> Vec<Raise> {
    let mut found = Vec::new();
    let mhz = u128::from(inventory.policy.vcpu_mhz);
    // A raise of a quantity in bytes, to whole MiB (what a fix can write).
    let bytes = |layer, quantity, from: u64, needed: u128| Raise {
        layer,
        quantity,
        from: u128::from(from),
        to: needed.div_ceil(1 << 20) << 20,
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
                    quantity: Quantity::CpuLimit {
                        namespace: name.clone(),
                    },
                    from: u128::from(limit),
                    to: needed,
                });
            }
        }
        if let Some(limit) = namespace.memory_limit {
            let needed = load.memory.max(zone_most(&|z| z.1));
            if needed > u128::from(limit.0) {
                let quantity = Quantity::MemoryLimit {
                    namespace: name.clone(),
                };
                found.push(bytes(Layer::Namespace, quantity, limit.0, needed));
            }
        }
        for (policy, limit) in namespace.storage_limits.iter().enumerate() {
            let needed = load.storage.get(&policy).copied().unwrap_or(0);
            if let Some(limit) = limit.filter(|limit| needed > u128::from(limit.0)) {
                let quantity = Quantity::StorageLimit {
                    namespace: name.clone(),
                    policy: inventory.storage_policies[policy].name.clone(),
                };
                found.push(bytes(Layer::Namespace, quantity, limit.0, needed));
            }
        }
    }
    for (policy, spec) in inventory.storage_policies.iter().enumerate() {
        let needed = totals.storage[policy];
        if let Some(capacity) = spec.capacity.filter(|c| needed > u128::from(c.0)) {
            let quantity = Quantity::StorageCapacity {
                policy: spec.name.clone(),
            };
            found.push(bytes(Layer::Infrastructure, quantity, capacity.0, needed));
        }
    }
    for (index, network) in inventory.networks.iter().enumerate() {
        let needed = totals.network_ips[index];
        if needed > u64::from(network.ips) {
            found.push(Raise {
                layer: inventory.network_layer(index),
                quantity: Quantity::Addresses {
                    network: network.name.clone(),
                },
                from: u128::from(network.ips),
                to: u128::from(needed),
            });
        }
    }
    found
}
