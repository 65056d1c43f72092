//! The independent checks: the placement verifier (the accounting rules replayed in plain
//! integer arithmetic, never reading the MIP), the replay the upgrade planner builds its waves
//! with, and the audit of a returned sequence, which shares no code with the planner.

pub(crate) mod accounting;
pub(crate) mod audit;
pub(crate) mod replay;
pub(crate) mod verify;
