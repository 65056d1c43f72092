//! A small decoder over `serde_json::Value` that collects every error with its JSON path
//! instead of stopping at the first (serde's derive stops at the first). Each field that fails
//! records an error and yields a fallback, so that later checks still see the entity.

use super::quantity::{Bytes, MAX_BYTES, MIB};
use crate::diagnostic::Diagnostic;
use serde_json::{Map, Value};

/// A JSON path under construction: `namespaces[1].clusters[0].node_pools[0].vm_class`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Path(String);

impl Path {
    /// The document root.
    pub fn root() -> Path {
        Path(String::new())
    }

    /// A field of this path.
    pub fn key(&self, key: &str) -> Path {
        let plain = !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with(|c: char| c.is_ascii_digit());
        match (plain, self.0.is_empty()) {
            (true, true) => Path(key.to_string()),
            (true, false) => Path(format!("{}.{key}", self.0)),
            (false, _) => Path(format!("{}[{}]", self.0, Value::from(key))),
        }
    }

    /// An element of this path.
    pub fn index(&self, index: usize) -> Path {
        Path(format!("{}[{index}]", self.0))
    }

    /// The innermost array element the path lies in (`namespaces[1].clusters[0]` for
    /// `namespaces[1].clusters[0].disk`), or the top-level field.
    pub fn entity(&self) -> String {
        match self.0.rfind(']') {
            Some(end) => self.0[..=end].to_string(),
            None => self.0.split('.').next().unwrap_or("$").to_string(),
        }
    }

    /// The path as text; the root is `$`.
    pub fn as_str(&self) -> &str {
        if self.0.is_empty() {
            "$"
        } else {
            &self.0
        }
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where decoding errors go.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<Diagnostic>);

impl Errors {
    /// Records an `input` error at `path`.
    /// Without a subject, the entity the path lies in (`hosts[2]` for `hosts[2].memroy`).
    pub fn push(
        &mut self,
        path: &Path,
        subject: &str,
        constraint: &str,
        message: String,
        hint: String,
    ) {
        let subject = if subject.is_empty() {
            path.entity()
        } else {
            subject.to_string()
        };
        self.0.push(Diagnostic::input(
            path.as_str(),
            subject,
            constraint,
            message,
            hint,
        ));
    }

