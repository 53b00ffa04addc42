//! The app on the test node, both paths: their images delivered as a user
//! without a registry would, the CRDs their manifests need, and what the
//! node suite and the node bench read of them (pods, the Service, counts).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use harness::http::{client, get, sample};
use harness::repo_root;
use serde_json::Value;

use crate::images::Images;
use crate::kubectl::condition_is_true;
use crate::layout::{NODE_IP, REGISTRY_PORT};
use crate::node::Node;

/// The name the kustomization of manifests/wasm gives the app's image.
pub const APP_IMAGE: &str = "ghcr.io/keda-spin-autoscaling/keda-spin-autoscaling:0.1.0";
/// The name manifests/container pulls, `Always`: served by the local
/// registry, which the node's containerd mirrors docker.io to.
pub const FLASK_IMAGE: &str = "shkatara/python-custom-metrics-prometheus:latest";
pub const NAMESPACE: &str = "test";
pub const SELECTOR: &str = "app=test";
pub const SERVICE_PORT: u16 = 5000;
pub const NODE_PORT: u16 = 30115;
pub const COUNTER: &str = "python_request_operations_total";

/// The two ways the app runs, each a kustomization of manifests/.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Wasm,
    Container,
}

impl Path {
    pub fn kustomization(self) -> String {
        let folder = match self {
            Path::Wasm => "manifests/wasm",
            Path::Container => "manifests/container",
        };
        repo_path(folder)
    }

    /// The port the pods listen on (the Service's targetPort `http`).
    pub fn container_port(self) -> u16 {
        match self {
            Path::Wasm => 8080,
            Path::Container => 5000,
        }
    }
}

pub fn repo_path(relative: &str) -> String {
    repo_root().join(relative).to_string_lossy().into_owned()
}

