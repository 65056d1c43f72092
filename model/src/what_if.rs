//! What-if changes to a topology document before planning: dotted assignments whose list
//! elements are addressed by `name` (`namespaces.team-a.limits.memory=2Ti`,
//! `hosts.esx-03.maintenance=true`) or by index (`hosts.0.cost=2`), and JSON merge patches
//! (RFC 7386). Both work on the JSON document, so the changed document is validated like any
//! input.

use crate::diagnostic::Diagnostic;
use serde_json::Value;

/// One change.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `path=value`: `value` is JSON when it parses as JSON, else a string.
    Set {
        /// Dotted path.
        path: String,
        /// New value.
        value: Value,
    },
    /// An RFC 7386 merge patch of the whole document.
    MergePatch(Value),
}

impl Change {
    /// Parses `path=value`.
    pub fn parse_assignment(text: &str) -> Result<Change, Diagnostic> {
        let Some((path, value)) = text.split_once('=') else {
            return Err(Diagnostic::input(
                "--what-if",
                text,
                "bad_what_if",
                format!("`{text}` is not `path=value`"),
                "write e.g. `namespaces.team-a.limits.memory=2Ti`",
            ));
        };
        let value =
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        Ok(Change::Set {
            path: path.trim().to_string(),
            value,
        })
    }

    /// How the change reads in a report.
    pub fn describe(&self) -> String {
        match self {
            Change::Set { path, value } => format!("{path}={value}"),
            Change::MergePatch(patch) => format!("merge patch {patch}"),
        }
    }
}

/// Applies the changes in order to a copy of `document`.
pub fn apply(document: &Value, changes: &[Change]) -> Result<Value, Vec<Diagnostic>> {
    let mut changed = document.clone();
    let mut errors = Vec::new();
    for change in changes {
        match change {
            Change::MergePatch(patch) => merge_patch(&mut changed, patch),
            Change::Set { path, value } => {
                if let Err(error) = set(&mut changed, path, value.clone()) {
                    errors.push(error);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(changed)
    } else {
        Err(errors)
    }
}

/// RFC 7386: objects merge key by key, `null` removes a key, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

fn set(document: &mut Value, path: &str, value: Value) -> Result<(), Diagnostic> {
    let segments: Vec<&str> = path.split('.').collect();
    let fail = |why: String| {
        Diagnostic::input(
            "--what-if",
            path,
            "bad_what_if",
            why,
            "address list elements by name or index, e.g. `namespaces.team-a.limits.memory=2Ti`",
        )
    };
    if segments.iter().any(|s| s.is_empty()) {
        return Err(fail(format!("`{path}` has an empty segment")));
    }
    let mut here = document;
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        here = match here {
            Value::Array(items) => {
                let position = match segment.parse::<usize>() {
                    Ok(index) if index < items.len() => Some(index),
                    _ => items
                        .iter()
                        .position(|item| item.get("name").and_then(Value::as_str) == Some(segment)),
                };
                let Some(position) = position else {
                    // A new element: `hosts.esx-09={"name": "esx-09", ...}` appends it.
                    if last && value.get("name").and_then(Value::as_str) == Some(segment) {
                        items.push(value);
                        return Ok(());
                    }
                    return Err(fail(format!(
                        "`{}` has no element named `{segment}`",
                        segments[..i].join(".")
                    )));
                };
                if last {
                    items[position] = value;
                    return Ok(());
                }
                &mut items[position]
            }
            Value::Object(map) => {
                if last {
                    map.insert((*segment).to_string(), value);
                    return Ok(());
                }
                map.entry((*segment).to_string())
                    .or_insert_with(|| Value::Object(serde_json::Map::new()))
            }
            _ => {
                return Err(fail(format!(
                    "`{}` is not an object or a list",
                    segments[..i].join(".")
                )))
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assignments_address_list_elements_by_name_or_index() {
        let document = json!({ "namespaces": [ { "name": "team-a", "limits": { "memory": "1Ti" } } ],
                               "hosts": [ { "name": "esx-01" }, { "name": "esx-02" } ] });
        let changes = [
            Change::parse_assignment("namespaces.team-a.limits.memory=2Ti")
                .unwrap_or_else(|e| panic!("{e}")),
            Change::parse_assignment("hosts.1.maintenance=true").unwrap_or_else(|e| panic!("{e}")),
            Change::parse_assignment("namespaces.team-a.limits.cpu_mhz=100000")
                .unwrap_or_else(|e| panic!("{e}")),
        ];
        let changed = apply(&document, &changes).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(changed["namespaces"][0]["limits"]["memory"], "2Ti");
        assert_eq!(changed["namespaces"][0]["limits"]["cpu_mhz"], 100000);
        assert_eq!(changed["hosts"][1]["maintenance"], true);
        let missing = apply(
            &document,
            &[
                Change::parse_assignment("namespaces.team-z.limits.memory=1")
                    .unwrap_or_else(|e| panic!("{e}")),
            ],
        );
        assert!(missing.is_err());
    }

    #[test]
    fn merge_patches_follow_rfc_7386() {
        let mut target = json!({ "a": "b", "c": { "d": "e", "f": "g" } });
        merge_patch(&mut target, &json!({ "a": "z", "c": { "f": null } }));
        assert_eq!(target, json!({ "a": "z", "c": { "d": "e" } }));
    }
}
