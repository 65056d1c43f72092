//! Diagnosis: the necessary conditions and shortfalls of a topology (`diagnose`), minimal
//! conflicts (`conflict`), the elastic model that prices raises (`elastic`), the cheapest fix of
//! a stuck plan (`fix`), and the plain-text rendering of a plan (`text`).

pub(crate) mod conflict;
pub(crate) mod diagnose;
pub(crate) mod elastic;
pub(crate) mod fix;
pub(crate) mod text;
