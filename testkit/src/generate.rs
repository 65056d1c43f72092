//! A seeded generator of valid topologies, for property tests and benchmarks: hosts (optionally
//! in 3 zones behind a zonal Supervisor), namespaces with limits that leave slack, clusters with
//! 1 or 3 control-plane VMs and node pools, VM Service VMs, rules, priorities and a current
//! placement. The same seed always gives the same document.

use serde_json::{json, Value};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Seed of the generator.
    pub seed: u64,
    /// Hosts.
    pub hosts: usize,
    /// Spread hosts over 3 zones with a zonal Supervisor.
    pub three_zones: bool,
    /// Include a Supervisor.
    pub supervisor: bool,
    /// Namespaces.
    pub namespaces: usize,
    /// Clusters per namespace.
    pub clusters_per_namespace: usize,
    /// Node pools per cluster.
    pub pools_per_cluster: usize,
    /// Largest node-pool size (sizes are drawn from 1 to this).
    pub max_pool_replicas: u32,
    /// VM Service VMs per namespace.
    pub vms_per_namespace: usize,
    /// Namespace limits as a multiple of the namespace's demand (>= 1 leaves slack; `None`:
    /// unlimited).
    pub limit_slack: Option<f64>,
    /// Fraction of clusters and VMs that carry a priority (and may be rejected).
    pub priority_fraction: f64,
    /// Number of DRS rules.
    pub rules: usize,
    /// Fraction of VMs given a current host in `placement`.
    pub placed_fraction: f64,
    /// `"balance"` or `"consolidate"`.
    pub objective: &'static str,
    /// Solver time limit written into the policy.
    pub time_limit_s: f64,
    /// Ask for an upgrade: every cluster one minor version up, every `patch_every`-th host
    /// patched (0: none), the Supervisor rolled, this many hosts in maintenance at once.
    pub upgrade: Option<(usize, u32)>,
}

impl Params {
    /// [`Params::sized`] with what makes planning hard: DRS rules (1 per 50 VMs), 30% of the
    /// clusters and VMs optional with priorities, half the VMs placed today, and namespace
    /// limits at 1.1x demand.
    pub fn hard(seed: u64, hosts: usize, vms: usize, three_zones: bool) -> Params {
        Params {
            rules: (vms / 50).max(2),
            priority_fraction: 0.3,
            placed_fraction: 0.5,
            limit_slack: Some(1.1),
            ..Params::sized(seed, hosts, vms, three_zones)
        }
    }

    /// A generated platform of about `vms` VMs on `hosts` hosts.
    pub fn sized(seed: u64, hosts: usize, vms: usize, three_zones: bool) -> Params {
        // Each cluster averages 1 + 2 pools x ~(max+1)/2 VMs; each namespace has 4 clusters.
        let max_pool_replicas = 12;
        let per_cluster = 2.0 + 2.0 * (f64::from(max_pool_replicas) + 1.0) / 2.0;
        let namespaces = ((vms as f64 / (4.0 * per_cluster + 2.0)).round() as usize).max(1);
        Params {
            seed,
            hosts,
            three_zones,
            supervisor: true,
            namespaces,
            clusters_per_namespace: 4,
            pools_per_cluster: 2,
            max_pool_replicas,
            vms_per_namespace: 2,
            limit_slack: Some(1.5),
            priority_fraction: 0.0,
            rules: 0,
            placed_fraction: 0.0,
            objective: "balance",
            time_limit_s: 60.0,
            upgrade: None,
        }
    }
}

/// SplitMix64: small, fast, and good enough to draw topologies.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const CLASSES: [(&str, u64, u64); 6] = [
    ("best-effort-small", 2, 4),
    ("best-effort-medium", 2, 8),
    ("best-effort-large", 4, 16),
    ("guaranteed-small", 2, 4),
    ("guaranteed-medium", 2, 8),
    ("guaranteed-large", 4, 16),
];

