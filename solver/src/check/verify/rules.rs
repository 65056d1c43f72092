//! DRS rules, as `mip/families/rules.rs` states them: `separate` (pairwise distinct hosts),
//! `together` (one host), `vm_host` (on, or never on, the selected hosts). A broken must rule
//! is a violation; a broken soft rule is counted by name.

use super::anti_affinity::shared_hosts;
use super::{ByGroup, Copy};
use std::collections::BTreeSet;
use vksplan_model::document::RuleKind;
use vksplan_model::{Constraint, Diagnostic, HostId, Inventory, Layer};

/// Every rule over the live copies of its VMs: the hard ones broken go to `violations`, the
/// names of the soft ones broken to `soft_rules_broken`.
pub(super) fn check(
    inventory: &Inventory,
    by_group: &ByGroup,
    violations: &mut Vec<Diagnostic>,
    soft_rules_broken: &mut Vec<String>,
) {
    for rule in &inventory.rules {
        let copies: Vec<Copy> = rule
            .vms
            .iter()
            .flat_map(|vm| {
                by_group
                    .of(inventory.vms[*vm].group.index())
                    .iter()
                    .filter(move |c| c.vm == *vm)
                    .copied()
            })
            .collect();
        let hosts: BTreeSet<HostId> = copies.iter().map(|c| c.host).collect();
        let broken = match rule.kind {
            RuleKind::Separate => shared_hosts(&copies, Some),
            RuleKind::Together => hosts.len() > 1,
            RuleKind::VmHost => hosts.iter().any(|h| rule.hosts.contains(h) != rule.run_on),
        };
        if broken && rule.must {
            violations.push(Diagnostic::new(
                Layer::Rule,
                &rule.name,
                Constraint::Rules,
                format!(
                    "rule `{}` ({}) would be broken",
                    rule.name,
                    rule.kind.as_str()
                ),
                "place the selected VMs as the rule asks, or make the rule soft",
            ));
        } else if broken {
            soft_rules_broken.push(rule.name.clone());
        }
    }
}
