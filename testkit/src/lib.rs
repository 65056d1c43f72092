//! # vksplan-testkit
//!
//! Seeded generators of valid topology documents for vksplan's tests and benchmarks (not
//! published, and no dependency of the library): [`generate`], the first round's platforms
//! (few host sizes, loose capacity), and [`hard`], heterogeneous, rule-heavy, tight platforms
//! and cloud-balancing-like ones, with the named [`hard::suite`] that BENCHMARKS.md measures.
//!
//! ```
//! let document = vksplan_testkit::generate::generate(&vksplan_testkit::generate::Params::sized(1, 8, 100, false));
//! assert!(vksplan_model::load_value(&document).is_ok());
//! ```
#![deny(missing_docs)]

pub mod generate;
pub mod hard;
