//! A greedy placement: the MIP's warm start and its fallback when the time limit hits before
//! HiGHS finds a plan. Units go in order (Supervisor, units without priority, then by priority),
//! each VM (largest first) to the allowed host that keeps the highest utilisation lowest (or, to
//! consolidate, the cheapest host already in use), preferring its current host. A unit that
//! does not fit whole is left out. The result is only used when the verifier accepts it.

use crate::verify::{verify, Assignment};
use vksplan_model::inventory::GroupKind;
use vksplan_model::topology::{ObjectiveKind, RuleKind};
use vksplan_model::Inventory;

struct State<'a> {
    inventory: &'a Inventory,
    host_of: Vec<Option<usize>>,
    vcpus: Vec<u64>,
    memory: Vec<u128>,
    reserved_vcpus: Vec<u64>,
    reserved_memory: Vec<u128>,
    devices: Vec<Vec<(String, u64)>>,
    namespace_vcpus: Vec<u64>,
    namespace_memory: Vec<u128>,
    zone_vcpus: Vec<Vec<u64>>,
    zone_memory: Vec<Vec<u128>>,
    used: Vec<bool>,
}

impl<'a> State<'a> {
    fn fits(&self, vm: usize, host: usize) -> bool {
        let inventory = self.inventory;
        let host_spec = &inventory.hosts[host];
        let group = inventory.group_of(vm);
        let policy = &inventory.policy;
        if host_spec.maintenance {
            return false;
        }
        if let GroupKind::NodePool {
            zone: Some(zone), ..
        } = group.kind
        {
            if host_spec.zone != Some(zone) {
                return false;
            }
        }
        if self.vcpus[host] + u64::from(group.vcpus) > host_spec.vcpu_limit
            || self.memory[host] + u128::from(group.memory.0) > u128::from(host_spec.memory_limit.0)
        {
            return false;
        }
        if group.reserved
            && (self.reserved_vcpus[host] + u64::from(group.vcpus) > u64::from(host_spec.cpu_cores)
                || self.reserved_memory[host] + u128::from(group.memory.0)
                    > u128::from(host_spec.memory.0))
        {
            return false;
        }
        for (device, count) in &group.devices {
            let used = self.devices[host]
                .iter()
                .find(|(d, _)| d == device)
                .map_or(0, |(_, n)| *n);
            if used + u64::from(*count) > u64::from(host_spec.device_count(device)) {
                return false;
            }
        }
        if group.anti_affine() {
            for other in group.vms.iter().filter(|o| **o != vm) {
                if let Some(other_host) = self.host_of[*other] {
                    let same_zone =
                        inventory.three_zone && inventory.hosts[other_host].zone == host_spec.zone;
                    if other_host == host || same_zone {
                        return false;
                    }
                }
            }
        }
        for rule in inventory
            .rules
            .iter()
            .filter(|r| r.must && r.vms.binary_search(&vm).is_ok())
        {
            let others = rule
                .vms
                .iter()
                .filter(|o| **o != vm)
                .filter_map(|o| self.host_of[*o]);
            let ok = match rule.kind {
                RuleKind::Separate => others.into_iter().all(|h| h != host),
                RuleKind::Together => others.into_iter().all(|h| h == host),
                RuleKind::VmHost => rule.hosts.contains(&host) == rule.run_on,
            };
            if !ok {
                return false;
            }
        }
        if let Some(namespace_index) = group.namespace {
            let namespace = &inventory.namespaces[namespace_index];
            let mhz = policy.vcpu_mhz;
            let vcpus = self.namespace_vcpus[namespace_index] + u64::from(group.vcpus);
            let memory = self.namespace_memory[namespace_index] + u128::from(group.memory.0);
            if namespace
                .cpu_mhz_limit
                .is_some_and(|limit| vcpus * mhz > limit)
                || namespace
                    .memory_limit
                    .is_some_and(|limit| memory > u128::from(limit.0))
            {
                return false;
            }
            if let (true, Some(zone)) = (inventory.three_zone, host_spec.zone) {
                let zone_vcpus = self.zone_vcpus[namespace_index][zone] + u64::from(group.vcpus);
                let zone_memory =
                    self.zone_memory[namespace_index][zone] + u128::from(group.memory.0);
                if namespace
                    .cpu_mhz_limit
                    .is_some_and(|limit| 3 * zone_vcpus * mhz > limit)
                    || namespace
                        .memory_limit
                        .is_some_and(|limit| 3 * zone_memory > u128::from(limit.0))
                {
                    return false;
                }
            }
        }
        true
    }

