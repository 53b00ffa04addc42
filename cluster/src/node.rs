//! `up` and `down` of the one-node cluster, phase by phase, each timed.
//!
//! `up` builds what is missing, makes certificates and configs, puts the
//! node's address on an interface of its own, and starts etcd, the API server,
//! the controller manager, the scheduler, containerd with the spin shim,
//! the registry, the kubelet and kube-proxy, then CoreDNS as a pod. A
//! component that does not start stops `up` with the end of its log, and
//! everything started so far is taken down again.
//!
//! `down` removes the pods through the CRI (so that the CNI plugin releases
//! their addresses and network namespaces), ends every process, unmounts
//! what the kubelet and containerd mounted, removes the interfaces, the
//! pods' cgroups and kube-proxy's rules, and puts the sysctls back. It then
//! checks that nothing is left, and says what is.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::images::Images;
use crate::kubectl::{Kubectl, condition_is_true};
use crate::layout::{KUBE_PROXY_HEALTHZ_PORT, KUBELET_HEALTHZ_PORT, Layout, NODE_CLAIM, NODE_IP, NODE_NAME, REGISTRY_PORT};
use crate::{components, configs, daemons, gobuild, network, pki, pod_leftovers};

/// What the node runs that is not built here: the shim and containerd 1.7.
#[derive(Clone, Debug)]
pub struct Runtimes {
    /// A folder with containerd 1.7's `containerd`, `ctr` and
    /// `containerd-shim-runc-v2` (scripts/containerd-1.7.sh).
    pub containerd: PathBuf,
    /// containerd-shim-spin-v2 v0.24.0.
    pub spin_shim: PathBuf,
}

impl Runtimes {
    /// From `CONTAINERD_1_7` and `CONTAINERD_SHIM_SPIN`, as scripts/cluster.sh
    /// and .ci/run set them.
    pub fn from_env() -> Result<Runtimes> {
        let containerd = std::env::var_os("CONTAINERD_1_7")
            .map(PathBuf::from)
            .context("CONTAINERD_1_7 is not set: run scripts/cluster.sh, which puts containerd 1.7 there")?;
        let spin_shim = harness::binaries::containerd_shim_spin();
        for binary in ["containerd", "ctr", "containerd-shim-runc-v2"] {
            if !containerd.join(binary).is_file() {
                bail!("{} has no {binary}: run scripts/containerd-1.7.sh {}", containerd.display(), containerd.display());
            }
        }
        Ok(Runtimes { containerd, spin_shim })
    }

    pub fn ctr(&self) -> PathBuf {
        self.containerd.join("ctr")
    }
}

/// The running node. Dropping it takes it down, unless `keep` was called.
pub struct Node {
    pub layout: Layout,
    pub runtimes: Runtimes,
    pub kubectl: Kubectl,
    keep: bool,
}

/// Prints how long a phase took.
struct Phase {
    name: &'static str,
    started: Instant,
}

impl Phase {
    fn start(name: &'static str) -> Phase {
        println!("test node: {name}...");
        Phase { name, started: Instant::now() }
    }

    fn done(self) {
        println!("test node: {} in {:.1} s", self.name, self.started.elapsed().as_secs_f64());
    }
}

impl Node {
    /// Builds (Go's cache makes this quick when nothing changed) and starts
    /// the node; on failure, takes down what was started.
    pub fn up(runtimes: Runtimes) -> Result<Node> {
        let layout = Layout::new();
        let total = Instant::now();
        let phase = Phase::start("build");
        gobuild::build_node(&layout)?;
        phase.done();

        if layout.run().exists() {
            println!("test node: taking down what a previous run left");
            let left = down(&layout);
            if !left.is_empty() {
                bail!("a previous node could not be taken down; left:\n  {}", left.join("\n  "));
            }
        }
        take_down_a_dead_node()?;
        // TEST_NODE_KEEP_ON_FAILURE=1 leaves a node that failed to start as
        // it is, to look into; `scripts/cluster.sh down` removes it.
        let keep = std::env::var_os("TEST_NODE_KEEP_ON_FAILURE").is_some_and(|value| value == "1");
        let mut node = Node { kubectl: Kubectl::new(&layout), layout, runtimes, keep };
        // From here on, dropping `node` on an error takes down what started.
        node.start()?;
        node.keep = false;
        println!("test node: up in {:.1} s; KUBECONFIG={}", total.elapsed().as_secs_f64(), node.kubectl.kubeconfig.display());
        Ok(node)
    }

