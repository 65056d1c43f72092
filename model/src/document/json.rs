//! Reading a document: JSON that says exactly what the user typed. A UTF-8 byte-order mark is
//! skipped, a document over [`MAX_DOCUMENT_BYTES`] is refused before it is parsed, and a key
//! that appears twice in one object is an error with its path (plain JSON parsers keep the
//! last copy silently, so a typo'd or stale first copy would be lost).

use crate::diagnostic::Diagnostic;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::fmt;

/// The largest document vksplan reads: 64 MiB (a 288-host platform of 10,000 VMs is about
/// 3 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 64 << 20;

/// Parses a document. `Err` is the one error that stops reading (size, syntax); duplicate keys
/// come back beside the value, every one with its path.
pub fn parse(bytes: &[u8]) -> Result<(Value, Vec<Diagnostic>), Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Diagnostic::input(
            "$",
            "",
            "too_large",
            format!(
                "the document is {} MiB; vksplan reads documents of at most {} MiB",
                bytes.len() >> 20,
                MAX_DOCUMENT_BYTES >> 20
            ),
            "split the platform, or remove what the topology does not need",
        ));
    }
    let duplicates = RefCell::new(Vec::new());
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Node {
        path: String::new(),
        duplicates: &duplicates,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value))
    .map_err(|error| syntax_error(&error))?;
    Ok((value, duplicates.into_inner()))
}

/// A value being read at `path`, recording duplicate keys.
struct Node<'d> {
    path: String,
    duplicates: &'d RefCell<Vec<Diagnostic>>,
}

impl Node<'_> {
    fn child(&self, path: String) -> Node<'_> {
        Node {
            path,
            duplicates: self.duplicates,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) =
            sequence.next_element_seed(self.child(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            let value = map.next_value_seed(self.child(path.clone()))?;
            if object.contains_key(&key) {
                self.duplicates.borrow_mut().push(Diagnostic::input(
                    path.clone(),
                    "",
                    "duplicate_key",
                    format!("`{path}` is given more than once; only one is allowed"),
                    "remove the extra copy (JSON readers keep only the last one, so the others would be lost)",
                ));
            } else {
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}

/// The diagnostic of a document that is not valid JSON, with its line and column.
fn syntax_error(error: &serde_json::Error) -> Diagnostic {
    let what = match error.classify() {
        serde_json::error::Category::Eof => "the document ends early",
        serde_json::error::Category::Io => "the document could not be read",
        _ => "the document is not valid JSON",
    };
    Diagnostic::input(
        "$",
        "",
        "json_syntax",
        format!("{what}: {error}"),
        format!(
            "fix the JSON syntax at line {}, column {}",
            error.line(),
            error.column()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_errors_with_their_path() {
        let (value, duplicates) = parse(br#"{"hosts": [{"name": "a", "name": "b"}], "hosts": []}"#)
            .unwrap_or_default_err();
        assert_eq!(value["hosts"][0]["name"], "a");
        let paths: Vec<_> = duplicates.iter().filter_map(|d| d.path.clone()).collect();
        assert_eq!(paths, ["hosts[0].name", "hosts"]);
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let (value, duplicates) = parse(b"\xEF\xBB\xBF{\"version\": 1}").unwrap_or_default_err();
        assert_eq!(value["version"], 1);
        assert!(duplicates.is_empty());
    }

    trait OrDefault {
        fn unwrap_or_default_err(self) -> (Value, Vec<Diagnostic>);
    }

    impl OrDefault for Result<(Value, Vec<Diagnostic>), Diagnostic> {
        fn unwrap_or_default_err(self) -> (Value, Vec<Diagnostic>) {
            match self {
                Ok(parsed) => parsed,
                Err(error) => panic!("{error}"),
            }
        }
    }
}