    fn apply(&mut self, vm: usize, host: usize, sign: i64) {
        let group = self.inventory.group_of(vm);
        let add =
            |value: &mut u64, amount: u64| *value = value.wrapping_add_signed(sign * amount as i64);
        let add128 = |value: &mut u128, amount: u128| {
            *value = if sign > 0 {
                *value + amount
            } else {
                *value - amount
            };
        };
        add(&mut self.vcpus[host], u64::from(group.vcpus));
        add128(&mut self.memory[host], u128::from(group.memory.0));
        if group.reserved {
            add(&mut self.reserved_vcpus[host], u64::from(group.vcpus));
            add128(&mut self.reserved_memory[host], u128::from(group.memory.0));
        }
        for (device, count) in &group.devices {
            match self.devices[host].iter_mut().find(|(d, _)| d == device) {
                Some((_, n)) => add(n, u64::from(*count)),
                None => self.devices[host].push((device.clone(), u64::from(*count))),
            }
        }
        if let Some(namespace) = group.namespace {
            add(&mut self.namespace_vcpus[namespace], u64::from(group.vcpus));
            add128(
                &mut self.namespace_memory[namespace],
                u128::from(group.memory.0),
            );
            if let Some(zone) = self.inventory.hosts[host].zone {
                add(
                    &mut self.zone_vcpus[namespace][zone],
                    u64::from(group.vcpus),
                );
                add128(
                    &mut self.zone_memory[namespace][zone],
                    u128::from(group.memory.0),
                );
            }
        }
        self.host_of[vm] = (sign > 0).then_some(host);
    }

    /// Lower is better: utilisation after placing, or (cost, not yet used) to consolidate.
    fn score(&self, vm: usize, host: usize) -> (u8, f64) {
        let inventory = self.inventory;
        let group = inventory.group_of(vm);
        let spec = &inventory.hosts[host];
        match inventory.policy.objective {
            ObjectiveKind::Balance => {
                let cpu = (self.vcpus[host] + u64::from(group.vcpus)) as f64
                    / spec.vcpu_limit.max(1) as f64;
                let memory = (self.memory[host] + u128::from(group.memory.0)) as f64
                    / spec.memory_limit.0.max(1) as f64;
                (0, cpu.max(memory))
            }
            ObjectiveKind::Consolidate => (u8::from(!self.used[host]), spec.cost),
        }
    }
}

/// Places what fits; `None` when a unit that must be admitted does not fit or the result
/// fails the verifier.
pub fn greedy(inventory: &Inventory) -> Option<Assignment> {
    let hosts = inventory.hosts.len();
    let zones = inventory.zones.len();
    let namespaces = inventory.namespaces.len();
    let mut state = State {
        inventory,
        host_of: vec![None; inventory.vms.len()],
        vcpus: vec![0; hosts],
        memory: vec![0; hosts],
        reserved_vcpus: vec![0; hosts],
        reserved_memory: vec![0; hosts],
        devices: vec![Vec::new(); hosts],
        namespace_vcpus: vec![0; namespaces],
        namespace_memory: vec![0; namespaces],
        zone_vcpus: vec![vec![0; zones]; namespaces],
        zone_memory: vec![vec![0; zones]; namespaces],
        used: vec![false; hosts],
    };
    let mut current = vec![None; inventory.vms.len()];
    for (vm, host) in &inventory.placement {
        current[*vm] = Some(*host);
    }
    // First one batch of everything that must be admitted (the Supervisor and every unit
    // without priority), then each optional unit by priority. Within a batch the most
    // constrained VMs go first: pinned (zone or hard vm_host rule), then control planes, then
    // the largest.
    let mandatory_units: Vec<usize> = (0..inventory.admission_units.len())
        .filter(|u| inventory.admission_units[*u].priority.is_none())
        .collect();
    let mut optional: Vec<usize> = (0..inventory.admission_units.len())
        .filter(|u| inventory.admission_units[*u].priority.is_some())
        .collect();
    optional.sort_by_key(|u| {
        (
            std::cmp::Reverse(inventory.admission_units[*u].priority.unwrap_or(0)),
            *u,
        )
    });
    let mut batches: Vec<(Vec<usize>, bool)> = vec![(mandatory_units, true)];
    batches.extend(optional.into_iter().map(|u| (vec![u], false)));
    let pinned_by_rule: Vec<bool> = {
        let mut pinned = vec![false; inventory.vms.len()];
        for rule in inventory
            .rules
            .iter()
            .filter(|r| r.must && r.kind == RuleKind::VmHost)
        {
            for vm in &rule.vms {
                pinned[*vm] = true;
            }
        }
        pinned
    };
    let mut admitted = vec![false; inventory.admission_units.len()];
    for (units, mandatory) in batches {
        let mut vms: Vec<usize> = units
            .iter()
            .flat_map(|unit| inventory.admission_units[*unit].groups.iter())
            .flat_map(|g| inventory.groups[*g].vms.iter().copied())
            .collect();
        if mandatory {
            vms.extend(
                inventory
                    .groups
                    .iter()
                    .filter(|g| g.kind == GroupKind::SupervisorControlPlane)
                    .flat_map(|g| g.vms.iter().copied()),
            );
        }
        vms.sort_by_key(|vm| {
            let group = inventory.group_of(*vm);
            let pinned = matches!(group.kind, GroupKind::NodePool { zone: Some(_), .. })
                || pinned_by_rule[*vm];
            let rank = if pinned {
                0
            } else if group.anti_affine() {
                1
            } else {
                2
            };
            (
                rank,
                std::cmp::Reverse((u64::from(group.vcpus), group.memory.0)),
                *vm,
            )
        });
        let mut placed = Vec::new();
        let mut complete = true;
        for vm in vms {
            let keep = current[vm].filter(|host| state.fits(vm, *host));
            let best = keep.or_else(|| {
                (0..hosts)
                    .filter(|host| state.fits(vm, *host))
                    .min_by(|a, b| {
                        state
                            .score(vm, *a)
                            .partial_cmp(&state.score(vm, *b))
                            .unwrap_or(std::cmp::Ordering::Equal)
                    })
            });
            match best {
                Some(host) => {
                    state.apply(vm, host, 1);
                    placed.push((vm, host, state.used[host]));
                    state.used[host] = true;
                }
                None => {
                    complete = false;
                    break;
                }
            }
        }
        if !complete {
            if mandatory {
                return None;
            }
            for (vm, host, was_used) in placed.into_iter().rev() {
                state.apply(vm, host, -1);
                state.used[host] = was_used;
            }
            continue;
        }
        for unit in &units {
            admitted[*unit] = true;
        }
        // Unit-level limits (storage, IPs, HA admission) are the verifier's to check: an
        // optional unit that breaks one is dropped again.
        let candidate = Assignment {
            host_of: state.host_of.clone(),
            admitted: admitted.clone(),
        };
        let unit_level_broken = verify(inventory, &candidate).violations.iter().any(|v| {
            matches!(
                v.constraint.as_str(),
                "storage_capacity" | "storage_limit" | "ip_addresses" | "ha_admission"
            )
        });
        if unit_level_broken {
            if mandatory {
                return None;
            }
            for unit in &units {
                admitted[*unit] = false;
            }
            for (vm, host, was_used) in placed.into_iter().rev() {
                state.apply(vm, host, -1);
                state.used[host] = was_used;
            }
        }
    }
    if inventory.policy.objective == ObjectiveKind::Balance {
        lower_the_peak(&mut state, &current);
    }
    let assignment = Assignment {
        host_of: state.host_of,
        admitted,
    };
    verify(inventory, &assignment)
        .violations
        .is_empty()
        .then_some(assignment)
}

