//! The real runtimes users run, found the way `.ci/run` passes them: a path
//! in an environment variable, else the binary's name on `PATH`. A missing
//! runtime fails the test that needs it, with how to install it: the
//! conformance suite never skips.

use std::path::{Path, PathBuf};

/// The Spin CLI, 3.6.3 as the README names it.
pub fn spin() -> PathBuf {
    find(
        "SPIN",
        "spin",
        "install Spin 3.6.3 (https://spinframework.dev/install) or set SPIN to its path",
    )
}

/// containerd-shim-spin v0.24.0.
pub fn containerd_shim_spin() -> PathBuf {
    find(
        "CONTAINERD_SHIM_SPIN",
        "containerd-shim-spin-v2",
        "install containerd-shim-spin v0.24.0 (https://github.com/spinframework/containerd-shim-spin/releases/tag/v0.24.0) \
         or set CONTAINERD_SHIM_SPIN to its path",
    )
}

/// A Debian tool the suite drives, e.g. `containerd` or `buildah`.
pub fn tool(name: &str, package: &str) -> PathBuf {
    on_path(name).unwrap_or_else(|| panic!("`{name}` is not on PATH: apt-get install {package}"))
}

fn find(variable: &str, name: &str, install: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        let path = PathBuf::from(path);
        assert!(is_executable(&path), "{variable}={} is not an executable file: {install}", path.display());
        return path;
    }
    on_path(name).unwrap_or_else(|| panic!("`{name}` is not on PATH and {variable} is not set: {install}"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|directory| directory.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}
