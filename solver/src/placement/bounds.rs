//! Lower bounds that hold once migrations are held (step 3): a VM that runs today on a host it
//! may stay on either stays, loading that host and holding its pool's count there, or moves,
//! which costs a migration. With at most `M` migrations, of which `forced` are VMs that cannot
//! stay (their host is in maintenance, outside their zone or forbidden by a hard rule), the
//! hosts can shed only `M - forced` of today's VMs between them.
//!
//! - Balance: at a level `c`, host `h` must shed at least `r_h(c)` of its staying VMs (the
//!   fewest, largest first, that bring its vCPUs and memory under `c`'s capacities), and the
//!   members of rules and control planes move at least `F = floor - forced` times, at most
//!   `members_h` of them off `h`, so `c` is possible only when
//!   `forced + sum_h r_h(c) + max(0, F - sum_h min(r_h(c), members_h)) <= M`.
//! - Spread: a pool holds at least `max_h stay(pool, h) - (moved away)` on some host; lowering
//!   a pool's largest count by one below what stays costs one migration per host at that
//!   count. The cheapest lowering within the budget (marginal costs only grow: a greedy is
//!   exact) gives the bound, together with `ceil(replicas / hosts it may use)`.
//!
//! - Per pool: a host that must shed `r_h` at the held level sheds at most `r_h` plus what
//!   the budget leaves once every host has shed its due, so each pool keeps on each host at
//!   least what stays there less that.
//! - Control planes that share a host, or a zone with a 3-zone Supervisor, all but one move:
//!   migrations the pools cannot use.
//!
//! Which soft rules hold matters (a soft `vm_host` rule that holds sends its VMs away): with
//! step 2 held at `k` broken, each bound is the least over the choices of `k` soft rules to
//! break, after the rules no plan keeps (a soft `together` rule over two VMs a hard rule
//! separates, and the converse; a soft `vm_host` rule that leaves a VM no host its hard
//! constraints allow), and only choices that break one of each pair of rules that cannot both
//! hold (see [`soft_floor`]).
//!
//! Only VMs of units that are surely admitted count: units without priority, and every unit
//! when step 1 holds all of them admitted.

use super::levels::Levels;
use super::score::Ratio;
use std::collections::{BTreeMap, BTreeSet};
use vksplan_model::document::RuleKind;
use vksplan_model::inventory::GroupKind;
use vksplan_model::Inventory;
use vksplan_model::{GroupId, HostId, VmId};

/// Today's VMs that may stay where they are, per host, and the ones that cannot.
#[derive(Clone)]
pub struct Staying {
    /// Per host: (vCPUs, memory bytes, group) of each VM that runs there today and may stay.
    per_host: Vec<Vec<(u64, u128, usize)>>,
    /// Per host: how many of those must leave all the same, whatever the level: because two
    /// of them break a rule together (control-plane anti-affinity, hard `separate` rules, and
    /// the soft ones assumed to hold; the most over any one rule of (its members there - 1)),
    /// or because together they overflow the host's capacity (see [`overflow`]), whichever is
    /// more.
    crowded: Vec<u32>,
    /// The fewest control-plane VMs among those that must leave because two of them share a
    /// host or, with a 3-zone Supervisor, a zone. Control planes are no node pool's, so these
    /// moves lower no pool's count.
    control_planes: u32,
    /// The fewest moves that `together` rules add beyond `crowded`: the members of a group of
    /// rules joined by shared VMs (see [`together_groups`]) that run today on two hosts or more,
    /// or on one where they cannot all run, must end on one host, so all but one host's share
    /// move, less what those hosts shed anyway (groups share no VM, so no move counts twice).
    together: u32,
    /// The fewest moves of VMs of no control plane that `crowded` and `together` count: the
    /// control planes' `control_planes` are on top of them.
    beside_planes: u32,
    /// VMs that run today where they may not stay: each is a migration.
    forced: u32,
    /// Per rule: whether the soft rule is assumed to hold (must rules always do).
    holds: Vec<bool>,
    /// Per VM of a surely admitted unit running today: why it may or must leave its host.
    roles: Vec<Option<Role>>,
    /// Per host: the fewest of the `together` moves that are moves off other hosts.
    together_elsewhere: Vec<u32>,
    /// Per host: how many of its staying VMs are [`Role::Member`]s, the only VMs whose moves
    /// the floor's moves beyond `forced` can be.
    members: Vec<u32>,
}

/// Why one of today's VMs may leave its host, in a plan of one choice of soft rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// It may not stay: a migration in every plan.
    Forced,
    /// It may stay, but shares its host with another member of a rule that keeps them apart,
    /// or its zone (3-zone Supervisor) or host with another control plane of its cluster, or
    /// runs on a host its VMs overflow, or belongs to a group of `together` rules whose
    /// members run on two hosts today (or on one where they cannot all run): the members move
    /// at least `max(sum(crowded) + together, control_planes + beside_planes)` times between
    /// them.
    Member,
    /// It may stay, and nothing sends it away: moving it spends the migrations' slack.
    Stays,
}

/// Today's placement of the surely admitted VMs, split into those that may stay and those
/// that must move.
struct Today {
    /// Per host: (vCPUs, memory, group) of each VM that may stay there.
    per_host: Vec<Vec<(u64, u128, usize)>>,
    /// VMs that cannot stay where they run today.
    forced: u32,
    /// Per VM: `Role::Forced` for those, `None` for the others yet.
    roles: Vec<Option<Role>>,
    /// (VM, host) of each VM that may stay.
    staying: Vec<(usize, usize)>,
}

impl Today {
    /// Splits today's placement: a VM may stay where its hard constraints and the binding
    /// rules (`rules_of`, per VM) allow it to run.
    fn split(inventory: &Inventory, all_admitted: bool, rules_of: &[Vec<usize>]) -> Today {
        let mut today = Today {
            per_host: vec![Vec::new(); inventory.hosts.len()],
            forced: 0,
            roles: vec![None; inventory.vms.len()],
            staying: Vec::new(),
        };
        for (vm, host) in &inventory.placement {
            let group_index = inventory.vms[*vm].group;
            let group = &inventory.groups[group_index];
            if !surely_admitted(inventory, all_admitted, group_index) {
                continue;
            }
            if may_run(inventory, *vm, *host, &rules_of[vm.index()]) {
                today.per_host[host.index()].push((
                    u64::from(group.vcpus),
                    u128::from(group.memory.0),
                    group_index.index(),
                ));
                today.staying.push((vm.index(), host.index()));
            } else {
                today.forced += 1;
                today.roles[vm.index()] = Some(Role::Forced);
            }
        }
        today
    }
}

/// Colocations that rules forbid among the VMs that may stay.
struct Colocations {
    /// Per (rule, host): members staying there; control planes count as rules keyed after
    /// the real ones (`rules + group`).
    together: BTreeMap<(usize, usize), u32>,
    /// The same for the separate rules, counting VMs of no control plane only.
    plain: BTreeMap<(usize, usize), u32>,
    /// Per (control plane, domain): its VMs there; the domain is the zone with a 3-zone
    /// Supervisor, else the host (keyed after the zones).
    planes: BTreeMap<(usize, usize), u32>,
}

impl Colocations {
    /// Counts them for `staying` (VM, host), `separate` giving each its binding separate rules.
    fn count(inventory: &Inventory, staying: &[(usize, usize)], separate: &[Vec<usize>]) -> Self {
        let mut counts = Colocations {
            together: BTreeMap::new(),
            plain: BTreeMap::new(),
            planes: BTreeMap::new(),
        };
        for ((vm, host), rules) in staying.iter().zip(separate) {
            let group_index = inventory.vms[VmId::new(*vm)].group;
            if inventory.groups[group_index].anti_affine() {
                // Key rules after the real ones: groups by index.
                *counts
                    .together
                    .entry((inventory.rules.len() + group_index.index(), *host))
                    .or_default() += 1;
                let zone = inventory.hosts[HostId::new(*host)]
                    .zone
                    .filter(|_| inventory.three_zone);
                // Hosts after zones: a host alone is its own domain.
                let domain = zone.unwrap_or(inventory.hosts.len() + *host);
                *counts
                    .planes
                    .entry((group_index.index(), domain))
                    .or_default() += 1;
            }
            for index in rules {
                *counts.together.entry((*index, *host)).or_default() += 1;
                if !inventory.groups[group_index].anti_affine() {
                    *counts.plain.entry((*index, *host)).or_default() += 1;
                }
            }
        }
        counts
    }
}

impl Staying {
    /// Today's VMs of surely admitted units (`all_admitted`: every unit is); `soft_hold`:
    /// every soft rule holds (step 2 reached 0).
    pub fn new(inventory: &Inventory, all_admitted: bool, soft_hold: bool) -> Staying {
        Staying::holding(
            inventory,
            all_admitted,
            &vec![soft_hold; inventory.rules.len()],
        )
    }

