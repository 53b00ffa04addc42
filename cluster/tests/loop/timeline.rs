//! The load check: manifests/load applied, the timeline sampled every 5 s
//! until the Deployment is back to one pod, and what the load must do.

use super::*;

/// One row of the timeline.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    pub(crate) at: f64,
    pub(crate) query: Option<f64>,
    pub(crate) external: Option<f64>,
    pub(crate) desired: u64,
    pub(crate) current: u64,
    pub(crate) ready: usize,
}

pub(crate) fn load_scales_out_and_back(state: &Loop) -> Result<()> {
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
pub(crate) fn drive_load(state: &Loop, prometheus: &Prometheus, query: &str, metric: &str, started: Instant) -> Result<()> {
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
pub(crate) fn load_window(node: &Node, started: Instant) -> Result<Vec<(f64, f64)>> {
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

pub(crate) fn shown(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.2}"))
}

pub(crate) fn sample(node: &Node, prometheus: &Prometheus, query: &str, metric: &str, at: f64) -> Result<Sample> {
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
pub(crate) fn quantity(text: &str) -> Option<f64> {
    let (number, scale) = match text.chars().last()? {
        'm' => (&text[..text.len() - 1], 1e-3),
        'k' => (&text[..text.len() - 1], 1e3),
        _ => (text, 1.0),
    };
    number.parse::<f64>().ok().map(|value| value * scale)
}

/// Some(true) when the load Job completed, Some(false) when it failed.
pub(crate) fn scaled_object_query(node: &Node) -> Result<String> {
    let scaled_object = node.kubectl.get_json(&["-n", NAMESPACE, "scaledobject", "test"])?;
    scaled_object["spec"]["triggers"][0]["metadata"]["query"].as_str().map(str::to_owned).context("the ScaledObject has no query")
}

/// The external metric as the HPA reads it, through the aggregated API.
pub(crate) fn external_metric_path(node: &Node) -> Result<String> {
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

pub(crate) fn write_timeline(timeline: &[Sample]) -> Result<()> {
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
pub(crate) fn prometheus(node: &Node) -> Result<Prometheus> {
    let service = node.kubectl.get_json(&["-n", "monitoring", "service", "prometheus-k8s"])?;
    let ip = service["spec"]["clusterIP"].as_str().context("prometheus-k8s has no clusterIP")?;
    Ok(Prometheus::with_timeout(&format!("http://{ip}:9090"), Duration::from_secs(2)))
}
