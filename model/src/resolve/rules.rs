//! The `rules` section: DRS-style rules, their VM and host globs matched against the derived
//! names.

use super::Resolver;
use crate::document::{Glob, Path, Rule, RuleKind};
use crate::id::{HostId, VmId};
use crate::inventory::{HostSpec, RuleSpec, VmSlot};

impl Resolver<'_> {
    /// Checks the rule names and resolves each rule's globs into the VMs (and, for `vm_host`
    /// rules, the hosts) they select.
    pub(super) fn rules(&mut self, vms: &[VmSlot], hosts: &[HostSpec]) -> Vec<RuleSpec> {
        let t = self.t;
        let rule_path = self.root.key("rules");
        self.names(
            "rule",
            t.rules
                .iter()
                .enumerate()
                .map(|(i, rule)| (rule.name.as_str(), rule_path.index(i).key("name"))),
        );
        let vm_names: Vec<&str> = vms.iter().map(|vm| vm.name.as_str()).collect();
        let host_names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        let mut rules = Vec::new();
        for (ri, rule) in t.rules.iter().enumerate() {
            let path = rule_path.index(ri);
            let selected_vms = self.select(rule, &path, "vms", &rule.vms, &vm_names);
            let selected_hosts = if rule.kind == RuleKind::VmHost {
                self.select(rule, &path, "hosts", &rule.hosts, &host_names)
            } else {
                Vec::new()
            };
            rules.push(RuleSpec {
                name: rule.name.clone(),
                kind: rule.kind,
                vms: selected_vms.into_iter().map(VmId::new).collect(),
                hosts: selected_hosts.into_iter().map(HostId::new).collect(),
                must: rule.must,
                run_on: rule.run_on,
            });
        }
        rules
    }

    /// The sorted indices of the `names` that the `patterns` of `rule` (under `key`) match;
    /// an error for no pattern, a bad one, and one that matches nothing.
    fn select(
        &mut self,
        rule: &Rule,
        path: &Path,
        key: &str,
        patterns: &[String],
        names: &[&str],
    ) -> Vec<usize> {
        let mut selected = Vec::new();
        if patterns.is_empty() {
            self.error(
                &path.key(key),
                &rule.name,
                "empty_selection",
                format!("rule `{}` lists no {key}", rule.name),
                format!("add at least one pattern to `{key}`"),
            );
        }
        for (pi, pattern) in patterns.iter().enumerate() {
            let ppath = path.key(key).index(pi);
            match Glob::new(pattern) {
                Err(why) => self.error(
                    &ppath,
                    &rule.name,
                    "bad_glob",
                    format!("rule `{}`: {why}", rule.name),
                    "close every `[` and keep ranges low-high".into(),
                ),
                Ok(glob) => {
                    let before = selected.len();
                    selected.extend(
                        names
                            .iter()
                            .enumerate()
                            .filter(|(_, name)| glob.matches(name))
                            .map(|(i, _)| i),
                    );
                    if selected.len() == before {
                        let what = if key == "vms" {
                            "VM (names look like `team-a/prod/workers-1`)"
                        } else {
                            "host"
                        };
                        self.error(
                            &ppath,
                            &rule.name,
                            "empty_selection",
                            format!(
                                "pattern `{pattern}` of rule `{}` selects no {what}",
                                rule.name
                            ),
                            "fix the pattern or remove it; `*` matches any run including `/`"
                                .to_string(),
                        );
                    }
                }
            }
        }
        selected.sort_unstable();
        selected.dedup();
        selected
    }
}
