//! What the tests, the benchmarks and the test node share: finding the real
//! runtimes and tools, child processes, servers of the app, mounts,
//! containerd with the shim, a registry, buildah, HTTP to the app, the
//! checks every host of it must pass, and the soak.

pub mod benchmarks;
pub mod binaries;
pub mod buildah;
pub mod confinement;
pub mod conformance;
pub mod containerd;
pub mod files;
pub mod http;
pub mod kustomize;
pub mod mounts;
pub mod pod;
pub mod process;
pub mod prometheus;
pub mod registry;
pub mod server;
pub mod soak;
pub mod spin_app;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The repository root, where spin.toml lives.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `target/`
/// in the repository, as cargo itself decides.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { std::env::current_dir().unwrap().join(dir) }
        }
        None => repo_root().join("target"),
    }
}

/// Cargo's folder for what tests and benchmarks write (`CARGO_TARGET_TMPDIR`
/// in an integration test), found at run time so that a library can use it.
pub fn tmp_dir() -> PathBuf {
    target_dir().join("tmp")
}

/// A fresh, empty directory for one test, under [`tmp_dir`]. A previous run
/// that was killed may have left mounts in it: they go first.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = tmp_dir().join(name);
    mounts::unmount_under(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A file of the repository, parsed as YAML.
pub fn read_yaml(relative: &str) -> serde_json::Value {
    let path = repo_root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}
