//! Kubernetes versions as VKS writes them: `v1.31.4`, `v1.31.4+vmware.1-fips`.

use super::decode::{Decode, Errors, Path};
use serde_json::Value;
use std::fmt;

/// A Kubernetes version: major, minor, patch, and the build suffix (ignored for ordering).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    /// Major, minor, patch.
    pub numbers: (u32, u32, u32),
    /// The text as written.
    pub text: String,
}

impl Version {
    /// Parses `v1.31.4` (the `v` is optional; a `+build` or `-pre` suffix is kept as text).
    pub fn parse(text: &str) -> Result<Version, String> {
        let core = text.strip_prefix('v').unwrap_or(text);
        let core = core.split(['+', '-']).next().unwrap_or_default();
        let parts: Vec<&str> = core.split('.').collect();
        let number = |part: &str| {
            part.parse::<u32>()
                .ok()
                .filter(|_| !part.is_empty() && part.len() <= 6)
        };
        match parts.as_slice() {
            [major, minor, patch] => match (number(major), number(minor), number(patch)) {
                (Some(major), Some(minor), Some(patch)) => Ok(Version {
                    numbers: (major, minor, patch),
                    text: text.to_string(),
                }),
                _ => Err(format!("`{text}` is not a version like v1.31.4")),
            },
            _ => Err(format!("`{text}` is not a version like v1.31.4")),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.numbers.cmp(&other.numbers))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Decode for Version {
    fn decode(value: &Value, path: &Path, errors: &mut Errors) -> Option<Version> {
        let text = String::decode(value, path, errors)?;
        match Version::parse(&text) {
            Ok(version) => Some(version),
            Err(why) => {
                errors.push(
                    path,
                    "",
                    "bad_version",
                    format!("`{path}`: {why}"),
                    "write e.g. \"v1.31.4\"".into(),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numerically_and_keeps_suffixes() {
        let a = Version::parse("v1.9.0").unwrap_or_default();
        let b = Version::parse("v1.31.4+vmware.1-fips").unwrap_or_default();
        assert_eq!(b.numbers, (1, 31, 4));
        assert!(a < b);
        assert!(Version::parse("1.31").is_err());
        assert!(Version::parse("v1.x.3").is_err());
    }
}
