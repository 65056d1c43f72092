//! Hard platforms: what the first round's generator never made. Heterogeneous host types (GPU
//! hosts too), 3 zones with pinned pools, every rule kind (separate, together, vm_host; must
//! and should), priorities, a current placement with loaded hosts evacuated, demand at a set
//! fraction of the binding resource (vCPU, memory or HA admission), and `consolidate` with host
//! costs; plus cloud-balancing-like platforms (OptaPlanner's computers and processes: vCPU,
//! memory and a `net` device, priced hosts). [`suite`] names the platforms BENCHMARKS.md
//! measures against the CP-SAT peer.
//!
//! ```
//! let document = vksplan_testkit::hard::generate(&vksplan_testkit::hard::Hard::new(1, 8));
//! assert!(vksplan_model::load_value(&document).is_ok());
//! ```

use serde_json::{json, Map, Value};

/// The resource whose use the generator drives to [`Hard::tightness`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// All vCPUs against the overcommitted cores.
    Vcpu,
    /// All memory against the hosts' memory.
    Memory,
    /// Reserved vCPUs and memory against HA admission's share of the physical capacity.
    HaAdmission,
}

/// What a hard platform looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct Hard {
    /// Seed.
    pub seed: u64,
    /// Hosts (about one in eight a GPU host, at least 2 when there are 8 or more).
    pub hosts: usize,
    /// Hosts in 3 zones behind a zonal Supervisor, about a third of the pools pinned to one.
    pub three_zones: bool,
    /// Namespaces (clusters are dealt to them in turn).
    pub namespaces: usize,
    /// Demand as a fraction of the binding resource of the hosts in service.
    pub tightness: f64,
    /// The resource that binds.
    pub binding: Binding,
    /// `"balance"` or `"consolidate"`.
    pub objective: &'static str,
    /// DRS rules (at least one of every kind when >= 6).
    pub rules: usize,
    /// Fraction of the VMs that run somewhere today (`placement`).
    pub placed_fraction: f64,
    /// Hosts, loaded today, that go into maintenance (their VMs must move); at most every
    /// host but one (with no host in service there is no capacity to scale demand by).
    pub evacuate: usize,
    /// Fraction of clusters and VM Service VMs with a priority (they may be rejected).
    pub priority_fraction: f64,
    /// `policy.cpu_overcommit`.
    pub cpu_overcommit: f64,
    /// A full upgrade: every cluster one minor version up, every host patched, the Supervisor
    /// rolled, this many hosts in maintenance at once.
    pub upgrade: Option<u32>,
    /// How many of the worker classes (smallest first) pools and VMs draw from (1 to 6).
    pub worker_classes: usize,
    /// `policy.time_limit_s`.
    pub time_limit_s: f64,
}

impl Hard {
    /// A hard platform of `hosts` hosts: memory at 0.65, a rule per 3 hosts (at least 6),
    /// 60% placed today, 20% with priorities, balance, 60 s.
    pub fn new(seed: u64, hosts: usize) -> Hard {
        Hard {
            seed,
            hosts,
            three_zones: false,
            namespaces: (hosts / 6).clamp(4, 40),
            tightness: 0.65,
            binding: Binding::Memory,
            objective: "balance",
            rules: (hosts / 3).max(6),
            placed_fraction: 0.6,
            evacuate: 0,
            priority_fraction: 0.2,
            worker_classes: 6,
            cpu_overcommit: 2.0,
            upgrade: None,
            time_limit_s: 60.0,
        }
    }
}

/// SplitMix64.
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
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A host type: name prefix, cores, clock, memory (GiB), GPUs, cost.
struct HostType {
    cores: u64,
    mhz: u64,
    gib: u64,
    gpus: u64,
    cost: f64,
}

const HOST_TYPES: [HostType; 5] = [
    HostType {
        cores: 32,
        mhz: 2400,
        gib: 384,
        gpus: 0,
        cost: 3.0,
    },
    HostType {
        cores: 48,
        mhz: 2600,
        gib: 512,
        gpus: 0,
        cost: 4.0,
    },
    HostType {
        cores: 64,
        mhz: 2800,
        gib: 768,
        gpus: 0,
        cost: 5.5,
    },
    HostType {
        cores: 48,
        mhz: 2600,
        gib: 1024,
        gpus: 0,
        cost: 5.0,
    },
    HostType {
        cores: 48,
        mhz: 2600,
        gib: 768,
        gpus: 4,
        cost: 9.0,
    },
];
const GPU_TYPE: usize = 4;
const GPU: &str = "nvidia-a100";

/// A VM class: name, vCPUs, memory (GiB), reserved, GPUs.
#[derive(Clone, Copy)]
struct Class {
    name: &'static str,
    cpus: u64,
    gib: u64,
    reserved: bool,
    gpus: u64,
}

const fn class(name: &'static str, cpus: u64, gib: u64, reserved: bool) -> Class {
    Class {
        name,
        cpus,
        gib,
        reserved,
        gpus: 0,
    }
}