/// Generates one topology document.
pub fn generate(params: &Params) -> Value {
    let mut generator = Generator {
        params,
        random: Random(params.seed),
        vm_names: Vec::new(),
        total_vms: 0,
    };
    let hosts = generator.hosts();
    let namespaces: Vec<Value> = (0..params.namespaces)
        .map(|n| generator.namespace(n))
        .collect();
    let mut document = json!({
        "version": 1,
        "policy": { "objective": params.objective, "time_limit_s": params.time_limit_s },
        "hosts": hosts,
        "storage_policies": [ { "name": "vsan" } ],
        "networks": [
            { "name": "mgmt", "kind": "management", "ips": 5 },
            { "name": "workload", "kind": "workload", "ips": generator.total_vms + 3 + 16 },
            { "name": "vips", "kind": "load_balancer", "ips": 1 + (params.namespaces * params.clusters_per_namespace * 2) as u64 }
        ],
        "namespaces": namespaces,
    });
    if params.supervisor {
        let mut supervisor = json!({ "control_plane": { "replicas": 3, "size": "small" }, "management_network": "mgmt",
            "workload_network": "workload", "load_balancer_network": "vips" });
        if params.three_zones {
            supervisor["zones"] = json!(ZONES);
        }
        document["supervisor"] = supervisor;
        for r in 1..=3 {
            generator.vm_names.push(format!("supervisor/cp-{r}"));
        }
    }
    if params.rules > 0 && !generator.vm_names.is_empty() {
        document["rules"] = json!(generator.rules());
    }
    if let Some((patch_every, concurrency)) = params.upgrade {
        document["upgrade"] = upgrade(params, patch_every, concurrency);
    }
    if params.placed_fraction > 0.0 {
        document["placement"] = Value::Object(generator.placement());
    }
    document
}

/// The zones of a 3-zone platform.
const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

/// One generation: the random draws, in a fixed order, and what later parts of the document
/// need from earlier ones.
struct Generator<'p> {
    params: &'p Params,
    random: Random,
    /// The derived name of every VM so far (rules and the placement pick from them).
    vm_names: Vec<String>,
    /// The namespaces' VMs so far (the workload network has an address for each).
    total_vms: u64,
}

/// What a namespace's VMs take: vCPUs and GiB, in all and pinned to each zone.
#[derive(Default)]
struct Demand {
    vcpus: u64,
    gib: u64,
    /// Per zone, (vCPUs, GiB) of the pools pinned to it.
    pinned: [(u64, u64); 3],
}

impl Demand {
    /// Namespace limits of `slack` times the demand, enough for every zone to hold its pinned
    /// pools plus a third of the rest.
    fn limits(&self, slack: f64) -> Value {
        let (vcpus, gib, pinned) = (self.vcpus, self.gib, &self.pinned);
        // Zone z holds its pinned pools plus a third of the rest: 3 * pinned + unpinned.
        let pinned_vcpus: u64 = pinned.iter().map(|p| p.0).sum();
        let pinned_gib: u64 = pinned.iter().map(|p| p.1).sum();
        let need_vcpus = pinned
            .iter()
            .map(|p| 3 * p.0 + vcpus - pinned_vcpus)
            .max()
            .unwrap_or(0)
            .max(vcpus);
        let need_gib = pinned
            .iter()
            .map(|p| 3 * p.1 + gib - pinned_gib)
            .max()
            .unwrap_or(0)
            .max(gib);
        json!({ "cpu_mhz": ((need_vcpus * 2600) as f64 * slack).ceil() as u64,
                "memory": format!("{}Gi", (need_gib as f64 * slack).ceil() as u64) })
    }
}