/// Builds both images and puts them where the manifests find them: the
/// app's, built from `Dockerfile` as docs/kubernetes.md says, imported into the
/// node's containerd under the kustomization's name (`IfNotPresent`, as
/// shipped); the Flask app of the original demo (`seed_app`, its
/// python-app directory) pushed to the local registry under the docker.io
/// name manifests/container pulls `Always`.
pub fn deliver_images(node: &Node, seed_app: &std::path::Path) -> Result<()> {
    let started = Instant::now();
    deliver_wasm_image(node)?;
    let flask = Command::new(repo_root().join("scripts/flask-image.sh"))
        .arg(format!("docker://{NODE_IP}:{REGISTRY_PORT}/{FLASK_IMAGE}"))
        .env("SEED_APP", seed_app)
        .status()
        .context("scripts/flask-image.sh")?;
    ensure!(flask.success(), "scripts/flask-image.sh failed");
    println!("test node: images built and delivered in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The wasm path's image alone, as deliver_images builds it.
pub fn deliver_wasm_image(node: &Node) -> Result<()> {
    let wasm = Command::new(env!("CARGO"))
        .current_dir(repo_root())
        .args([
            "build",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "wasm-release",
            "--target-dir",
            "target",
            "-p",
            "keda-spin-autoscaling",
        ])
        .status()
        .context("cargo build of the component")?;
    ensure!(wasm.success(), "cargo build of the component failed");
    let images = Images::new(&node.layout, node.runtimes.ctr());
    images.build_dockerfile(&repo_root(), &repo_root().join("Dockerfile"), APP_IMAGE)?;
    images.import(APP_IMAGE)
}

/// What a cluster admin does once for the wasm path: the RuntimeClass, and
/// the node label it schedules onto, as scripts/install-spin-shim.sh sets it.
pub fn install_runtime_class(node: &Node) -> Result<()> {
    node.kubectl.run(&["apply", "-f", &repo_path("runtime-class/runtime-class.yaml")])?;
    node.kubectl.run(&["label", "--overwrite", "node", crate::layout::NODE_NAME, "containerd-shim-spin=v0.24.0"])?;
    Ok(())
}

/// The CRDs kube-prometheus and KEDA install (the schemas kept in
/// scaling/tests/schemas), so that the API server stores the ServiceMonitor
/// and ScaledObject of manifests/base; and kube-prometheus's namespace,
/// which the Prometheus NetworkPolicy of manifests/base lives in.
pub fn install_crds(node: &Node) -> Result<()> {
    for crd in ["monitoring.coreos.com_servicemonitors.yaml", "keda.sh_scaledobjects.yaml"] {
        node.kubectl.run(&["apply", "--server-side", "-f", &repo_path(&format!("scaling/tests/schemas/{crd}"))])?;
    }
    node.kubectl.run(&["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"])?;
    node.kubectl.run(&["create", "namespace", "monitoring"])?;
    Ok(())
}

/// The path of SEED_APP, which names the original demo's python-app directory.
pub fn seed_app_from_env() -> Result<PathBuf> {
    std::env::var_os("SEED_APP").map(PathBuf::from).context("SEED_APP names the original demo's python-app directory")
}

/// A pod of the app, as the API server has it.
pub struct Pod {
    pub name: String,
    pub uid: String,
    pub ip: String,
    pub spec: Value,
    pub status: Value,
}

/// The app's pods that are Ready and not being deleted.
pub fn ready_pods(node: &Node) -> Result<Vec<Pod>> {
    let list = node.kubectl.get_json(&["-n", NAMESPACE, "pods", "-l", SELECTOR])?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    Ok(items
        .into_iter()
        .filter(|pod| pod["metadata"]["deletionTimestamp"].is_null())
        .filter(|pod| condition_is_true(pod, "Ready"))
        .map(|pod| Pod {
            name: pod["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
            uid: pod["metadata"]["uid"].as_str().unwrap_or_default().to_owned(),
            ip: pod["status"]["podIP"].as_str().unwrap_or_default().to_owned(),
            spec: pod["spec"].clone(),
            status: pod["status"].clone(),
        })
        .collect())
}

/// Waits for the Deployment's rollout; prints the pods and the kubelet's
/// lines about them when it does not end.
pub fn rollout(node: &Node) -> Result<()> {
    node.kubectl
        .run_within(&["-n", NAMESPACE, "rollout", "status", "deployment/test", "--timeout=180s"], Duration::from_secs(190))
        .map(drop)
        .map_err(|error| anyhow::anyhow!("{error:#}\n{}", node.describe(NAMESPACE, SELECTOR)))
}

pub fn service_ip(node: &Node) -> Result<Ipv4Addr> {
    let service = node.kubectl.get_json(&["-n", NAMESPACE, "service", "test"])?;
    service["spec"]["clusterIP"].as_str().context("service test has no clusterIP")?.parse().context("clusterIP")
}

/// The pod's count of requests to `/`, read from its own /metrics.
pub fn count(path: Path, pod_ip: &str) -> Result<f64> {
    let answer = get(&client(), &format!("http://{pod_ip}:{}/metrics", path.container_port()), None);
    ensure!(answer.status == 200, "GET /metrics of {pod_ip}: {}", answer.status);
    sample(&answer.body, COUNTER).with_context(|| format!("no {COUNTER} in the metrics of {pod_ip}"))
}

/// Waits until kube-proxy's NAT rules send the Service port `service`
/// (`NAMESPACE/SERVICE:PORT_NAME`) to every one of the pods at `ips`
/// (iptables mode: one rule per endpoint, commented `SERVICE -> IP:PORT`).
/// A pod is Ready before kube-proxy has written its rule: CI runs saw one
/// of three new pods get none of 90 requests, and "connection refused" from
/// a Service whose only pod was Ready. A client of the Service waits for the
/// rules too.
pub fn wait_for_service_rules<'a>(service: &str, ips: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let endpoints: Vec<(&str, String)> = ips.into_iter().map(|ip| (ip, format!("-> {ip}:"))).collect();
    let started = Instant::now();
    loop {
        let output = Command::new("iptables-save").args(["-t", "nat"]).output().context("iptables-save")?;
        let rules = String::from_utf8_lossy(&output.stdout);
        let missing: Vec<&str> = endpoints
            .iter()
            .filter(|(_, endpoint)| !rules.lines().any(|rule| rule.contains(service) && rule.contains(endpoint.as_str())))
            .map(|(ip, _)| *ip)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        ensure!(
            started.elapsed() < Duration::from_secs(30),
            "kube-proxy has no rule for {service} to the Ready pods {missing:?} after 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