/// Worker classes by binding resource (memory-heavy, compute-heavy, reserved-heavy).
/// Each list runs from small to large; draws favour the small end.
const MEMORY_WORKERS: [Class; 6] = [
    class("best-effort-medium", 2, 8, false),
    class("best-effort-large", 4, 16, false),
    class("guaranteed-xlarge", 4, 32, true),
    class("best-effort-xlarge", 4, 32, false),
    class("best-effort-2xlarge", 8, 64, false),
    class("mem-optimised", 8, 96, false),
];
const VCPU_WORKERS: [Class; 6] = [
    class("best-effort-medium", 2, 8, false),
    class("best-effort-large", 4, 16, false),
    class("guaranteed-large", 4, 16, true),
    class("compute-large", 8, 16, false),
    class("best-effort-2xlarge", 8, 64, false),
    class("compute-xlarge", 16, 32, false),
];
const RESERVED_WORKERS: [Class; 6] = [
    class("guaranteed-medium", 2, 8, true),
    class("guaranteed-large", 4, 16, true),
    class("best-effort-large", 4, 16, false),
    class("guaranteed-xlarge", 4, 32, true),
    class("compute-large", 8, 16, false),
    class("guaranteed-2xlarge", 8, 64, true),
];
const CONTROL_PLANES: [Class; 2] = [
    class("guaranteed-medium", 2, 8, true),
    class("guaranteed-large", 4, 16, true),
];
const GPU_SMALL: Class = Class {
    name: "gpu-a100-small",
    cpus: 8,
    gib: 64,
    reserved: true,
    gpus: 1,
};
const GPU_LARGE: Class = Class {
    name: "gpu-a100-large",
    cpus: 16,
    gib: 128,
    reserved: true,
    gpus: 2,
};
const CUSTOM: [Class; 5] = [
    class("mem-optimised", 8, 96, false),
    class("compute-large", 8, 16, false),
    class("compute-xlarge", 16, 32, false),
    GPU_SMALL,
    GPU_LARGE,
];

/// Demand so far: all and reserved vCPUs and GiB.
#[derive(Default, Clone, Copy)]
struct Demand {
    vcpus: u64,
    gib: u64,
    reserved_vcpus: u64,
    reserved_gib: u64,
}

impl Demand {
    fn add(&mut self, class: &Class, count: u64) {
        self.vcpus += class.cpus * count;
        self.gib += class.gib * count;
        if class.reserved {
            self.reserved_vcpus += class.cpus * count;
            self.reserved_gib += class.gib * count;
        }
    }
}

/// One VM as the placement simulation sees it.
struct Slot {
    name: String,
    class: Class,
    /// Zone index it is pinned to.
    zone: Option<usize>,
    /// Anti-affinity group (control planes).
    anti: Option<usize>,
}

/// Generates one hard platform.
pub fn generate(params: &Hard) -> Value {
    let mut random = Random(params.seed ^ 0x5E_ED_0F_4A_4D);
    let types = host_types(params, &mut random);
    let evacuated = evacuated(params, &types, &mut random);
    let capacity = Capacity::of(params, &types, &evacuated);
    let mut workloads = Workloads::new(params, capacity.gpus);
    workloads.fill(&mut random, &capacity);
    let namespaces = namespaces(params, &workloads.drafts, &mut random);
    let hosts = host_documents(params, &types, &evacuated);
    let gpu_host_names: Vec<String> = (0..params.hosts)
        .filter(|h| types[*h] == GPU_TYPE)
        .map(host_name)
        .collect();
    let rules = rules(
        params,
        &mut random,
        &workloads.slots,
        &namespaces,
        &gpu_host_names,
    );
    let placement = Simulation::new(params, &types, workloads.anti_groups).placement(
        &mut random,
        &evacuated,
        &workloads.slots,
    );

    let vm_count = workloads.slots.len() as u64;
    let mut supervisor = json!({ "control_plane": { "replicas": 3, "size": "small" }, "management_network": "mgmt",
        "workload_network": "workload", "load_balancer_network": "vips" });
    if params.three_zones {
        supervisor["zones"] = json!(ZONES);
    }
    let mut document = json!({
        "version": 1,
        "policy": { "cpu_overcommit": params.cpu_overcommit, "memory_overcommit": 1.0, "objective": params.objective,
                    "time_limit_s": params.time_limit_s },
        "hosts": hosts,
        "vm_classes": custom_classes(),
        "storage_policies": [ { "name": "vsan" }, { "name": "vsan-fast" } ],
        "networks": [
            { "name": "mgmt", "kind": "management", "ips": 5 },
            { "name": "workload", "kind": "workload", "ips": vm_count + 64 },
            { "name": "vips", "kind": "load_balancer", "ips": 2 * workloads.unit_count as u64 + 16 }
        ],
        "supervisor": supervisor,
        "namespaces": namespaces.documents,
        "rules": rules,
    });
    if !placement.is_empty() {
        document["placement"] = Value::Object(placement);
    }
    if let Some(concurrency) = params.upgrade {
        document["upgrade"] = upgrade(params, &workloads.drafts, &evacuated, concurrency);
    }
    document
}

/// The zones of a 3-zone platform.
const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

/// The name of host `h` (0-based).
fn host_name(h: usize) -> String {
    format!("esx-{:03}", h + 1)
}

/// The zone of host `h`, on a 3-zone platform.
fn zone_of(params: &Hard, h: usize) -> Option<usize> {
    if params.three_zones {
        Some(h % 3)
    } else {
        None
    }
}

/// Each host's type: one in eight a GPU host (at least 2 on 8+ hosts), the rest drawn in runs
/// so that hosts of one type are interchangeable.
fn host_types(params: &Hard, random: &mut Random) -> Vec<usize> {
    let gpu_hosts = if params.hosts >= 8 {
        (params.hosts / 8).max(2)
    } else {
        0
    };
    let mut types: Vec<usize> = Vec::with_capacity(params.hosts);
    for i in 0..params.hosts {
        if i < gpu_hosts {
            types.push(GPU_TYPE);
        } else {
            types.push(random.below(GPU_TYPE as u64) as usize);
        }
    }
    // Spread the GPU hosts out (not all at the start, not all in one zone).
    for i in (1..types.len()).rev() {
        let j = random.below(i as u64 + 1) as usize;
        types.swap(i, j);
    }
    types
}

/// The hosts (not GPU hosts) that go into maintenance, sorted.
fn evacuated(params: &Hard, types: &[usize], random: &mut Random) -> Vec<usize> {
    let mut candidates: Vec<usize> = (0..params.hosts)
        .filter(|h| types[*h] != GPU_TYPE)
        .collect();
    let mut chosen = Vec::new();
    let most = params.evacuate.min(params.hosts.saturating_sub(1));
    while chosen.len() < most && !candidates.is_empty() {
        let pick = random.below(candidates.len() as u64) as usize;
        chosen.push(candidates.swap_remove(pick));
    }
    chosen.sort_unstable();
    chosen
}