    /// One [`Staying`] for each choice of the soft rules a plan may break, when at most
    /// `broken` of them break (`None`: any may): every plan holds the rules of one of them,
    /// so the least of their bounds is a bound. Only choices that break one rule of each pair
    /// that cannot both hold are kept (see [`soft_floor`]). Too many choices (or, were the
    /// count below the floor, none) fall back to one that assumes no soft rule holds.
    pub fn choices(inventory: &Inventory, all_admitted: bool, broken: Option<u32>) -> Vec<Staying> {
        const MOST_CHOICES: usize = 64;
        let mut holds = vec![true; inventory.rules.len()];
        // Soft rules that no plan keeps break in every choice.
        let mut broken = broken.map(|b| b as usize);
        let (never, conflicts) = soft_conflicts(inventory, all_admitted);
        for rule in (0..inventory.rules.len()).filter(|r| never[*r]) {
            holds[rule] = false;
            broken = broken.map(|b| b.saturating_sub(1));
        }
        let soft: Vec<usize> = (0..inventory.rules.len())
            .filter(|r| !inventory.rules[*r].must && holds[*r])
            .collect();
        let broken = broken.unwrap_or(soft.len());
        if broken == 0 || soft.is_empty() {
            return vec![Staying::holding(inventory, all_admitted, &holds)];
        }
        // Choices of `broken` rules among the soft ones (breaking fewer only adds rules that
        // hold, so these cover every plan).
        let mut choices: Vec<Vec<usize>> = vec![Vec::new()];
        for _ in 0..broken.min(soft.len()) {
            let mut longer = Vec::new();
            for choice in &choices {
                let from = choice.last().map_or(0, |last| last + 1);
                for next in from..soft.len() {
                    let mut extended = choice.clone();
                    extended.push(next);
                    longer.push(extended);
                    if longer.len() > MOST_CHOICES {
                        return vec![Staying::new(inventory, all_admitted, false)];
                    }
                }
            }
            choices = longer;
        }
        // Every plan breaks one rule of each pair that cannot both hold: so does every choice
        // that covers a plan's broken rules.
        let stayings: Vec<Staying> = choices
            .iter()
            .map(|choice| {
                let mut holds = holds.clone();
                for index in choice {
                    holds[soft[*index]] = false;
                }
                holds
            })
            .filter(|holds| conflicts.iter().all(|(a, b)| !holds[*a] || !holds[*b]))
            .map(|holds| Staying::holding(inventory, all_admitted, &holds))
            .collect();
        if stayings.is_empty() {
            return vec![Staying::new(inventory, all_admitted, false)];
        }
        stayings
    }

    /// Today's VMs of surely admitted units, when the soft rules `holds` marks hold (must
    /// rules always do).
    fn holding(inventory: &Inventory, all_admitted: bool, holds: &[bool]) -> Staying {
        let binds = |rule: usize| inventory.rules[rule].must || holds[rule];
        let rules_of = binding_rules(inventory, &binds);
        let Today {
            per_host,
            forced,
            mut roles,
            staying,
        } = Today::split(inventory, all_admitted, &rules_of);
        // Per staying VM (as `staying` orders them), the binding separate rules it is in.
        let separate: Vec<Vec<usize>> = staying
            .iter()
            .map(|(vm, _)| {
                (inventory.rules.iter().enumerate())
                    .filter(|(index, rule)| {
                        rule.kind == RuleKind::Separate
                            && binds(*index)
                            && rule.vms.binary_search(&VmId::new(*vm)).is_ok()
                    })
                    .map(|(index, _)| index)
                    .collect()
            })
            .collect();
        let Colocations {
            together,
            plain,
            planes,
        } = Colocations::count(inventory, &staying, &separate);
        let mut crowded = vec![0u32; inventory.hosts.len()];
        for ((_, host), members) in &together {
            crowded[*host] = crowded[*host].max(members.saturating_sub(1));
        }
        let mut plain_crowded = vec![0u32; inventory.hosts.len()];
        for ((_, host), members) in &plain {
            plain_crowded[*host] = plain_crowded[*host].max(members.saturating_sub(1));
        }
        let mut pressed = vec![false; inventory.hosts.len()];
        for (host, vms) in per_host.iter().enumerate() {
            let overflow = overflow(inventory, HostId::new(host), vms);
            pressed[host] = overflow > 0;
            crowded[host] = crowded[host].max(overflow);
        }
        let mut host_of = vec![None; inventory.vms.len()];
        for (vm, host) in &staying {
            host_of[*vm] = Some(*host);
        }
        let groups = together_groups(inventory, all_admitted, &binds, &rules_of);
        let mut apart = vec![false; inventory.vms.len()];
        let mut together_elsewhere = vec![0; inventory.hosts.len()];
        let together_moves = apart_moves(
            &host_of,
            &groups,
            &crowded,
            &|_| true,
            (&mut apart, &mut together_elsewhere),
        );
        // The moves of VMs of no control plane, which the control planes' own moves never are.
        let plain_moves = plain_crowded.iter().sum::<u32>()
            + apart_moves(
                &host_of,
                &groups,
                &plain_crowded,
                &|vm| !inventory.group_of(VmId::new(vm)).anti_affine(),
                (
                    &mut vec![false; inventory.vms.len()],
                    &mut vec![0; inventory.hosts.len()],
                ),
            );
        for ((vm, host), rules) in staying.iter().zip(&separate) {
            let group = inventory.vms[VmId::new(*vm)].group;
            let crowds = |key: usize| together.get(&(key, *host)).is_some_and(|n| *n >= 2);
            let zone = inventory.hosts[HostId::new(*host)]
                .zone
                .filter(|_| inventory.three_zone);
            let domain = zone.unwrap_or(inventory.hosts.len() + *host);
            let member = pressed[*host]
                || apart[*vm]
                || (inventory.groups[group].anti_affine()
                    && planes
                        .get(&(group.index(), domain))
                        .is_some_and(|n| *n >= 2))
                || rules.iter().any(|index| crowds(*index));
            roles[*vm] = Some(if member { Role::Member } else { Role::Stays });
        }
        let control_planes = planes.values().map(|n| n.saturating_sub(1)).sum();
        let mut members = vec![0; inventory.hosts.len()];
        for (vm, host) in &staying {
            members[*host] += u32::from(roles[*vm] == Some(Role::Member));
        }
        Staying {
            per_host,
            crowded,
            control_planes,
            together: together_moves,
            beside_planes: plain_moves,
            forced,
            holds: holds.to_vec(),
            roles,
            together_elsewhere,
            members,
        }
    }

    /// The most of `today` VMs of `vms` (one block's, all running today on `host`, so all of
    /// one role) that a plan of this choice with at most `migrations` migrations moves away;
    /// `None` when no plan of this choice has so few. Beyond the forced VMs, the members of
    /// rules and control planes move at least `max(sum(crowded) + together, control_planes +
    /// beside_planes)` times (the floor, [`Staying::migrations_floor`]), so any other move
    /// spends the slack `migrations - floor`, and a member moves within `migrations - forced`.
    fn may_move(&self, vms: &[VmId], migrations: u32) -> Option<u32> {
        let slack = migrations.checked_sub(self.migrations_floor())?;
        let today = vms.len() as u32;
        let most = match vms.first().and_then(|vm| self.roles[vm.index()]) {
            Some(Role::Forced) => today,
            Some(Role::Member) => migrations - self.forced,
            // Stays, or not surely admitted (its moves are no part of the floor).
            _ => slack,
        };
        Some(most.min(today))
    }

    /// Whether moving any of `vms` (one block's, all running today on one host) spends the
    /// slack: nothing sends them away, or their unit is not surely admitted.
    fn spends_slack(&self, vms: &[VmId]) -> bool {
        vms.first()
            .is_some_and(|vm| !matches!(self.roles[vm.index()], Some(Role::Forced | Role::Member)))
    }

    /// The fewest migrations any plan needs: the VMs that cannot stay, and on each host the
    /// ones that must leave because they break a rule together or overflow it, with the
    /// members of `together` rules that run apart (or the control planes that share a host or
    /// zone, if those are more).
    pub fn migrations_floor(&self) -> u32 {
        self.forced
            + (self.crowded.iter().sum::<u32>() + self.together)
                .max(self.control_planes + self.beside_planes)
    }

    /// Whether `vm` (one of today's) may go back where it runs today in a plan of this
    /// choice: it is not [`Role::Forced`] away.
    pub fn may_return(&self, vm: VmId) -> bool {
        self.roles[vm.index()] != Some(Role::Forced)
    }

    /// Whether nothing runs today.
    pub fn is_empty(&self) -> bool {
        self.forced == 0 && self.per_host.iter().all(Vec::is_empty)
    }

    /// The fewest staying VMs host `host` must shed to keep within `vcpus` and `memory`.
    fn shed(&self, host: usize, vcpus: u128, memory: u128) -> u32 {
        let vms = &self.per_host[host];
        fewest(vms.iter().map(|v| u128::from(v.0)), vcpus)
            .max(fewest(vms.iter().map(|v| v.1), memory))
    }

    /// The fewest of today's VMs `host` must shed, to keep within `vcpus` and `memory` and to
    /// break no rule its staying VMs would break together.
    pub fn must_shed(&self, host: usize, vcpus: u128, memory: u128) -> u32 {
        self.shed(host, vcpus, memory).max(self.crowded[host])
    }

    /// Whether a plan with at most `migrations` migrations can have its peak at `level`.
    ///
    /// Beyond the forced VMs, host `h` sheds `s_h` (at least [`Staying::must_shed`]) of its
    /// staying VMs, and the members move at least `F = floor - forced` times between them
    /// (see [`Role::Member`]); at most `members_h` of these moves are off `h`, so they cover at
    /// most `min(s_h, members_h)` of its shed and the plan moves at least
    /// `sum_h s_h + max(0, F - sum_h min(s_h, members_h))` VMs. Both parts of that sum only
    /// grow host by host, so the first host past the budget decides.
    fn level_possible(&self, levels: &Levels, level: Ratio, migrations: u32) -> bool {
        let floor_moves = u64::from(self.migrations_floor() - self.forced);
        let Some(budget) = migrations.checked_sub(self.forced).map(u64::from) else {
            return false;
        };
        let (mut shed, mut covered) = (0u64, 0u64);
        for caps in levels.caps(level) {
            let must = self.must_shed(caps.host, caps.vcpus, caps.granules * levels.granule());
            shed += u64::from(must);
            covered += u64::from(must.min(self.members[caps.host]));
            if shed + floor_moves.saturating_sub(covered) > budget {
                return false;
            }
        }
        shed + floor_moves.saturating_sub(covered) <= budget
    }

    /// The smallest level, from `low` up to `high` (a level some plan reaches), that at most
    /// `migrations` migrations allow.
    pub fn balance_bound(
        &self,
        levels: &Levels,
        low: Ratio,
        high: Ratio,
        migrations: u32,
    ) -> Ratio {
        let (mut low, mut high) = (low, high);
        while low < high {
            let mut middle = levels.at_most((low.to_f64() + high.to_f64()) / 2.0);
            if middle < low {
                middle = low;
            }
            if self.level_possible(levels, middle, migrations) {
                high = middle;
            } else {
                match levels.next_above(middle) {
                    Some(next) => low = next,
                    None => return high,
                }
            }
        }
        low
    }