impl Generator<'_> {
    /// The hosts: a random shape each, in zones round-robin, some with a cost.
    fn hosts(&mut self) -> Vec<Value> {
        let (params, random) = (self.params, &mut self.random);
        let host_shapes: [(u64, u64); 3] = [(48, 512), (64, 768), (96, 1024)];
        (0..params.hosts)
            .map(|i| {
                let (cores, gib) = *random.pick(&host_shapes);
                let mut host = json!({ "name": format!("esx-{:03}", i + 1), "cpu_cores": cores, "cpu_core_mhz": 2600,
                                       "memory": format!("{gib}Gi") });
                if params.three_zones {
                    host["zone"] = json!(ZONES[i % 3]);
                }
                if random.chance(0.3) {
                    host["cost"] = json!(1 + random.below(3));
                }
                host
            })
            .collect()
    }

    /// Namespace `n` (0-based): its clusters, its VM Service VMs, and limits over their demand.
    fn namespace(&mut self, n: usize) -> Value {
        let params = self.params;
        let name = format!("ns-{:02}", n + 1);
        let classes: Vec<&str> = CLASSES.iter().map(|c| c.0).collect();
        let mut demand = Demand::default();
        let clusters: Vec<Value> = (0..params.clusters_per_namespace)
            .map(|c| self.cluster(&name, c, &mut demand))
            .collect();
        let vms: Vec<Value> = (0..params.vms_per_namespace)
            .map(|v| self.service_vm(&name, v, &mut demand))
            .collect();
        let mut namespace = json!({ "name": name, "vm_classes": classes, "storage_policies": ["vsan"],
            "clusters": clusters, "vms": vms });
        if let Some(slack) = params.limit_slack {
            namespace["limits"] = demand.limits(slack);
        }
        if !params.supervisor {
            namespace["workload_network"] = json!("workload");
            namespace["load_balancer_network"] = json!("vips");
        }
        namespace
    }

    /// Cluster `c` (0-based) of namespace `name`: 1 or 3 control-plane VMs of a guaranteed
    /// class, its pools, maybe a priority.
    fn cluster(&mut self, name: &str, c: usize, demand: &mut Demand) -> Value {
        let params = self.params;
        let cluster = format!("c{}", c + 1);
        let cp = if self.random.chance(0.5) { 3 } else { 1 };
        let (_, cp_cpus, cp_gib) = CLASSES[3 + self.random.below(3) as usize];
        demand.vcpus += cp * cp_cpus;
        demand.gib += cp * cp_gib;
        for r in 1..=cp {
            self.vm_names.push(format!("{name}/{cluster}/cp-{r}"));
        }
        let pools: Vec<Value> = (0..params.pools_per_cluster)
            .map(|p| self.pool(name, &cluster, p, demand))
            .collect();
        self.total_vms += cp;
        let mut cluster_doc = json!({ "name": cluster, "kubernetes_version": "v1.31.4",
            "control_plane": { "replicas": cp, "vm_class": CLASSES[3].0 }, "node_pools": pools, "disk": "20Gi" });
        cluster_doc["control_plane"]["vm_class"] = json!(CLASSES
            .iter()
            .find(|x| x.1 == cp_cpus && x.2 == cp_gib && x.0.starts_with("guaranteed"))
            .map_or(CLASSES[3].0, |x| x.0));
        if self.random.chance(params.priority_fraction) {
            cluster_doc["priority"] = json!(1 + self.random.below(100));
        }
        cluster_doc
    }

    /// Pool `p` (0-based) of a cluster: a random size and class; on a 3-zone platform, some
    /// pinned to a random zone.
    fn pool(&mut self, name: &str, cluster: &str, p: usize, demand: &mut Demand) -> Value {
        let (params, random) = (self.params, &mut self.random);
        let replicas = 1 + random.below(u64::from(params.max_pool_replicas));
        let (class, cpus, class_gib) = CLASSES[random.below(CLASSES.len() as u64) as usize];
        demand.vcpus += replicas * cpus;
        demand.gib += replicas * class_gib;
        let pool = format!("pool-{}", p + 1);
        for r in 1..=replicas {
            self.vm_names.push(format!("{name}/{cluster}/{pool}-{r}"));
        }
        let mut pool_doc = json!({ "name": pool, "replicas": replicas, "vm_class": class });
        if params.three_zones && random.chance(0.2) {
            let zone = random.below(3) as usize;
            pool_doc["zone"] = json!(ZONES[zone]);
            demand.pinned[zone].0 += replicas * cpus;
            demand.pinned[zone].1 += replicas * class_gib;
        }
        self.total_vms += replicas;
        pool_doc
    }

    /// VM Service VM `v` (0-based) of namespace `name`: a random class, maybe a priority.
    fn service_vm(&mut self, name: &str, v: usize, demand: &mut Demand) -> Value {
        let random = &mut self.random;
        let (class, cpus, class_gib) = CLASSES[random.below(CLASSES.len() as u64) as usize];
        demand.vcpus += cpus;
        demand.gib += class_gib;
        let vm = format!("vm-{}", v + 1);
        self.vm_names.push(format!("{name}/vm/{vm}"));
        let mut vm_doc = json!({ "name": vm, "vm_class": class, "disk": "40Gi" });
        if random.chance(self.params.priority_fraction) {
            vm_doc["priority"] = json!(1 + random.below(100));
        }
        self.total_vms += 1;
        vm_doc
    }

    /// The DRS rules: each of a random kind over two random VMs.
    fn rules(&mut self) -> Vec<Value> {
        let (params, random, vm_names) = (self.params, &mut self.random, &self.vm_names);
        let kinds = ["separate", "together", "vm_host"];
        (0..params.rules)
            .map(|r| {
                let kind = *random.pick(&kinds);
                let first = random.pick(vm_names).clone();
                let second = random.pick(vm_names).clone();
                // `together` rules are soft: two random VMs may be control-plane peers, which
                // anti-affinity keeps apart. `vm_host` rules name a quarter of the hosts.
                let must = kind != "together" && random.chance(0.5);
                let mut rule = json!({ "name": format!("rule-{}", r + 1), "kind": kind, "vms": [first, second],
                                       "must": must });
                if kind == "vm_host" {
                    let mut hosts: Vec<String> = (0..(params.hosts / 4).max(1))
                        .map(|_| format!("esx-{:03}", 1 + random.below(params.hosts as u64)))
                        .collect();
                    hosts.sort();
                    hosts.dedup();
                    rule["hosts"] = json!(hosts);
                    rule["run_on"] = json!(random.chance(0.5));
                }
                rule
            })
            .collect()
    }

    /// Today's placement: each VM, by chance, on a random host.
    fn placement(&mut self) -> serde_json::Map<String, Value> {
        let (params, random) = (self.params, &mut self.random);
        let mut placement = serde_json::Map::new();
        for vm in &self.vm_names {
            if random.chance(params.placed_fraction) {
                placement.insert(
                    vm.clone(),
                    json!(format!("esx-{:03}", 1 + random.below(params.hosts as u64))),
                );
            }
        }
        placement
    }
}

