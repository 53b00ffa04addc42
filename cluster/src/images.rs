//! Every image a pod of the test node runs is built here: no registry can be
//! reached. buildah builds them without a daemon, and they reach the node
//! the two ways a user without a registry has: `ctr images import` into
//! the kubelet's containerd namespace (`k8s.io`), or a push to the local
//! registry that containerd's mirror for `docker.io` points at.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use harness::buildah::Buildah;
use harness::process::run_ok;

use crate::layout::{COREDNS_IMAGE, Layout, NODE_IP, PAUSE_IMAGE, REGISTRY_PORT};

/// The containerd namespace the CRI plugin keeps the kubelet's images in.
pub const K8S_NAMESPACE: &str = "k8s.io";

pub struct Images<'a> {
    layout: &'a Layout,
    ctr: PathBuf,
    buildah: Buildah,
}

impl<'a> Images<'a> {
    pub fn new(layout: &'a Layout, ctr: PathBuf) -> Images<'a> {
        Images { layout, ctr, buildah: Buildah::new(&layout.images().join("buildah")) }
    }

    /// The pause program, static, as the pods' sandbox image.
    pub fn pause(&self) -> Result<()> {
        let dir = self.layout.images();
        std::fs::create_dir_all(&dir)?;
        let binary = dir.join("pause");
        let source = Layout::source("images/pause/pause.c");
        let output = Command::new("gcc")
            .args(["-static", "-Os", "-s", "-Wall", "-Werror", "-o"])
            .arg(&binary)
            .arg(&source)
            .output()
            .context("running gcc (Debian packages gcc and libc6-dev)")?;
        if !output.status.success() {
            bail!("compiling {} failed:\n{}", source.display(), String::from_utf8_lossy(&output.stderr));
        }
        self.single_binary(&binary, "pause", 65535, PAUSE_IMAGE)
    }

    /// CoreDNS, as built by gobuild from cluster/go/coredns.
    pub fn coredns(&self) -> Result<()> {
        self.single_binary(&self.layout.binary("coredns"), "coredns", 65532, COREDNS_IMAGE)
    }

    /// An image FROM scratch holding one static binary at /`name` as its
    /// entrypoint, run as `user`, imported into the node.
    fn single_binary(&self, binary: &Path, name: &str, user: u32, reference: &str) -> Result<()> {
        self.binary_image(binary, &format!("/{name}"), user, reference)
    }

    /// An image FROM scratch holding one static binary at `path` as its
    /// entrypoint, run as `user`, imported into the node: where an upstream
    /// image's manifests name a command or rely on its entrypoint, `path`
    /// is the one its own image has.
    pub fn binary_image(&self, binary: &Path, path: &str, user: u32, reference: &str) -> Result<()> {
        let container = self.buildah.run(&["from", "scratch"]);
        let binary = binary.to_str().context("binary path is not UTF-8")?;
        self.buildah.run(&["copy", "--chmod", "0755", &container, binary, path]);
        let entrypoint = format!("[\"{path}\"]");
        self.buildah.run(&["config", "--entrypoint", &entrypoint, "--user", &format!("{user}:{user}"), &container]);
        self.buildah.run(&["commit", "--quiet", "--rm", &container, reference]);
        self.import(reference)
    }

    /// `buildah bud` of a Dockerfile, as `docker build` does, tagged `reference`.
    pub fn build_dockerfile(&self, context: &Path, dockerfile: &Path, reference: &str) -> Result<()> {
        self.buildah.build(context, dockerfile, reference);
        Ok(())
    }

    /// `reference` from buildah's store into the node's containerd, the way
    /// `docker save | ctr images import` would.
    pub fn import(&self, reference: &str) -> Result<()> {
        let archive = self.layout.images().join("import.tar");
        let _ = std::fs::remove_file(&archive);
        self.buildah.run(&["push", "--quiet", reference, &format!("docker-archive:{}:{reference}", archive.display())]);
        let mut command = self.ctr_command();
        command.args(["images", "import"]).arg(&archive);
        run_ok(command, Duration::from_secs(300));
        let _ = std::fs::remove_file(&archive);
        Ok(())
    }

    /// `reference` from buildah's store to the local registry, as
    /// `REPOSITORY:TAG` (the path the mirror serves for any registry host).
    pub fn push_to_registry(&self, reference: &str, repository_and_tag: &str) -> Result<()> {
        let destination = format!("docker://{NODE_IP}:{REGISTRY_PORT}/{repository_and_tag}");
        self.buildah.run(&["push", "--quiet", "--tls-verify=false", reference, &destination]);
        Ok(())
    }

    pub fn buildah(&self) -> &Buildah {
        &self.buildah
    }

    fn ctr_command(&self) -> Command {
        let mut command = Command::new(&self.ctr);
        command.arg("--address").arg(self.layout.containerd_socket()).args(["--namespace", K8S_NAMESPACE]);
        command
    }

    /// The images the node has, by reference.
    pub fn listed(&self) -> Result<Vec<String>> {
        let mut command = self.ctr_command();
        command.args(["images", "list", "--quiet"]);
        Ok(run_ok(command, Duration::from_secs(60)).lines().map(str::to_owned).collect())
    }
}
