//! The cluster's parts, built from their Go modules (cluster/go/NAME, each
//! with its go.mod and go.sum pinning every version). Only the commands the
//! node runs are built. `go build -o` leaves a binary that is up to date as
//! it is, so a second build takes a second or two; Go's module and build
//! caches make a rebuild after a change take seconds too.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::layout::Layout;

/// One Go module of ours and the packages of it to build.
pub struct GoBuild {
    /// The folder below cluster/go.
    pub module: &'static str,
    /// Package paths, each built into a binary named after its last element
    /// (`.` is the module's own main package, named after the module).
    pub packages: &'static [&'static str],
    /// Static, for binaries that run in images FROM scratch; the node's own
    /// processes run on the host and may link its C library.
    pub for_image: bool,
    /// The version the binaries report, as their release builds set it.
    pub stamp: Stamp,
    /// Go build tags.
    pub tags: &'static str,
}

/// How a release build sets a binary's version, read from go.mod's
/// requirement of the module.
pub enum Stamp {
    None,
    /// Kubernetes' hack/lib/version.sh variables; unstamped, they say
    /// v0.0.0-master, which kubectl's skew check and the node's status
    /// would report.
    Kubernetes(&'static str),
    /// KEDA's Makefile sets version.Version, which the operator logs and
    /// reports as the ScaledObject's `keda.sh/version` annotation.
    Variable {
        module: &'static str,
        variable: &'static str,
    },
}

/// Everything the node of `up` runs.
pub const NODE: &[GoBuild] = &[
    GoBuild {
        module: "kubernetes",
        packages: &[
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kube-scheduler",
            "k8s.io/kubernetes/cmd/kubelet",
            "k8s.io/kubernetes/cmd/kube-proxy",
            "k8s.io/kubernetes/cmd/kubectl",
        ],
        for_image: false,
        stamp: Stamp::Kubernetes("k8s.io/kubernetes"),
        tags: "",
    },
    GoBuild { module: "etcd", packages: &["."], for_image: false, stamp: Stamp::None, tags: "" },
    GoBuild { module: "cri-tools", packages: &["sigs.k8s.io/cri-tools/cmd/crictl"], for_image: false, stamp: Stamp::None, tags: "" },
    GoBuild { module: "coredns", packages: &["."], for_image: true, stamp: Stamp::None, tags: "" },
];

/// What the scaling loop adds to the node (cluster/tests/loop/): each
/// binary runs in an image of its own, so each module builds into a folder
/// of its own (KEDA's and prometheus-operator's commands are both
/// `operator`).
pub const LOOP: &[GoBuild] = &[
    GoBuild {
        module: "keda",
        packages: &[
            "github.com/kedacore/keda/v2/cmd/operator",
            "github.com/kedacore/keda/v2/cmd/adapter",
            "github.com/kedacore/keda/v2/cmd/webhooks",
        ],
        for_image: true,
        stamp: Stamp::Variable { module: "github.com/kedacore/keda/v2", variable: "github.com/kedacore/keda/v2/version.Version" },
        tags: "",
    },
    GoBuild {
        module: "prometheus-operator",
        packages: &[
            "github.com/prometheus-operator/prometheus-operator/cmd/operator",
            "github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader",
        ],
        for_image: true,
        stamp: Stamp::None,
        tags: "",
    },
    // Only the Kubernetes service discovery, which a ServiceMonitor's
    // configuration uses: Prometheus' README documents these tags, and the
    // other discoveries' cloud SDKs would double the build.
    GoBuild {
        module: "prometheus",
        packages: &["github.com/prometheus/prometheus/cmd/prometheus"],
        for_image: true,
        stamp: Stamp::None,
        tags: "remove_all_sd,enable_kubernetes_sd",
    },
    GoBuild { module: "fortio", packages: &["."], for_image: true, stamp: Stamp::None, tags: "" },
];

/// What the scale-to-zero checks add to the loop's (cluster/tests/scale_to_zero/):
/// the KEDA HTTP add-on's three commands, each in an image of its own.
pub const SCALE_TO_ZERO: &[GoBuild] = &[GoBuild {
    module: "http-add-on",
    packages: &[
        "github.com/kedacore/http-add-on/interceptor",
        "github.com/kedacore/http-add-on/scaler",
        "github.com/kedacore/http-add-on/operator",
    ],
    for_image: true,
    // The add-on's .ko.yaml sets pkg/build.version, which each command logs
    // at start.
    stamp: Stamp::Variable { module: "github.com/kedacore/http-add-on", variable: "github.com/kedacore/http-add-on/pkg/build.version" },
    tags: "",
}];

impl GoBuild {
    /// Builds the packages into the layout's bin folder and prints the time.
    pub fn run(&self, layout: &Layout) -> Result<()> {
        let module = Layout::go_module(self.module);
        let bin = layout.bin();
        std::fs::create_dir_all(&bin)?;
        self.fetch(&module)?;
        let started = Instant::now();
        let mut command = Command::new("go");
        command
            .current_dir(&module)
            .arg("build")
            .arg("-trimpath")
            // go.sum is committed: a module missing from it is an error here,
            // not a download of whatever version the proxy offers.
            .arg("-mod=readonly");
        match self.stamp {
            Stamp::None => {}
            Stamp::Kubernetes(required) => {
                command.arg(format!("-ldflags={}", kubernetes_version_flags(&required_version(&module, required)?)));
            }
            Stamp::Variable { module: required, variable } => {
                command.arg(format!("-ldflags=-X {variable}={}", required_version(&module, required)?));
            }
        }
        if !self.tags.is_empty() {
            command.arg(format!("-tags={}", self.tags));
        }
        command.arg("-o");
        if self.packages == ["."] {
            command.arg(bin.join(self.module));
        } else if self.for_image && self.packages.len() > 1 {
            std::fs::create_dir_all(bin.join(self.module))?;
            command.arg(format!("{}/", bin.join(self.module).display()));
        } else {
            command.arg(format!("{}/", bin.display()));
        }
        command.args(self.packages);
        if self.for_image {
            command.env("CGO_ENABLED", "0");
        }
        let output = command.output().context("running `go` (Go 1.26 is needed to build the test node)")?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!("building cluster/go/{} failed{}:\n{}", self.module, unfetched_modules(&stderr), tail_lines(&stderr, 30));
        }
        println!("built cluster/go/{} in {:.1} s", self.module, started.elapsed().as_secs_f64());
        Ok(())
    }
}