    fn start(&self) -> Result<()> {
        let layout = &self.layout;
        let phase = Phase::start("certificates and configs");
        std::fs::create_dir_all(layout.run())?;
        pki::Pki::generate(&layout.pki())?;
        configs::write_all(layout)?;
        network::up(layout)?;
        std::fs::write(layout.saved("netns"), pod_leftovers::network_namespaces().join("\n"))?;
        phase.done();

        let phase = Phase::start("control plane");
        let etcd = daemons::start(layout, "etcd", components::etcd(layout))?;
        etcd.wait_ready(layout, Duration::from_secs(60), || http_ok(&format!("http://{NODE_IP}:2379/health")))?;
        let api_server = daemons::start(layout, "kube-apiserver", components::api_server(layout))?;
        api_server.wait_ready(layout, Duration::from_secs(120), || {
            self.kubectl.run_within(&["get", "--raw=/readyz"], Duration::from_secs(10)).is_ok_and(|body| body.trim() == "ok")
        })?;
        daemons::start(layout, "kube-controller-manager", components::controller_manager(layout))?;
        daemons::start(layout, "kube-scheduler", components::scheduler(layout))?;
        phase.done();

        let phase = Phase::start("containerd, registry and images");
        let containerd =
            daemons::start(layout, "containerd", components::containerd(layout, &self.runtimes.containerd, &self.runtimes.spin_shim)?)?;
        let ctr_version = || {
            let mut command = Command::new(self.runtimes.ctr());
            command.arg("--address").arg(layout.containerd_socket()).arg("version");
            harness::process::try_output_within(command, Duration::from_secs(10)).is_ok_and(|output| output.status.success())
        };
        containerd.wait_ready(layout, Duration::from_secs(60), ctr_version)?;
        let registry_binary = harness::binaries::tool("docker-registry", "docker-registry");
        let registry = daemons::start(layout, "registry", components::registry(layout, &registry_binary)?)?;
        registry.wait_ready(layout, Duration::from_secs(30), || http_ok(&format!("http://{NODE_IP}:{REGISTRY_PORT}/v2/")))?;
        let images = Images::new(layout, self.runtimes.ctr());
        images.pause()?;
        images.coredns()?;
        phase.done();

        let phase = Phase::start("kubelet and kube-proxy");
        let kubelet = daemons::start(layout, "kubelet", components::kubelet(layout))?;
        kubelet.wait_ready(layout, Duration::from_secs(60), || http_ok(&format!("http://{NODE_IP}:{KUBELET_HEALTHZ_PORT}/healthz")))?;
        let proxy = daemons::start(layout, "kube-proxy", components::kube_proxy(layout))?;
        proxy.wait_ready(layout, Duration::from_secs(60), || http_ok(&format!("http://{NODE_IP}:{KUBE_PROXY_HEALTHZ_PORT}/healthz")))?;
        self.wait_node_ready(Duration::from_secs(120)).inspect_err(|_| {
            eprintln!("the end of the kubelet's log:\n{}", daemons::log_tail(layout, "kubelet"));
        })?;
        phase.done();

        let phase = Phase::start("cluster DNS");
        self.kubectl.run(&["apply", "-f", Layout::source("manifests/coredns.yaml").to_str().unwrap()])?;
        self.kubectl
            .run_within(&["-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=120s"], Duration::from_secs(130))
            .inspect_err(|_| eprintln!("{}", self.describe("kube-system", "k8s-app=kube-dns")))?;
        phase.done();
        Ok(())
    }

