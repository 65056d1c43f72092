//! What-if changes to a topology document before planning: dotted assignments whose list
//! elements are addressed by `name` (`namespaces.team-a.limits.memory=2Ti`,
//! `hosts.esx-03.maintenance=true`) or by index in brackets (`hosts[0].cost=2`; a bare number
//! is an index too, unless an element has that name: then it is an error), and JSON merge
//! patches (RFC 7386). Both work on the JSON document, so the changed document is validated like any
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

/// A step of a path: a key (an object's field, or a list element's name), or an explicit list
/// index (`hosts[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Splits `hosts[1].maintenance` into steps; `None` when a segment is malformed.
fn steps(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    for segment in path.split('.') {
        let (key, mut rest) = match segment.find('[') {
            Some(open) => (&segment[..open], &segment[open..]),
            None => (segment, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        } else if rest.is_empty() {
            return None;
        }
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let index = rest.get(1..close)?.parse().ok()?;
            steps.push(Step::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return None;
            }
        }
    }
    Some(steps)
}

fn set(document: &mut Value, path: &str, value: Value) -> Result<(), Diagnostic> {
    let fail = |why: String| {
        Diagnostic::input(
            "--what-if",
            path,
            "bad_what_if",
            why,
            "address list elements by name or by index in brackets, e.g. `namespaces.team-a.limits.memory=2Ti`, `hosts[0].cost=2`",
        )
    };
    let Some(steps) = steps(path) else {
        return Err(fail(format!(
            "`{path}` is not a path like `hosts[0].cost` or `namespaces.team-a.limits.memory`"
        )));
    };
    let mut here = document;
    let mut walked = String::new();
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        here = match (here, step) {
            (Value::Array(items), Step::Index(index)) => {
                if *index >= items.len() {
                    return Err(fail(format!(
                        "`{walked}` has {} element(s); there is no [{index}]",
                        items.len()
                    )));
                }
                if last {
                    items[*index] = value;
                    return Ok(());
                }
                &mut items[*index]
            }
            (Value::Array(items), Step::Key(segment)) => {
                let by_name = items.iter().position(|item| {
                    item.get("name").and_then(Value::as_str) == Some(segment.as_str())
                });
                let by_index = segment
                    .parse::<usize>()
                    .ok()
                    .filter(|index| *index < items.len());
                let position = match (by_name, by_index) {
                    (Some(named), Some(index)) if named != index => {
                        return Err(fail(format!(
                            "`{walked}.{segment}` is ambiguous: an element is named `{segment}` and another is at index {segment}; write `{walked}[{segment}]` for the index"
                        )));
                    }
                    (Some(named), _) => Some(named),
                    (None, index) => index,
                };
                let Some(position) = position else {
                    // A new element: `hosts.esx-09={"name": "esx-09", ...}` appends it.
                    if last && value.get("name").and_then(Value::as_str) == Some(segment.as_str()) {
                        items.push(value);
                        return Ok(());
                    }
                    return Err(fail(format!("`{walked}` has no element named `{segment}`")));
                };
                if last {
                    items[position] = value;
                    return Ok(());
                }
                &mut items[position]
            }
            (Value::Object(map), Step::Key(segment)) => {
                if last {
                    map.insert(segment.clone(), value);
                    return Ok(());
                }
                map.entry(segment.clone())
                    .or_insert_with(|| Value::Object(serde_json::Map::new()))
            }
            _ => {
                return Err(fail(format!(
                    "`{walked}` is not a list that `{path}` can index, or not an object"
                )))
            }
        };
        match step {
            Step::Key(key) if walked.is_empty() => walked = key.clone(),
            Step::Key(key) => walked = format!("{walked}.{key}"),
            Step::Index(index) => walked = format!("{walked}[{index}]"),
        }
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
            Change::parse_assignment("hosts[1].maintenance=true").unwrap_or_else(|e| panic!("{e}")),
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
    fn a_segment_that_is_both_a_name_and_an_index_is_an_error() {
        // Host `1` at index 0, host `0` at index 1: `hosts.1` could mean either.
        let document = json!({ "hosts": [ { "name": "1" }, { "name": "0" } ] });
        let ambiguous =
            Change::parse_assignment("hosts.1.maintenance=true").unwrap_or_else(|e| panic!("{e}"));
        assert!(apply(&document, &[ambiguous]).is_err());
        let by_index =
            Change::parse_assignment("hosts[1].maintenance=true").unwrap_or_else(|e| panic!("{e}"));
        let changed = apply(&document, &[by_index]).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(changed["hosts"][1]["maintenance"], true);
        assert_eq!(changed["hosts"][0].get("maintenance"), None);
    }

    #[test]
    fn merge_patches_follow_rfc_7386() {
        let mut target = json!({ "a": "b", "c": { "d": "e", "f": "g" } });
        merge_patch(&mut target, &json!({ "a": "z", "c": { "f": null } }));
        assert_eq!(target, json!({ "a": "z", "c": { "d": "e" } }));
    }
}
