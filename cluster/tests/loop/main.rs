//! The scaling loop for real, on the one-node cluster of docs/test-node.md:
//! KEDA v2.20.2, prometheus-operator v0.93.0 with Prometheus 3.13.1 and
//! fortio, each built from its Go module and installed from its own release
//! manifests; the wasm path applied as a user applies it; manifests/load's
//! Job as shipped (60 req/s for 120 s). KEDA's HPA must scale `test` from 1
//! to 6 Ready pods with every request answered, hold them through a 30 s
//! Prometheus outage, replace a pod deleted under load losing no more
//! requests than could be in flight on it, and go back to 1 after the load;
//! with no data, KEDA must answer the HPA with an error, and the HPA keep
//! its replica; and the preview's HPA model, fed the
//! values the real HPA read, must choose its replicas at every sync. The
//! timeline, sampled every 5 s, and the syncs are written to
//! target/test-node/loop-timeline.csv and loop-syncs.csv.
//!
//! Needs root, `CONTAINERD_1_7` and `CONTAINERD_SHIM_SPIN`
//! (scripts/loop-tests.sh sets them).
//!   scripts/loop-tests.sh [FILTER]

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use cluster::apps::{self, NAMESPACE, Path, ready_pods, rollout};
use cluster::layout::NODE_IP;
use cluster::load;
use cluster::scaling_loop::{self, wait_for};
use cluster::suite::{self, Check};
use cluster::{Node, Runtimes};
use scaling::chart::Point;
use scaling::hpa::{Behavior, Hpa};
use scaling::keda::ScalingRule;
use scaling::manifests::ScaledObject;
use scaling::prometheus::Prometheus;
use serde_json::Value;

mod no_data;
mod outage;
mod pod_deletion;
mod syncs;
mod timeline;

use no_data::*;
use outage::*;
use pod_deletion::*;
use syncs::*;
use timeline::*;

/// What manifests/load asks for, and what the ScaledObject's AverageValue
/// threshold of 10 makes of it: ceil(60 / 10).
const LOAD_RATE: f64 = 60.0;
const LOAD_SECONDS: f64 = 120.0;
const REPLICAS_UNDER_LOAD: usize = 6;
const HPA: &str = "keda-hpa-test";
/// How long Prometheus is stopped under load.
const OUTAGE_SECONDS: f64 = 30.0;
/// kube-controller-manager's --horizontal-pod-autoscaler-sync-period, left
/// at its default.
const SYNC_PERIOD: f64 = 15.0;

fn main() -> ExitCode {
    let start = || {
        Ok(Loop {
            node: node_with_the_loops_images()?,
            timeline: Mutex::new(Vec::new()),
            syncs: Mutex::new(Vec::new()),
            offered: Mutex::new(Vec::new()),
        })
    };
    suite::run(&CHECKS, start, |state| state.node)
}

/// The node and what the load check records.
struct Loop {
    node: Node,
    timeline: Mutex<Vec<Sample>>,
    /// The real HPA's syncs during the load check, for the model's check.
    syncs: Mutex<Vec<RealSync>>,
    /// The load fortio offered, as (from second, req/s) steps, for the chart.
    offered: Mutex<Vec<(f64, f64)>>,
}

/// The checks, in the order they run.
const CHECKS: [(&str, Check<Loop>); 5] = [
    ("keda_and_prometheus_install_from_their_release_manifests", install),
    ("keda_creates_the_hpa_with_the_scaled_objects_behavior_min_and_max", hpa_as_the_scaled_object_says),
    ("prometheus_scrapes_the_pods_with_the_operators_labels", prometheus_scrapes_the_pods),
    ("under_load_the_hpa_scales_to_six_and_back_to_one_answering_every_request", load_scales_out_and_back),
    ("the_preview_model_chooses_the_real_hpas_replicas_at_every_sync", compare_with_model),
];

fn node_with_the_loops_images() -> Result<Node> {
    let node = Node::up(Runtimes::from_env()?)?;
    apps::deliver_wasm_image(&node)?;
    scaling_loop::deliver_images(&node)?;
    Ok(node)
}