/// What the hosts in service hold.
struct Capacity {
    /// Overcommitted vCPUs.
    vcpus: f64,
    /// Memory (GiB).
    gib: f64,
    /// The share of the capacity HA admission leaves usable.
    ha_share: f64,
    /// Cores.
    physical_cores: f64,
    /// GPUs.
    gpus: u64,
}

impl Capacity {
    /// The capacity of the hosts not evacuated.
    fn of(params: &Hard, types: &[usize], evacuated: &[usize]) -> Capacity {
        let in_service: Vec<usize> = (0..params.hosts)
            .filter(|h| !evacuated.contains(h))
            .collect();
        let vcpus: f64 = in_service
            .iter()
            .map(|h| HOST_TYPES[types[*h]].cores as f64 * params.cpu_overcommit)
            .sum();
        let gib: f64 = in_service
            .iter()
            .map(|h| HOST_TYPES[types[*h]].gib as f64)
            .sum();
        let ha_share = if in_service.len() >= 3 {
            1.0 - 1.0 / in_service.len() as f64
        } else {
            1.0
        };
        let physical_cores: f64 = in_service
            .iter()
            .map(|h| HOST_TYPES[types[*h]].cores as f64)
            .sum();
        let gpus: u64 = in_service.iter().map(|h| HOST_TYPES[types[*h]].gpus).sum();
        Capacity {
            vcpus,
            gib,
            ha_share,
            physical_cores,
            gpus,
        }
    }

    /// How much of the `binding` resource `demand` takes (never less than its share of the
    /// vCPUs or the memory).
    fn fraction(&self, binding: Binding, demand: &Demand) -> f64 {
        match binding {
            Binding::Vcpu => demand.vcpus as f64 / self.vcpus,
            Binding::Memory => demand.gib as f64 / self.gib,
            Binding::HaAdmission => (demand.reserved_vcpus as f64
                / (self.ha_share * self.physical_cores))
                .max(demand.reserved_gib as f64 / (self.ha_share * self.gib)),
        }
        .max(demand.vcpus as f64 / self.vcpus)
        .max(demand.gib as f64 / self.gib)
    }
}

/// A worker class, small classes more often than large ones.
fn draw(random: &mut Random, workers: &[Class]) -> Class {
    workers[((random.unit().powf(1.5)) * workers.len() as f64) as usize % workers.len()]
}

/// One namespace as its workloads are dealt to it.
struct NamespaceDraft {
    /// Cluster documents.
    clusters: Vec<Value>,
    /// VM Service VM documents.
    vms: Vec<Value>,
    /// What its VMs take.
    demand: Demand,
    /// What its pools pinned to each zone take.
    pinned: [Demand; 3],
    /// A glob per GPU pool.
    gpu_pools: Vec<String>,
    /// Its VM Service VMs without a GPU.
    service_vms: Vec<String>,
}

impl NamespaceDraft {
    /// Limits of `slack` times the demand; in 3 zones each zone's third covers the pools
    /// pinned there plus a third of the rest.
    fn limits(&self, slack: f64) -> Value {
        let pinned_vcpus: u64 = self.pinned.iter().map(|p| p.vcpus).sum();
        let pinned_gib: u64 = self.pinned.iter().map(|p| p.gib).sum();
        let need_vcpus = self
            .pinned
            .iter()
            .map(|p| 3 * p.vcpus + (self.demand.vcpus - pinned_vcpus))
            .max()
            .unwrap_or(0)
            .max(self.demand.vcpus);
        let need_gib = self
            .pinned
            .iter()
            .map(|p| 3 * p.gib + (self.demand.gib - pinned_gib))
            .max()
            .unwrap_or(0)
            .max(self.demand.gib);
        // vcpu_mhz defaults to the fastest host's clock: 2800 when a 64-core type is
        // present, which is almost always; 2800 keeps the limits valid either way.
        json!({
            "cpu_mhz": ((need_vcpus * 2800) as f64 * slack).ceil() as u64,
            "memory": format!("{}Gi", (need_gib as f64 * slack).ceil() as u64),
        })
    }
}

/// The workloads drawn so far: the Supervisor, then clusters and VM Service VMs dealt to the
/// namespaces in turn.
struct Workloads<'p> {
    params: &'p Hard,
    /// The worker classes pools and VMs draw from.
    workers: &'p [Class],
    /// The GPUs of the hosts in service: GPU pools and VMs take at most half.
    gpus: u64,
    /// What all VMs take.
    demand: Demand,
    /// Every VM.
    slots: Vec<Slot>,
    /// Anti-affinity groups so far (the Supervisor's is 0).
    anti_groups: usize,
    /// The namespaces.
    drafts: Vec<NamespaceDraft>,
    /// GPUs taken so far.
    gpus_used: u64,
    /// Clusters and VM Service VMs so far.
    unit_count: usize,
}