/// The upgrade: every cluster to v1.32.0, every `patch_every`-th host patched (none for 0),
/// the Supervisor rolled if there is one, `concurrency` hosts in maintenance at once.
fn upgrade(params: &Params, patch_every: usize, concurrency: u32) -> Value {
    let mut clusters = serde_json::Map::new();
    for n in 0..params.namespaces {
        for c in 0..params.clusters_per_namespace {
            clusters.insert(format!("ns-{:02}/c{}", n + 1, c + 1), json!("v1.32.0"));
        }
    }
    let hosts: Vec<String> = if patch_every == 0 {
        Vec::new()
    } else {
        (0..params.hosts)
            .step_by(patch_every)
            .map(|i| format!("esx-{:03}", i + 1))
            .collect()
    };
    json!({ "clusters": clusters, "hosts": hosts, "supervisor": params.supervisor,
            "max_hosts_in_maintenance": concurrency })
}

/// What [`short_of`] takes away so that no placement exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortage {
    /// The first namespace's memory limit at 1 GiB.
    NamespaceMemory,
    /// The workload network 5% short of one address per VM.
    Addresses,
    /// Every host's memory cut so that all hosts together hold this percentage of the VMs'
    /// memory: a conflict over every host.
    HostMemory(u64),
}

/// Makes a generated document infeasible (diagnosis benchmarks and tests).
pub fn short_of(document: &mut Value, shortage: Shortage) {
    match shortage {
        Shortage::NamespaceMemory => {
            document["namespaces"][0]["limits"]["memory"] = json!("1Gi");
        }
        Shortage::Addresses => {
            let ips = document["networks"][1]["ips"].as_u64().unwrap_or(0);
            let vms = vksplan_model::load_value(document).map_or(0, |i| i.vms.len() as u64);
            document["networks"][1]["ips"] = json!(vms.min(ips) * 95 / 100);
        }
        Shortage::HostMemory(percent) => {
            let demand: u128 = vksplan_model::load_value(document).map_or(0, |inventory| {
                inventory
                    .vms
                    .iter()
                    .map(|vm| u128::from(inventory.groups[vm.group].memory.0))
                    .sum()
            });
            let hosts = document["hosts"].as_array().map_or(1, |h| h.len().max(1)) as u128;
            let each_mib = (demand * u128::from(percent) / 100 / hosts) >> 20;
            for host in document["hosts"].as_array_mut().into_iter().flatten() {
                host["memory"] = json!(format!("{each_mib}Mi"));
            }
        }
    }
}
