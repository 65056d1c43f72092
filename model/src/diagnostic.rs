//! The one diagnosis format shared by validation errors, infeasibility and rejections
//! (docs/output-and-upgrades.md): the owning layer, the subject, what broke, a message and a hint.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The layer that owns a problem: the layer an operator has to debug.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Hosts, storage, networks as raw capacity.
    Infrastructure,
    /// The Supervisor control plane and its networks.
    Supervisor,
    /// A vSphere Namespace: limits, permitted classes, its networks.
    Namespace,
    /// A workload cluster (Cluster API).
    Cluster,
    /// A DRS rule.
    Rule,
    /// The input document itself.
    Input,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Infrastructure => "infrastructure",
            Layer::Supervisor => "supervisor",
            Layer::Namespace => "namespace",
            Layer::Cluster => "cluster",
            Layer::Rule => "rule",
            Layer::Input => "input",
        })
    }
}

/// Declares [`Constraint`]: each domain variant with its JSON spelling, written once.
macro_rules! constraints {
    ($($(#[doc = $doc:literal])+ $variant:ident => $code:literal,)+) => {
        /// A stable code for what broke (a diagnosis entry's `constraint`, what a MIP row or an
        /// upgrade task is owned by): one variant per code the solver's control flow knows, and
        /// [`Constraint::Other`] for the codes that only travel to the user (input validation:
        /// `unknown_field`, `bad_quantity`...).
        ///
        /// It is written, read and ordered as its JSON spelling ([`Constraint::as_str`]):
        /// equality, hashing and order compare the spellings, so diagnoses and conflicts sort as
        /// their codes do. Build one from a code with [`Constraint::parse`], which gives a known
        /// code its variant.
        #[derive(Debug, Clone)]
        pub enum Constraint {
            $($(#[doc = $doc])+ $variant,)+
            /// Any other code (input validation, the sequence audit's own rules): it only
            /// travels to the user, and no control flow reads it. Built by
            /// [`Constraint::parse`], it never holds a code that has its own variant.
            Other(String),
        }

        impl Constraint {
            /// The JSON spelling of every variant but [`Constraint::Other`], in declaration order.
            pub const DOMAIN_CODES: &'static [&'static str] = &[$($code),+];

            /// The code as written in JSON (`memory_limit`, `unknown_field`...).
            pub fn as_str(&self) -> &str {
                match self {
                    $(Constraint::$variant => $code,)+
                    Constraint::Other(code) => code,
                }
            }

            /// The constraint of a code: a known code's variant, anything else
            /// [`Constraint::Other`].
            pub fn parse(code: &str) -> Constraint {
                match code {
                    $($code => Constraint::$variant,)+
                    other => Constraint::Other(other.to_string()),
                }
            }
        }
    };
}

constraints! {
    /// A host's capacity rows (vCPUs, memory, reserved shares) in the MIP.
    HostCapacity => "host_capacity",
    /// A host's vCPUs under the overcommit ratio.
    HostVcpus => "host_vcpus",
    /// A host's memory.
    HostMemory => "host_memory",
    /// The vCPUs reserved on a host.
    HostReservedVcpus => "host_reserved_vcpus",
    /// The memory reserved on a host.
    HostReservedMemory => "host_reserved_memory",
    /// A host's devices (GPUs...).
    Devices => "devices",
    /// HA admission control over the hosts in service.
    HaAdmission => "ha_admission",
    /// The control-plane anti-affinity of a cluster or the Supervisor.
    AntiAffinity => "anti_affinity",
    /// A node pool's zone pin.
    ZonePinning => "zone_pinning",
    /// A host in maintenance.
    Maintenance => "maintenance",
    /// A namespace's CPU limit.
    CpuLimit => "cpu_limit",
    /// A namespace's memory limit.
    MemoryLimit => "memory_limit",
    /// A namespace's storage limit on a policy.
    StorageLimit => "storage_limit",
    /// A storage policy's capacity.
    StorageCapacity => "storage_capacity",
    /// A network's address count.
    IpAddresses => "ip_addresses",
    /// The Supervisor's workload network addresses.
    WorkloadIps => "workload_ips",
    /// The management network addresses.
    ManagementIps => "management_ips",
    /// A must DRS rule.
    Rules => "rules",
    /// A should DRS rule left broken.
    SoftRule => "soft_rule",
    /// A unit that must run (the Supervisor, a cluster with no priority) or was not admitted.
    Admission => "admission",
    /// A unit that does not pack onto the hosts though no single total is short.
    Packing => "packing",
    /// A roll of a cluster or the Supervisor (an upgrade task, a replayed action).
    Roll => "roll",
    /// The patch of a host (an upgrade task).
    Patch => "patch",
    /// A migration (a replayed action).
    Migrate => "migrate",
    /// The control-plane roll of a cluster.
    ControlPlaneRoll => "control_plane_roll",
    /// A control plane rolled before its node pools.
    ControlPlaneFirst => "control_plane_first",
    /// A wave's actions in phase order.
    PhaseOrder => "phase_order",
    /// A node pool's `max_surge`.
    MaxSurge => "max_surge",
    /// A node pool's `max_unavailable`.
    MaxUnavailable => "max_unavailable",
    /// An upgrade no sequence can carry out.
    UpgradeInfeasible => "upgrade_infeasible",
    /// An upgrade the planner found no sequence for.
    NoSequenceFound => "no_sequence_found",
    /// Upgrade waves that made no progress.
    NoProgress => "no_progress",
    /// The cheapest change that resolves an infeasible plan.
    CheapestFix => "cheapest_fix",
    /// The solver's time limit.
    TimeLimit => "time_limit",
    /// A name a replayed action gives that the platform does not have.
    UnknownName => "unknown",
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Constraint {
    fn from(code: &str) -> Self {
        Constraint::parse(code)
    }
}

impl PartialEq for Constraint {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Constraint {}

impl std::hash::Hash for Constraint {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Constraint {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Constraint {
    /// By the JSON spelling: what sorted by code before keeps its order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Serialize for Constraint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Constraint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(Constraint::parse(&code))
    }
}

impl schemars::JsonSchema for Constraint {
    /// A plain string, as a `String` field's schema.
    fn inline_schema() -> bool {
        <String as schemars::JsonSchema>::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        <String as schemars::JsonSchema>::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        <String as schemars::JsonSchema>::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <String as schemars::JsonSchema>::json_schema(generator)
    }
}

/// One entry of a plan's `diagnosis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Diagnostic {
    /// The owning layer.
    pub layer: Layer,
    /// The entity concerned (`team-a`, `esx-03`, `team-a/prod`...).
    pub subject: String,
    /// A stable code for what broke (`memory_limit`, `unknown_field`...).
    pub constraint: Constraint,
    /// What is wrong, naming the entity in backticks.
    pub message: String,
    /// What would fix it.
    pub hint: String,
    /// For `input` entries: the JSON path of the offending field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A change that resolves the entry, as `vksplan plan --what-if` assignments applied in
    /// order (`namespaces.team-a.limits.memory=81920`); empty when none is known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fix: Vec<String>,
}

impl Diagnostic {
    /// An `input`-layer error at a JSON path (`constraint`: a [`Constraint`] or its code).
    pub fn input(
        path: impl Into<String>,
        subject: impl Into<String>,
        constraint: impl Into<Constraint>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Diagnostic {
            layer: Layer::Input,
            subject: subject.into(),
            constraint: constraint.into(),
            message: message.into(),
            hint: hint.into(),
            path: Some(path.into()),
            fix: Vec::new(),
        }
    }

    /// A diagnosis entry of any layer other than `input`.
    pub fn new(
        layer: Layer,
        subject: impl Into<String>,
        constraint: Constraint,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Diagnostic {
            layer,
            subject: subject.into(),
            constraint,
            message: message.into(),
            hint: hint.into(),
            path: None,
            fix: Vec::new(),
        }
    }

    /// The same entry with one more fix assignment (see [`Diagnostic::fix`]).
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix.push(fix.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    /// One line for a terminal: control characters a user typed into a name (a NUL, an escape
    /// sequence, a newline) are written escaped, never raw.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (message, hint) = (escaped(&self.message), escaped(&self.hint));
        match &self.path {
            Some(path) => write!(
                f,
                "[{}] {}: {message}; hint: {hint}",
                self.layer,
                escaped(path)
            ),
            None => write!(f, "[{}] {message}; hint: {hint}", self.layer),
        }
    }
}

/// `text` with its control characters escaped (`\u{0}`, `\n`...).
pub fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A document that failed validation: every error found, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the topology has {} input error(s); first: {}", .errors.len(), first(.errors))]
pub struct Invalid {
    /// Every error found (never empty).
    pub errors: Vec<Diagnostic>,
}

fn first(errors: &[Diagnostic]) -> String {
    errors.first().map(ToString::to_string).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_itself() {
        for code in Constraint::DOMAIN_CODES {
            let constraint = Constraint::parse(code);
            assert!(!matches!(constraint, Constraint::Other(_)), "{code}");
            assert_eq!(constraint.as_str(), *code);
            assert_eq!(constraint.to_string(), *code);
            let json = serde_json::to_string(&constraint).ok();
            assert_eq!(json, Some(format!("\"{code}\"")));
            let back = json.and_then(|json| serde_json::from_str::<Constraint>(&json).ok());
            assert_eq!(back, Some(constraint));
        }
        let other = Constraint::parse("unknown_field");
        assert_eq!(other, Constraint::Other("unknown_field".to_string()));
        assert_eq!(other.as_str(), "unknown_field");
    }

    #[test]
    fn constraints_order_as_their_codes() {
        let mut codes: Vec<&str> = Constraint::DOMAIN_CODES.to_vec();
        codes.extend(["bad_quantity", "unknown_field", "json_syntax"]);
        let mut constraints: Vec<Constraint> = codes.iter().map(|c| Constraint::parse(c)).collect();
        codes.sort_unstable();
        constraints.sort();
        let sorted: Vec<&str> = constraints.iter().map(Constraint::as_str).collect();
        assert_eq!(sorted, codes);
        assert!(Constraint::HostVcpus < Constraint::Other("host_w".to_string()));
        assert!(Constraint::Other("cpu".to_string()) < Constraint::CpuLimit);
    }
}