impl<'p> Workloads<'p> {
    /// The Supervisor's three control-plane VMs and empty namespaces.
    fn new(params: &'p Hard, gpus: u64) -> Workloads<'p> {
        let workers: &[Class] = match params.binding {
            Binding::Vcpu => &VCPU_WORKERS,
            Binding::Memory => &MEMORY_WORKERS,
            Binding::HaAdmission => &RESERVED_WORKERS,
        };
        let workers = &workers[..params.worker_classes.clamp(1, workers.len())];
        let mut demand = Demand::default();
        let supervisor_class = class("supervisor-small", 4, 16, true);
        demand.add(&supervisor_class, 3);
        let slots: Vec<Slot> = (1..=3)
            .map(|r| Slot {
                name: format!("supervisor/cp-{r}"),
                class: supervisor_class,
                zone: None,
                anti: Some(0),
            })
            .collect();
        let drafts: Vec<NamespaceDraft> = (0..params.namespaces.max(1))
            .map(|_| NamespaceDraft {
                clusters: Vec::new(),
                vms: Vec::new(),
                demand: Demand::default(),
                pinned: [Demand::default(); 3],
                gpu_pools: Vec::new(),
                service_vms: Vec::new(),
            })
            .collect();
        Workloads {
            params,
            workers,
            gpus,
            demand,
            slots,
            anti_groups: 1,
            drafts,
            gpus_used: 0,
            unit_count: 0,
        }
    }

    /// Deals clusters (three in four turns) or VM Service VMs to the namespaces in turn until
    /// the binding resource reaches the tightness.
    fn fill(&mut self, random: &mut Random, capacity: &Capacity) {
        let mut turn = 0usize;
        while capacity.fraction(self.params.binding, &self.demand) < self.params.tightness {
            let index = turn % self.drafts.len();
            turn += 1;
            // One in four turns adds VM Service VMs instead of a cluster.
            if random.chance(0.25) {
                self.add_service_vms(random, index);
            } else {
                self.add_cluster(random, index);
            }
        }
    }

    /// Adds 1 to 3 VM Service VMs to namespace `index`: some with a GPU while half the GPUs
    /// are free, the others of a worker class; some with a priority.
    fn add_service_vms(&mut self, random: &mut Random, index: usize) {
        let params = self.params;
        let namespace = format!("ns-{:02}", index + 1);
        let draft = &mut self.drafts[index];
        let count = random.between(1, 3);
        for _ in 0..count {
            let number = draft.vms.len() + 1;
            let use_gpu = self.gpus_used < self.gpus / 2 && random.chance(0.15);
            let class = if use_gpu {
                GPU_SMALL
            } else {
                draw(random, self.workers)
            };
            let prefix = if random.chance(0.4) { "db" } else { "app" };
            let name = format!("{prefix}-{number}");
            let mut vm = json!({ "name": name, "vm_class": class.name, "disk": format!("{}Gi", 20 * random.between(1, 10)) });
            if random.chance(params.priority_fraction) {
                vm["priority"] = json!(random.between(1, 100));
            }
            self.gpus_used += class.gpus;
            self.demand.add(&class, 1);
            draft.demand.add(&class, 1);
            self.slots.push(Slot {
                name: format!("{namespace}/vm/{name}"),
                class,
                zone: None,
                anti: None,
            });
            if class.gpus == 0 {
                draft.service_vms.push(format!("{namespace}/vm/{name}"));
            }
            draft.vms.push(vm);
            self.unit_count += 1;
        }
    }

    /// Adds a cluster to namespace `index`: 1 or 3 control-plane VMs (3 are an anti-affinity
    /// group), 1 to 3 pools, maybe a priority.
    fn add_cluster(&mut self, random: &mut Random, index: usize) {
        let params = self.params;
        let namespace = format!("ns-{:02}", index + 1);
        let cluster = format!("c{}", self.drafts[index].clusters.len() + 1);
        let cp_replicas = if random.chance(0.6) { 3 } else { 1 };
        let cp_class = CONTROL_PLANES[random.below(2) as usize];
        self.demand.add(&cp_class, cp_replicas);
        self.drafts[index].demand.add(&cp_class, cp_replicas);
        let anti = (cp_replicas == 3).then(|| {
            self.anti_groups += 1;
            self.anti_groups - 1
        });
        for r in 1..=cp_replicas {
            self.slots.push(Slot {
                name: format!("{namespace}/{cluster}/cp-{r}"),
                class: cp_class,
                zone: None,
                anti,
            });
        }
        let mut pools = Vec::new();
        for p in 0..random.between(1, 3) {
            pools.push(self.add_pool(random, index, &format!("{namespace}/{cluster}"), p));
        }
        let mut cluster_document = json!({
            "name": cluster, "kubernetes_version": "v1.31.4",
            "control_plane": { "replicas": cp_replicas, "vm_class": cp_class.name },
            "node_pools": pools, "disk": "40Gi"
        });
        if random.chance(params.priority_fraction) {
            cluster_document["priority"] = json!(random.between(1, 100));
        }
        self.drafts[index].clusters.push(cluster_document);
        self.unit_count += 1;
    }

    /// Adds pool `p` (0-based) of cluster `qualified` (`NS/CLUSTER`) of namespace `index`: the
    /// first pool maybe of GPU VMs while half the GPUs are free, the others of a worker class;
    /// on 3 zones, a third pinned to one. Returns the pool's document.
    fn add_pool(&mut self, random: &mut Random, index: usize, qualified: &str, p: u64) -> Value {
        let draft = &mut self.drafts[index];
        let gpus = self.gpus;
        let gpu_pool = p == 0 && self.gpus_used + 2 <= gpus / 2 && random.chance(0.2);
        let (class, replicas) = if gpu_pool {
            let class = if random.chance(0.3) {
                GPU_LARGE
            } else {
                GPU_SMALL
            };
            let most = ((gpus / 2 - self.gpus_used) / class.gpus).clamp(1, 4);
            (class, random.between(1, most))
        } else {
            (draw(random, self.workers), random.between(2, 20))
        };
        let pool = format!("pool-{}", p + 1);
        let mut pool_document =
            json!({ "name": pool, "replicas": replicas, "vm_class": class.name });
        let zone = (self.params.three_zones && !gpu_pool && random.chance(0.33))
            .then(|| random.below(3) as usize);
        if let Some(zone) = zone {
            pool_document["zone"] = json!(ZONES[zone]);
            draft.pinned[zone].add(&class, replicas);
        }
        self.gpus_used += class.gpus * replicas;
        self.demand.add(&class, replicas);
        draft.demand.add(&class, replicas);
        for r in 1..=replicas {
            self.slots.push(Slot {
                name: format!("{qualified}/{pool}-{r}"),
                class,
                zone,
                anti: None,
            });
        }
        if gpu_pool {
            draft.gpu_pools.push(format!("{qualified}/{pool}-*"));
        }
        pool_document
    }
}

/// The namespaces with something in them, and what the rules draw from.
struct Namespaces {
    /// Their documents.
    documents: Vec<Value>,
    /// A glob per GPU pool.
    gpu_globs: Vec<String>,
    /// The VM Service VMs without a GPU.
    service_vm_names: Vec<String>,
}

/// The namespaces with limits over their demand (a few unlimited), empty ones left out.
fn namespaces(params: &Hard, drafts: &[NamespaceDraft], random: &mut Random) -> Namespaces {
    let all_classes: Vec<&str> = {
        let mut names: Vec<&str> = MEMORY_WORKERS
            .iter()
            .chain(&VCPU_WORKERS)
            .chain(&RESERVED_WORKERS)
            .chain(&CONTROL_PLANES)
            .chain(&CUSTOM)
            .map(|c| c.name)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    let mut namespaces = Namespaces {
        documents: Vec::new(),
        gpu_globs: Vec::new(),
        service_vm_names: Vec::new(),
    };
    for (index, draft) in drafts.iter().enumerate() {
        if draft.clusters.is_empty() && draft.vms.is_empty() {
            continue;
        }
        let name = format!("ns-{:02}", index + 1);
        let mut namespace = json!({
            "name": name, "vm_classes": all_classes, "storage_policies": ["vsan", "vsan-fast"],
            "clusters": draft.clusters, "vms": draft.vms
        });
        if random.chance(0.85) {
            // An upgrade needs room for surge copies under the limits too.
            let slack = if params.upgrade.is_some() { 1.2 } else { 1.05 } + 0.25 * random.unit();
            namespace["limits"] = draft.limits(slack);
        }
        namespaces.gpu_globs.extend(draft.gpu_pools.iter().cloned());
        namespaces
            .service_vm_names
            .extend(draft.service_vms.iter().cloned());
        namespaces.documents.push(namespace);
    }
    namespaces
}

/// The host documents: type, zone, cost when consolidating, maintenance when evacuated.
fn host_documents(params: &Hard, types: &[usize], evacuated: &[usize]) -> Vec<Value> {
    (0..params.hosts)
        .map(|h| {
            let host_type = &HOST_TYPES[types[h]];
            let mut host = json!({ "name": host_name(h), "cpu_cores": host_type.cores,
                                   "cpu_core_mhz": host_type.mhz, "memory": format!("{}Gi", host_type.gib) });
            if host_type.gpus > 0 {
                host["devices"] = json!({ GPU: host_type.gpus });
            }
            if let Some(zone) = zone_of(params, h) {
                host["zone"] = json!(ZONES[zone]);
            }
            if params.objective == "consolidate" {
                host["cost"] = json!(host_type.cost);
            }
            if evacuated.contains(&h) {
                host["maintenance"] = json!(true);
            }
            host
        })
        .collect()
}

/// The rules: GPU pools on GPU hosts (must), then every kind in turn.
fn rules(
    params: &Hard,
    random: &mut Random,
    slots: &[Slot],
    namespaces: &Namespaces,
    gpu_host_names: &[String],
) -> Vec<Value> {
    let mut rules = Vec::new();
    for (i, glob) in namespaces.gpu_globs.iter().enumerate() {
        rules.push(
            json!({ "name": format!("gpu-only-{}", i + 1), "kind": "vm_host", "vms": [glob],
                           "hosts": gpu_host_names, "must": true, "run_on": true }),
        );
    }
    let pools: Vec<&Slot> = slots
        .iter()
        .filter(|s| {
            s.name.ends_with("-1")
                && !s.name.contains("/cp-")
                && !s.name.contains("/vm/")
                && s.anti.is_none()
                && s.class.gpus == 0
        })
        .collect();
    let mut drafter = RuleDrafter {
        params,
        slots,
        pools,
        service_vm_names: &namespaces.service_vm_names,
        namespaces: namespaces.documents.len(),
        pinned: Vec::new(),
    };
    let mut kind = 0;
    let mut attempts = 0;
    let wanted = params.rules + namespaces.gpu_globs.len();
    while rules.len() < wanted && attempts < 20 * params.rules + 20 {
        attempts += 1;
        let number = rules.len() + 1;
        let must = random.chance(0.5);
        match drafter.rule(random, kind % 6, number, must) {
            Drawn::Rule(rule) => {
                kind += 1;
                rules.push(rule);
            }
            Drawn::NextKind => kind += 1,
            Drawn::Again => {}
        }
    }
    rules
}

/// What drawing a rule of one kind gave.
enum Drawn {
    /// The rule.
    Rule(Value),
    /// None of this kind: try the next kind.
    NextKind,
    /// None this time (two draws of one VM): try this kind again.
    Again,
}

/// What rules are drawn over.
struct RuleDrafter<'a> {
    params: &'a Hard,
    /// Every VM.
    slots: &'a [Slot],
    /// The first VM of each pool a rule may name (no control plane, no GPU).
    pools: Vec<&'a Slot>,
    /// The VM Service VMs without a GPU.
    service_vm_names: &'a [String],
    /// How many namespaces there are.
    namespaces: usize,
    /// The VM Service VMs pinned so far.
    pinned: Vec<String>,
}

impl RuleDrafter<'_> {
    /// Draws rule `number` of kind `kind` (0 to 5), hard or soft as `must` says where the kind
    /// allows.
    fn rule(&mut self, random: &mut Random, kind: usize, number: usize, must: bool) -> Drawn {
        let service_vms = self.service_vm_names.len();
        match kind {
            0 if !self.pools.is_empty() => self.spread(random, number, must),
            // Two VM Service VMs apart.
            1 if service_vms >= 2 => self.pair(random, "apart", "separate", number, must),
            // Two small VMs together (soft; hard when both are small).
            2 if service_vms >= 2 => self.pair(random, "together", "together", number, false),
            3 => Drawn::Rule(self.keep_off(random, number, must)),
            4 if !self.pools.is_empty() => Drawn::Rule(self.prefer(random, number)),
            5 if service_vms > 0 => self.pin(random, number),
            _ => Drawn::NextKind,
        }
    }

