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

/// One entry of a plan's `diagnosis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Diagnostic {
    /// The owning layer.
    pub layer: Layer,
    /// The entity concerned (`team-a`, `esx-03`, `team-a/prod`...).
    pub subject: String,
    /// A stable code for what broke (`memory_limit`, `unknown_field`...).
    pub constraint: String,
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
    /// An `input`-layer error at a JSON path.
    pub fn input(
        path: impl Into<String>,
        subject: impl Into<String>,
        constraint: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Diagnostic {
            layer: Layer::Input,
            subject: subject.into(),
            constraint: constraint.to_string(),
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
        constraint: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Diagnostic {
            layer,
            subject: subject.into(),
            constraint: constraint.to_string(),
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
