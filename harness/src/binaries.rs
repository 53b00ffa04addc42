//! The real runtimes users run, found the way `.ci/run` passes them: a path
//! in an environment variable, else the binary's name on `PATH`. A missing
//! runtime fails the test that needs it, with how to install it: the
//! conformance suite never skips.

use std::path::{Path, PathBuf};

/// The Spin version the suites are for: the one containerd-shim-spin
/// v0.24.0 embeds, so that `spin up` and the pods run the same Spin.
pub const SPIN_VERSION: &str = "3.6.3";
pub const CONTAINERD_SHIM_SPIN_VERSION: &str = "0.24.0";

/// The Spin CLI, 3.6.3 as the README names it; another version fails here
/// rather than in whichever test first meets the difference.
pub fn spin() -> PathBuf {
    let install = "install Spin 3.6.3 (https://spinframework.dev/install) or set SPIN to its path";
    let spin = find("SPIN", "spin", install);
    // `spin 3.6.3 (88d51cf1 2026-04-09)`
    check_version(&spin, "--version", &format!("spin {SPIN_VERSION} "), install);
    spin
}

/// The Spin CLI if one is given or installed, checked as [`spin`] checks
/// it: for the benchmark, which measures `spin up` where Spin is at hand.
pub fn spin_if_present() -> Option<PathBuf> {
    (std::env::var_os("SPIN").is_some() || on_path("spin").is_some()).then(spin)
}

/// containerd-shim-spin v0.24.0.
pub fn containerd_shim_spin() -> PathBuf {
    let install = "install containerd-shim-spin v0.24.0 (https://github.com/spinframework/containerd-shim-spin/releases/tag/v0.24.0) \
         or set CONTAINERD_SHIM_SPIN to its path";
    let shim = find("CONTAINERD_SHIM_SPIN", "containerd-shim-spin-v2", install);
    // containerd's shims answer `-v` with `Version: 0.24.0` on a line of its own.
    check_version(&shim, "-v", &format!("Version: {CONTAINERD_SHIM_SPIN_VERSION}\n"), install);
    shim
}

fn check_version(binary: &Path, flag: &str, expected: &str, install: &str) {
    let output = std::process::Command::new(binary)
        .arg(flag)
        .output()
        .unwrap_or_else(|error| panic!("running {} {flag}: {error}", binary.display()));
    let said = String::from_utf8_lossy(&output.stdout).replace("\r", "");
    let said = said.lines().map(str::trim).collect::<Vec<_>>().join("\n") + "\n";
    assert!(
        said.contains(expected),
        "{} {flag} says {:?}, not {:?}: {install}",
        binary.display(),
        said.trim(),
        expected.trim()
    );
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