/// Local search for `balance`: while some VM on the most utilised host can move to a host
/// that stays below that peak, move it. VMs on their current host stay put (moving them would
/// cost a migration, an earlier step of the objective).
fn lower_the_peak(state: &mut State, current: &[Option<usize>]) {
    let inventory = state.inventory;
    let hosts = inventory.hosts.len();
    let utilisation = |state: &State, host: usize| -> f64 {
        let spec = &inventory.hosts[host];
        let cpu = state.vcpus[host] as f64 / spec.vcpu_limit.max(1) as f64;
        let memory = state.memory[host] as f64 / spec.memory_limit.0.max(1) as f64;
        cpu.max(memory)
    };
    let by_utilisation = |a: &(usize, f64), b: &(usize, f64)| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    };
    let mut on_host: Vec<Vec<usize>> = vec![Vec::new(); hosts];
    for (vm, host) in state.host_of.iter().enumerate() {
        if let Some(host) = host {
            on_host[*host].push(vm);
        }
    }
    let budget = 20 * inventory.vms.len() + 100;
    for _ in 0..budget {
        let mut order: Vec<(usize, f64)> = (0..hosts).map(|h| (h, utilisation(state, h))).collect();
        order.sort_by(|a, b| by_utilisation(b, a));
        let peak = order[0].1;
        let mut moved = false;
        // Only the hosts at the peak matter; try each until one gives a VM away.
        for (source, _) in order
            .iter()
            .copied()
            .take_while(|(_, u)| *u >= peak - 1e-12)
        {
            let mut candidates = on_host[source].clone();
            candidates.retain(|vm| current[*vm] != Some(source));
            candidates.sort_by_key(|vm| std::cmp::Reverse(inventory.group_of(*vm).vcpus));
            for vm in candidates {
                state.apply(vm, source, -1);
                let mut best: Option<(usize, f64)> = None;
                for target in (0..hosts).filter(|h| *h != source) {
                    if !state.fits(vm, target) {
                        continue;
                    }
                    state.apply(vm, target, 1);
                    let after = (target, utilisation(state, target));
                    state.apply(vm, target, -1);
                    if after.1 < peak - 1e-12
                        && best.is_none_or(|b| by_utilisation(&after, &b).is_lt())
                    {
                        best = Some(after);
                    }
                }
                match best {
                    Some((target, _)) => {
                        state.apply(vm, target, 1);
                        on_host[source].retain(|v| *v != vm);
                        on_host[target].push(vm);
                        state.used[target] = true;
                        moved = true;
                        break;
                    }
                    None => state.apply(vm, source, 1),
                }
            }
            if moved {
                break;
            }
        }
        if !moved {
            return;
        }
    }
}
