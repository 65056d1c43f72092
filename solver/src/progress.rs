//! What the solver is doing now, for a progress display: a process-wide name of the current
//! stage ("placement: balance", "upgrade: sequencing", ...). The CLI reads it while a plan
//! runs; nothing else depends on it.

use std::sync::Mutex;

static STAGE: Mutex<&str> = Mutex::new("");

/// Records the stage that starts now.
pub(crate) fn set(stage: &'static str) {
    if let Ok(mut current) = STAGE.lock() {
        *current = stage;
    }
}

/// The stage running now (empty before the first).
pub fn stage() -> &'static str {
    STAGE.lock().map(|s| *s).unwrap_or("")
}
