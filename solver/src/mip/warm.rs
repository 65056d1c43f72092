//! Warm starts: every column of the MIP registers what it means ([`Hint`]), so that a complete
//! solution vector can be computed from any placement (the greedy one) and handed to HiGHS.

use super::Compiler;
use crate::check::verify::Assignment;
use vksplan_model::document::RuleKind;
use vksplan_model::UnitId;
use vksplan_model::{HostId, VmId};

/// What a column stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hint {
    /// VMs of a block on a host.
    Count {
        /// Block.
        block: usize,
        /// Host.
        host: usize,
    },
    /// Admission of a unit.
    Admit {
        /// Unit.
        unit: usize,
    },
    /// VMs of a block that left a host they ran on.
    Moved {
        /// Block.
        block: usize,
        /// Host.
        host: usize,
    },
    /// A host's load (balance): vCPUs, or memory in granules.
    Load {
        /// Host.
        host: usize,
        /// Memory (else vCPUs).
        memory: bool,
    },
    /// At most the VMs that left a host (balance).
    Shed {
        /// Host.
        host: usize,
    },
    /// Host holds a VM.
    Used {
        /// Host.
        host: usize,
    },
    /// Largest count of a pool on one host, at least `lower`.
    Spread {
        /// Group of the pool.
        group: usize,
        /// Its lower bound.
        lower: u32,
    },
    /// The host a `together` rule picks.
    Together {
        /// Rule.
        rule: usize,
        /// Host.
        host: usize,
    },
    /// A soft rule is broken.
    Broken {
        /// Rule.
        rule: usize,
    },
}

/// Relabels interchangeable hosts so their vCPU loads do not increase (what the symmetry rows
/// ask); the placement stays equivalent.
pub fn canonical(compiler: &Compiler, assignment: &Assignment) -> Assignment {
    let inventory = compiler.inventory;
    let mut load = vec![0u64; inventory.hosts.len()];
    for (vm, host) in assignment.host_of.iter().enumerate() {
        if let Some(host) = host {
            load[host.index()] += u64::from(inventory.group_of(VmId::new(vm)).vcpus);
        }
    }
    let mut relabel: Vec<usize> = (0..inventory.hosts.len()).collect();
    for class in &compiler.symmetric_hosts {
        let mut by_load = class.clone();
        by_load.sort_by_key(|host| (std::cmp::Reverse(load[*host]), *host));
        for (target, source) in class.iter().zip(by_load) {
            relabel[source] = *target;
        }
    }
    Assignment {
        host_of: assignment
            .host_of
            .iter()
            .map(|host| host.map(|h| HostId::new(relabel[h.index()])))
            .collect(),
        admitted: assignment.admitted.clone(),
    }
}

/// The column values of `assignment`, in column order; `None` if a column has no hint.
pub fn warm_start(compiler: &Compiler, assignment: &Assignment) -> Option<Vec<f64>> {
    let inventory = compiler.inventory;
    let assignment = canonical(compiler, assignment);
    let hosts = inventory.hosts.len();
    let mut count = vec![vec![0u32; hosts]; compiler.blocks.len()];
    for (block_index, block) in compiler.blocks.iter().enumerate() {
        for vm in &block.vms {
            if let Some(host) = assignment.host_of[*vm] {
                count[block_index][host.index()] += 1;
            }
        }
    }
    let (mut vcpus, mut memory_bytes) = (vec![0u64; hosts], vec![0u128; hosts]);
    for (vm, host) in assignment.host_of.iter().enumerate() {
        if let Some(host) = host {
            vcpus[host.index()] += u64::from(inventory.group_of(VmId::new(vm)).vcpus);
            memory_bytes[host.index()] += u128::from(inventory.group_of(VmId::new(vm)).memory.0);
        }
    }
    // VMs of each group per host (pools span several blocks).
    let mut group_count: std::collections::HashMap<usize, Vec<u32>> =
        std::collections::HashMap::new();
    for (block_index, block) in compiler.blocks.iter().enumerate() {
        let per_host = group_count
            .entry(block.group.index())
            .or_insert_with(|| vec![0; hosts]);
        for (host, n) in count[block_index].iter().enumerate() {
            per_host[host] += n;
        }
    }
    let admitted = |block: usize| {
        compiler.blocks[block]
            .unit
            .is_none_or(|unit| assignment.admitted[unit])
    };
    let rule_hosts = |rule: usize| -> Vec<usize> {
        inventory.rules[rule]
            .vms
            .iter()
            .filter_map(|vm| assignment.host_of[*vm].map(HostId::index))
            .collect()
    };
    let moved = |block: usize, host: usize| -> u32 {
        let today = compiler.blocks[block]
            .current
            .get(&HostId::new(host))
            .copied()
            .unwrap_or(0);
        let today = if admitted(block) { today } else { 0 };
        today.saturating_sub(count[block][host])
    };
    // Per host, today's VMs that left it (what its shed column may be at most).
    let mut shed = vec![0u32; hosts];
    for (block_index, block) in compiler.blocks.iter().enumerate() {
        for host in block.current.keys() {
            shed[host.index()] += moved(block_index, host.index());
        }
    }
    let mut values = Vec::with_capacity(compiler.variables.len());
    for (variable, _) in compiler.variables.iter_variables_with_def() {
        let value = match compiler.hints.get(&variable)? {
            Hint::Count { block, host } => f64::from(count[*block][*host]),
            Hint::Admit { unit } => f64::from(u8::from(assignment.admitted[UnitId::new(*unit)])),
            Hint::Moved { block, host } => f64::from(moved(*block, *host)),
            Hint::Shed { host } => f64::from(shed[*host]),
            Hint::Load { host, memory } => {
                if *memory {
                    (memory_bytes[*host] / compiler.objectives.memory_granule.max(1)) as f64
                } else {
                    vcpus[*host] as f64
                }
            }
            Hint::Used { host } => {
                f64::from(u8::from(count.iter().any(|per_host| per_host[*host] > 0)))
            }
            Hint::Spread { group, lower } => {
                let most = group_count
                    .get(group)
                    .and_then(|per_host| per_host.iter().max())
                    .copied()
                    .unwrap_or(0);
                f64::from(most.max(*lower))
            }
            Hint::Together { rule, host } => {
                let chosen = rule_hosts(*rule).first().copied().unwrap_or(0);
                f64::from(u8::from(chosen == *host))
            }
            Hint::Broken { rule } => {
                let on = rule_hosts(*rule);
                let spec = &inventory.rules[*rule];
                let distinct: std::collections::BTreeSet<&usize> = on.iter().collect();
                let broken = match spec.kind {
                    RuleKind::Separate => distinct.len() < on.len(),
                    RuleKind::Together => distinct.len() > 1,
                    RuleKind::VmHost => on
                        .iter()
                        .any(|h| spec.hosts.contains(&HostId::new(*h)) != spec.run_on),
                };
                f64::from(u8::from(broken))
            }
        };
        values.push(value);
    }
    Some(values)
}