    /// Spread a pool's workers over distinct hosts (a pool of at most 8).
    fn spread(&self, random: &mut Random, number: usize, must: bool) -> Drawn {
        let slot = self.pools[random.below(self.pools.len() as u64) as usize];
        let prefix = slot.name.trim_end_matches("-1");
        let replicas = self
            .slots
            .iter()
            .filter(|s| s.name.starts_with(prefix) && s.name[prefix.len()..].starts_with('-'))
            .count();
        if !(2..=8).contains(&replicas) {
            return Drawn::NextKind;
        }
        Drawn::Rule(
            json!({ "name": format!("spread-{number}"), "kind": "separate", "vms": [format!("{prefix}-*")], "must": must }),
        )
    }

    /// Two VM Service VMs, `NAME-NUMBER`, of rule `kind`.
    fn pair(
        &self,
        random: &mut Random,
        name: &str,
        kind: &str,
        number: usize,
        must: bool,
    ) -> Drawn {
        let names = self.service_vm_names;
        let a = &names[random.below(names.len() as u64) as usize];
        let b = &names[random.below(names.len() as u64) as usize];
        if a == b {
            return Drawn::Again;
        }
        Drawn::Rule(
            json!({ "name": format!("{name}-{number}"), "kind": kind, "vms": [a, b], "must": must }),
        )
    }