    /// Per host, the fewest of today's VMs it must shed: at `caps` (the held level's
    /// capacities, balance), or only those its rules send away.
    pub fn shed_at(&self, levels: Option<(&Levels, Ratio)>) -> Vec<u32> {
        let mut shed = self.crowded.clone();
        if let Some((levels, level)) = levels {
            for caps in levels.caps(level) {
                shed[caps.host] =
                    self.must_shed(caps.host, caps.vcpus, caps.granules * levels.granule());
            }
        }
        shed
    }

    /// Per node pool, how many of its VMs stay on each host today (hosts where some do).
    fn pool_stays(&self, inventory: &Inventory) -> BTreeMap<usize, BTreeMap<usize, u32>> {
        let mut stays: BTreeMap<usize, BTreeMap<usize, u32>> = BTreeMap::new();
        for (host, vms) in self.per_host.iter().enumerate() {
            for (_, _, group) in vms {
                if matches!(
                    inventory.groups[GroupId::new(*group)].kind,
                    GroupKind::NodePool { .. }
                ) {
                    *stays.entry(*group).or_default().entry(host).or_default() += 1;
                }
            }
        }
        stays
    }

    /// Per node pool (group index), per host: today's VMs there that nothing sends away
    /// ([`Role::Stays`]).
    fn pool_stays_free(&self, inventory: &Inventory) -> BTreeMap<usize, BTreeMap<usize, u32>> {
        let mut free: BTreeMap<usize, BTreeMap<usize, u32>> = BTreeMap::new();
        for (vm, host) in &inventory.placement {
            let group = inventory.vms[*vm].group;
            if self.roles[vm.index()] == Some(Role::Stays)
                && matches!(inventory.groups[group].kind, GroupKind::NodePool { .. })
            {
                *free
                    .entry(group.index())
                    .or_default()
                    .entry(host.index())
                    .or_default() += 1;
            }
        }
        free
    }

    /// Raises each pool's floor to what its VMs running today keep on their hosts, with at
    /// most `migrations` migrations and every host shedding at least `shed[h]` (see
    /// [`Staying::shed_at`]). Today's staying VMs move at most `migrations - forced` times, of
    /// which the other hosts shed at least their due: their `shed`, or their `crowded` plus
    /// the `together` moves off them. So host `h` sheds at most what is
    /// left, and no more pool VMs than the migrations leave once the control planes have moved
    /// ([`Staying::pool_budget`]); pool `p` keeps at least `stay(p, h)` less that on `h`. And
    /// the VMs nothing sends away move at most the slack beyond the migrations' floor between
    /// them (see [`movable`]).
    pub fn pool_floors(
        &self,
        inventory: &Inventory,
        floors: &mut BTreeMap<usize, u32>,
        migrations: u32,
        level: Option<(&Levels, Ratio)>,
    ) {
        let shed = &self.shed_at(level);
        let caps: Option<Vec<(u128, u128)>> = level.map(|(levels, level)| {
            let mut caps = vec![(u128::MAX, u128::MAX); self.per_host.len()];
            for cap in levels.caps(level) {
                caps[cap.host] = (cap.vcpus, cap.granules * levels.granule());
            }
            caps
        });
        let mut raise = |pool: usize, stay: u64, sheds: u64| {
            if let Some(floor) = floors.get_mut(&pool) {
                let keeps = stay.saturating_sub(sheds);
                *floor = (*floor).max(u32::try_from(keeps).unwrap_or(u32::MAX));
            }
        };
        if let Some(free_slack) = migrations.checked_sub(self.migrations_floor()) {
            for (pool, per_host) in self.pool_stays_free(inventory) {
                for free in per_host.into_values() {
                    raise(pool, u64::from(free), u64::from(free_slack));
                }
            }
        }
        let Some(moves) = u64::from(migrations).checked_sub(u64::from(self.forced)) else {
            return;
        };
        let sum = |of: &[u32]| of.iter().map(|n| u64::from(*n)).sum::<u64>();
        let (shed_sum, crowded_sum) = (sum(shed), sum(&self.crowded));
        if moves < shed_sum {
            return;
        }
        let budget = self.pool_budget(migrations);
        for (pool, per_host) in self.pool_stays(inventory) {
            for (host, stay) in per_host {
                let elsewhere = (shed_sum - u64::from(shed[host])).max(
                    crowded_sum - u64::from(self.crowded[host])
                        + u64::from(self.together_elsewhere[host]),
                );
                let mut sheds = moves.saturating_sub(elsewhere).min(budget);
                if let Some(caps) = &caps {
                    sheds = sheds.min(self.pool_sheds(host, pool, sheds, caps[host]));
                }
                raise(pool, u64::from(stay), sheds);
            }
        }
    }

    /// The most of pool `pool`'s VMs among at most `sheds` VMs that `host` sheds to bring the
    /// rest within `caps` (vCPUs, memory bytes): each one of them shed leaves one place fewer
    /// for the largest of the others. A pool's VMs are all of its one VM class, so any one of
    /// them gives their size.
    fn pool_sheds(&self, host: usize, pool: usize, sheds: u64, caps: (u128, u128)) -> u64 {
        let vms = &self.per_host[host];
        let Some(&(vcpus, memory, _)) = vms.iter().find(|vm| vm.2 == pool) else {
            return 0;
        };
        let needs = (
            vms.iter()
                .map(|vm| u128::from(vm.0))
                .sum::<u128>()
                .saturating_sub(caps.0),
            vms.iter()
                .map(|vm| vm.1)
                .sum::<u128>()
                .saturating_sub(caps.1),
        );
        let largest = |size: &dyn Fn(&(u64, u128, usize)) -> u128| {
            let mut sizes: Vec<u128> = vms.iter().filter(|vm| vm.2 != pool).map(size).collect();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            sizes
        };
        let (others_vcpus, others_memory) = (largest(&|vm| u128::from(vm.0)), largest(&|vm| vm.1));
        // What `n` of the pool's VMs and the largest others, `sheds` in all, take away.
        let covers = |n: u64, others: &[u128], size: u128, need: u128| {
            let rest = usize::try_from(sheds - n).unwrap_or(usize::MAX);
            u128::from(n) * size + others.iter().take(rest).sum::<u128>() >= need
        };
        let mine = vms.iter().filter(|vm| vm.2 == pool).count() as u64;
        (0..=sheds.min(mine))
            .rev()
            .find(|n| {
                covers(*n, &others_vcpus, u128::from(vcpus), needs.0)
                    && covers(*n, &others_memory, memory, needs.1)
            })
            // No shed of so few brings the host within `caps`: no plan of this choice exists.
            .unwrap_or(sheds)
    }

    /// The most of today's node-pool VMs that `migrations` can move: what is left once the
    /// VMs that cannot stay and the control planes that must leave have moved.
    fn pool_budget(&self, migrations: u32) -> u64 {
        u64::from(migrations)
            .saturating_sub(u64::from(self.forced) + u64::from(self.control_planes))
    }

    /// The least total spread of the node pools that at most `migrations` migrations allow,
    /// given each pool's floor (`ceil(replicas / hosts)` for pools surely admitted, else 0,
    /// raised by [`Staying::pool_floors`]).
    pub fn spread_bound(
        &self,
        inventory: &Inventory,
        floors: &BTreeMap<usize, u32>,
        migrations: u32,
    ) -> u32 {
        let stays = self.pool_stays(inventory);
        let mut budget = self.pool_budget(migrations);
        let mut total: u64 = 0;
        // (current count, floor, counts per host sorted) per pool.
        let mut pools: Vec<(u32, u32, Vec<u32>)> = Vec::new();
        for (pool, floor) in floors {
            let counts: Vec<u32> = stays
                .get(pool)
                .map(|per_host| per_host.values().copied().collect())
                .unwrap_or_default();
            let most = counts.iter().copied().max().unwrap_or(0);
            if most <= *floor {
                total += u64::from(*floor);
            } else {
                pools.push((most, *floor, counts));
            }
        }
        // Lower the pool whose next step costs least, while the budget allows.
        loop {
            let cheapest = pools
                .iter()
                .enumerate()
                .filter(|(_, (count, floor, _))| count > floor)
                .map(|(i, (count, _, hosts))| {
                    (hosts.iter().filter(|n| **n >= *count).count() as u64, i)
                })
                .min();
            match cheapest {
                Some((cost, i)) if cost <= budget => {
                    budget -= cost;
                    pools[i].0 -= 1;
                }
                _ => break,
            }
        }
        let sum = total
            + pools
                .iter()
                .map(|(count, _, _)| u64::from(*count))
                .sum::<u64>();
        u32::try_from(sum).unwrap_or(u32::MAX)
    }
}

/// The fewest of today's VMs `host` sheds to keep within `vcpus` and `memory` in any plan of
/// `stayings` (one per choice of the soft rules that hold, see [`Staying::choices`]): the
/// least over the choices of [`Staying::must_shed`].
pub fn least_shed(stayings: &[Staying], host: usize, vcpus: u128, memory: u128) -> u32 {
    stayings
        .iter()
        .map(|staying| staying.must_shed(host, vcpus, memory))
        .min()
        .unwrap_or(0)
}

/// The fewest of `vms` (today's staying VMs on `host`: vCPUs, memory bytes, group) that must
/// leave because together they overflow the host: all of them against its vCPU and memory
/// limits, the reserved ones against its cores and memory, and each device against its count.
fn overflow(inventory: &Inventory, host: HostId, vms: &[(u64, u128, usize)]) -> u32 {
    let spec = &inventory.hosts[host];
    let reserved = |vm: &&(u64, u128, usize)| inventory.groups[GroupId::new(vm.2)].reserved;
    let vcpus = |vm: &(u64, u128, usize)| u128::from(vm.0);
    let memory = |vm: &(u64, u128, usize)| vm.1;
    let resources = [
        fewest(vms.iter().map(vcpus), u128::from(spec.vcpu_limit)),
        fewest(vms.iter().map(memory), u128::from(spec.memory_limit.0)),
        fewest(
            vms.iter().filter(reserved).map(vcpus),
            u128::from(spec.cpu_cores),
        ),
        fewest(
            vms.iter().filter(reserved).map(memory),
            u128::from(spec.memory.0),
        ),
    ];
    let devices = spec.devices.iter().map(|(device, have)| {
        let used = vms.iter().filter_map(|vm| {
            let group = &inventory.groups[GroupId::new(vm.2)];
            let (_, count) = group.devices.iter().find(|(d, _)| d == device)?;
            Some(u128::from(*count))
        });
        fewest(used, u128::from(*have))
    });
    resources.into_iter().chain(devices).max().unwrap_or(0)
}

