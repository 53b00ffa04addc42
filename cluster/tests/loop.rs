//! The scaling loop for real, on the one-node cluster of docs/test-node.md:
//! KEDA v2.20.2, prometheus-operator v0.93.0 with Prometheus 3.13.1 and
//! fortio, each built from its Go module and installed from its own release
//! manifests; the wasm path applied as a user applies it; manifests/load's
//! Job as shipped (60 req/s for 120 s). KEDA's HPA must scale `test` from 1
//! to 6 Ready pods with every request answered, hold them through a 30 s
//! Prometheus outage, replace a pod deleted under load losing no more
//! requests than could be in flight on it, and go back to 1 after the load; with no data, KEDA
//! must answer the HPA with an error; and the preview's HPA model, fed the
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

/// One row of the timeline.
#[derive(Clone, Debug)]
struct Sample {
    at: f64,
    query: Option<f64>,
    external: Option<f64>,
    desired: u64,
    current: u64,
    ready: usize,
}

fn load_scales_out_and_back(state: &Loop) -> Result<()> {
    let node = &state.node;
    let prometheus = prometheus(node)?;
    let query = scaled_object_query(node)?;
    let metric = external_metric_path(node)?;
    let started = Instant::now();
    let stop_watching = AtomicBool::new(false);
    let syncs = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch_syncs(node, started, &stop_watching));
        let outcome = drive_load(state, &prometheus, &query, &metric, started);
        stop_watching.store(true, Ordering::Relaxed);
        let syncs = watcher.join().expect("the sync watcher does not panic");
        (outcome, syncs)
    });
    let (outcome, syncs) = syncs;
    *state.syncs.lock().unwrap() = syncs?;
    outcome
}

