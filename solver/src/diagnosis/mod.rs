//! Diagnosis beyond the verifier's findings: the cheapest fix of a stuck plan.

pub mod fix;