/// The `together` rules that bind (`binds`), joined into groups whose surely admitted members
/// must all end on one host: two rules sharing such a member join. Per group, its members (of
/// every rule in it) and the hosts where every surely admitted one may run (zone pins,
/// maintenance, the `vm_host` rules of `rules_of`, and devices).
fn together_groups(
    inventory: &Inventory,
    all_admitted: bool,
    binds: &dyn Fn(usize) -> bool,
    rules_of: &[Vec<usize>],
) -> Vec<(Vec<VmId>, Vec<bool>)> {
    let surely = |vm: &VmId| surely_admitted(inventory, all_admitted, inventory.vms[*vm].group);
    let fits = |vm: VmId, host: HostId| {
        let spec = &inventory.hosts[host];
        may_run(inventory, vm, host, &rules_of[vm.index()])
            && (inventory.group_of(vm).devices.iter())
                .all(|(device, count)| spec.device_count(device) >= *count)
    };
    // Union-find over the binding together rules, joined through their surely admitted members.
    let rules: Vec<usize> = (0..inventory.rules.len())
        .filter(|r| inventory.rules[*r].kind == RuleKind::Together && binds(*r))
        .collect();
    let mut parent: Vec<usize> = (0..rules.len()).collect();
    fn root(parent: &mut [usize], mut at: usize) -> usize {
        while parent[at] != at {
            parent[at] = parent[parent[at]];
            at = parent[at];
        }
        at
    }
    let mut first_rule: BTreeMap<VmId, usize> = BTreeMap::new();
    for (position, rule) in rules.iter().enumerate() {
        for vm in inventory.rules[*rule].vms.iter().filter(|vm| surely(vm)) {
            let other = *first_rule.entry(*vm).or_insert(position);
            let (a, b) = (root(&mut parent, position), root(&mut parent, other));
            parent[a] = b;
        }
    }
    let mut groups: BTreeMap<usize, Vec<VmId>> = BTreeMap::new();
    for (position, rule) in rules.iter().enumerate() {
        let at = root(&mut parent, position);
        groups
            .entry(at)
            .or_default()
            .extend(inventory.rules[*rule].vms.iter().copied());
    }
    groups
        .into_values()
        .map(|mut members| {
            members.sort_unstable();
            members.dedup();
            let meets = (0..inventory.hosts.len())
                .map(|host| {
                    (members.iter().filter(|vm| surely(vm))).all(|vm| fits(*vm, HostId::new(host)))
                })
                .collect();
            (members, meets)
        })
        .collect()
}

/// The fewest moves the binding `together` rules add, over their members `keep` accepts, to
/// what each host sheds anyway (`due`): each group's members (`groups`, see
/// [`together_groups`]) must end on one host where all of them may run, so the members running
/// today (`host_of`) anywhere else move, and all but one such host's share too. The groups
/// share no surely admitted member (the only ones running today that count), so no move counts
/// twice; every member of a group some of whose members must move is marked in `apart`, and
/// per host, `elsewhere` adds the fewest of these moves that are moves off other hosts.
fn apart_moves(
    host_of: &[Option<usize>],
    groups: &[(Vec<VmId>, Vec<bool>)],
    due: &[u32],
    keep: &dyn Fn(usize) -> bool,
    (apart, elsewhere): (&mut [bool], &mut [u32]),
) -> u32 {
    let mut moves = 0;
    for (vms, meets) in groups {
        let members: Vec<(usize, usize)> = vms
            .iter()
            .filter(|vm| keep(vm.index()))
            .filter_map(|vm| Some((vm.index(), host_of[vm.index()]?)))
            .collect();
        let mut per_host: BTreeMap<usize, u32> = BTreeMap::new();
        for (_, host) in &members {
            *per_host.entry(*host).or_default() += 1;
        }
        if per_host.len() < 2 && per_host.keys().all(|host| meets[*host]) {
            continue;
        }
        for (vm, _) in &members {
            apart[*vm] = true;
        }
        // Each host's share beyond what it sheds anyway; one host where all may run keeps its.
        let beyond = |host: &usize, n: &u32| n.saturating_sub(due[*host]);
        let all: u32 = per_host.iter().map(|(host, n)| beyond(host, n)).sum();
        let kept = per_host
            .iter()
            .filter(|(host, _)| meets[**host])
            .map(|(host, n)| beyond(host, n))
            .max()
            .unwrap_or(0);
        moves += all - kept;
        // Off hosts other than `h`: every other host's share, but one meeting host's.
        for (host, off) in elsewhere.iter_mut().enumerate() {
            let mine = per_host.get(&host).map_or(0, |n| beyond(&host, n));
            let kept_elsewhere = per_host
                .iter()
                .filter(|(other, _)| **other != host && meets[**other])
                .map(|(other, n)| beyond(other, n))
                .max()
                .unwrap_or(0);
            *off += all - mine - kept_elsewhere;
        }
    }
    moves
}

/// The fewest of `sizes` to take away, largest first, to bring their sum within `cap`.
fn fewest(sizes: impl Iterator<Item = u128>, cap: u128) -> u32 {
    let mut sizes: Vec<u128> = sizes.collect();
    let mut total: u128 = sizes.iter().sum();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let mut removed = 0;
    for size in &sizes {
        if total <= cap {
            break;
        }
        total -= size;
        removed += 1;
    }
    removed
}

/// What a plan with at most the held migrations can move of today's VMs (see [`movable`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moves {
    /// (block, host, most) where fewer of the block's VMs running there today may move away
    /// than run there: the most over the choices of soft rules (see [`Staying::may_move`]).
    pub caps: Vec<(usize, usize, u32)>,
    /// The (block, host) pairs whose VMs nothing sends away in any choice: between them they
    /// move at most `slack` times.
    pub free: Vec<(usize, usize)>,
    /// What the migrations leave beyond their floor, the most over the choices.
    pub slack: u32,
}

/// What any plan with at most `migrations` migrations can move of today's VMs of `blocks`:
/// per (block, host), and between the VMs that nothing sends away. With the migrations held at
/// their floor, every VM that nothing sends away stays where it is.
pub fn movable(
    stayings: &[Staying],
    blocks: &[super::blocks::Block],
    inventory: &Inventory,
    migrations: u32,
) -> Moves {
    let feasible: Vec<&Staying> = stayings
        .iter()
        .filter(|staying| staying.migrations_floor() <= migrations)
        .collect();
    let Some(slack) = feasible
        .iter()
        .map(|staying| migrations - staying.migrations_floor())
        .max()
    else {
        return Moves::default();
    };
    let mut today: BTreeMap<(usize, usize), Vec<VmId>> = BTreeMap::new();
    let block_of: BTreeMap<VmId, usize> = blocks
        .iter()
        .enumerate()
        .flat_map(|(index, block)| block.vms.iter().map(move |vm| (*vm, index)))
        .collect();
    for (vm, host) in &inventory.placement {
        if let Some(block) = block_of.get(vm) {
            today.entry((*block, host.index())).or_default().push(*vm);
        }
    }
    let mut moves = Moves {
        slack,
        ..Moves::default()
    };
    for ((block, host), vms) in today {
        let most = feasible
            .iter()
            .filter_map(|staying| staying.may_move(&vms, migrations))
            .max()
            .unwrap_or(0);
        if most < vms.len() as u32 {
            moves.caps.push((block, host, most));
        }
        if feasible.iter().all(|staying| staying.spends_slack(&vms)) {
            moves.free.push((block, host));
        }
    }
    moves
}

/// Whether the VMs of `group` are surely placed: its unit has no priority (or it is the
/// Supervisor's), or every unit is admitted (`all_admitted`).
pub(super) fn surely_admitted(inventory: &Inventory, all_admitted: bool, group: GroupId) -> bool {
    all_admitted
        || inventory
            .unit_of_group(group)
            .is_none_or(|unit| inventory.admission_units[unit].priority.is_none())
}

/// Whether soft rule `rule` breaks in every plan: a `together` rule with two surely admitted
/// members that a hard `separate` rule or control-plane anti-affinity keeps apart, or a
/// `separate` rule with two that a hard `together` rule keeps on one host.
fn never_holds(inventory: &Inventory, all_admitted: bool, rule: usize) -> bool {
    let spec = &inventory.rules[rule];
    if spec.must {
        return false;
    }
    let surely: Vec<VmId> = spec
        .vms
        .iter()
        .copied()
        .filter(|vm| surely_admitted(inventory, all_admitted, inventory.vms[*vm].group))
        .collect();
    let opposite = match spec.kind {
        RuleKind::Together => RuleKind::Separate,
        RuleKind::Separate => RuleKind::Together,
        RuleKind::VmHost => return false,
    };
    let shared = |other: &[VmId]| {
        surely
            .iter()
            .filter(|vm| other.binary_search(vm).is_ok())
            .count()
    };
    let against_rule = inventory
        .rules
        .iter()
        .any(|other| other.must && other.kind == opposite && shared(&other.vms) >= 2);
    let against_plane = spec.kind == RuleKind::Together
        && inventory.groups.iter().any(|group| {
            group.anti_affine() && surely.iter().filter(|vm| group.vms.contains(vm)).count() >= 2
        });
    against_rule || against_plane
}