    fn wrong_type(&mut self, path: &Path, expected: &str, value: &Value) {
        self.push(
            path,
            "",
            "wrong_type",
            format!("`{path}` must be {expected}, found {}", describe(value)),
            format!("write {expected} at `{path}`"),
        );
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.len() > 40 => "a long string".into(),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The fields of one JSON object being decoded; reports unknown fields when finished.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: Path,
    known: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    /// Opens `value` as an object, or records a type error and returns `None`.
    pub fn open(value: &'a Value, path: &Path, errors: &mut Errors) -> Option<Fields<'a>> {
        match value {
            Value::Object(map) => Some(Fields {
                map,
                path: path.clone(),
                known: Vec::new(),
            }),
            other => {
                errors.wrong_type(path, "an object", other);
                None
            }
        }
    }

    /// The path of this object.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A required field: a missing one is an error and yields the fallback.
    pub fn required<T: Decode + Default>(&mut self, key: &'static str, errors: &mut Errors) -> T {
        self.known.push(key);
        match self.map.get(key) {
            Some(value) => T::decode(value, &self.path.key(key), errors).unwrap_or_default(),
            None => {
                let path = self.path.key(key);
                errors.push(
                    &path,
                    "",
                    "missing_field",
                    format!("`{path}` is required"),
                    format!("add `{key}` to `{}`", self.path),
                );
                T::default()
            }
        }
    }

    /// An optional field; `null` counts as absent.
    pub fn optional<T: Decode>(&mut self, key: &'static str, errors: &mut Errors) -> Option<T> {
        self.known.push(key);
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => T::decode(value, &self.path.key(key), errors),
        }
    }

    /// A required field that must lie in `low..=high`; the range is checked only on a value
    /// that decoded, so a missing or mistyped field reports one error, not two.
    pub fn required_in<T>(&mut self, key: &'static str, low: T, high: T, errors: &mut Errors) -> T
    where
        T: Decode + Default + PartialOrd + std::fmt::Display + Copy,
    {
        let before = errors.0.len();
        let value: T = self.required(key, errors);
        if errors.0.len() == before {
            check_range(value, low, high, &self.path.key(key), errors);
        }
        value
    }

    /// An optional field with a default, that must lie in `low..=high` when given.
    pub fn optional_in<T>(
        &mut self,
        key: &'static str,
        default: T,
        low: T,
        high: T,
        errors: &mut Errors,
    ) -> T
    where
        T: Decode + PartialOrd + std::fmt::Display + Copy,
    {
        match self.optional(key, errors) {
            Some(value) => {
                check_range(value, low, high, &self.path.key(key), errors);
                value
            }
            None => default,
        }
    }

    /// Whether the document wrote this field (even as `null`).
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Raw access to a field for decoders with their own shape.
    pub fn raw(&mut self, key: &'static str) -> Option<(&'a Value, Path)> {
        self.known.push(key);
        self.map.get(key).map(|value| (value, self.path.key(key)))
    }

    /// Reports every field that was not asked for: a typo must not be silently ignored.
    pub fn finish(self, errors: &mut Errors) {
        for key in self.map.keys() {
            if !self.known.contains(&key.as_str()) {
                let path = self.path.key(key);
                let suggestion = closest(key, &self.known)
                    .map(|known| format!("did you mean `{known}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "the fields of `{}` are: {}",
                            self.path,
                            self.known.join(", ")
                        )
                    });
                errors.push(
                    &path,
                    "",
                    "unknown_field",
                    format!("unknown field `{key}` at `{}`", self.path),
                    format!("remove it; {suggestion}"),
                );
            }
        }
    }
}

/// The known name closest to a typo (edit distance at most 2).
fn closest<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|candidate| (edit_distance(word, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Records an error when `value` is outside `low..=high`.
pub fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    value: T,
    low: T,
    high: T,
    path: &Path,
    errors: &mut Errors,
) {
    if value < low || value > high {
        errors.push(
            path,
            "",
            "out_of_range",
            format!("`{path}` is {value}; it must be between {low} and {high}"),
            format!("use a value from {low} to {high}"),
        );
    }
}

/// A type decodable from JSON with error collection.
pub trait Decode: Sized {
    /// Decodes `value`; on error records it and returns `None`.
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Self>;
}

impl Decode for bool {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<bool> {
        value.as_bool().or_else(|| {
            errors.wrong_type(path, "true or false", value);
            None
        })
    }
}

impl Decode for String {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            other => {
                errors.wrong_type(path, "a string", other);
                None
            }
        }
    }
}

impl Decode for u64 {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<u64> {
        value.as_u64().or_else(|| {
            errors.wrong_type(path, "a non-negative integer", value);
            None
        })
    }
}

impl Decode for u32 {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<u32> {
        match value.as_u64().map(u32::try_from) {
            Some(Ok(n)) => Some(n),
            _ => {
                errors.wrong_type(path, "a non-negative integer below 2^32", value);
                None
            }
        }
    }
}

impl Decode for f64 {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<f64> {
        match value.as_f64() {
            Some(x) if x.is_finite() => Some(x),
            _ => {
                errors.wrong_type(path, "a number", value);
                None
            }
        }
    }
}

/// One MiB in bytes: the smallest non-zero size a document may give.
const MIB_BYTES: u64 = 1 << 20;

impl Decode for Bytes {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Bytes> {
        let parsed = match value {
            Value::Number(n) => match n.as_u64() {
                Some(mib) if mib <= MAX_BYTES / MIB => Ok(Bytes::mib(mib)),
                Some(_) => Err(format!("{n} MiB is larger than the 1 EiB vksplan accepts")),
                None => Err(format!("{n} is not a whole, non-negative number of MiB")),
            },
            Value::String(text) => Bytes::parse_quantity(text),
            other => Err(format!("found {}", describe(other))),
        };
        // A size below 1 MiB is a slip (a VM, a host, a disk or a limit of a few bytes), and
        // whatever vksplan would write back for it (a fix, a usage) rounds to MiB.
        let parsed = parsed.and_then(|bytes| {
            if bytes.0 > 0 && bytes.0 < MIB_BYTES {
                Err(format!("{} bytes is below 1 MiB", bytes.0))
            } else {
                Ok(bytes)
            }
        });
        match parsed {
            Ok(bytes) => Some(bytes),
            Err(why) => {
                errors.push(
                    path,
                    "",
                    "bad_quantity",
                    format!(
                        "`{path}` must be an integer number of MiB or a quantity string: {why}"
                    ),
                    "write e.g. 16384, \"16Gi\", \"512Mi\" or \"1.5Ti\"".into(),
                );
                None
            }
        }
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Vec<T>> {
        match value {
            Value::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| T::decode(item, &path.index(i), errors))
                    .collect(),
            ),
            other => {
                errors.wrong_type(path, "an array", other);
                None
            }
        }
    }
}

/// A JSON object used as a map, in document order, each value with its path.
pub fn decode_map<T: Decode>(
    value: &Value,
    path: &Path,
    errors: &mut Errors,
) -> Vec<(String, T, Path)> {
    match value {
        Value::Object(map) => map
            .iter()
            .filter_map(|(key, item)| {
                let item_path = path.key(key);
                T::decode(item, &item_path, errors).map(|decoded| (key.clone(), decoded, item_path))
            })
            .collect(),
        other => {
            errors.wrong_type(path, "an object", other);
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_the_spec() {
        let path = Path::root()
            .key("namespaces")
            .index(1)
            .key("clusters")
            .index(0)
            .key("vm_class");
        assert_eq!(path.as_str(), "namespaces[1].clusters[0].vm_class");
        assert_eq!(
            Path::root()
                .key("placement")
                .key("team-a/prod/cp-1")
                .as_str(),
            "placement[\"team-a/prod/cp-1\"]"
        );
        assert_eq!(Path::root().as_str(), "$");
    }

    #[test]
    fn unknown_fields_are_reported_with_a_suggestion() {
        let value = serde_json::json!({ "name": "x", "cpu_core": 3 });
        let mut errors = Errors::default();
        let mut fields = Fields::open(&value, &Path::root().key("hosts").index(0), &mut errors)
            .into_iter()
            .next();
        if let Some(fields) = fields.as_mut() {
            let _: String = fields.required("name", &mut errors);
            let _: Option<u32> = fields.optional("cpu_cores", &mut errors);
        }
        if let Some(fields) = fields {
            fields.finish(&mut errors);
        }
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].path.as_deref(), Some("hosts[0].cpu_core"));
        assert!(
            errors.0[0].hint.contains("did you mean `cpu_cores`"),
            "{}",
            errors.0[0].hint
        );
    }
}