/// Applies manifests/load and samples the timeline until the Deployment is
/// back to 1 pod after the load; then asserts what the load should do.
fn drive_load(state: &Loop, prometheus: &Prometheus, query: &str, metric: &str, started: Instant) -> Result<()> {
    let node = &state.node;
    node.kubectl.run(&["apply", "-k", &apps::repo_path("manifests/load")])?;
    let mut job_done: Option<f64> = None;
    let mut at_six: Option<f64> = None;
    let mut back_to_one: Option<f64> = None;
    let mut outage: Option<Outage> = None;
    let mut deletion: Option<PodDeletion> = None;
    // The load's 120 s, then the stabilization window (60 s), three 50 %
    // steps (45 s) and the rate's 1 m window: 6 minutes is twice that.
    while started.elapsed() < Duration::from_secs(480) {
        let tick = Instant::now();
        let sample = sample(node, prometheus, query, metric, started.elapsed().as_secs_f64())?;
        println!(
            "{:6.1} s  query {:>6}  external {:>6}  desired {:>2}  current {:>2}  ready {:>2}",
            sample.at,
            shown(sample.query),
            shown(sample.external),
            sample.desired,
            sample.current,
            sample.ready
        );
        if at_six.is_none() && sample.ready >= REPLICAS_UNDER_LOAD {
            at_six = Some(sample.at);
        }
        if job_done.is_none() {
            job_done = load::job_state(node)?.map(|_| sample.at);
        }
        if job_done.is_some() && at_six.is_some() && sample.ready == 1 && sample.desired == 1 {
            back_to_one = Some(sample.at);
        }
        let desired = sample.desired;
        state.timeline.lock().unwrap().push(sample);
        if back_to_one.is_some() {
            break;
        }
        if outage.is_none() && at_six.is_some() {
            outage = Some(Outage::begin(started, desired)?);
        }
        if let Some(outage) = outage.as_mut()
            && outage.data_again.is_none()
            && started.elapsed().as_secs_f64() - outage.stopped_at >= OUTAGE_SECONDS
        {
            outage.end(state, prometheus, query, metric, started)?;
        } else if deletion.is_none() && job_done.is_none() && outage.as_ref().is_some_and(|outage| outage.data_again.is_some()) {
            deletion = Some(PodDeletion::begin(node, started)?);
        }
        std::thread::sleep(Duration::from_secs(5).saturating_sub(tick.elapsed()));
    }
    let no_data = match back_to_one {
        Some(_) => no_data_is_an_error(state, prometheus, query, metric, started),
        None => Ok(()),
    };
    write_timeline(&state.timeline.lock().unwrap())?;
    let logs = load::report(node);
    match load::job_state(node)? {
        Some(true) => *state.offered.lock().unwrap() = load_window(node, started)?,
        Some(false) => bail!("the load Job failed: some request got an HTTP error:\n{logs}"),
        None => bail!("the load Job had not ended after {:.0} s:\n{logs}", started.elapsed().as_secs_f64()),
    }
    let codes = load::fortio_codes(&logs)?;
    let answered = codes.iter().filter(|(code, _)| *code == 200).map(|(_, count)| count).sum::<u64>();
    let failed = codes.iter().filter(|(code, _)| *code != 200).map(|(_, count)| count).sum::<u64>();
    println!("fortio: {answered} answered 200, {failed} failed: {codes:?}");
    ensure!(
        answered + failed == (LOAD_RATE * LOAD_SECONDS) as u64,
        "fortio sent {} requests, not {LOAD_RATE} req/s for {LOAD_SECONDS} s",
        answered + failed
    );
    let timeline = state.timeline.lock().unwrap().clone();
    let max_ready = timeline.iter().map(|sample| sample.ready).max().unwrap_or(0);
    let at_six = at_six.with_context(|| format!("the Deployment never had {REPLICAS_UNDER_LOAD} Ready pods (at most {max_ready})"))?;
    // Until the faults: a replaced pod makes the sum of rates overshoot for
    // a window (docs/scaling.md, "Faults"), and the HPA follows it.
    let max_clean = timeline.iter().filter(|sample| sample.at <= at_six).map(|sample| sample.ready).max().unwrap_or(0);
    ensure!(max_clean <= REPLICAS_UNDER_LOAD + 1, "{max_clean} Ready pods for {LOAD_RATE} req/s at 10 each");
    println!("at most {max_ready} Ready pods after the faults");
    let job_done = job_done.expect("the Job ended");
    outage.context("Prometheus was never stopped: the load did not reach 6 pods")?.held(&state.timeline.lock().unwrap(), job_done)?;
    deletion.context("no pod was deleted under load")?.replaced(&state.timeline.lock().unwrap(), failed)?;
    let back = back_to_one.context("the Deployment did not return to 1 Ready pod")?;
    println!(
        "{REPLICAS_UNDER_LOAD} Ready pods {at_six:.0} s after the load began; the load ended at {job_done:.0} s; 1 pod again {:.0} s after it",
        back - job_done
    );
    no_data
}

/// When fortio's container ran, in seconds since `started`, from the times
/// the kubelet recorded: the load offered, as steps.
fn load_window(node: &Node, started: Instant) -> Result<Vec<(f64, f64)>> {
    let pods = node.kubectl.get_json(&["-n", "load", "pods", "-l", "job-name=load"])?;
    let terminated = &pods["items"][0]["status"]["containerStatuses"][0]["state"]["terminated"];
    // RFC 3339 in UTC, to the second: `2026-12-02T08:20:33Z`.
    let of_day = |field: &str| -> Result<f64> {
        let time = terminated[field].as_str().with_context(|| format!("fortio's container has no {field}"))?;
        let clock = time.split_once('T').map(|(_, clock)| clock.trim_end_matches('Z')).context("not RFC 3339")?;
        seconds_of_clock(clock).with_context(|| format!("{field} {time} is not hh:mm:ss"))
    };
    let started_of_day = seconds_of_day(std::time::SystemTime::now()) - started.elapsed().as_secs_f64();
    Ok(vec![(of_day("startedAt")? - started_of_day, LOAD_RATE), (of_day("finishedAt")? - started_of_day, 0.0)])
}

fn shown(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.2}"))
}

