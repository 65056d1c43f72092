//! Helpers shared by the CLI's integration tests (the fixture paths are the solver tests').
#![allow(dead_code)]

#[path = "../../solver/tests/common/files.rs"]
mod files;

#[allow(unused_imports)]
pub use files::{fixtures, root};

/// Loads a fixture that must be valid.
pub fn inventory(path: &std::path::Path) -> vksplan::model::Inventory {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    vksplan::model::load(&text).unwrap_or_else(|e| panic!("{} is invalid: {e}", path.display()))
}

/// Runs the `vksplan` binary from the repository root with `args`, `stdin` on its standard
/// input (closed at once when `None`); its output.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&[u8]>) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_vksplan"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run vksplan: {e}"));
    if let (Some(bytes), Some(mut input)) = (stdin, child.stdin.take()) {
        let _ = input.write_all(bytes);
    }
    drop(child.stdin.take());
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("vksplan did not finish: {e}"))
}
