//! What the scaling loop adds to the test node (cluster/tests/loop/):
//! KEDA, prometheus-operator with a Prometheus as kube-prometheus runs it,
//! and fortio for manifests/load's Job, each built from its Go module in
//! cluster/go into an image under the name its own manifests give, and
//! installed from its own release manifests, read from Go's module cache at
//! the pinned tag.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use crate::Node;
use crate::gobuild::{self, GoBuild, LOOP};
use crate::images::Images;
use crate::layout::Layout;

pub const KEDA_MODULE: &str = "github.com/kedacore/keda/v2";
pub const PROMETHEUS_OPERATOR_MODULE: &str = "github.com/prometheus-operator/prometheus-operator";

/// Each binary of LOOP, where its upstream image keeps it (the command the
/// release manifests name, or the image's entrypoint), and the image name
/// the manifests pull, with the tag of the module built.
const IMAGES: &[(&str, &str, &str)] = &[
    ("keda/operator", "/keda", "ghcr.io/kedacore/keda:2.20.2"),
    ("keda/adapter", "/keda-adapter", "ghcr.io/kedacore/keda-metrics-apiserver:2.20.2"),
    ("keda/webhooks", "/keda-admission-webhooks", "ghcr.io/kedacore/keda-admission-webhooks:2.20.2"),
    ("prometheus-operator/operator", "/bin/operator", "quay.io/prometheus-operator/prometheus-operator:v0.93.0"),
    (
        "prometheus-operator/prometheus-config-reloader",
        "/bin/prometheus-config-reloader",
        "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.0",
    ),
    ("prometheus", "/bin/prometheus", "quay.io/prometheus/prometheus:v3.13.1"),
    // manifests/load's `fortio/fortio:1.69.4`, as the CRI names it.
    ("fortio", "/usr/bin/fortio", "docker.io/fortio/fortio:1.69.4"),
];

/// The user the images run as when their manifests do not say: distroless'
/// nonroot, as KEDA's images have it.
const IMAGE_USER: u32 = 65532;

/// Builds LOOP's binaries and imports an image of each into the node.
pub fn deliver_images(node: &Node) -> Result<()> {
    deliver(node, "scaling loop", LOOP, IMAGES)
}

/// Builds `builds` and imports an image of each binary into the node:
/// (binary below the bin folder, its path in the image, the image's name).
pub fn deliver(node: &Node, what: &str, builds: &[GoBuild], images: &[(&str, &str, &str)]) -> Result<()> {
    let layout = &node.layout;
    gobuild::build_all(builds, layout)?;
    let started = Instant::now();
    let builder = Images::new(layout, node.runtimes.ctr());
    for (binary, path, reference) in images {
        builder.binary_image(&layout.bin().join(binary), path, IMAGE_USER, reference)?;
    }
    println!("{what}: {} images built and imported in {:.1} s", images.len(), started.elapsed().as_secs_f64());
    Ok(())
}

/// KEDA as its release installs it: the tag's config/default through the
/// overlay in cluster/manifests/keda; then waits for its three
/// Deployments and for the metrics APIService to be Available.
pub fn install_keda(node: &Node) -> Result<()> {
    let overlay = node.layout.root.join("loop/keda");
    let _ = std::fs::remove_dir_all(&overlay);
    copy_tree(&module_dir("keda", KEDA_MODULE)?.join("config"), &overlay.join("upstream/config"))?;
    std::fs::copy(Layout::source("manifests/keda/kustomization.yaml"), overlay.join("kustomization.yaml"))?;
    apply_kustomization(node, &overlay)?;
    for deployment in ["keda-operator", "keda-metrics-apiserver", "keda-admission"] {
        node.kubectl.run_within(
            &["-n", "keda", "rollout", "status", &format!("deployment/{deployment}"), "--timeout=240s"],
            Duration::from_secs(250),
        )?;
    }
    node.kubectl.run_within(
        &["wait", "--for=condition=Available", "apiservice/v1beta1.external.metrics.k8s.io", "--timeout=120s"],
        Duration::from_secs(130),
    )?;
    Ok(())
}

/// prometheus-operator's bundle.yaml of the tag, as its README installs it
/// (its CRDs, RBAC and Deployment, in namespace default), then the
/// Prometheus of cluster/manifests/prometheus; waits for Prometheus to be
/// Ready.
pub fn install_prometheus(node: &Node) -> Result<()> {
    let bundle = module_dir("prometheus-operator", PROMETHEUS_OPERATOR_MODULE)?.join("bundle.yaml");
    let bundle = bundle.to_str().context("module path is not UTF-8")?;
    // Its CRDs are larger than the annotation client-side apply keeps.
    node.kubectl.run(&["apply", "--server-side", "--force-conflicts", "-f", bundle])?;
    node.kubectl.run(&["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"])?;
    node.kubectl.run_within(
        &["-n", "default", "rollout", "status", "deployment/prometheus-operator", "--timeout=180s"],
        Duration::from_secs(190),
    )?;
    let (_, namespaces) = node.kubectl.try_run(&["get", "namespace", "monitoring"]);
    if namespaces.contains("NotFound") {
        node.kubectl.run(&["create", "namespace", "monitoring"])?;
    }
    node.kubectl.run(&["apply", "-k", &Layout::source("manifests/prometheus").display().to_string()])?;
    wait_for(Duration::from_secs(180), "the StatefulSet prometheus-k8s", || {
        let (exists, _) = node.kubectl.try_run(&["-n", "monitoring", "get", "statefulset", "prometheus-k8s"]);
        Ok(exists)
    })?;
    // kube-prometheus gives the config reloader's init container 10m of CPU,
    // which the kernel enforces here: on a slow host its start alone took
    // over 180 s (a clean-clone CI, 2026-12-03; 144 s in the rerun), so the
    // wait allows 600 s.
    node.kubectl
        .run_within(&["-n", "monitoring", "rollout", "status", "statefulset/prometheus-k8s", "--timeout=600s"], Duration::from_secs(610))?;
    Ok(())
}

/// `kubectl kustomize DIR | kubectl apply --server-side -f -`.
pub fn apply_kustomization(node: &Node, dir: &Path) -> Result<()> {
    let rendered = node.kubectl.run(&["kustomize", dir.to_str().context("path is not UTF-8")?])?;
    let (applied, answer) = node.kubectl.try_run_with_input(&["apply", "--server-side", "--force-conflicts", "-f", "-"], &rendered);
    ensure!(applied, "applying {}: {answer}", dir.display());
    Ok(())
}

/// Where Go's module cache keeps `module` at the version cluster/go/NAME
/// requires (gobuild has fetched it).
pub fn module_dir(name: &str, module: &str) -> Result<PathBuf> {
    let output = Command::new("go")
        .current_dir(Layout::go_module(name))
        .args(["list", "-mod=readonly", "-m", "-f", "{{.Dir}}", module])
        .output()
        .context("running `go`")?;
    ensure!(output.status.success(), "go list -m {module}: {}", String::from_utf8_lossy(&output.stderr));
    Ok(PathBuf::from(String::from_utf8(output.stdout)?.trim()))
}

/// Copies the files of `from` into `to`; the module cache's are read-only,
/// the copies' folders are ours to remove.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::write(&target, std::fs::read(entry.path())?)?;
        }
    }
    Ok(())
}

/// Polls `done` every second until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if done()? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    anyhow::bail!("{what}: not within {} s", timeout.as_secs())
}
