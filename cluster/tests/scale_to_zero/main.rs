//! Scale to zero and back on the first request, on the one-node cluster of
//! docs/test-node.md: KEDA v2.20.2 and Prometheus as in the loop
//! (cluster/tests/loop/), and the KEDA HTTP add-on v0.15.0 built from its
//! Go module and installed from the tag's own config/; manifests/scale-to-zero
//! applied as a user applies it. Idle, KEDA must take the Deployment to 0;
//! the first request through the interceptor must get `Hello World!` and be
//! counted; 100 concurrent first requests must all get a 200; and the cold
//! start is measured, split into what the cluster did while the request
//! waited (docs/scale-to-zero.md).
//!
//! Needs root, `CONTAINERD_1_7`, `CONTAINERD_SHIM_SPIN` and `SEED_APP`, the
//! original demo's python-app directory (scripts/scale-to-zero-tests.sh sets
//! the first; the Flask container's cold start is measured beside the wasm
//! pod's).
//!   scripts/scale-to-zero-tests.sh [FILTER]

use std::io::BufReader;
use std::process::{Child, ExitCode, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use cluster::apps::{self, NAMESPACE, Path, SELECTOR, count, ready_pods, rollout};
use cluster::http_add_on::{self, PROXY_PORT_NAME, PROXY_SERVICE};
use cluster::kubectl::condition_is_true;
use cluster::load;
use cluster::scaling_loop::{self, wait_for};
use cluster::suite::{self, Check};
use cluster::{Node, Runtimes};
use harness::http::{Answer, answer, client};
use serde_json::Value;

mod cold_start;
mod first_requests;
mod interceptor;

use cold_start::*;
use first_requests::*;
use interceptor::*;

/// The host manifests/scale-to-zero's InterceptorRoute matches.
pub(crate) const HOST: &str = "test.test.svc.cluster.local";

/// The header the interceptor sets on a request that waited for a pod.
pub(crate) const COLD_START_HEADER: &str = "x-keda-http-cold-start";

/// The shipped cooldownPeriod and pollingInterval: idle, KEDA scales to 0
/// at the first poll 60 s after the last active one.
pub(crate) const SHIPPED_IDLE_TO_ZERO: Duration = Duration::from_secs(60 + 15);

/// Cold starts measured by the last check (more with COLD_STARTS; the
/// figures in BENCHMARKS.md are of 10).
pub(crate) const COLD_STARTS: usize = 3;

pub(crate) fn main() -> ExitCode {
    let start = || Ok(ScaleToZero { node: node_with_the_images()?, proxy: Mutex::new(None), first_answered: Mutex::new(None) });
    suite::run(&CHECKS, start, |state| state.node)
}

pub(crate) struct ScaleToZero {
    pub(crate) node: Node,
    /// The interceptor proxy's ClusterIP:port, once installed.
    pub(crate) proxy: Mutex<Option<String>>,
    /// When the first request at zero was answered: the last moment the
    /// ScaledObject was active.
    pub(crate) first_answered: Mutex<Option<Instant>>,
}

pub(crate) const CHECKS: [(&str, Check<ScaleToZero>); 9] = [
    ("the_http_add_on_installs_from_its_release_manifests", install),
    ("applied_keda_takes_the_never_active_deployment_to_zero", applied_goes_to_zero),
    ("the_first_request_at_zero_gets_hello_world_and_is_counted", first_request_is_answered_and_counted),
    ("idle_after_it_keda_takes_the_deployment_to_zero_after_the_cooldown", idle_goes_to_zero),
    ("after_a_long_idle_at_zero_the_first_request_still_succeeds", long_idle),
    ("a_hundred_concurrent_first_requests_at_zero_all_get_200", hundred_first_requests),
    ("under_load_through_the_interceptor_the_request_rate_scales_to_six", load_scales_out),
    ("the_interceptors_cost_on_every_request_measured", interceptor_cost),
    ("cold_starts_measured_with_their_split", cold_starts),
];

pub(crate) fn node_with_the_images() -> Result<Node> {
    let seed_app = apps::seed_app_from_env()?;
    let node = Node::up(Runtimes::from_env()?)?;
    apps::deliver_images(&node, &seed_app)?;
    scaling_loop::deliver_images(&node)?;
    http_add_on::deliver_images(&node)?;
    Ok(node)
}

pub(crate) fn install(state: &ScaleToZero) -> Result<()> {
    let node = &state.node;
    scaling_loop::install_keda(node)?;
    scaling_loop::install_prometheus(node)?;
    let started = Instant::now();
    http_add_on::install(node)?;
    println!("HTTP add-on ready {:.1} s after apply", started.elapsed().as_secs_f64());
    apps::install_runtime_class(node)?;
    node.kubectl.run(&["apply", "-k", &apps::repo_path("manifests/scale-to-zero")])?;
    rollout(node)?;
    let route = node.kubectl.get_json(&["-n", NAMESPACE, "interceptorroute", "test"])?;
    wait_for(Duration::from_secs(60), "the InterceptorRoute's Ready condition", || {
        let route = node.kubectl.get_json(&["-n", NAMESPACE, "interceptorroute", "test"])?;
        Ok(condition_is_true(&route, "Ready"))
    })
    .with_context(|| format!("{route:#}"))?;
    *state.proxy.lock().unwrap() = Some(reachable_proxy(node)?);
    Ok(())
}

/// The interceptor proxy's ClusterIP:port, once kube-proxy's rules reach
/// every interceptor pod, as a client in the cluster reaches it.
pub(crate) fn reachable_proxy(node: &Node) -> Result<String> {
    let service = node.kubectl.get_json(&["-n", http_add_on::NAMESPACE, "service", PROXY_SERVICE])?;
    let ip = service["spec"]["clusterIP"].as_str().context("the proxy Service has no clusterIP")?;
    let port = service["spec"]["ports"]
        .as_array()
        .and_then(|ports| ports.iter().find(|port| port["name"] == PROXY_PORT_NAME))
        .and_then(|port| port["port"].as_u64())
        .context("the proxy Service has no `proxy` port")?;
    let interceptors = node.kubectl.get_json(&["-n", http_add_on::NAMESPACE, "pods", "-l", "app.kubernetes.io/instance=interceptor"])?;
    let ips: Vec<String> = interceptors["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|pod| pod["metadata"]["deletionTimestamp"].is_null() && condition_is_true(pod, "Ready"))
        .filter_map(|pod| pod["status"]["podIP"].as_str().map(str::to_owned))
        .collect();
    ensure!(!ips.is_empty(), "no interceptor pod is Ready");
    apps::wait_for_service_rules(&format!("{}/{PROXY_SERVICE}:{PROXY_PORT_NAME}", http_add_on::NAMESPACE), ips.iter().map(String::as_str))?;
    Ok(format!("{ip}:{port}"))
}

/// A ScaledObject that was never active has no cooldown to wait for
/// (`initialCooldownPeriod` is 0): KEDA takes the Deployment to 0 at its
/// first poll after the apply.
pub(crate) fn applied_goes_to_zero(state: &ScaleToZero) -> Result<()> {
    let started = Instant::now();
    wait_for_zero(&state.node, Duration::from_secs(60))?;
    println!("applied: 0 replicas and no pod {:.0} s after the rollout", started.elapsed().as_secs_f64());
    Ok(())
}

/// GET `path` through the interceptor with the route's host, as any client
/// in the cluster sends it.
pub(crate) fn get_through(proxy: &str, path: &str) -> Result<Answer> {
    let url = format!("http://{proxy}{path}");
    let response = client().get(&url).header("Host", HOST).call().with_context(|| format!("GET {url} (Host: {HOST})"))?;
    Ok(answer(response))
}

pub(crate) fn proxy(state: &ScaleToZero) -> Result<String> {
    state.proxy.lock().unwrap().clone().context("the add-on is not installed (the first check failed)")
}

/// Waits until KEDA has set the Deployment to 0 and its last pod is gone.
pub(crate) fn wait_for_zero(node: &Node, timeout: Duration) -> Result<()> {
    wait_for(timeout, "the Deployment at 0 replicas with no pod", || {
        let deployment = node.kubectl.get_json(&["-n", NAMESPACE, "deployment", "test"])?;
        if deployment["spec"]["replicas"] != 0 {
            return Ok(false);
        }
        let pods = node.kubectl.get_json(&["-n", NAMESPACE, "pods", "-l", SELECTOR])?;
        Ok(pods["items"].as_array().is_some_and(Vec::is_empty))
    })
    .map_err(|error| {
        let (_, scaled_object) = node.kubectl.try_run(&["-n", NAMESPACE, "get", "scaledobject", "test", "-o", "jsonpath={.status}"]);
        error.context(format!("the ScaledObject's status: {scaled_object}"))
    })
}
