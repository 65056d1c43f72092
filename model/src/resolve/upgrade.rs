//! The `upgrade` section: target versions of clusters, hosts to patch, the Supervisor.

use super::{Names, Resolver};
use crate::document::{Path, Upgrade};
use crate::id::HostId;
use crate::inventory::{ClusterSpec, UpgradeSpec};

impl Resolver<'_> {
    /// Resolves the upgrade, if any: its clusters, hosts and Supervisor.
    pub(super) fn upgrade(
        &mut self,
        clusters: &[ClusterSpec],
        host_names: &Names,
    ) -> Option<UpgradeSpec> {
        let upgrade = self.t.upgrade.as_ref()?;
        let path = self.root.key("upgrade");
        let upgrade_clusters = self.upgrade_clusters(upgrade, &path, clusters);
        let upgrade_hosts = self.upgrade_hosts(upgrade, &path, host_names);
        if upgrade.supervisor && self.t.supervisor.is_none() {
            self.error(
                &path.key("supervisor"),
                "supervisor",
                "unknown_reference",
                "the upgrade rolls the Supervisor, but the topology has none".into(),
                "remove `upgrade.supervisor` or describe the Supervisor".into(),
            );
        }
        Some(UpgradeSpec {
            clusters: upgrade_clusters,
            hosts: upgrade_hosts.into_iter().map(HostId::new).collect(),
            supervisor: upgrade.supervisor,
            max_hosts_in_maintenance: upgrade.max_hosts_in_maintenance,
        })
    }

    /// The clusters to upgrade, with their target versions: each must exist, and its target
    /// be no older than today's version and at most one minor version newer.
    fn upgrade_clusters(
        &mut self,
        upgrade: &Upgrade,
        path: &Path,
        clusters: &[ClusterSpec],
    ) -> Vec<(usize, crate::document::Version)> {
        let mut upgrade_clusters = Vec::new();
        for (name, target) in &upgrade.clusters {
            let cpath = path.key("clusters").key(name);
            match clusters.iter().position(|c| &c.name == name) {
                None => self.error(
                    &cpath,
                    name,
                    "unknown_reference",
                    format!("upgrade names cluster `{name}`, which does not exist"),
                    "name clusters as `NAMESPACE/CLUSTER`".into(),
                ),
                Some(index) => {
                    let current = &clusters[index].kubernetes_version;
                    let (major, minor, _) = current.numbers;
                    if target < current {
                        self.error(&cpath, name, "downgrade", format!("cluster `{name}` runs {current}; {target} is older, and Kubernetes does not downgrade"), format!("target {current} or later"));
                    } else if target.numbers.0 != major || target.numbers.1 > minor + 1 {
                        self.error(&cpath, name, "version_skip", format!("cluster `{name}` runs {current}; {target} skips a minor version, which Kubernetes upgrades do not allow"), format!("upgrade to v{major}.{}.x first", minor + 1));
                    }
                    upgrade_clusters.push((index, target.clone()));
                }
            }
        }
        upgrade_clusters
    }

    /// The hosts to patch: each must exist and be listed once.
    fn upgrade_hosts(&mut self, upgrade: &Upgrade, path: &Path, host_names: &Names) -> Vec<usize> {
        let mut upgrade_hosts = Vec::new();
        for (i, host) in upgrade.hosts.iter().enumerate() {
            let hpath = path.key("hosts").index(i);
            if let Some(index) = self.reference(host_names, "host", host, &hpath, host) {
                if upgrade_hosts.contains(&index) {
                    self.error(
                        &hpath,
                        host,
                        "duplicate_name",
                        format!("host `{host}` is listed twice in `upgrade.hosts`"),
                        "list each host once".into(),
                    );
                } else {
                    upgrade_hosts.push(index);
                }
            }
        }
        upgrade_hosts
    }
}
