//! DRS rules. `separate`: the selected VMs on pairwise distinct hosts. `together`: on one host
//! (a binary per host picks it). `vm_host`: hard ones restrict the count columns' domain; soft
//! ones count the VMs on the wrong side. A soft rule has a `broken` binary that relaxes it and
//! is counted in step 2 of the objective.

use crate::mip::{Compiler, Family, FamilyStats, Hint, Owner};
use good_lp::{variable, Expression};
use std::collections::BTreeMap;
use vksplan_model::document::RuleKind;
use vksplan_model::HostId;
use vksplan_model::{Constraint, Layer};

/// DRS-style rules, hard and soft.
pub struct DrsRules;

impl Family for DrsRules {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn emit(&self, compiler: &mut Compiler) -> FamilyStats {
        let inventory = compiler.inventory;
        let mut stats = FamilyStats::default();
        let mut broken_sum = Expression::from(0.0);
        let mut any_soft = false;
        for (rule_index, rule) in inventory.rules.iter().enumerate() {
            let members: Vec<usize> = (0..compiler.blocks.len())
                .filter(|b| compiler.blocks[*b].rules.contains(&rule_index))
                .collect();
            let selected: f64 = members
                .iter()
                .map(|b| f64::from(compiler.blocks[*b].size()))
                .sum();
            let broken = (!rule.must).then(|| {
                any_soft = true;
                stats.columns += 1;
                compiler.column(
                    variable()
                        .binary()
                        .name(format!("broken[rule={}]", rule.name)),
                    Hint::Broken { rule: rule_index },
                )
            });
            if let Some(broken) = broken {
                broken_sum += broken;
            }
            let relax = |slack: f64| -> Expression {
                match broken {
                    Some(broken) => broken * slack,
                    None => Expression::from(0.0),
                }
            };
            let mut rows = Vec::new();
            match rule.kind {
                RuleKind::Separate => {
                    let mut per_host: BTreeMap<usize, Expression> = BTreeMap::new();
                    for block in &members {
                        for (host, count) in &compiler.counts[*block] {
                            *per_host.entry(*host).or_default() += *count;
                        }
                    }
                    for on_host in per_host.into_values() {
                        rows.push(on_host.leq(relax(selected - 1.0) + 1.0));
                    }
                }
                RuleKind::Together => {
                    let hosts: Vec<usize> = (0..inventory.hosts.len()).collect();
                    let mut choice = Expression::from(0.0);
                    let mut chosen = BTreeMap::new();
                    for host in hosts {
                        let name = format!(
                            "together[rule={},host={}]",
                            rule.name,
                            inventory.hosts[HostId::new(host)].name
                        );
                        let pick = compiler.column(
                            variable().binary().name(name),
                            Hint::Together {
                                rule: rule_index,
                                host,
                            },
                        );
                        stats.columns += 1;
                        choice += pick;
                        chosen.insert(host, pick);
                    }
                    rows.push(choice.eq(1.0));
                    for block in &members {
                        let size = f64::from(compiler.blocks[*block].size());
                        for (host, count) in &compiler.counts[*block] {
                            rows.push(
                                Expression::from(*count).leq((chosen[host] + relax(1.0)) * size),
                            );
                        }
                    }
                }
                RuleKind::VmHost => {
                    if rule.must {
                        // Hard: applied to the columns' domain.
                        continue;
                    }
                    let mut wrong_side = Expression::from(0.0);
                    for block in &members {
                        for (host, count) in &compiler.counts[*block] {
                            if rule.hosts.contains(&HostId::new(*host)) != rule.run_on {
                                wrong_side += *count;
                            }
                        }
                    }
                    rows.push(wrong_side.leq(relax(selected)));
                }
            }
            stats.rows += rows.len();
            let owner = Owner::new(Layer::Rule, &rule.name, Constraint::Rules);
            for row in rows {
                compiler.row(owner.clone(), row);
            }
        }
        if any_soft {
            compiler.objectives.soft_rules = Some(broken_sum);
        }
        stats
    }
}