    /// A namespace kept off a few hosts (licensing), hard or soft.
    fn keep_off(&self, random: &mut Random, number: usize, must: bool) -> Value {
        let params = self.params;
        let namespace = 1 + random.below(self.namespaces.max(1) as u64);
        let first = random.below(params.hosts as u64) as usize;
        let hosts: Vec<String> = (0..(params.hosts / 8).max(1))
            .map(|k| host_name((first + k) % params.hosts))
            .collect();
        // Hard only where enough hosts are left for 3-replica control planes.
        json!({ "name": format!("keep-off-{number}"), "kind": "vm_host", "vms": [format!("ns-{namespace:02}/*")],
                "hosts": hosts, "must": must && params.hosts >= 16, "run_on": false })
    }

    /// A pool preferring a half of the hosts (soft).
    fn prefer(&self, random: &mut Random, number: usize) -> Value {
        let slot = self.pools[random.below(self.pools.len() as u64) as usize];
        let prefix = slot.name.trim_end_matches("-1");
        let start = random.below(2) as usize;
        let hosts: Vec<String> = (start..self.params.hosts)
            .step_by(2)
            .map(host_name)
            .collect();
        json!({ "name": format!("prefer-{number}"), "kind": "vm_host", "vms": [format!("{prefix}-*")],
                "hosts": hosts, "must": false, "run_on": true })
    }

    /// A VM Service VM kept on a few hosts (hard).
    fn pin(&mut self, random: &mut Random, number: usize) -> Drawn {
        let params = self.params;
        let names = self.service_vm_names;
        let vm = &names[random.below(names.len() as u64) as usize];
        // One pin per VM (two pins to disjoint hosts would leave it nowhere).
        if self.pinned.contains(vm) {
            return Drawn::NextKind;
        }
        self.pinned.push(vm.clone());
        let first = random.below(params.hosts as u64) as usize;
        let hosts: Vec<String> = (0..(params.hosts / 4).max(2))
            .map(|k| host_name((first + k) % params.hosts))
            .collect();
        Drawn::Rule(
            json!({ "name": format!("pin-{number}"), "kind": "vm_host", "vms": [vm],
                "hosts": hosts, "must": true, "run_on": true }),
        )
    }
}

/// A third of the GPU hosts run ordinary VMs today too.
fn takes_general_vms(h: usize) -> bool {
    h % 3 == 0
}

/// Today's placement as it is simulated: what each host runs, where each anti-affinity group
/// is.
struct Simulation<'a> {
    params: &'a Hard,
    types: &'a [usize],
    /// Per host: vCPUs, GiB and GPUs placed.
    load: Vec<(u64, u64, u64)>,
    /// Per anti-affinity group: the hosts its VMs are on.
    anti_hosts: Vec<Vec<usize>>,
}