fn install(state: &Loop) -> Result<()> {
    let node = &state.node;
    let started = Instant::now();
    scaling_loop::install_keda(node)?;
    println!("KEDA ready {:.1} s after apply", started.elapsed().as_secs_f64());
    let started = Instant::now();
    scaling_loop::install_prometheus(node)?;
    println!("prometheus-operator and Prometheus ready {:.1} s after apply", started.elapsed().as_secs_f64());
    apps::install_runtime_class(node)?;
    node.kubectl.run(&["apply", "-k", &Path::Wasm.kustomization()])?;
    rollout(node)
}

fn hpa_as_the_scaled_object_says(state: &Loop) -> Result<()> {
    let kubectl = &state.node.kubectl;
    wait_for(Duration::from_secs(120), "KEDA's HPA", || Ok(kubectl.try_run(&["-n", NAMESPACE, "get", "hpa", HPA]).0))?;
    let hpa = kubectl.get_json(&["-n", NAMESPACE, "hpa", HPA])?;
    let scaled_object = kubectl.get_json(&["-n", NAMESPACE, "scaledobject", "test"])?;
    let (spec, wanted) = (&hpa["spec"], &scaled_object["spec"]);
    ensure!(
        spec["minReplicas"] == wanted["minReplicaCount"],
        "minReplicas {} for minReplicaCount {}",
        spec["minReplicas"],
        wanted["minReplicaCount"]
    );
    ensure!(
        spec["maxReplicas"] == wanted["maxReplicaCount"],
        "maxReplicas {} for maxReplicaCount {}",
        spec["maxReplicas"],
        wanted["maxReplicaCount"]
    );
    ensure!(spec["scaleTargetRef"]["name"] == "test", "the HPA targets {}", spec["scaleTargetRef"]);
    // The ScaledObject's scaleDown as the API server stores it: with the
    // `selectPolicy` it leaves unset defaulted to Max
    // (SetDefaults_HorizontalPodAutoscalerBehavior, pkg/apis/autoscaling/v2).
    let mut scale_down = wanted["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"].clone();
    let rules = scale_down.as_object_mut().context("the ScaledObject sets no scaleDown")?;
    rules.entry("selectPolicy").or_insert_with(|| "Max".into());
    ensure!(
        spec["behavior"]["scaleDown"] == scale_down,
        "scaleDown {} is not the ScaledObject's {scale_down}",
        spec["behavior"]["scaleDown"]
    );
    // The ScaledObject sets no scaleUp: the API server's defaults for
    // autoscaling/v2 (SetDefaults_HorizontalPodAutoscalerBehavior).
    let scale_up = serde_json::json!({
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    });
    ensure!(spec["behavior"]["scaleUp"] == scale_up, "scaleUp {} is not the default", spec["behavior"]["scaleUp"]);
    let metric = &spec["metrics"][0];
    ensure!(
        metric["type"] == "External" && metric["external"]["target"]["averageValue"] == "10",
        "the HPA's metric is {metric}, not an External AverageValue of 10"
    );
    println!("{HPA}: min {} max {} behavior {}", spec["minReplicas"], spec["maxReplicas"], spec["behavior"]);
    Ok(())
}

fn prometheus_scrapes_the_pods(state: &Loop) -> Result<()> {
    let prometheus = prometheus(&state.node)?;
    let mut series = Vec::new();
    wait_for(Duration::from_secs(120), "a scraped series of the app", || {
        series = prometheus.query("python_request_operations_total")?;
        Ok(!series.is_empty())
    })?;
    let labels = &series[0].labels;
    // The target labels prometheus-operator's configuration generator
    // writes for a ServiceMonitor endpoint (pkg/prometheus/promcfg.go).
    let pod = &ready_pods(&state.node)?[0];
    let instance = format!("{}:{}", pod.ip, Path::Wasm.container_port());
    for (label, expected) in [
        ("namespace", NAMESPACE),
        ("service", "test"),
        ("endpoint", "http"),
        ("job", "test"),
        ("pod", pod.name.as_str()),
        ("container", "test"),
        ("instance", instance.as_str()),
    ] {
        let found = labels.get(label).map(String::as_str);
        ensure!(found == Some(expected), "label {label} is {found:?}, not {expected}: {labels:?}");
    }
    println!("scraped: {labels:?}");
    Ok(())
}
