//! Images built from a Dockerfile without a Docker daemon.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::binaries;
use crate::mounts::unmount_under;
use crate::process::run_ok;

/// buildah with its own storage (vfs) below `dir`: no daemon, nothing
/// shared with the machine's image store.
pub struct Buildah {
    root: PathBuf,
    runroot: PathBuf,
}

impl Buildah {
    pub fn new(dir: &Path) -> Buildah {
        Buildah { root: dir.join("buildah-root"), runroot: dir.join("buildah-runroot") }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(binaries::tool("buildah", "buildah"));
        command
            .arg("--storage-driver")
            .arg("vfs")
            .arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot);
        command
    }

    /// Any buildah command, which must succeed; returns its standard output.
    pub fn run(&self, args: &[&str]) -> String {
        let mut command = self.command();
        command.args(args);
        run_ok(command, Duration::from_secs(600)).trim().to_owned()
    }

    /// `buildah bud -f DOCKERFILE -t TAG CONTEXT`, as `docker build` does.
    pub fn build(&self, context: &Path, dockerfile: &Path, tag: &str) -> String {
        let mut command = self.command();
        command.arg("bud").arg("--file").arg(dockerfile).arg("--tag").arg(tag).arg(context);
        run_ok(command, Duration::from_secs(300))
    }

    /// `buildah push` to a registry over plain HTTP.
    pub fn push(&self, tag: &str, destination: &str) -> String {
        let mut command = self.command();
        command.arg("push").arg("--tls-verify=false").arg(tag).arg(format!("docker://{destination}"));
        run_ok(command, Duration::from_secs(300))
    }
}

impl Drop for Buildah {
    fn drop(&mut self) {
        // vfs layers are plain directories; nothing stays mounted, but a
        // failed build may have left a working container's mount.
        unmount_under(&self.root);
        unmount_under(&self.runroot);
    }
}