impl<'a> Simulation<'a> {
    /// Nothing placed yet.
    fn new(params: &'a Hard, types: &'a [usize], anti_groups: usize) -> Simulation<'a> {
        Simulation {
            params,
            types,
            load: vec![(0u64, 0u64, 0u64); params.hosts],
            anti_hosts: vec![Vec::new(); anti_groups],
        }
    }

    /// Today's placement: evacuated hosts are filled first, then random hosts with room (80%
    /// of the limits), keeping control planes apart, pins and GPUs.
    fn placement(
        mut self,
        random: &mut Random,
        evacuated: &[usize],
        slots: &[Slot],
    ) -> Map<String, Value> {
        let params = self.params;
        let mut placement = Map::new();
        for slot in slots {
            if !random.chance(params.placed_fraction) {
                continue;
            }
            let candidates: Vec<usize> = evacuated
                .iter()
                .copied()
                .filter(|h| self.fits(slot, *h))
                .collect();
            let host = if !candidates.is_empty() && random.chance(0.7) {
                Some(candidates[random.below(candidates.len() as u64) as usize])
            } else {
                let mut chosen = None;
                for _ in 0..8 {
                    let h = random.below(params.hosts as u64) as usize;
                    if self.fits(slot, h) {
                        chosen = Some(h);
                        break;
                    }
                }
                chosen
            };
            if let Some(h) = host {
                self.load[h].0 += slot.class.cpus;
                self.load[h].1 += slot.class.gib;
                self.load[h].2 += slot.class.gpus;
                if let Some(a) = slot.anti {
                    self.anti_hosts[a].push(h);
                }
                placement.insert(slot.name.clone(), json!(host_name(h)));
            }
        }
        placement
    }

    /// Whether `slot` fits on host `h`: within 80% of its limits, its zone, GPU hosts for
    /// GPU VMs (and a third of them for others), apart from its anti-affinity peers.
    fn fits(&self, slot: &Slot, h: usize) -> bool {
        let host_type = &HOST_TYPES[self.types[h]];
        let (vcpus, gib, gpus) = self.load[h];
        (vcpus + slot.class.cpus) as f64
            <= 0.8 * host_type.cores as f64 * self.params.cpu_overcommit
            && (gib + slot.class.gib) as f64 <= 0.8 * host_type.gib as f64
            && gpus + slot.class.gpus <= host_type.gpus
            && slot.zone.is_none_or(|z| zone_of(self.params, h) == Some(z))
            && (slot.class.gpus > 0 || host_type.gpus == 0 || takes_general_vms(h))
            && slot.anti.is_none_or(|a| !self.anti_hosts[a].contains(&h))
    }
}

/// The custom VM classes the document defines.
fn custom_classes() -> Vec<Value> {
    CUSTOM
        .iter()
        .map(|c| {
            let mut class = json!({ "name": c.name, "cpus": c.cpus, "memory": format!("{}Gi", c.gib), "reserved": c.reserved });
            if c.gpus > 0 {
                class["devices"] = json!({ GPU: c.gpus });
            }
            class
        })
        .collect()
}

/// A full upgrade: every cluster to v1.32.0, every host in service patched, the Supervisor
/// rolled, `concurrency` hosts in maintenance at once.
fn upgrade(
    params: &Hard,
    drafts: &[NamespaceDraft],
    evacuated: &[usize],
    concurrency: u32,
) -> Value {
    let mut clusters = Map::new();
    for (index, draft) in drafts.iter().enumerate() {
        for cluster in &draft.clusters {
            if let Some(name) = cluster["name"].as_str() {
                clusters.insert(format!("ns-{:02}/{name}", index + 1), json!("v1.32.0"));
            }
        }
    }
    let hosts: Vec<String> = (0..params.hosts)
        .filter(|h| !evacuated.contains(h))
        .map(host_name)
        .collect();
    json!({ "clusters": clusters, "hosts": hosts, "supervisor": true,
            "max_hosts_in_maintenance": concurrency })
}

/// A cloud-balancing-like platform, after OptaPlanner's public example: `computers` hosts whose
/// CPU power, memory and network bandwidth come from price lists (the host's cost is the sum of
/// its three prices), and `processes` VM Service VMs that need a little of each. Network
/// bandwidth is the `net` device. Objective `consolidate`, no overcommit, no Supervisor.
pub fn cloud(seed: u64, computers: usize, processes: usize, time_limit_s: f64) -> Value {
    // (units, price): CPU power in cores, memory in GiB, bandwidth in `net` units.
    const CPU: [(u64, u64); 7] = [
        (3, 110),
        (4, 140),
        (6, 180),
        (8, 270),
        (12, 400),
        (16, 1000),
        (24, 3000),
    ];
    const MEMORY: [(u64, u64); 7] = [
        (2, 140),
        (4, 180),
        (8, 220),
        (16, 300),
        (32, 400),
        (64, 600),
        (96, 1000),
    ];
    const NETWORK: [(u64, u64); 7] = [
        (2, 100),
        (4, 200),
        (6, 300),
        (8, 400),
        (12, 600),
        (16, 800),
        (20, 1000),
    ];
    let mut random = Random(seed ^ 0xC10D);
    let near = |random: &mut Random, index: usize| -> usize {
        (index as i64 + random.below(3) as i64 - 1).clamp(0, 6) as usize
    };
    let mut hosts = Vec::new();
    let (mut cpu_total, mut memory_total, mut net_total) = (0u64, 0u64, 0u64);
    for c in 0..computers {
        let cpu = random.below(7) as usize;
        let memory = near(&mut random, cpu);
        let network = near(&mut random, cpu);
        let (cores, cpu_price) = CPU[cpu];
        let (gib, memory_price) = MEMORY[memory];
        let (net, net_price) = NETWORK[network];
        cpu_total += cores;
        memory_total += gib;
        net_total += net;
        hosts.push(json!({ "name": format!("computer-{:03}", c + 1), "cpu_cores": cores, "cpu_core_mhz": 2000,
                           "memory": format!("{gib}Gi"), "devices": { "net": net },
                           "cost": cpu_price + memory_price + net_price }));
    }
    // Processes draw small requirements, scaled so that the total stays near 70% of the
    // computers' capacity in each resource; each fits the smallest computer's half at least.
    let mut shapes: Vec<(u64, u64, u64)> = Vec::new();
    let mut vms = Vec::new();
    let (mut cpu_sum, mut memory_sum, mut net_sum) = (0u64, 0u64, 0u64);
    for p in 0..processes {
        let skew =
            |random: &mut Random, most: u64| 1 + (random.unit().powi(3) * most as f64) as u64;
        let mut shape = (
            skew(&mut random, 4),
            skew(&mut random, 8),
            skew(&mut random, 4),
        );
        // Keep the totals under 70% of capacity.
        if (cpu_sum + shape.0) as f64 > 0.7 * cpu_total as f64 {
            shape.0 = 1;
        }
        if (memory_sum + shape.1) as f64 > 0.7 * memory_total as f64 {
            shape.1 = 1;
        }
        if (net_sum + shape.2) as f64 > 0.7 * net_total as f64 {
            shape.2 = 1;
        }
        cpu_sum += shape.0;
        memory_sum += shape.1;
        net_sum += shape.2;
        let class = match shapes.iter().position(|s| *s == shape) {
            Some(index) => index,
            None => {
                shapes.push(shape);
                shapes.len() - 1
            }
        };
        vms.push(json!({ "name": format!("process-{:04}", p + 1), "vm_class": format!("process-{}", class + 1), "disk": "1Gi" }));
    }
    let classes: Vec<Value> = shapes
        .iter()
        .enumerate()
        .map(|(i, (cpus, gib, net))| {
            json!({ "name": format!("process-{}", i + 1), "cpus": cpus, "memory": format!("{gib}Gi"), "devices": { "net": net } })
        })
        .collect();
    let class_names: Vec<String> = (1..=shapes.len()).map(|i| format!("process-{i}")).collect();
    json!({
        "version": 1,
        "policy": { "cpu_overcommit": 1.0, "memory_overcommit": 1.0, "objective": "consolidate",
                    "time_limit_s": time_limit_s },
        "hosts": hosts,
        "vm_classes": classes,
        "storage_policies": [ { "name": "local" } ],
        "networks": [ { "name": "workload", "kind": "workload", "ips": processes as u64 + 8 },
                      { "name": "vips", "kind": "load_balancer", "ips": 8 } ],
        "namespaces": [ { "name": "cloud", "vm_classes": class_names, "storage_policies": ["local"],
                          "workload_network": "workload", "load_balancer_network": "vips", "vms": vms } ]
    })
}