/// The fewest soft rules any plan breaks: those that break in every plan ([`never_holds`], and
/// `vm_host` rules that leave a surely admitted member no host its hard constraints allow),
/// and one of each pair of the others that cannot both hold: two `vm_host` rules that leave a
/// surely admitted member they share no such host, or a `together` and a `separate` rule that
/// share two surely admitted members. Pairs are taken greedily, no rule in two of them, so
/// that each counts a different broken rule.
pub fn soft_floor(inventory: &Inventory, all_admitted: bool) -> u32 {
    let (never, conflicts) = soft_conflicts(inventory, all_admitted);
    let mut taken = never.clone();
    let mut floor = never.iter().filter(|n| **n).count() as u32;
    for (first, second) in conflicts {
        if !taken[first] && !taken[second] {
            taken[first] = true;
            taken[second] = true;
            floor += 1;
        }
    }
    floor
}

/// Per rule, whether it is a soft rule that breaks in every plan, and the pairs of soft rules
/// that cannot both hold (see [`soft_floor`]).
fn soft_conflicts(
    inventory: &Inventory,
    all_admitted: bool,
) -> (Vec<bool>, BTreeSet<(usize, usize)>) {
    let rules = &inventory.rules;
    let surely = |vm: &VmId| surely_admitted(inventory, all_admitted, inventory.vms[*vm].group);
    let must_rules = binding_rules(inventory, &|rule| rules[rule].must);
    // Per surely admitted VM of a soft `vm_host` rule: the hosts its hard constraints allow.
    let mut soft_of: BTreeMap<VmId, Vec<usize>> = BTreeMap::new();
    for (index, rule) in rules.iter().enumerate() {
        if !rule.must && rule.kind == RuleKind::VmHost {
            for vm in rule.vms.iter().filter(|vm| surely(vm)) {
                soft_of.entry(*vm).or_default().push(index);
            }
        }
    }
    let permits = |rule: usize, host: usize| {
        rules[rule].hosts.binary_search(&HostId::new(host)).is_ok() == rules[rule].run_on
    };
    let mut never = vec![false; rules.len()];
    for (index, flag) in never.iter_mut().enumerate() {
        *flag = never_holds(inventory, all_admitted, index);
    }
    let mut conflicts: BTreeSet<(usize, usize)> = BTreeSet::new();
    // VMs of one group under the same rules allow the same hosts: one of each is asked.
    let mut asked: BTreeSet<(usize, &[usize], Vec<usize>)> = BTreeSet::new();
    for (vm, soft) in &soft_of {
        let key = (
            inventory.vms[*vm].group.index(),
            must_rules[vm.index()].as_slice(),
            soft.clone(),
        );
        if !asked.insert(key) {
            continue;
        }
        let spec = inventory.group_of(*vm);
        let allowed: Vec<bool> = inventory
            .hosts
            .ids()
            .map(|host| {
                may_run(inventory, *vm, host, &must_rules[vm.index()])
                    && (spec.devices.iter())
                        .all(|(device, count)| inventory.hosts[host].device_count(device) >= *count)
            })
            .collect();
        let meets = |with: &[usize]| {
            (0..allowed.len()).any(|host| allowed[host] && with.iter().all(|r| permits(*r, host)))
        };
        for (i, first) in soft.iter().enumerate() {
            if !meets(&[*first]) {
                never[*first] = true;
                continue;
            }
            for second in &soft[i + 1..] {
                if !conflicts.contains(&(*first, *second)) && !meets(&[*first, *second]) {
                    conflicts.insert((*first, *second));
                }
            }
        }
    }
    let soft_of_kind = |kind: RuleKind| {
        (0..rules.len()).filter(move |r| !rules[*r].must && rules[*r].kind == kind)
    };
    for together in soft_of_kind(RuleKind::Together) {
        for separate in soft_of_kind(RuleKind::Separate) {
            let shared = (rules[together].vms.iter())
                .filter(|vm| surely(vm) && rules[separate].vms.binary_search(vm).is_ok())
                .count();
            if shared >= 2 {
                conflicts.insert((together.min(separate), together.max(separate)));
            }
        }
    }
    (never, conflicts)
}

/// Per VM, the `vm_host` rules that bind it (those `binds` says hold).
fn binding_rules(inventory: &Inventory, binds: &dyn Fn(usize) -> bool) -> Vec<Vec<usize>> {
    let mut rules_of: Vec<Vec<usize>> = vec![Vec::new(); inventory.vms.len()];
    for (index, rule) in inventory.rules.iter().enumerate() {
        if rule.kind == RuleKind::VmHost && binds(index) {
            for vm in &rule.vms {
                rules_of[vm.index()].push(index);
            }
        }
    }
    rules_of
}

/// Whether `vm` may run on `host` by the domain rules alone: maintenance, zone pin, and
/// `rules`, the `vm_host` rules that bind it (see [`binding_rules`]).
fn may_run(inventory: &Inventory, vm: VmId, host: HostId, rules: &[usize]) -> bool {
    let spec = &inventory.hosts[host];
    if spec.maintenance {
        return false;
    }
    if let GroupKind::NodePool {
        zone: Some(zone), ..
    } = inventory.group_of(vm).kind
    {
        if spec.zone != Some(zone) {
            return false;
        }
    }
    rules.iter().all(|rule| {
        let rule = &inventory.rules[*rule];
        rule.hosts.binary_search(&host).is_ok() == rule.run_on
    })
}

