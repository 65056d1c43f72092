//! Paths of the repository's fixtures, for the integration tests of every crate (included by
//! `#[path]`, so it names no crate).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root (the workspace's, whichever crate's tests run).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("fixtures").is_dir())
        .map_or(manifest.clone(), Path::to_path_buf)
}

/// Every `*.json` directly in `fixtures/<folder>`, sorted.
pub fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = root().join("fixtures").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}
