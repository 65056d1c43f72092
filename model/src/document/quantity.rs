//! Memory and storage quantities: an integer number of MiB or a Kubernetes quantity string,
//! held as an exact number of bytes.

use serde::{Serialize, Serializer};
use std::fmt;

/// One mebibyte in bytes.
pub const MIB: u64 = 1 << 20;

/// The largest quantity accepted: 1 EiB. Anything larger is an input error, not a number to
/// attempt.
pub const MAX_BYTES: u64 = 1 << 60;

/// An exact amount of memory or storage, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub u64);

impl Bytes {
    /// `n` MiB.
    pub const fn mib(n: u64) -> Bytes {
        Bytes(n * MIB)
    }

    /// `n` GiB.
    pub const fn gib(n: u64) -> Bytes {
        Bytes(n * 1024 * MIB)
    }

    /// The amount in MiB, exact when it is a whole number of MiB (division by a power of two
    /// is exact in binary floating point for every value below 2^53 MiB).
    pub fn as_mib_f64(self) -> f64 {
        self.0 as f64 / MIB as f64
    }

    /// Parses a Kubernetes quantity string (`16Gi`, `512Mi`, `20G`, `1.5Gi`, `1000`).
    /// Fractions that fall below a whole byte round up, as Kubernetes rounds memory.
    pub fn parse_quantity(text: &str) -> Result<Bytes, String> {
        let digits_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(digits_end);
        let multiplier: u128 = match suffix {
            "" => 1,
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            "Ti" => 1 << 40,
            "Pi" => 1 << 50,
            "k" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            "P" => 1_000_000_000_000_000,
            _ if suffix.starts_with(['e', 'E']) => {
                return Err(format!(
                    "`{text}` uses an exponent, which vksplan does not accept"
                ))
            }
            _ => return Err(format!("`{text}` has an unknown suffix `{suffix}`")),
        };
        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (number, ""),
        };
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(format!("`{text}` is not a number followed by a unit"));
        }
        if number.ends_with('.') || whole.len() + fraction.len() > 30 {
            return Err(format!("`{text}` is not a well-formed quantity"));
        }
        let mut mantissa: u128 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa * 10 + u128::from(digit - b'0');
        }
        let scale = 10u128.pow(fraction.len() as u32);
        let too_large = || format!("`{text}` is larger than the 1 EiB vksplan accepts");
        let product = mantissa.checked_mul(multiplier).ok_or_else(too_large)?;
        let bytes = product.div_ceil(scale);
        if bytes > u128::from(MAX_BYTES) {
            return Err(too_large());
        }
        Ok(Bytes(bytes as u64))
    }
}

impl fmt::Display for Bytes {
    /// Human form: the largest binary unit that keeps one decimal (`1.5 GiB`, `512 MiB`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u64); 5] = [
            ("PiB", 1 << 50),
            ("TiB", 1 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ];
        for (unit, size) in UNITS {
            if self.0 >= size {
                let value = self.0 as f64 / size as f64;
                return if self.0 % size == 0 {
                    write!(f, "{} {unit}", self.0 / size)
                } else {
                    write!(f, "{value:.1} {unit}")
                };
            }
        }
        write!(f, "{} B", self.0)
    }
}

/// Serializes bytes as MiB: an integer when whole, else a fraction.
pub fn serialize_mib<S: Serializer>(bytes: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
    mib_value(*bytes).serialize(serializer)
}

/// Serializes an optional limit as MiB, `null` when unlimited.
pub fn serialize_opt_mib<S: Serializer>(
    bytes: &Option<Bytes>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    bytes.map(mib_value).serialize(serializer)
}

/// The JSON number of MiB for an amount: integral when exact.
pub fn mib_value(bytes: Bytes) -> serde_json::Value {
    if bytes.0 % MIB == 0 {
        serde_json::Value::from(bytes.0 / MIB)
    } else {
        serde_json::Value::from(bytes.as_mib_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binary_decimal_and_fractional_quantities() {
        assert_eq!(Bytes::parse_quantity("16Gi"), Ok(Bytes::gib(16)));
        assert_eq!(Bytes::parse_quantity("512Mi"), Ok(Bytes::mib(512)));
        assert_eq!(Bytes::parse_quantity("2Ti"), Ok(Bytes::gib(2048)));
        assert_eq!(Bytes::parse_quantity("20G"), Ok(Bytes(20_000_000_000)));
        assert_eq!(Bytes::parse_quantity("1.5Gi"), Ok(Bytes::mib(1536)));
        assert_eq!(Bytes::parse_quantity(".5Ki"), Ok(Bytes(512)));
        assert_eq!(Bytes::parse_quantity("1000"), Ok(Bytes(1000)));
        assert_eq!(
            Bytes::parse_quantity("0.1"),
            Ok(Bytes(1)),
            "a fraction of a byte rounds up"
        );
    }

    #[test]
    fn rejects_exponents_garbage_and_overflow() {
        for bad in [
            "1e3",
            "1E3",
            "",
            "Gi",
            "1.2.3Gi",
            "1.Gi",
            "-1Gi",
            "16gb",
            "2Ei",
            "99999999999999999999999999999Pi",
        ] {
            assert!(
                Bytes::parse_quantity(bad).is_err(),
                "{bad} must be rejected"
            );
        }
    }

    #[test]
    fn displays_human_units() {
        assert_eq!(Bytes::gib(16).to_string(), "16 GiB");
        assert_eq!(Bytes::mib(1536).to_string(), "1.5 GiB");
        assert_eq!(Bytes(10).to_string(), "10 B");
    }
}
