//! Diagnosis: the necessary conditions and shortfalls of a topology (`diagnose`), minimal
//! conflicts (`conflict`), the elastic model that prices raises (`elastic`), the cheapest fix of
//! a stuck plan (`fix`), the plain-text rendering of a plan (`text`). Fixes travel as typed
//! values (the model's [`vksplan_model::fix`]: a `Quantity` of the document and a `Change`
//! of it, whose `Display` is the `--what-if` assignment); `describe` turns those values, and
//! the groups of a conflict, into the English of the entries.

pub(crate) mod conflict;
pub(crate) mod describe;
pub(crate) mod diagnose;
pub(crate) mod elastic;
pub(crate) mod fix;
pub(crate) mod text;
