//! Reading the dumps: JSON, or YAML with one or more documents; each document recognised by
//! its content.

use crate::Report;
use serde_json::Value;

/// A recognised source.
#[derive(Debug, Clone)]
pub enum Source {
    /// A Kubernetes object (from a single object or a `List`).
    Object {
        /// The file it came from.
        file: String,
        /// The object.
        object: Value,
    },
    /// The hosts of `govc host.info -json`.
    Hosts {
        /// The file.
        file: String,
        /// Each host.
        hosts: Vec<Value>,
    },
    /// vCenter namespaces: name -> instance info.
    Namespaces {
        /// The file.
        file: String,
        /// (name, info).
        namespaces: Vec<(String, Value)>,
    },
    /// vCenter storage policies: (id, name).
    Policies {
        /// The file.
        file: String,
        /// (policy id, name).
        policies: Vec<(String, String)>,
    },
}

/// The documents of a file: JSON, else YAML (every document of a multi-document stream).
pub fn read(file: &str, bytes: &[u8]) -> Result<Vec<Value>, Report> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let json_error = match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => return Ok(vec![value]),
        Err(error) => error,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| Report {
        file: file.to_string(),
        object: format!("byte {}", e.valid_up_to()),
        reason: "not UTF-8 text".into(),
        error: true,
    })?;
    let looks_like_json = text.trim_start().starts_with(['{', '[']);
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        match Value::deserialize_yaml(document) {
            Ok(Value::Null) => {}
            Ok(value) => documents.push(value),
            Err(error) => {
                let (object, reason) = if looks_like_json {
                    (
                        format!("line {}, column {}", json_error.line(), json_error.column()),
                        format!("not valid JSON: {json_error}"),
                    )
                } else {
                    let place = error.location().map_or("?".to_string(), |l| {
                        format!("line {}, column {}", l.line(), l.column())
                    });
                    (place, format!("not valid YAML: {error}"))
                };
                return Err(Report {
                    file: file.to_string(),
                    object,
                    reason,
                    error: true,
                });
            }
        }
    }
    Ok(documents)
}

trait FromYaml: Sized {
    fn deserialize_yaml(document: serde_yaml::Deserializer) -> Result<Self, serde_yaml::Error>;
}

impl FromYaml for Value {
    fn deserialize_yaml(document: serde_yaml::Deserializer) -> Result<Value, serde_yaml::Error> {
        serde::Deserialize::deserialize(document)
    }
}

/// Sorts a file's documents into sources; what is none of them is reported.
pub fn recognise(file: &str, documents: Vec<Value>) -> (Vec<Source>, Vec<Report>) {
    let mut sources = Vec::new();
    let mut reports = Vec::new();
    let unknown = |index: usize, why: &str| Report {
        file: file.to_string(),
        object: format!("document {}", index + 1),
        reason: why.to_string(),
        error: true,
    };
    for (index, document) in documents.into_iter().enumerate() {
        let field = |name: &str| -> Option<&Value> {
            let object = document.as_object()?;
            object.get(name).or_else(|| object.get(&capitalised(name)))
        };
        if document.get("kind").and_then(Value::as_str) == Some("List")
            || (document.get("items").is_some_and(Value::is_array)
                && document.get("apiVersion").is_some())
        {
            for object in document["items"].as_array().into_iter().flatten() {
                sources.push(Source::Object {
                    file: file.to_string(),
                    object: object.clone(),
                });
            }
        } else if document.get("kind").is_some() && document.get("apiVersion").is_some() {
            sources.push(Source::Object {
                file: file.to_string(),
                object: document,
            });
        } else if let Some(hosts) = field("hostSystems").and_then(Value::as_array) {
            sources.push(Source::Hosts {
                file: file.to_string(),
                hosts: hosts.clone(),
            });
        } else if let Some(list) = document.as_array() {
            if list
                .iter()
                .all(|p| p.get("policy").is_some() && p.get("name").is_some())
            {
                let policies = list
                    .iter()
                    .filter_map(|p| {
                        Some((
                            p["policy"].as_str()?.to_string(),
                            p["name"].as_str()?.to_string(),
                        ))
                    })
                    .collect();
                sources.push(Source::Policies {
                    file: file.to_string(),
                    policies,
                });
            } else {
                reports.push(unknown(
                    index,
                    "a list that is neither Kubernetes objects nor storage policies",
                ));
            }
        } else if let Some(map) = document.as_object().filter(|m| {
            !m.is_empty()
                && m.values().all(|info| {
                    info.get("storage_specs").is_some()
                        || info.get("vm_service_spec").is_some()
                        || info.get("resource_spec").is_some()
                        || info.get("config_status").is_some()
                })
        }) {
            sources.push(Source::Namespaces {
                file: file.to_string(),
                namespaces: map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            });
        } else {
            reports.push(unknown(
                index,
                "not a Kubernetes object or list, govc host.info output, vCenter namespaces or storage policies",
            ));
        }
    }
    (sources, reports)
}

/// `hostSystems` -> `HostSystems` (older govc writes field names capitalised).
pub fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
