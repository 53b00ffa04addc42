//! What only this package's tests can reach: the `runner` binary, which
//! cargo builds for them. The rest is the harness's.

#![allow(dead_code)] // each test file uses its own part of this

use std::path::{Path, PathBuf};

use harness::repo_root;
use harness::server::{Server, runner_command};

pub fn project_manifest() -> PathBuf {
    repo_root().join("spin.toml")
}

/// The project's component, built by the command `spin.toml` gives, through
/// the runner's own staleness check (it builds only when the wasm is
/// missing or stale): its path.
pub fn built_component() -> PathBuf {
    drop(Server::runner("component-build"));
    let component = repo_root().join("target/wasm32-wasip2/wasm-release/keda_spin_autoscaling.wasm");
    assert!(component.is_file(), "the runner did not build {}", component.display());
    component
}

/// The runner, started as a [`Server`].
pub trait RunnerServer {
    /// The project's own component on our runner, as `cargo run` serves it.
    fn runner(name: &str) -> Server;
    fn runner_with(name: &str, manifest: &Path, args: &[&str], env: &[(&str, &str)]) -> Server;
}

impl RunnerServer for Server {
    fn runner(name: &str) -> Server {
        Server::runner_with(name, &project_manifest(), &[], &[])
    }

    fn runner_with(name: &str, manifest: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = runner_command(Path::new(env!("CARGO_BIN_EXE_runner")), manifest, args);
        command.envs(env.iter().copied());
        Server::spawn(name, command)
    }
}
