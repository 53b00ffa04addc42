//! The app as a Spin user runs it: a copy of the repository, built with the
//! real `spin build`, served by the real `spin up`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::server::Server;
use crate::{binaries, fresh_dir, repo_root, tmp_dir};

/// A copy of the repository that `spin build` has built.
pub struct SpinApp {
    root: PathBuf,
}

/// The app, copied and built once per process.
pub fn app() -> &'static SpinApp {
    static APP: OnceLock<SpinApp> = OnceLock::new();
    APP.get_or_init(|| {
        let root = tmp_dir().join("spin-app");
        copy_sources(&repo_root(), &root);
        let output = Command::new(binaries::spin())
            .arg("build")
            .current_dir(&root)
            .output()
            .expect("spin runs");
        assert!(
            output.status.success(),
            "`spin build` failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        SpinApp { root }
    })
}

impl SpinApp {
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The runtime config the pods mount: the default store in memory.
    pub fn runtime_config(&self) -> PathBuf {
        self.root.join("manifests/wasm/runtime-config.toml")
    }

    /// `spin up --runtime-config-file manifests/wasm/runtime-config.toml`, as
    /// the README tells users to run it, on a free port.
    pub fn up(&self, name: &str, env: &[(&str, &str)]) -> Server {
        let config = self.runtime_config();
        self.up_with(name, &fresh_state_dir(name), &["--runtime-config-file", config.to_str().unwrap()], env)
    }

    /// `spin up` with Spin's state (logs, the on-disk store) in `state_dir`.
    pub fn up_with(&self, name: &str, state_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn(name, self.up_command(&self.root.join("spin.toml"), state_dir, args, env))
    }

    /// The `spin up` command line for `manifest`, on a free port.
    pub fn up_command(&self, manifest: &Path, state_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(binaries::spin());
        command
            .arg("up")
            .arg("--from")
            .arg(manifest)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--state-dir")
            .arg(state_dir)
            .args(args)
            .envs(env.iter().copied());
        command
    }
}

/// An empty directory for one test's Spin state.
pub fn fresh_state_dir(name: &str) -> PathBuf {
    fresh_dir(&format!("spin-state/{name}"))
}

/// Copies the repository's sources, leaving out build output and state.
/// Files already there with the same bytes are left alone, so that cargo in
/// the copy rebuilds only what changed.
fn copy_sources(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if [".git", ".spin", "target"].iter().any(|skip| name == *skip) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_sources(&source, &target);
        } else if std::fs::read(&target).ok() != Some(std::fs::read(&source).unwrap()) {
            std::fs::copy(&source, &target).unwrap();
        }
    }
}