    fn wait_node_ready(&self, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            let ready = self.kubectl.get_json(&["node", NODE_NAME]).ok().is_some_and(|node| condition_is_true(&node, "Ready"));
            if ready {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!("node {NODE_NAME} was not Ready within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// `kubectl describe pods` and the kubelet's log lines about them: what a
    /// test prints when a pod does not become Ready.
    pub fn describe(&self, namespace: &str, selector: &str) -> String {
        let (_, description) = self.kubectl.try_run(&["-n", namespace, "describe", "pods", "-l", selector]);
        let names = self.kubectl.run(&["-n", namespace, "get", "pods", "-l", selector, "-o", "name"]).unwrap_or_default();
        let names: Vec<&str> = names.lines().filter_map(|name| name.strip_prefix("pod/")).collect();
        let log = std::fs::read_to_string(self.layout.log("kubelet")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().filter(|line| names.iter().any(|name| line.contains(name))).collect();
        format!(
            "kubectl describe pods -l {selector}:\n{description}\nthe kubelet's log about them:\n{}",
            lines[lines.len().saturating_sub(40)..].join("\n")
        )
    }

    /// `crictl ARGS` against the node's containerd: the kubelet's view of
    /// pods and containers, through the same CRI.
    pub fn crictl(&self, args: &[&str]) -> Result<String> {
        let mut command = Command::new(self.layout.binary("crictl"));
        command.arg("--runtime-endpoint").arg(format!("unix://{}", self.layout.containerd_socket().display())).args(args);
        let output = harness::process::try_output_within(command, Duration::from_secs(60))
            .map_err(|error| anyhow::anyhow!("crictl {}: {error}", args.join(" ")))?;
        if !output.status.success() {
            bail!("crictl {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Leaves the node running when dropped (`scripts/cluster.sh up`).
    pub fn keep(mut self) {
        self.keep = true;
    }

    /// Takes the node down; returns what could not be removed.
    pub fn down(mut self) -> Vec<String> {
        self.keep = true;
        down(&self.layout)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if !self.keep {
            let left = down(&self.layout);
            if !left.is_empty() {
                eprintln!("test node: left after down:\n  {}", left.join("\n  "));
            }
        }
    }
}

/// Takes down the node that the claim names when no process of it runs.
/// The interfaces are the machine's: a run killed in any clone (a CI job or
/// a session ended with SIGKILL, which no `Drop` sees) leaves its node's
/// interfaces, mounts, rules and pods behind, and every later `up`, from
/// any clone, would stop at the interfaces. A node with a process still
/// running is somebody's, and is left alone.
pub fn take_down_a_dead_node() -> Result<()> {
    let Some(root) = network::claimant() else {
        return Ok(());
    };
    let other = Layout::at(root);
    if !other.run().is_dir() {
        if network::interfaces_exist() {
            bail!(
                "the node's interfaces exist, and {} claims them, but its run folder {} is gone: remove them with `ip link del {}` and `ip link del {}`",
                NODE_CLAIM,
                other.run().display(),
                crate::layout::NODE_INTERFACE,
                crate::layout::POD_BRIDGE
            );
        }
        // A claim outliving its node: nothing to take down.
        let _ = std::fs::remove_file(NODE_CLAIM);
        return Ok(());
    }
    let running: Vec<_> = daemons::recorded(&other).into_iter().filter(daemons::Daemon::is_running).collect();
    let mut alive: Vec<String> = running.iter().map(|daemon| format!("{} {}", daemon.name, daemon.pid)).collect();
    // The shims, which no record names.
    alive.extend(
        harness::process::processes_naming(&other.run())
            .into_iter()
            .filter(|&pid| !running.iter().any(|daemon| daemon.pid == pid as i32))
            .map(|pid| format!("process {pid}")),
    );
    if !alive.is_empty() {
        bail!("a node of {} is running ({}): take it down there with `scripts/cluster.sh down`", other.root.display(), alive.join(", "));
    }
    println!("test node: taking down the node a killed run left in {}", other.root.display());
    let left = down(&other);
    if !left.is_empty() {
        bail!("the node left in {} could not be taken down; left:\n  {}", other.root.display(), left.join("\n  "));
    }
    Ok(())
}

fn http_ok(url: &str) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(2))).build().into();
    agent.get(url).call().is_ok()
}

/// Takes down whatever `up` started and set up, also after a crash of the
/// process that ran `up`; returns what is left.
pub fn down(layout: &Layout) -> Vec<String> {
    let started = Instant::now();
    let run = layout.run();
    // No node of this folder: what is on the machine is somebody else's.
    if !run.exists() {
        return Vec::new();
    }
    // The pods first, through the CRI, while containerd still runs: their
    // network namespaces and addresses are released by the CNI plugin.
    let crictl = layout.binary("crictl");
    if layout.containerd_socket().exists() && crictl.is_file() {
        let kubelet = daemons::recorded(layout).into_iter().find(|daemon| daemon.name == "kubelet");
        // The kubelet would restart them.
        if let Some(kubelet) = kubelet {
            daemons::stop(&kubelet, Duration::from_secs(10));
        }
        let mut command = Command::new(&crictl);
        command.arg("--runtime-endpoint").arg(format!("unix://{}", layout.containerd_socket().display())).args(["rmp", "--all", "--force"]);
        let _ = harness::process::try_output_within(command, Duration::from_secs(120));
    }
    daemons::stop_all(layout, Duration::from_secs(10));
    // Shims and anything else still naming the run folder.
    for _ in 0..3 {
        for pid in harness::process::processes_naming(&run) {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    pod_leftovers::kill_pod_cgroups();
    if layout.binary("kube-proxy").is_file() {
        let _ = harness::process::try_output_within(components::kube_proxy_cleanup(layout), Duration::from_secs(60));
    }
    network::remove_kube_chains();
    pod_leftovers::remove_network_namespaces(layout);
    harness::mounts::unmount_under(&run);
    let mut left = network::down(layout);
    pod_leftovers::remove_pod_cgroups(&mut left);

    left.extend(harness::process::processes_naming(&run).iter().map(|pid| format!("process {pid}")));
    left.extend(harness::mounts::mounts_under(&run).iter().map(|point| format!("mount {}", point.display())));
    left.extend(network::rules_added_since_up(layout).into_iter().map(|rule| format!("rule {rule}")));
    left.extend(pod_leftovers::namespaces_since_up(layout).into_iter().map(|name| format!("network namespace {name}")));
    if left.is_empty()
        && let Err(error) = std::fs::remove_dir_all(&run)
    {
        left.push(format!("{}: {error}", run.display()));
    }
    println!("test node: down in {:.1} s", started.elapsed().as_secs_f64());
    left
}