fn sample(node: &Node, prometheus: &Prometheus, query: &str, metric: &str, at: f64) -> Result<Sample> {
    // While Prometheus is stopped (the outage below) there is no value.
    let query = prometheus.value(query).ok();
    let (read, answer) = node.kubectl.try_run(&["get", "--raw", metric, "--request-timeout=5s"]);
    let external = if read {
        serde_json::from_str::<Value>(&answer).ok().and_then(|list| list["items"][0]["value"].as_str().and_then(quantity))
    } else {
        None
    };
    let hpa = node.kubectl.get_json(&["-n", NAMESPACE, "hpa", HPA])?;
    Ok(Sample {
        at,
        query,
        external,
        desired: hpa["status"]["desiredReplicas"].as_u64().unwrap_or(0),
        current: hpa["status"]["currentReplicas"].as_u64().unwrap_or(0),
        ready: ready_pods(node)?.len(),
    })
}

/// A Kubernetes quantity as KEDA's adapter writes it: "60", "59500m", "1k".
fn quantity(text: &str) -> Option<f64> {
    let (number, scale) = match text.chars().last()? {
        'm' => (&text[..text.len() - 1], 1e-3),
        'k' => (&text[..text.len() - 1], 1e3),
        _ => (text, 1.0),
    };
    number.parse::<f64>().ok().map(|value| value * scale)
}

/// Some(true) when the load Job completed, Some(false) when it failed.
fn scaled_object_query(node: &Node) -> Result<String> {
    let scaled_object = node.kubectl.get_json(&["-n", NAMESPACE, "scaledobject", "test"])?;
    scaled_object["spec"]["triggers"][0]["metadata"]["query"].as_str().map(str::to_owned).context("the ScaledObject has no query")
}

