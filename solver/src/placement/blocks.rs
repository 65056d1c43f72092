//! Blocks: the interchangeable VM slots the MIP counts instead of naming. A block is the VMs
//! of one group (pool, control plane, VM) that the same set of rules selects, so that a count
//! per (block, host) loses nothing a rule could tell apart.

use std::collections::BTreeMap;
use vksplan_model::Inventory;
use vksplan_model::{GroupId, HostId, IdVec, UnitId, VmId};

/// Interchangeable VM slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Its group.
    pub group: GroupId,
    /// Its VMs, in replica order.
    pub vms: Vec<VmId>,
    /// Indices of the rules that select every VM of the block (and no other VM of the group).
    pub rules: Vec<usize>,
    /// Admission unit (`None` for the Supervisor, always admitted).
    pub unit: Option<UnitId>,
    /// How many of the block's VMs run on each host today (host -> count).
    pub current: BTreeMap<HostId, u32>,
}

impl Block {
    /// Number of VMs.
    pub fn size(&self) -> u32 {
        self.vms.len() as u32
    }
}

/// Splits every group into blocks by rule signature, in group then replica order.
pub fn blocks(inventory: &Inventory) -> Vec<Block> {
    let mut signature: IdVec<VmId, Vec<usize>> = IdVec::from_elem(Vec::new(), inventory.vms.len());
    for (rule_index, rule) in inventory.rules.iter().enumerate() {
        for vm in &rule.vms {
            signature[*vm].push(rule_index);
        }
    }
    let mut current_host: IdVec<VmId, Option<HostId>> = IdVec::from_elem(None, inventory.vms.len());
    for (vm, host) in &inventory.placement {
        current_host[*vm] = Some(*host);
    }
    let mut blocks = Vec::new();
    for (group_index, group) in inventory.groups.iter_enumerated() {
        let unit = inventory.unit_of_group(group_index);
        let mut by_signature: Vec<(Vec<usize>, Vec<VmId>)> = Vec::new();
        for vm in &group.vms {
            match by_signature
                .iter_mut()
                .find(|(rules, _)| *rules == signature[*vm])
            {
                Some((_, vms)) => vms.push(*vm),
                None => by_signature.push((signature[*vm].clone(), vec![*vm])),
            }
        }
        for (rules, vms) in by_signature {
            let mut current = BTreeMap::new();
            for vm in &vms {
                if let Some(host) = current_host[*vm] {
                    *current.entry(host).or_insert(0) += 1;
                }
            }
            blocks.push(Block {
                group: group_index,
                vms,
                rules,
                unit,
                current,
            });
        }
    }
    blocks
}
