//! The real HPA's syncs, watched through kube-controller-manager's own
//! counter, and the preview's model fed what each of them read.

use super::*;

/// One sync of the real HPA: when kube-controller-manager ran it (seconds
/// since the load began), the metric it read (the sum KEDA answered; `None`
/// when it got none), the replicas it found and the replicas it chose.
#[derive(Clone, Debug)]
pub(crate) struct RealSync {
    pub(crate) at: f64,
    /// When the watcher saw it, in seconds since midnight UTC, the clock of
    /// the controller's log.
    pub(crate) seen: f64,
    pub(crate) value: Option<f64>,
    pub(crate) current: u32,
    pub(crate) desired: u32,
}

/// The HPA controller's syncs, seen through kube-controller-manager's own
/// counter of them (`horizontal_pod_autoscaler_controller_reconciliations_total`,
/// pkg/controller/podautoscaler/monitor): polled every 200 ms, and after
/// each increment the HPA's status, which that sync wrote.
pub(crate) fn watch_syncs(node: &Node, started: Instant, stop: &AtomicBool) -> Result<Vec<RealSync>> {
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
/// How much later than its `Proposing desired replicas` line the
/// controller's `now` may be, in seconds: it was found once deciding by a
/// few milliseconds what the logged times decided the other way (a 2-core
/// machine loaded by the suite, at a scale-down event 15 s old).
const CLOCK_SLACK: f64 = 0.05;

pub(crate) fn compare_with_model(state: &Loop) -> Result<()> {
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
    let mut at_an_edge = Vec::new();
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
                // The log's times bound the controller's clock from one
                // side only: its `now` comes after `Proposing desired
                // replicas`, and a scale event's stamp before `Successfully
                // rescaled`. So a record at a window's edge may be inside by
                // the logged times and outside by the controller's: the
                // model's answer with `now` CLOCK_SLACK later counts too.
                let mut later = model.clone();
                let replicas = match model.sync_timed(at - base, scaled_at - base, value).replicas {
                    replicas if replicas == sync.desired => replicas,
                    replicas => match later.sync_timed(at + CLOCK_SLACK - base, scaled_at - base, value).replicas {
                        slack if slack == sync.desired => {
                            model = later;
                            at_an_edge.push(format!("{:.1} s ({replicas} by the logged times)", sync.at));
                            slack
                        }
                        _ => replicas,
                    },
                };
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
    println!(
        "the model chose the HPA's replicas at all {} syncs; {} of them with a record at a window's edge, within {:.0} ms of the logged times: {}",
        syncs.len(),
        at_an_edge.len(),
        CLOCK_SLACK * 1e3,
        at_an_edge.join(", ")
    );
    Ok(())
}

/// Seconds since midnight UTC.
pub(crate) fn seconds_of_day(time: std::time::SystemTime) -> f64 {
    time.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64() % 86_400.0)
}

/// The times of horizontal.go's log lines carrying `message`, in seconds
/// since midnight: klog's header is `I1202 08:20:33.123456 PID file:line]`,
/// in the machine's local time, UTC here (CI's too).
pub(crate) fn logged_at(log: &str, message: &str) -> Vec<f64> {
    log.lines()
        .filter(|line| line.contains(" horizontal.go:") && line.contains(message))
        .filter_map(|line| seconds_of_clock(line.split_whitespace().nth(1)?))
        .collect()
}

/// `hh:mm:ss` or `hh:mm:ss.ffffff` in seconds since midnight.
pub(crate) fn seconds_of_clock(clock: &str) -> Option<f64> {
    let parts: Vec<f64> = clock.split(':').map(str::parse).collect::<Result<_, _>>().ok()?;
    match parts[..] {
        [hours, minutes, seconds] => Some(hours * 3600.0 + minutes * 60.0 + seconds),
        _ => None,
    }
}