/// The external metric as the HPA reads it, through the aggregated API.
fn external_metric_path(node: &Node) -> Result<String> {
    let hpa = node.kubectl.get_json(&["-n", NAMESPACE, "hpa", HPA])?;
    let external = &hpa["spec"]["metrics"][0]["external"]["metric"];
    let name = external["name"].as_str().context("the HPA has no external metric")?;
    let selector: Vec<String> = external["selector"]["matchLabels"]
        .as_object()
        .map(|labels| labels.iter().map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    // Label keys and values need no escaping in a query string
    // ([A-Za-z0-9._-], a key's prefix adds `/`), and Go's ParseQuery splits
    // each parameter at its first `=`.
    Ok(format!("/apis/external.metrics.k8s.io/v1beta1/namespaces/{NAMESPACE}/{name}?labelSelector={}", selector.join(",")))
}

fn write_timeline(timeline: &[Sample]) -> Result<()> {
    let mut csv = String::from("seconds,query,external_metric,hpa_desired,hpa_current,ready_pods\n");
    for s in timeline {
        let value = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
        writeln!(csv, "{:.1},{},{},{},{},{}", s.at, value(s.query), value(s.external), s.desired, s.current, s.ready)?;
    }
    let file = cluster::Layout::new().root.join("loop-timeline.csv");
    std::fs::write(&file, csv)?;
    println!("timeline: {}", file.display());
    Ok(())
}

/// Prometheus through its Service prometheus-k8s, as KEDA reaches it. A
/// query gives up after 2 s, as KEDA's does after its 3 s default.
fn prometheus(node: &Node) -> Result<Prometheus> {
    let service = node.kubectl.get_json(&["-n", "monitoring", "service", "prometheus-k8s"])?;
    let ip = service["spec"]["clusterIP"].as_str().context("prometheus-k8s has no clusterIP")?;
    Ok(Prometheus::with_timeout(&format!("http://{ip}:9090"), Duration::from_secs(2)))
}

/// One sync of the real HPA: when kube-controller-manager ran it (seconds
/// since the load began), the metric it read (the sum KEDA answered; `None`
/// when it got none), the replicas it found and the replicas it chose.
#[derive(Clone, Debug)]
struct RealSync {
    at: f64,
    /// When the watcher saw it, in seconds since midnight UTC, the clock of
    /// the controller's log.
    seen: f64,
    value: Option<f64>,
    current: u32,
    desired: u32,
}

/// The HPA controller's syncs, seen through kube-controller-manager's own
/// counter of them (`horizontal_pod_autoscaler_controller_reconciliations_total`,
/// pkg/controller/podautoscaler/monitor): polled every 200 ms, and after
/// each increment the HPA's status, which that sync wrote.
fn watch_syncs(node: &Node, started: Instant, stop: &AtomicBool) -> Result<Vec<RealSync>> {
    let pki = node.layout.pki();
    let (cert, key) = (pki.join("admin.crt"), pki.join("admin.key"));
    let reconciliations = || -> Result<u64> {
        // The controller manager serves a self-signed certificate of its own
        // (it is given none), so only the client is authenticated here.
        let output = std::process::Command::new("curl")
            .args(["-sSfk", "--max-time", "5", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg(format!("https://{NODE_IP}:10257/metrics"))
            .output()
            .context("running curl")?;
        ensure!(output.status.success(), "kube-controller-manager's /metrics: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout)?;
        Ok(text
            .lines()
            .filter(|line| line.starts_with("horizontal_pod_autoscaler_controller_reconciliations_total{"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64)
    };
    let mut seen = reconciliations()?;
    let mut syncs = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        let now = reconciliations()?;
        if now == seen {
            continue;
        }
        let at = started.elapsed().as_secs_f64();
        let seen_at = seconds_of_day(std::time::SystemTime::now());
        ensure!(now == seen + 1, "{} HPA syncs within 200 ms: one HPA syncs every 15 s", now - seen);
        seen = now;
        let status = node.kubectl.get_json(&["-n", NAMESPACE, "hpa", HPA])?["status"].take();
        let current = status["currentReplicas"].as_u64().context("the HPA's status has no currentReplicas")? as u32;
        // The controller reports the sum KEDA answered divided by the pods,
        // rounded up to a thousandth (GetExternalPerPodMetricReplicas): times
        // the pods, it is the sum to within a thousandth per pod.
        let average = status["currentMetrics"][0]["external"]["current"]["averageValue"].as_str().and_then(quantity);
        let active = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|condition| condition["type"] == "ScalingActive" && condition["status"] == "True");
        syncs.push(RealSync {
            at,
            seen: seen_at,
            value: average.filter(|_| active).map(|average| average * f64::from(current)),
            current,
            desired: status["desiredReplicas"].as_u64().context("the HPA's status has no desiredReplicas")? as u32,
        });
    }
    Ok(syncs)
}

/// Feeds the preview's HPA model (scaling::hpa) the values the real HPA read
/// at its syncs, at the controller's own times, and requires the same
/// replicas at every sync. The model runs the ScaledObject of
/// manifests/base, as the preview does.
///
/// The times come from kube-controller-manager's log (`--vmodule=horizontal=4`):
/// `Proposing desired replicas` just before it stabilizes (its `now`), and
/// `Successfully rescaled` just after it stores the scale event. They
/// matter: the work queue brings the HPA back 15 s after it was last
/// queued, by its own requeue or by the informer's resync, so syncs come a
/// few milliseconds more or less than a period apart, and a record exactly
/// four periods old is inside the 60 s window or not by those milliseconds.
/// On a grid of whole periods the model disagreed with the controller once
/// in three runs for that reason.
///
/// Then draws the run with the preview's chart: the values the syncs read,
/// the model's replicas, and the Ready pods of the timeline beside them.
fn compare_with_model(state: &Loop) -> Result<()> {
    let syncs = state.syncs.lock().unwrap();
    let scaled_object: ScaledObject = scaling::manifests::load(&harness::repo_root().join("manifests/base"), "ScaledObject")?;
    let rule = ScalingRule::from_scaled_object(&scaled_object)?;
    let behavior = Behavior::from_scaled_object(&scaled_object)?;
    // Before the first sync that read a value the HPA has no status to
    // compare (it is written by the first good sync).
    let syncs = &syncs[syncs.iter().position(|sync| sync.value.is_some()).context("no HPA sync read a value")?..];
    let first = &syncs[0];
    // Agreement on a flat line proves nothing: the syncs must span the way
    // up to 6 and back to 1.
    let highest = syncs.iter().map(|sync| sync.desired).max().unwrap_or(0);
    let last = syncs.last().map_or(0, |sync| sync.desired);
    ensure!(
        highest >= REPLICAS_UNDER_LOAD as u32 && last == 1,
        "the syncs went up to {highest} and ended at {last}: not a scale-out and back"
    );
    let log = std::fs::read_to_string(cluster::Layout::new().log("kube-controller-manager"))?;
    let (proposed, rescaled) = (logged_at(&log, "\"Proposing desired replicas\""), logged_at(&log, "\"Successfully rescaled\""));
    let mut model = Hpa::new(rule.clone(), behavior, first.current, SYNC_PERIOD);
    let mut points = Vec::new();
    let mut differences = Vec::new();
    let mut table = String::from("seconds,controller_seconds,value,hpa_current,hpa_desired,model_replicas\n");
    let mut base = None;
    for sync in syncs {
        // The sync's log lines come before the counter the watcher saw.
        let (modelled, at) = match sync.value {
            Some(value) => {
                let at = *proposed.iter().rev().find(|&&at| at <= sync.seen && at > sync.seen - 5.0).with_context(|| {
                    format!("no `Proposing desired replicas` in the controller's log before the sync seen at {:.1} s", sync.at)
                })?;
                let scaled_at = match sync.desired != sync.current {
                    true => *rescaled.iter().find(|&&scaled| scaled >= at && scaled <= sync.seen).with_context(|| {
                        format!("no `Successfully rescaled` in the controller's log for the sync seen at {:.1} s", sync.at)
                    })?,
                    false => at,
                };
                let base = *base.get_or_insert(at);
                let replicas = model.sync_timed(at - base, scaled_at - base, value).replicas;
                // The controller's time, in the timeline's seconds.
                let since_load = sync.at - (sync.seen - at);
                points.push(Point {
                    at: since_load,
                    value: Some(value),
                    desired: Some(rule.decide(value, sync.current).desired_replicas),
                    replicas,
                });
                (replicas, Some(at - base))
            }
            None => {
                points.push(Point { at: sync.at, value: None, desired: None, replicas: model.replicas() });
                (model.replicas(), None)
            }
        };
        writeln!(
            table,
            "{:.2},{},{},{},{},{modelled}",
            sync.at,
            at.map(|at| format!("{at:.3}")).unwrap_or_default(),
            sync.value.map(|v| format!("{v:.3}")).unwrap_or_default(),
            sync.current,
            sync.desired
        )?;
        if modelled != sync.desired {
            differences.push(format!(
                "at {:.1} s ({} read, {} replicas): the HPA chose {}, the model {modelled}",
                sync.at,
                shown(sync.value),
                sync.current,
                sync.desired
            ));
        }
    }
    let file = cluster::Layout::new().root.join("loop-syncs.csv");
    std::fs::write(&file, &table)?;
    print!("the HPA's syncs and the model's replicas ({}):\n{table}", file.display());
    let ready: Vec<(f64, u32)> = state.timeline.lock().unwrap().iter().map(|sample| (sample.at, sample.ready as u32)).collect();
    let chart = cluster::Layout::new().root.join("loop-chart.svg");
    scaling::chart::write(&chart, &rule, &state.offered.lock().unwrap(), &points, &ready)?;
    println!("chart: {}", chart.display());
    ensure!(
        differences.is_empty(),
        "the model and the HPA differ at {} of {} syncs:\n  {}",
        differences.len(),
        syncs.len(),
        differences.join("\n  ")
    );
    println!("the model chose the HPA's replicas at all {} syncs", syncs.len());
    Ok(())
}

/// Prometheus stopped for 30 s under load, once the Deployment has its 6
/// pods: its process frozen (SIGSTOP) and then let go on (SIGCONT), so it
/// keeps its data. KEDA cannot read the metric meanwhile (the kubelet's
/// readiness probe soon takes Prometheus out of its Service, and its
/// liveness probe may restart the container, which keeps its emptyDir), and
/// the HPA must keep its replicas until the value is back.
struct Outage {
    pid: i32,
    stopped_at: f64,
    resumed_at: f64,
    desired_at_stop: u64,
    /// When the query had a value again.
    data_again: Option<f64>,
}

impl Outage {
    fn begin(started: Instant, desired_at_stop: u64) -> Result<Outage> {
        let pid = prometheus_pid()?;
        signal(pid, libc::SIGSTOP)?;
        let stopped_at = started.elapsed().as_secs_f64();
        println!("{stopped_at:6.1} s  Prometheus stopped (SIGSTOP to {pid})");
        Ok(Outage { pid, stopped_at, resumed_at: stopped_at, desired_at_stop, data_again: None })
    }

    /// Lets Prometheus go on, and samples every half second until the
    /// query has a value again.
    fn end(&mut self, state: &Loop, prometheus: &Prometheus, query: &str, metric: &str, started: Instant) -> Result<()> {
        signal(self.pid, libc::SIGCONT)?;
        self.resumed_at = started.elapsed().as_secs_f64();
        println!("{:6.1} s  Prometheus let go on (SIGCONT)", self.resumed_at);
        let data_again = until_the_query_has_a_value(state, prometheus, query, metric, started, &mut |_| Ok(()))?;
        println!("{data_again:6.1} s  the query has a value again");
        self.data_again = Some(data_again);
        Ok(())
    }

    /// The HPA kept at least the replicas it wanted when Prometheus stopped
    /// until one sync after the query had a value again (or the load ended).
    fn held(&self, timeline: &[Sample], load_ended: f64) -> Result<()> {
        let data_again = self.data_again.context("Prometheus was stopped and never had a value again")?;
        ensure!(
            data_again < load_ended,
            "the query had a value again only at {data_again:.0} s, after the load ended at {load_ended:.0} s"
        );
        let until = (data_again + SYNC_PERIOD).min(load_ended);
        let during = timeline.iter().filter(|sample| sample.at >= self.stopped_at && sample.at <= until);
        let lowest = during.map(|sample| sample.desired).min().context("no sample during the outage")?;
        ensure!(
            lowest >= self.desired_at_stop,
            "the HPA went from {} to {lowest} replicas while Prometheus was stopped",
            self.desired_at_stop
        );
        println!(
            "Prometheus stopped at {:.0} s for {:.0} s, a value again at {data_again:.0} s: the HPA held {} replicas",
            self.stopped_at,
            self.resumed_at - self.stopped_at,
            self.desired_at_stop
        );
        Ok(())
    }
}

/// Samples the timeline every 5 s while polling the query every half second
/// (for up to 4 minutes) until it returns a series; `on_empty` sees each
/// moment Prometheus answers it with none. Returns when it had one.
fn until_the_query_has_a_value(
    state: &Loop,
    prometheus: &Prometheus,
    query: &str,
    metric: &str,
    started: Instant,
    on_empty: &mut dyn FnMut(f64) -> Result<()>,
) -> Result<f64> {
    let node = &state.node;
    let waiting = Instant::now();
    let mut last_sample = Instant::now();
    while waiting.elapsed() < Duration::from_secs(240) {
        std::thread::sleep(Duration::from_millis(500));
        if last_sample.elapsed() >= Duration::from_secs(5) {
            last_sample = Instant::now();
            let sample = sample(node, prometheus, query, metric, started.elapsed().as_secs_f64())?;
            state.timeline.lock().unwrap().push(sample);
        }
        // Unreachable (no Ready endpoint) or not ready (503) yet.
        let Ok(result) = prometheus.query(query) else { continue };
        if !result.is_empty() {
            return Ok(started.elapsed().as_secs_f64());
        }
        on_empty(started.elapsed().as_secs_f64())?;
    }
    bail!("the query had no value within 240 s")
}

/// The process whose command is the Prometheus image's entrypoint.
fn prometheus_pid() -> Result<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(command) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if command.split(|byte| *byte == 0).next() == Some(b"/bin/prometheus".as_slice()) {
            found.push(pid);
        }
    }
    match found.as_slice() {
        [pid] => Ok(*pid),
        other => bail!("expected one /bin/prometheus process, found {other:?}"),
    }
}

fn signal(pid: i32, signal: libc::c_int) -> Result<()> {
    // SAFETY: kill(2) with a pid read from /proc and a valid signal number.
    let sent = unsafe { libc::kill(pid, signal) };
    ensure!(sent == 0, "kill({pid}, {signal}): {}", std::io::Error::last_os_error());
    Ok(())
}

/// No data is an error (`ignoreNullValues: "false"`, docs/scaling.md): with
/// the Deployment idle at 1 pod, Prometheus' pod is deleted, and its
/// replacement starts with an empty emptyDir. Until it has two scrapes in
/// the rate's window it answers the query with no series, and KEDA's
/// metrics API must answer the HPA's read with an error, not a value.
fn no_data_is_an_error(state: &Loop, prometheus: &Prometheus, query: &str, metric: &str, started: Instant) -> Result<()> {
    let node = &state.node;
    // The moment is short: from the new Prometheus' Service endpoint to its
    // second scrape, which can come first (1 run in 7 here). Up to three
    // replacements, and one must show it.
    let mut answers = Vec::new();
    let mut data_again = 0.0;
    for _ in 0..3 {
        data_again = replace_prometheus(state, prometheus, query, metric, started, &mut answers)?;
        if !answers.is_empty() {
            break;
        }
        println!("{data_again:6.1} s  the new Prometheus had a value at its first answer: once more");
    }
    ensure!(!answers.is_empty(), "none of 3 new Prometheus answered the query with no series");
    // KEDA's next query, a moment later, has the value too.
    wait_for(Duration::from_secs(30), "KEDA's metric once the query has a value", || {
        Ok(node.kubectl.try_run(&["get", "--raw", metric, "--request-timeout=5s"]).0)
    })?;
    let desired = node.kubectl.get_json(&["-n", NAMESPACE, "hpa", HPA])?["status"]["desiredReplicas"].as_u64();
    ensure!(desired == Some(1), "the HPA wants {desired:?} replicas of an idle app");
    println!("{data_again:6.1} s  a value again; KEDA refused {} reads of no data", answers.len());
    Ok(())
}

/// Deletes Prometheus' pod and polls its replacement until the query has a
/// value, reading KEDA's metric (which must be an error) each time the
/// query has no series; returns when it had a value.
fn replace_prometheus(
    state: &Loop,
    prometheus: &Prometheus,
    query: &str,
    metric: &str,
    started: Instant,
    answers: &mut Vec<f64>,
) -> Result<f64> {
    let node = &state.node;
    let uid = || node.kubectl.try_run(&["-n", "monitoring", "get", "pod", "prometheus-k8s-0", "-o", "jsonpath={.metadata.uid}"]);
    let (_, old) = uid();
    node.kubectl.run(&["-n", "monitoring", "delete", "pod", "prometheus-k8s-0", "--wait=false"])?;
    println!("{:6.1} s  Prometheus' pod deleted", started.elapsed().as_secs_f64());
    // The old pod answers until it has gone: wait for its replacement.
    wait_for(Duration::from_secs(120), "Prometheus' new pod", || Ok(matches!(uid(), (true, new) if new != old)))?;
    until_the_query_has_a_value(state, prometheus, query, metric, started, &mut |at| {
        let (read, answer) = node.kubectl.try_run(&["get", "--raw", metric, "--request-timeout=5s"]);
        ensure!(!read, "KEDA answered {} for a query with no series: it must be an error", answer.trim());
        if answers.is_empty() {
            println!("{at:6.1} s  no series; KEDA's metrics API answers: {}", answer.trim());
        }
        answers.push(at);
        Ok(())
    })
}

/// Seconds since midnight UTC.
fn seconds_of_day(time: std::time::SystemTime) -> f64 {
    time.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64() % 86_400.0)
}

/// The times of horizontal.go's log lines carrying `message`, in seconds
/// since midnight: klog's header is `I1202 08:20:33.123456 PID file:line]`,
/// in the machine's local time, UTC here (CI's too).
fn logged_at(log: &str, message: &str) -> Vec<f64> {
    log.lines()
        .filter(|line| line.contains(" horizontal.go:") && line.contains(message))
        .filter_map(|line| seconds_of_clock(line.split_whitespace().nth(1)?))
        .collect()
}

/// `hh:mm:ss` or `hh:mm:ss.ffffff` in seconds since midnight.
fn seconds_of_clock(clock: &str) -> Option<f64> {
    let parts: Vec<f64> = clock.split(':').map(str::parse).collect::<Result<_, _>>().ok()?;
    match parts[..] {
        [hours, minutes, seconds] => Some(hours * 3600.0 + minutes * 60.0 + seconds),
        _ => None,
    }
}

/// One wasm pod deleted under load, once Prometheus is back: the busiest
/// pod, seen counting requests. The Deployment replaces it, and no request
/// fails at the Service beyond those in flight on that pod, which are at
/// most fortio's connections.
struct PodDeletion {
    at: f64,
    pod: String,
    connections: u64,
}

impl PodDeletion {
    fn begin(node: &Node, started: Instant) -> Result<PodDeletion> {
        let pods = ready_pods(node)?;
        let before = pods.iter().map(|pod| apps::count(Path::Wasm, &pod.ip)).collect::<Result<Vec<_>>>()?;
        std::thread::sleep(Duration::from_secs(1));
        let mut busiest = None;
        for (pod, before) in pods.iter().zip(before) {
            let served = apps::count(Path::Wasm, &pod.ip)? - before;
            if busiest.as_ref().is_none_or(|(_, most)| served > *most) {
                busiest = Some((pod, served));
            }
        }
        let (pod, served) = busiest.context("no Ready pod to delete")?;
        ensure!(served > 0.0, "no pod counted a request in a second of the load");
        let job = node.kubectl.get_json(&["-n", "load", "job", "load"])?;
        let args = job["spec"]["template"]["spec"]["containers"][0]["args"].as_array().cloned().unwrap_or_default();
        let connections = args
            .iter()
            .position(|arg| arg == "-c")
            .and_then(|at| args.get(at + 1)?.as_str()?.parse().ok())
            .context("the load Job's fortio has no -c CONNECTIONS")?;
        node.kubectl.run(&["-n", NAMESPACE, "delete", "pod", &pod.name, "--wait=false"])?;
        let at = started.elapsed().as_secs_f64();
        println!("{at:6.1} s  pod {} deleted; it counted {served} requests in the second before", pod.name);
        Ok(PodDeletion { at, pod: pod.name.clone(), connections })
    }

    /// The Deployment had its 6 Ready pods again after the deletion, and
    /// fortio's failures were no more than its connections.
    fn replaced(&self, timeline: &[Sample], failed: u64) -> Result<()> {
        let again = timeline
            .iter()
            .find(|sample| sample.at > self.at && sample.ready >= REPLICAS_UNDER_LOAD)
            .with_context(|| format!("{} was deleted at {:.0} s and never replaced", self.pod, self.at))?;
        ensure!(
            failed <= self.connections,
            "{failed} requests failed when a pod was deleted under load: more than fortio's {} connections could have in flight on it",
            self.connections
        );
        println!(
            "{} deleted at {:.0} s: {REPLICAS_UNDER_LOAD} Ready again by {:.0} s; {failed} requests failed (at most {} could be in flight on it)",
            self.pod, self.at, again.at, self.connections
        );
        Ok(())
    }
}