/// Writes each `(name, document)` as `DIRECTORY/NAME.json` (pretty JSON), creating the
/// directory; the paths written, or what could not be done.
pub fn write_all(
    directory: &str,
    platforms: impl IntoIterator<Item = (String, Value)>,
) -> Result<Vec<std::path::PathBuf>, String> {
    std::fs::create_dir_all(directory)
        .map_err(|error| format!("cannot create `{directory}`: {error}"))?;
    let mut written = Vec::new();
    for (name, document) in platforms {
        let path = std::path::Path::new(directory).join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&document).unwrap_or_default();
        std::fs::write(&path, text)
            .map_err(|error| format!("cannot write `{}`: {error}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The parameters of the suite's h288-zones (seed 288) with another `seed`: 288 hosts in
/// 3 zones, ~10,000 VMs at 0.7 of memory, two worker classes, CPU overcommit 3.
pub fn h288_zones(seed: u64) -> Hard {
    Hard {
        three_zones: true,
        tightness: 0.7,
        worker_classes: 2,
        cpu_overcommit: 3.0,
        ..Hard::new(seed, 288)
    }
}

/// The hard suite: named platforms from 4 to 288 hosts, both objectives, measured side by side
/// with the CP-SAT peer (`benches/hard-suite.sh`).
pub fn suite() -> Vec<(&'static str, Value)> {
    let mut platforms = Vec::new();
    let mut add = |name: &'static str, params: Hard| platforms.push((name, generate(&params)));
    add(
        "h4-tight",
        Hard {
            tightness: 0.85,
            rules: 6,
            namespaces: 4,
            ..Hard::new(4, 4)
        },
    );
    add(
        "h16-vcpu",
        Hard {
            binding: Binding::Vcpu,
            tightness: 0.8,
            ..Hard::new(16, 16)
        },
    );
    add("h32-memory", Hard::new(32, 32));
    add(
        "h30-zones",
        Hard {
            three_zones: true,
            ..Hard::new(30, 30)
        },
    );
    add(
        "h32-evacuate",
        Hard {
            evacuate: 2,
            placed_fraction: 0.8,
            ..Hard::new(33, 32)
        },
    );
    add(
        "h48-ha",
        Hard {
            binding: Binding::HaAdmission,
            tightness: 0.85,
            ..Hard::new(48, 48)
        },
    );
    add(
        "h32-consolidate",
        Hard {
            objective: "consolidate",
            tightness: 0.6,
            ..Hard::new(34, 32)
        },
    );
    add(
        "h96-memory",
        Hard {
            worker_classes: 2,
            cpu_overcommit: 3.0,
            ..Hard::new(96, 96)
        },
    );
    add("h288-zones", h288_zones(288));
    // The shape of the 288-host platform of issue 9: nothing runs today.
    add(
        "h288-fresh",
        Hard {
            placed_fraction: 0.0,
            ..h288_zones(289)
        },
    );
    // Full upgrades: every cluster, every host, the Supervisor.
    add(
        "u96-gpu",
        Hard {
            tightness: 0.6,
            worker_classes: 2,
            cpu_overcommit: 3.0,
            upgrade: Some(2),
            ..Hard::new(960, 96)
        },
    );
    add(
        "u288-zones",
        Hard {
            three_zones: true,
            tightness: 0.6,
            worker_classes: 2,
            cpu_overcommit: 3.0,
            upgrade: Some(3),
            ..Hard::new(2880, 288)
        },
    );
    platforms.push(("cloud-100", cloud(100, 100, 300, 60.0)));
    platforms.push(("cloud-200", cloud(200, 200, 600, 60.0)));
    platforms.push(("cloud-400", cloud(400, 400, 1200, 60.0)));
    platforms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_platform_is_valid() {
        for (name, document) in suite() {
            if let Err(invalid) = vksplan_model::load_value(&document) {
                panic!("{name} is invalid: {invalid}");
            }
        }
    }

    #[test]
    fn evacuating_every_host_keeps_one_in_service() {
        // Before the cap, this never returned: no capacity left to scale the demand by.
        let document = generate(&Hard {
            evacuate: 3,
            ..Hard::new(7, 1)
        });
        let in_maintenance = document["hosts"].as_array().map_or(0, |hosts| {
            hosts.iter().filter(|h| h["maintenance"] == true).count()
        });
        assert_eq!(in_maintenance, 0);
    }
}