/// A lower bound on the cost of the hosts used (consolidate): for each resource (vCPUs,
/// memory, each device), the cheapest fractional cover of the demand of the units surely
/// admitted by hosts in service, cheapest per unit first (exact for one resource, so valid for
/// all together); the largest over the resources.
pub fn cost_floor(inventory: &Inventory, all_admitted: bool) -> f64 {
    let mut devices: Vec<&str> = inventory
        .groups
        .iter()
        .flat_map(|g| g.devices.iter().map(|(d, _)| d.as_str()))
        .collect();
    devices.sort_unstable();
    devices.dedup();
    // Demand per resource: vCPUs, memory (bytes), then each device.
    let mut demand = vec![0f64; 2 + devices.len()];
    for (index, group) in inventory.groups.iter().enumerate() {
        if !surely_admitted(inventory, all_admitted, GroupId::new(index)) {
            continue;
        }
        let n = group.vms.len() as f64;
        demand[0] += n * f64::from(group.vcpus);
        demand[1] += n * group.memory.0 as f64;
        for (device, count) in &group.devices {
            if let Ok(d) = devices.binary_search(&device.as_str()) {
                demand[2 + d] += n * f64::from(*count);
            }
        }
    }
    let capacity = |host: &vksplan_model::inventory::HostSpec, resource: usize| -> f64 {
        match resource {
            0 => host.vcpu_limit as f64,
            1 => host.memory_limit.0 as f64,
            d => f64::from(host.device_count(devices[d - 2])),
        }
    };
    let mut best: f64 = 0.0;
    for (resource, needed) in demand.iter().enumerate() {
        if *needed <= 0.0 {
            continue;
        }
        let mut hosts: Vec<(f64, f64)> = inventory
            .hosts
            .iter()
            .filter(|h| !h.maintenance)
            .map(|h| (h.cost, capacity(h, resource)))
            .filter(|(_, cap)| *cap > 0.0)
            .collect();
        hosts.sort_by(|a, b| {
            (a.0 / a.1)
                .partial_cmp(&(b.0 / b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let (mut left, mut cost) = (*needed, 0.0);
        for (host_cost, cap) in hosts {
            if left <= 0.0 {
                break;
            }
            let take = cap.min(left);
            cost += host_cost * take / cap;
            left -= take;
        }
        best = best.max(cost);
    }
    // A hair below, so that round-off never cuts the optimum itself.
    (best * (1.0 - 1e-9)).max(0.0)
}

/// What the steps before spread hold, as the spread floor uses it.
pub struct Held<'a> {
    /// What may stay, one per choice of the soft rules that hold (see [`Staying::choices`]).
    pub stayings: &'a [Staying],
    /// The migrations held.
    pub migrations: u32,
    /// The level balance holds, with its levels.
    pub level: Option<(&'a Levels, Ratio)>,
}

/// The least spread possible: each pool's `ceil(replicas / hosts it may use)` for pools surely
/// admitted, and, with today's VMs and the migrations held (`held`), what they allow: the least
/// over the choices of soft rules.
pub fn spread_floor(inventory: &Inventory, all_admitted: bool, held: Option<Held<'_>>) -> u32 {
    let plain = || {
        each_pool_floor(inventory, all_admitted, None)
            .values()
            .sum()
    };
    let Some(held) = held else {
        return plain();
    };
    held.stayings
        .iter()
        .map(|staying| {
            let floors = held_pool_floors(inventory, all_admitted, staying, &held);
            staying
                .spread_bound(inventory, &floors, held.migrations)
                .max(floors.values().sum())
        })
        .min()
        .unwrap_or_else(plain)
}

/// Per node pool (group index), the fewest of its VMs on its fullest host: as in
/// [`spread_floor`], pool by pool, the least over the choices of soft rules.
pub fn each_pool_floor(
    inventory: &Inventory,
    all_admitted: bool,
    held: Option<Held<'_>>,
) -> BTreeMap<usize, u32> {
    let must = |rule: usize| inventory.rules[rule].must;
    let plain = || even_floors(inventory, all_admitted, &must);
    let Some(held) = held else {
        return plain();
    };
    let mut least: Option<BTreeMap<usize, u32>> = None;
    for staying in held.stayings {
        let floors = held_pool_floors(inventory, all_admitted, staying, &held);
        match &mut least {
            None => least = Some(floors),
            Some(least) => {
                for (pool, floor) in floors {
                    least.entry(pool).and_modify(|l| *l = (*l).min(floor));
                }
            }
        }
    }
    least.unwrap_or_else(plain)
}

/// Per node pool, its floor in the plans of one choice of soft rules (`staying`) with what
/// `held` holds.
fn held_pool_floors(
    inventory: &Inventory,
    all_admitted: bool,
    staying: &Staying,
    held: &Held<'_>,
) -> BTreeMap<usize, u32> {
    let binds = |rule: usize| inventory.rules[rule].must || staying.holds[rule];
    let mut floors = even_floors(inventory, all_admitted, &binds);
    staying.pool_floors(inventory, &mut floors, held.migrations, held.level);
    floors
}

/// Per node pool (group index), spread evenly: `ceil(replicas / hosts it may use)` for pools
/// surely admitted, else 0, where the hosts are those the rules that `binds` allow.
fn even_floors(
    inventory: &Inventory,
    all_admitted: bool,
    binds: &dyn Fn(usize) -> bool,
) -> BTreeMap<usize, u32> {
    // VMs of a pool bound by the same `vm_host` rules may use the same hosts, so one of each
    // kind is asked (a pool's VMs are usually of one kind).
    let rules_of = binding_rules(inventory, binds);
    let mut floors: BTreeMap<usize, u32> = BTreeMap::new();
    for (group_index, group) in inventory.groups.iter().enumerate() {
        if !matches!(group.kind, GroupKind::NodePool { .. }) || group.vms.is_empty() {
            continue;
        }
        let surely = surely_admitted(inventory, all_admitted, GroupId::new(group_index));
        let mut kinds: Vec<VmId> = Vec::new();
        for vm in &group.vms {
            if !kinds
                .iter()
                .any(|seen| rules_of[seen.index()] == rules_of[vm.index()])
            {
                kinds.push(*vm);
            }
        }
        let hosts = inventory
            .hosts
            .ids()
            .filter(|host| {
                kinds
                    .iter()
                    .any(|vm| may_run(inventory, *vm, *host, &rules_of[vm.index()]))
            })
            .count() as u32;
        let replicas = group.vms.len() as u32;
        let floor = if surely && hosts > 0 {
            replicas.div_ceil(hosts)
        } else {
            0
        };
        floors.insert(group_index, floor);
    }
    floors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::verify::Assignment;
    use crate::placement::score::{Score, Step4};
    use proptest::prelude::*;
    use serde_json::json;
    use vksplan_model::IdVec;

    /// The VM classes the test platforms use (the last one reserved: it counts against the
    /// host's cores and memory as well).
    const CLASSES: [&str; 4] = [
        "best-effort-small",
        "best-effort-medium",
        "best-effort-large",
        "guaranteed-large",
    ];

    /// Three hosts (`cores`, `memory_gib`) and one namespace `ns` whose `key` (`vms` or
    /// `clusters`) is `workloads`, with the VMs of `today` running where it says and `rules`.
    fn three_hosts(
        cores: &[u32],
        memory_gib: &[u32],
        (key, workloads): (&str, serde_json::Value),
        today: serde_json::Map<String, serde_json::Value>,
        rules: Option<serde_json::Value>,
    ) -> Inventory {
        let hosts: Vec<_> = (0..3)
            .map(|h| {
                json!({"name": format!("h{h}"), "cpu_cores": cores[h], "cpu_core_mhz": 2000,
                            "memory": format!("{}Gi", memory_gib[h])})
            })
            .collect();
        let mut namespace = json!({"name": "ns", "vm_classes": CLASSES, "storage_policies": ["s"],
                                   "workload_network": "w", "load_balancer_network": "lb"});
        namespace[key] = workloads;
        let mut document = json!({
            "version": 1,
            "policy": {"cpu_overcommit": 4.0},
            "hosts": hosts,
            "storage_policies": [{"name": "s"}],
            "networks": [{"name": "w", "kind": "workload", "ips": 20},
                         {"name": "lb", "kind": "load_balancer", "ips": 4}],
            "namespaces": [namespace],
            "placement": today,
        });
        if let Some(rules) = rules {
            document["rules"] = rules;
        }
        match vksplan_model::load_value(&document) {
            Ok(inventory) => inventory,
            Err(invalid) => panic!("the test platform is invalid: {invalid:?}"),
        }
    }

    /// Three hosts and five VMs running on them today; with `separate`, VMs 0 and 1 kept apart
    /// by a must (`Some(true)`) or soft (`Some(false)`) rule.
    fn platform(
        cores: &[u32],
        memory_gib: &[u32],
        classes: &[usize],
        today: &[usize],
        separate: Option<bool>,
    ) -> Inventory {
        let rule = separate.map(|must| ("separate", must, 2));
        platform_with(cores, memory_gib, classes, today, (rule, None))
    }

    /// VMs `v0..` of `classes` (indices into [`CLASSES`]), and where they run today (`today`'s
    /// hosts, the first `new` of them running nowhere).
    fn vms_today(
        classes: &[usize],
        today: &[usize],
        new: usize,
    ) -> (
        Vec<serde_json::Value>,
        serde_json::Map<String, serde_json::Value>,
    ) {
        let vms = classes
            .iter()
            .enumerate()
            .map(|(i, class)| json!({"name": format!("v{i}"), "vm_class": CLASSES[*class], "disk": "10Gi"}))
            .collect();
        let placement = today
            .iter()
            .enumerate()
            .skip(new)
            .map(|(i, h)| (format!("ns/vm/v{i}"), json!(format!("h{h}"))))
            .collect();
        (vms, placement)
    }

    /// Three hosts and five VMs running on them today; with `rule` (kind, must, members), a
    /// rule of that kind over the first `members` VMs; with `pin`, VM 0 is new (it runs
    /// nowhere today) and a must `vm_host` rule keeps it on that host.
    fn platform_with(
        cores: &[u32],
        memory_gib: &[u32],
        classes: &[usize],
        today: &[usize],
        (rule, pin): (Option<(&str, bool, usize)>, Option<usize>),
    ) -> Inventory {
        let (vms, placement) = vms_today(classes, today, usize::from(pin.is_some()));
        let mut rules: Vec<serde_json::Value> = Vec::new();
        if let Some((kind, must, members)) = rule {
            let vms: Vec<String> = (0..members).map(|i| format!("ns/vm/v{i}")).collect();
            rules.push(json!({"name": "r", "kind": kind, "must": must, "vms": vms}));
        }
        if let Some(host) = pin {
            rules.push(
                json!({"name": "pin", "kind": "vm_host", "must": true, "run_on": true,
                              "vms": ["ns/vm/v0"], "hosts": [format!("h{host}")]}),
            );
        }
        let rules = (!rules.is_empty()).then(|| json!(rules));
        three_hosts(cores, memory_gib, ("vms", json!(vms)), placement, rules)
    }

    /// Three hosts and one cluster: a control plane of one VM and a pool of `today.len() - 1`
    /// VMs of class `class`, placed today on `today`'s hosts (the control plane first); with
    /// `soft`, a soft `separate` rule over the first two pool VMs.
    fn pool_platform(
        cores: &[u32],
        memory_gib: &[u32],
        class: usize,
        today: &[usize],
        soft: bool,
    ) -> Inventory {
        let replicas = today.len() - 1;
        let placement = std::iter::once("ns/c/cp-1".to_string())
            .chain((1..=replicas).map(|r| format!("ns/c/p-{r}")))
            .zip(today)
            .map(|(name, h)| (name, json!(format!("h{h}"))))
            .collect();
        let cluster = json!([{"name": "c", "kubernetes_version": "v1.31.4",
            "control_plane": {"replicas": 1, "vm_class": "best-effort-small"},
            "node_pools": [{"name": "p", "replicas": replicas, "vm_class": CLASSES[class]}],
            "disk": "10Gi"}]);
        let rules = soft.then(|| {
            json!([{"name": "apart", "kind": "separate", "must": false,
                    "vms": ["ns/c/p-1", "ns/c/p-2"]}])
        });
        three_hosts(cores, memory_gib, ("clusters", cluster), placement, rules)
    }

    /// Every valid plan of a three-host platform that admits every unit, with its score.
    fn valid_plans(inventory: &Inventory) -> Vec<(Vec<Option<usize>>, Score)> {
        let vms = inventory.vms.len();
        let mut plans = Vec::new();
        for code in 0..3usize.pow(vms as u32) {
            let host_of: Vec<Option<usize>> = (0..vms)
                .map(|vm| Some(code / 3usize.pow(vm as u32) % 3))
                .collect();
            let assignment = Assignment {
                host_of: host_of.iter().map(|h| h.map(HostId::new)).collect(),
                admitted: IdVec::from_elem(true, inventory.admission_units.len()),
            };
            let (score, report) = Score::evaluate(inventory, &assignment);
            if report.violations.is_empty() {
                plans.push((host_of, score));
            }
        }
        plans
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// The shed cut of the level search is valid: every valid plan, at its own peak's
        /// capacities, moves away from each host at least the VMs `least_shed` asks of it over
        /// the choices of soft rules its count of broken ones allows.
        #[test]
        fn no_valid_plan_sheds_fewer_than_the_cut_asks(
            cores in prop::collection::vec(4u32..=16, 3),
            memory_gib in prop::collection::vec(8u32..=48, 3),
            classes in prop::collection::vec(0usize..3, 5),
            today in prop::collection::vec(0usize..3, 5),
            separate in prop::option::of(any::<bool>()),
        ) {
            let inventory = platform(&cores, &memory_gib, &classes, &today, separate);
            let levels = Levels::new(&inventory, 1);
            let plans = valid_plans(&inventory);
            for (host_of, score) in &plans {
                let Step4::Peak(peak) = score.step4 else { panic!("balance scores a peak") };
                let stayings = Staying::choices(&inventory, true, Some(score.soft_rules));
                for cap in levels.caps(peak) {
                    let moved = inventory
                        .placement
                        .iter()
                        .filter(|(vm, host)| *host == HostId::new(cap.host) && host_of[vm.index()] != Some(host.index()))
                        .count() as u32;
                    let least = least_shed(&stayings, cap.host, cap.vcpus, cap.granules * levels.granule());
                    prop_assert!(moved >= least, "host {} sheds {moved} < {least} at {:?}", cap.host, peak);
                }
            }
            prop_assume!(!plans.is_empty());
        }
        /// The migrations floor and the bounds on the `moved` columns are valid (see
        /// `movable_holds`), with rules of either kind over two to four VMs, and a new VM
        /// pinned to a host.
        #[test]
        fn no_valid_plan_moves_more_than_movable_allows(
            cores in prop::collection::vec(4u32..=16, 3),
            memory_gib in prop::collection::vec(8u32..=48, 3),
            classes in prop::collection::vec(0usize..4, 5),
            today in prop::collection::vec(0usize..3, 5),
            rule in prop::option::of((prop::sample::select(vec!["separate", "together"]), any::<bool>(), 2usize..=4)),
            pin in prop::option::of(0usize..3),
        ) {
            let inventory = platform_with(&cores, &memory_gib, &classes, &today, (rule, pin));
            movable_holds(&inventory)?;
        }
        /// The spread floor is valid: every valid plan spreads its pool at least as much as
        /// the floor says a plan with its migrations, its soft rules broken and its peak can.
        #[test]
        fn no_valid_plan_spreads_less_than_the_floor(
            cores in prop::collection::vec(4u32..=16, 3),
            memory_gib in prop::collection::vec(8u32..=48, 3),
            class in 0usize..3,
            today in prop::collection::vec(0usize..3, 3..=6),
            soft in any::<bool>(),
        ) {
            let inventory = pool_platform(&cores, &memory_gib, class, &today, soft);
            spread_floor_holds(&inventory)?;
        }
    }

    /// Three hosts and one cluster: a control plane of one VM, a pool `p` of three VMs of
    /// class `classes[0]` and a pool `q` of two of class `classes[1]`, placed today on
    /// `today`'s hosts (cp-1, p-1..3, q-1..2); with `rule` (kind, must, members), a rule of
    /// that kind over the first `members` of p-1, q-1, p-2, q-2.
    fn two_pool_platform(
        sizes: (&[u32], &[u32]),
        classes: &[usize],
        today: &[usize],
        rule: Option<(&str, bool, usize)>,
    ) -> Inventory {
        let rules = rule.map(|(kind, must, members)| {
            let vms: Vec<&str> =
                ["ns/c/p-1", "ns/c/q-1", "ns/c/p-2", "ns/c/q-2"][..members].to_vec();
            json!([{"name": "r", "kind": kind, "must": must, "vms": vms}])
        });
        two_pools_with(sizes, classes, today, rules)
    }

    /// The platform of [`two_pool_platform`] with `rules` (a JSON array).
    fn two_pools_with(
        (cores, memory_gib): (&[u32], &[u32]),
        classes: &[usize],
        today: &[usize],
        rules: Option<serde_json::Value>,
    ) -> Inventory {
        let names = ["cp-1", "p-1", "p-2", "p-3", "q-1", "q-2"];
        let placement = names
            .iter()
            .zip(today)
            .map(|(name, h)| (format!("ns/c/{name}"), json!(format!("h{h}"))))
            .collect();
        let cluster = json!([{"name": "c", "kubernetes_version": "v1.31.4",
            "control_plane": {"replicas": 1, "vm_class": "best-effort-small"},
            "node_pools": [{"name": "p", "replicas": 3, "vm_class": CLASSES[classes[0]]},
                           {"name": "q", "replicas": 2, "vm_class": CLASSES[classes[1]]}],
            "disk": "10Gi"}]);
        three_hosts(cores, memory_gib, ("clusters", cluster), placement, rules)
    }

    /// [`two_pool_platform`] without its rule, and two `together` rules that share q-1,
    /// {p-1, q-1} and {q-1, p-3}, must or soft as `musts` says: their three VMs meet on one
    /// host.
    fn chained_platform(
        sizes: (&[u32], &[u32]),
        classes: &[usize],
        today: &[usize],
        musts: (bool, bool),
    ) -> Inventory {
        let rules = json!([
            {"name": "a", "kind": "together", "must": musts.0, "vms": ["ns/c/p-1", "ns/c/q-1"]},
            {"name": "b", "kind": "together", "must": musts.1, "vms": ["ns/c/q-1", "ns/c/p-3"]},
        ]);
        two_pools_with(sizes, classes, today, Some(rules))
    }

    /// A 3-replica control plane and a pool of two of class `class` on three hosts (`cores`,
    /// `memory_gib`), placed today as `today` says (cp-1..3, p-1, p-2), with a rule of `kind`
    /// (must or not) over `members`.
    fn plane_platform(
        (cores, memory_gib, class): (&[u32], &[u32], usize),
        today: [usize; 5],
        (kind, must): (&str, bool),
        members: &[&str],
    ) -> Inventory {
        let names = [
            "ns/c/cp-1",
            "ns/c/cp-2",
            "ns/c/cp-3",
            "ns/c/p-1",
            "ns/c/p-2",
        ];
        let placement = names
            .iter()
            .zip(today)
            .map(|(name, h)| (name.to_string(), json!(format!("h{h}"))))
            .collect();
        let cluster = json!([{"name": "c", "kubernetes_version": "v1.31.4",
            "control_plane": {"replicas": 3, "vm_class": "best-effort-small"},
            "node_pools": [{"name": "p", "replicas": 2, "vm_class": CLASSES[class]}],
            "disk": "10Gi"}]);
        let rules = json!([{"name": "r", "kind": kind, "must": must, "vms": members}]);
        three_hosts(
            cores,
            memory_gib,
            ("clusters", cluster),
            placement,
            Some(rules),
        )
    }

    /// Checks the migrations floor and [`movable`] against every valid plan of `inventory`:
    /// no plan has fewer migrations than the floor, nor moves more of a block's VMs away from a
    /// host, or more of the VMs nothing sends away, than `movable` allows a plan with its
    /// migrations and its count of broken soft rules (counted as the MIP counts them: the
    /// block's VMs there today less those the plan puts there).
    fn movable_holds(inventory: &Inventory) -> Result<(), TestCaseError> {
        let blocks = crate::placement::blocks::blocks(inventory);
        let plans = valid_plans(inventory);
        for (host_of, score) in &plans {
            let stayings = Staying::choices(inventory, true, Some(score.soft_rules));
            let floor = stayings.iter().map(Staying::migrations_floor).min();
            prop_assert!(
                floor.unwrap_or(0) <= score.migrations,
                "floor {floor:?} above {score:?}"
            );
            let moved = |block: usize, host: usize| {
                let vms = &blocks[block].vms;
                let there = |on: &dyn Fn(VmId) -> bool| vms.iter().filter(|vm| on(**vm)).count();
                let today = there(&|vm| inventory.placement.contains(&(vm, HostId::new(host))));
                let planned = there(&|vm| host_of[vm.index()] == Some(host));
                today.saturating_sub(planned) as u32
            };
            let moves = movable(&stayings, &blocks, inventory, score.migrations);
            for (block, host, most) in &moves.caps {
                let moved = moved(*block, *host);
                prop_assert!(
                    moved <= *most,
                    "block {block} moves {moved} > {most} from h{host} ({score:?})"
                );
            }
            let free: u32 = moves.free.iter().map(|(b, h)| moved(*b, *h)).sum();
            prop_assert!(
                free <= moves.slack,
                "{free} free moves > slack {} ({score:?})",
                moves.slack
            );
            let Step4::Peak(peak) = score.step4 else {
                panic!("balance scores a peak")
            };
            let (low, high) = (Ratio::new(0, 1), Ratio::new(1, 1));
            let levels = Levels::new(inventory, 1);
            let bound = (stayings.iter())
                .map(|s| s.balance_bound(&levels, low, high, score.migrations))
                .min();
            prop_assert!(
                bound.is_none_or(|bound| bound <= peak),
                "peak bound {bound:?} above {score:?}"
            );
        }
        prop_assume!(!plans.is_empty());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// The spread floor with the migrations held is valid on two pools whose VMs share
        /// hosts, overflow them, and are bound by `separate` and `together` rules (whose moves
        /// the floor places on the hosts the members run on).
        #[test]
        fn no_valid_plan_of_two_pools_spreads_less_than_the_floor(
            cores in prop::collection::vec(4u32..=16, 3),
            memory_gib in prop::collection::vec(8u32..=48, 3),
            classes in prop::collection::vec(0usize..4, 2),
            today in prop::collection::vec(0usize..3, 6),
            rule in prop::option::of((prop::sample::select(vec!["separate", "together"]), any::<bool>(), 2usize..=4)),
        ) {
            let inventory = two_pool_platform((&cores, &memory_gib), &classes, &today, rule);
            spread_floor_holds(&inventory)?;
        }

        /// The floors and bounds are valid when two `together` rules share a VM (their
        /// members' moves are counted as one group's).
        #[test]
        fn no_valid_plan_with_chained_together_rules_beats_the_floors(
            cores in prop::collection::vec(4u32..=16, 3),
            memory_gib in prop::collection::vec(8u32..=48, 3),
            classes in prop::collection::vec(0usize..4, 2),
            today in prop::collection::vec(0usize..3, 6),
            musts in (any::<bool>(), any::<bool>()),
        ) {
            let inventory = chained_platform((&cores, &memory_gib), &classes, &today, musts);
            movable_holds(&inventory)?;
            spread_floor_holds(&inventory)?;
        }
    }

    /// Every valid plan of `inventory` spreads each pool at least as much as the pool's floor
    /// and all pools as much as the spread floor, with the migrations and soft rules broken the
    /// plan has and with or without its peak held; its migrations reach the migrations floor.
    fn spread_floor_holds(inventory: &Inventory) -> Result<(), TestCaseError> {
        let levels = Levels::new(inventory, 1);
        let plans = valid_plans(inventory);
        for (host_of, score) in &plans {
            let Step4::Peak(peak) = score.step4 else {
                panic!("balance scores a peak")
            };
            let stayings = Staying::choices(inventory, true, Some(score.soft_rules));
            prop_assert!(
                stayings
                    .iter()
                    .map(Staying::migrations_floor)
                    .min()
                    .unwrap_or(0)
                    <= score.migrations,
                "migrations floor above {score:?}"
            );
            let held = |level| Held {
                stayings: &stayings,
                migrations: score.migrations,
                level,
            };
            // Per (pool, host), the pool's VMs there in this plan.
            let mut counts: BTreeMap<(usize, usize), u32> = BTreeMap::new();
            for (vm, host) in host_of.iter().enumerate() {
                let group = inventory.vms[VmId::new(vm)].group.index();
                *counts
                    .entry((group, host.unwrap_or(usize::MAX)))
                    .or_default() += 1;
            }
            let most = |pool: usize| {
                (counts.iter())
                    .filter(|((group, _), _)| *group == pool)
                    .map(|(_, n)| *n)
                    .max()
                    .unwrap_or(0)
            };
            for level in [None, Some((&levels, peak))] {
                let total = spread_floor(inventory, true, Some(held(level)));
                prop_assert!(total <= score.spread, "floor {total} > {score:?}");
                for (pool, floor) in each_pool_floor(inventory, true, Some(held(level))) {
                    let most = most(pool);
                    prop_assert!(
                        floor <= most,
                        "pool {pool}: floor {floor} > {most} ({score:?})"
                    );
                }
            }
        }
        prop_assume!(!plans.is_empty());
        Ok(())
    }

    /// A host that must shed one VM to come within the held level sheds the one VM large
    /// enough: h0 runs p-1 and p-2 (2 vCPUs, 4 GiB each) and q-1 (4 vCPUs, 16 GiB), 24 GiB in
    /// all, and at the level 3/8 holds 18 GiB; with one migration, only q-1 can go, so pool p
    /// keeps two VMs on h0.
    #[test]
    fn a_host_that_sheds_one_vm_keeps_the_pool_too_small_to_make_room() {
        let inventory = two_pool_platform(
            (&[4, 16, 16], &[48, 48, 48]),
            &[0, 2],
            &[1, 0, 0, 1, 0, 2],
            None,
        );
        let levels = Levels::new(&inventory, 1);
        let stayings = Staying::choices(&inventory, true, Some(0));
        let floors = |level| {
            let held = Held {
                stayings: &stayings,
                migrations: 1,
                level,
            };
            each_pool_floor(&inventory, true, Some(held))
        };
        let pool = |name: &str| {
            (inventory.groups.iter().position(|group| group.name == name))
                .unwrap_or_else(|| panic!("no pool {name}"))
        };
        let at_level = floors(Some((&levels, Ratio::new(3, 8))));
        assert_eq!(at_level[&pool("ns/c/p")], 2, "{at_level:?}");
        // Without the level nothing must leave h0, and the one migration may move p-1.
        let unheld = floors(None);
        assert_eq!(unheld[&pool("ns/c/p")], 1, "{unheld:?}");
    }

    /// Control planes that share a host and pool VMs that share one move on top of each other:
    /// two control planes and both pool VMs on h0 take two moves, though h0 sheds one VM by
    /// each rule alone. A rule over a control plane and a pool VM there takes one: the control
    /// plane's move serves both.
    #[test]
    fn control_planes_and_other_vms_move_on_top_of_each_other() {
        for (today, members, floor) in [
            ([0, 0, 1, 0, 0], ["ns/c/p-1", "ns/c/p-2"], 2),
            ([0, 0, 1, 0, 2], ["ns/c/cp-1", "ns/c/p-1"], 1),
        ] {
            let sizes = (&[16u32; 3][..], &[48u32; 3][..], 0);
            let inventory = plane_platform(sizes, today, ("separate", true), &members);
            let stayings = Staying::choices(&inventory, true, Some(0));
            let least = stayings.iter().map(Staying::migrations_floor).min();
            assert_eq!(least, Some(floor), "{today:?} {members:?}");
            let best = valid_plans(&inventory)
                .iter()
                .map(|(_, s)| s.migrations)
                .min();
            assert_eq!(best, Some(floor), "{today:?} {members:?}");
        }
    }

    /// The members' moves that the migrations floor counts cool no other host: h1's three VMs
    /// fill its memory, and a must `together` rule over v0 (on h0) and v1 (on h2) takes the
    /// one migration allowed, so no plan with one migration sheds a VM of h1. The peak bound
    /// reaches the brute-forced best peak (without the members' moves it would let h1 shed).
    #[test]
    fn the_moves_of_the_floor_cool_no_other_host() {
        let rule = Some(("together", true, 2));
        let inventory = platform_with(
            &[16, 8, 16],
            &[64, 24, 64],
            &[0, 0, 1, 1, 1],
            &[0, 2, 1, 1, 1],
            (rule, None),
        );
        let levels = Levels::new(&inventory, 1);
        let stayings = Staying::choices(&inventory, true, Some(0));
        let (low, high) = (Ratio::new(0, 1), Ratio::new(1, 1));
        let bound = (stayings.iter())
            .map(|s| s.balance_bound(&levels, low, high, 1).to_f64())
            .reduce(f64::min);
        let best = valid_plans(&inventory)
            .iter()
            .filter(|(_, score)| score.migrations <= 1)
            .filter_map(|(_, score)| match score.step4 {
                Step4::Peak(peak) => Some(peak.to_f64()),
                Step4::Cost(_) => None,
            })
            .reduce(f64::min);
        assert_eq!(best, Some(1.0));
        assert_eq!(bound, best);
    }

    /// Two `together` rules that share a VM make one group: p-1, q-1 and p-3 run on three
    /// hosts today and must meet on one, so two of them move (each rule alone moves one).
    #[test]
    fn chained_together_rules_move_all_but_one_host_share() {
        let inventory = chained_platform(
            (&[16; 3], &[48; 3]),
            &[1, 1],
            &[0, 0, 1, 2, 1, 0],
            (true, true),
        );
        let stayings = Staying::choices(&inventory, true, Some(0));
        let floor = stayings.iter().map(Staying::migrations_floor).min();
        let best = valid_plans(&inventory)
            .iter()
            .map(|(_, score)| score.migrations)
            .min();
        assert_eq!(best, Some(2));
        assert_eq!(floor, best);
    }

    /// Five VMs of `classes` on three hosts (`cores`, 32 GiB each), running today on `today`,
    /// with soft rules: per (kind 0..3 = vm_host run on, vm_host keep off, together, separate;
    /// members as a bit mask over the VMs; hosts as a bit mask), one rule.
    fn soft_platform(
        cores: &[u32],
        classes: &[usize],
        today: &[usize],
        rules: &[(usize, u8, u8)],
    ) -> Inventory {
        let (vms, placement) = vms_today(classes, today, 0);
        let rules: Vec<serde_json::Value> = rules
            .iter()
            .enumerate()
            .map(|(index, (kind, members, hosts))| {
                let vms: Vec<String> = (0..classes.len())
                    .filter(|vm| members & (1 << vm) != 0)
                    .map(|vm| format!("ns/vm/v{vm}"))
                    .collect();
                let hosts: Vec<String> = (0..3)
                    .filter(|host| hosts & (1 << host) != 0)
                    .map(|host| format!("h{host}"))
                    .collect();
                let name = format!("r{index}");
                match kind {
                    0 | 1 => json!({"name": name, "kind": "vm_host", "must": false,
                                    "run_on": *kind == 0, "vms": vms, "hosts": hosts}),
                    2 => json!({"name": name, "kind": "together", "must": false, "vms": vms}),
                    _ => json!({"name": name, "kind": "separate", "must": false, "vms": vms}),
                }
            })
            .collect();
        three_hosts(
            cores,
            &[32; 3],
            ("vms", json!(vms)),
            placement,
            Some(json!(rules)),
        )
    }

    /// Two soft `vm_host` rules that send v0 to disjoint hosts: every plan breaks one, and the
    /// floor says so (with no conflict found it would say 0).
    #[test]
    fn soft_rules_that_cannot_both_hold_break_one() {
        let rules = [(0, 0b00001, 0b001), (0, 0b00001, 0b110)];
        let inventory = soft_platform(&[16; 3], &[0; 5], &[0, 1, 2, 0, 1], &rules);
        let best = valid_plans(&inventory)
            .iter()
            .map(|(_, score)| score.soft_rules)
            .min();
        assert_eq!(best, Some(1));
        assert_eq!(soft_floor(&inventory, true), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// The soft-rules floor is valid with up to four soft rules of every kind over random
        /// VMs and hosts, and so are the migrations floor, `movable` and the peak bound built
        /// on the choices of soft rules it leaves.
        #[test]
        fn no_valid_plan_breaks_fewer_soft_rules_than_the_floor(
            cores in prop::collection::vec(4u32..=16, 3),
            classes in prop::collection::vec(0usize..4, 5),
            today in prop::collection::vec(0usize..3, 5),
            rules in prop::collection::vec((0usize..4, 1u8..32, 1u8..8), 1..=4),
        ) {
            let inventory = soft_platform(&cores, &classes, &today, &rules);
            let plans = valid_plans(&inventory);
            let floor = soft_floor(&inventory, true);
            for (_, score) in &plans {
                prop_assert!(floor <= score.soft_rules, "floor {floor} above {score:?}");
            }
            movable_holds(&inventory)?;
        }
    }

    proptest! {
        // The cases where the control planes' term binds are rarer: more of them.
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// The same with a 3-replica control plane beside the rule's VMs (its moves add to
        /// those of the other VMs), and a rule that may take a control-plane VM in.
        #[test]
        fn no_valid_plan_with_control_planes_moves_more_than_movable_allows(
            cores in prop::collection::vec(4u32..=16, 3),
            memory_gib in prop::collection::vec(8u32..=48, 3),
            class in 0usize..4,
            today in prop::collection::vec(0usize..3, 5),
            kind in prop::sample::select(vec!["separate", "together"]),
            must in any::<bool>(),
            with_plane in any::<bool>(),
        ) {
            let names = ["ns/c/cp-1", "ns/c/cp-2", "ns/c/cp-3", "ns/c/p-1", "ns/c/p-2"];
            let members = if with_plane { &names[2..] } else { &names[3..] };
            let today = [today[0], today[1], today[2], today[3], today[4]];
            let inventory = plane_platform((&cores, &memory_gib, class), today, (kind, must), members);
            movable_holds(&inventory)?;
        }
    }
}
