//! What the tests, the benchmarks and the test node share: finding the real
//! runtimes and tools, child processes, mounts, containerd with the shim, a
//! registry, buildah, and HTTP to the app.

pub mod benchmarks;
pub mod binaries;
pub mod confinement;
pub mod containerd;
pub mod http;
pub mod kustomize;
pub mod mounts;
pub mod pod;
pub mod process;

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

/// A file of the repository, parsed as YAML.
pub fn read_yaml(relative: &str) -> serde_json::Value {
    let path = repo_root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}