impl GoBuild {
    /// Fetches the modules the packages import (and only those), timed
    /// apart from the compile: on a new machine the download is a phase of
    /// its own. Go's module cache makes it a no-op afterwards.
    fn fetch(&self, module: &Path) -> Result<()> {
        let started = Instant::now();
        let output = Command::new("go")
            .current_dir(module)
            .args(["list", "-mod=readonly", "-deps", "-f", "{{if .Module}}{{.Module.Path}}@{{.Module.Version}}{{end}}"])
            .arg(format!("-tags={}", self.tags))
            .args(self.packages)
            .output()
            .context("running `go` (Go 1.26 is needed to build the test node)")?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!("fetching the modules of cluster/go/{} failed{}:\n{}", self.module, unfetched_modules(&stderr), tail_lines(&stderr, 30));
        }
        let mut modules: Vec<&[u8]> = output.stdout.split(|&byte| byte == b'\n').filter(|line| !line.is_empty()).collect();
        modules.sort_unstable();
        modules.dedup();
        println!("fetched cluster/go/{}: {} modules in {:.1} s", self.module, modules.len(), started.elapsed().as_secs_f64());
        Ok(())
    }
}

/// The version `go.mod` in `module` requires of `required`.
pub fn required_version(module: &Path, required: &str) -> Result<String> {
    let go_mod = std::fs::read_to_string(module.join("go.mod")).with_context(|| format!("reading {}/go.mod", module.display()))?;
    go_mod
        .lines()
        .map(|line| line.trim().trim_start_matches("require").trim())
        .find_map(|line| line.strip_prefix(required).and_then(|rest| rest.split_whitespace().next()))
        .map(str::to_owned)
        .with_context(|| format!("{}/go.mod does not require {required}", module.display()))
}

/// `-X` flags for the version variables of k8s.io/component-base/version and
/// k8s.io/client-go/pkg/version, for `version` like v1.35.4.
fn kubernetes_version_flags(version: &str) -> String {
    let mut parts = version.trim_start_matches('v').split('.');
    let (major, minor) = (parts.next().unwrap_or("0"), parts.next().unwrap_or("0"));
    let mut flags = Vec::new();
    for package in ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"] {
        for (name, value) in [("gitVersion", version), ("gitMajor", major), ("gitMinor", minor), ("gitTreeState", "clean")] {
            flags.push(format!("-X {package}.{name}={value}"));
        }
    }
    flags.join(" ")
}

/// Builds every part of the node.
pub fn build_node(layout: &Layout) -> Result<()> {
    build_all(NODE, layout)
}

pub fn build_all(builds: &[GoBuild], layout: &Layout) -> Result<()> {
    for build in builds {
        build.run(layout)?;
    }
    Ok(())
}

/// "; it could not fetch MODULE@VERSION, ..." when go says so: the line that
/// matters in a failed download is often far above the end of its output.
fn unfetched_modules(stderr: &str) -> String {
    let modules: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("proxy.golang.org") || line.contains("reading") || line.contains("missing go.sum entry"))
        .filter_map(|line| line.split_whitespace().find(|word| word.contains("@v")))
        .map(|word| word.trim_end_matches(':'))
        .collect();
    if modules.is_empty() { String::new() } else { format!("; it could not fetch {}", modules.join(", ")) }
}

fn tail_lines(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// True when `binary` exists: used to tell a first build from a rebuild.
pub fn is_built(binary: &Path) -> bool {
    binary.is_file()
}
