//! The preview behind `runner preview`: KEDA's decision and the replicas
//! the HPA would set from it, polled from a Prometheus with the
//! ScaledObject's own query, printed and drawn (`chart`), beside the HPA
//! model it runs. Needs the `chart` feature.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crate::chart::{self, Point};
use crate::hpa::{Behavior, DEFAULT_SYNC_PERIOD_SECONDS, Hpa, Sync};
use crate::keda::{Decision, MetricType, ScalingRule, milli_units};
use crate::manifests::{self, ScaledObject};
use crate::prometheus::Prometheus;

mod reaction;
pub use reaction::{Reaction, reaction};

pub struct Options {
    pub query: Option<String>,
    /// Replace the range of the query's one range selector, e.g. `30s`.
    pub query_window: Option<String>,
    pub interval: Option<Duration>,
    pub once: bool,
    /// The replicas running when the preview starts (default: minReplicaCount).
    pub replicas: Option<u32>,
    /// Seconds between the modelled HPA's syncs.
    pub sync_period: Option<f64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    pub chart: Option<PathBuf>,
    /// (from second, req/s) steps of the load offered, for the chart.
    pub offered_load: Vec<(f64, f64)>,
}

/// Poll `prometheus` with the ScaledObject's query every `interval` (the
/// ScaledObject's polling interval by default), or once, and print what
/// KEDA would decide and the replicas the HPA would have.
///
/// The modelled HPA syncs every sync period, on its own clock: KEDA's
/// `pollingInterval` does not move it. Unless the trigger sets
/// `useCachedMetrics`, KEDA answers each of the HPA's asks with a fresh
/// query, so the preview queries Prometheus at every sync too; with it, a
/// sync gets the value of the last poll. Times are the schedule's (a poll at
/// t+30s is the one due then), so a poll and a sync due together see the
/// same value, as in the cluster; a poll more than an interval late is
/// stamped with its own time, and the polls it missed are skipped.
pub fn run(manifests_dir: &Path, prometheus_url: &str, options: Options) -> Result<()> {
    let scaled_object: ScaledObject = manifests::load(manifests_dir, "ScaledObject")?;
    let mut rule = ScalingRule::from_scaled_object(&scaled_object)?;
    let behavior = Behavior::from_scaled_object(&scaled_object)
        .with_context(|| format!("the ScaledObject in {} has a behavior the preview cannot model", manifests_dir.display()))?;
    if let Some(query) = options.query {
        rule.query = query;
    }
    if let Some(window) = &options.query_window {
        rule.query = with_window(&rule.query, window)?;
    }
    let interval = options.interval.unwrap_or(Duration::from_secs(rule.polling_interval_seconds));
    if interval.is_zero() {
        bail!("--interval must be positive");
    }
    let sync_period = options.sync_period.unwrap_or(DEFAULT_SYNC_PERIOD_SECONDS);
    if !sync_period.is_finite() || sync_period <= 0.0 {
        bail!("--sync-period must be positive");
    }
    let replicas = options.replicas.unwrap_or(rule.min_replicas.max(1));
    // Before the first poll, so a demo fails before its load starts.
    if let Some(path) = &options.chart {
        chart::write(path, &rule, &options.offered_load, &[], &[])
            .with_context(|| format!("cannot write the chart to {}", path.display()))?;
    }
    println!(
        "ScaledObject {}/{}: {} every {}s against {prometheus_url}",
        scaled_object.metadata.namespace.as_deref().unwrap_or("default"),
        scaled_object.metadata.name,
        rule.query,
        interval.as_secs_f64(),
    );
    let formula = match rule.metric_type {
        MetricType::AverageValue => "value",
        MetricType::Value => "replicas × value",
    };
    println!(
        "desired replicas = ceil({formula} / {}) within [{}, {}]; active while value > {}; metricType {:?}",
        rule.threshold, rule.min_replicas, rule.max_replicas, rule.activation_threshold, rule.metric_type
    );
    println!("{}", describe_hpa(&rule, behavior.as_ref(), replicas, sync_period));
    let prometheus = Prometheus::new(prometheus_url);
    let mut hpa = Hpa::new(rule.clone(), behavior, replicas, sync_period);
    if options.once {
        // The one value is one sync.
        let value = prometheus.keda_value(&rule)?;
        let decision = rule.decide(value, hpa.replicas());
        let sync = hpa.sync(0.0, value);
        println!("t+   0s  {}  {}", describe(&rule, decision, sync.replicas_before), describe_syncs(&hpa, &[sync]));
        return Ok(());
    }
    let mut points = Vec::new();
    let started = Instant::now();
    let interval = interval.as_secs_f64();
    let mut next_poll = 0.0_f64;
    let mut last_read = None;
    loop {
        let at = next_poll.min(hpa.next_sync());
        if options.duration.is_some_and(|duration| at > duration.as_secs_f64()) {
            if let Some(reaction) = reaction(&rule, &options.offered_load, &points) {
                println!("{reaction}");
            }
            return Ok(());
        }
        if let Some(wait) = Duration::from_secs_f64(at).checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        // More than an interval late (a read or a chart that took that
        // long): the polls due meanwhile can no longer be made. Skip them,
        // and stamp this one with its own time, rather than make them in a
        // burst stamped with times already past, which would hide the stall.
        let now = started.elapsed().as_secs_f64();
        let at = if now - at >= interval { now } else { at };
        let poll_due = next_poll <= at;
        let sync_due = hpa.next_sync() <= at;
        // Catch up rather than poll twice when a read was slow.
        while next_poll <= at {
            next_poll += interval;
        }
        let before = hpa.replicas();
        if poll_due || !rule.use_cached_metrics {
            match prometheus.keda_value(&rule) {
                Ok(value) => {
                    last_read = Some((at, value));
                    let syncs = hpa.read(at, value);
                    let decision = rule.decide(value, before);
                    println!("t+{:>4}s  {}  {}", at as u64, describe(&rule, decision, before), describe_syncs(&hpa, &syncs));
                    points.push(Point { at, value: Some(value), desired: Some(decision.desired_replicas), replicas: hpa.replicas() });
                }
                // The next read may succeed; until then a sync has no metric
                // and the HPA keeps its replicas.
                Err(error) => {
                    last_read = None;
                    let syncs = hpa.read_failed(at);
                    eprintln!("t+{:>4}s  error: {error:#}  {}", at as u64, describe_syncs(&hpa, &syncs));
                    points.push(Point { at, value: None, desired: None, replicas: hpa.replicas() });
                }
            }
        } else if sync_due {
            // useCachedMetrics: the sync gets the last poll's value.
            let syncs = hpa.advance(at);
            match last_read {
                Some((read_at, value)) => {
                    let decision = rule.decide(value, before);
                    println!(
                        "t+{:>4}s  {} (read at t+{}s)  {}",
                        at as u64,
                        describe(&rule, decision, before),
                        read_at as u64,
                        describe_syncs(&hpa, &syncs)
                    );
                    points.push(Point { at, value: Some(value), desired: Some(decision.desired_replicas), replicas: hpa.replicas() });
                }
                None => eprintln!("t+{:>4}s  no cached value  {}", at as u64, describe_syncs(&hpa, &syncs)),
            }
        }
        if let Some(path) = &options.chart {
            chart::write(path, &rule, &options.offered_load, &points, &[])
                .with_context(|| format!("cannot write the chart to {}", path.display()))?;
        }
    }
}

/// The header line on the HPA: which of the controller's paths it takes.
fn describe_hpa(rule: &ScalingRule, behavior: Option<&Behavior>, replicas: u32, sync_period: f64) -> String {
    let reads = if rule.use_cached_metrics {
        "the value of KEDA's last poll (useCachedMetrics)"
    } else {
        "a value KEDA queries for it"
    };
    let common = format!(
        "from {replicas} replicas, a sync every {sync_period}s with {reads}, tolerance {} (ratio within [{}, {}])",
        crate::hpa::TOLERANCE,
        1.0 - crate::hpa::TOLERANCE,
        1.0 + crate::hpa::TOLERANCE,
    );
    match behavior {
        Some(behavior) => format!(
            "hpa, behavior set (normalizeDesiredReplicasWithBehaviors): {common}, scale up {}, scale down {}",
            describe_rules(&behavior.scale_up),
            describe_rules(&behavior.scale_down),
        ),
        None => format!(
            "hpa, no behavior (normalizeDesiredReplicas): {common}, scale up to at most max(2 × replicas, 4) a sync, \
             scale down to the highest recommendation of the last {}s at once",
            crate::hpa::DOWNSCALE_STABILIZATION_SECONDS
        ),
    }
}

/// What the syncs a read ran did, or that none was due.
fn describe_syncs(hpa: &Hpa, syncs: &[Sync]) -> String {
    match syncs.last() {
        Some(sync) => {
            let recommends = sync.recommendation.map_or_else(|| "no metric".to_owned(), |r| format!("recommends {r}"));
            format!("hpa {} replicas (sync: {} -> {}, {recommends})", sync.replicas, sync.replicas_before, sync.replicas)
        }
        None => format!("hpa {} replicas (no sync)", hpa.replicas()),
    }
}

fn describe_rules(rules: &crate::hpa::Rules) -> String {
    let policies: Vec<String> = rules
        .policies
        .iter()
        .map(|policy| {
            let unit = match policy.kind {
                crate::hpa::PolicyType::Pods => " pods",
                crate::hpa::PolicyType::Percent => "%",
            };
            format!("{}{unit}/{}s", policy.value, policy.period_seconds)
        })
        .collect();
    format!(
        "{:?} of [{}] after {}s stabilization",
        rules.select_policy,
        policies.join(", "),
        rules.stabilization_window_seconds
    )
}


fn describe(rule: &ScalingRule, decision: Decision, replicas: u32) -> String {
    // What the HPA computes on: KEDA's adapter hands it thousandths.
    let ratio = milli_units(decision.value) as f64 / milli_units(rule.threshold) as f64;
    let (formula, wanted) = match rule.metric_type {
        MetricType::AverageValue => (format!("ceil({:.3} / {})", decision.value, rule.threshold), ratio.ceil()),
        MetricType::Value => (
            format!("ceil({replicas} × {:.3} / {})", decision.value, rule.threshold),
            (ratio * f64::from(replicas)).ceil(),
        ),
    };
    format!(
        "value {value:.3}  active {active}  desired {desired} replicas ({formula} = {wanted}, within [{min}, {max}])",
        value = decision.value,
        active = if decision.active { "yes" } else { "no" },
        desired = decision.desired_replicas,
        min = rule.min_replicas,
        max = rule.max_replicas,
    )
}

/// `query` with the range of its one range selector replaced by `window`.
fn with_window(query: &str, window: &str) -> Result<String> {
    let ranges = query.matches('[').count();
    if ranges != 1 {
        bail!("--query-window needs a query with exactly one range selector [...], and {query:?} has {ranges}");
    }
    if window.is_empty() || !window.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!("--query-window {window:?} is not a Prometheus duration such as 30s or 2m");
    }
    let (head, rest) = query.split_once('[').expect("counted");
    let (_, tail) = rest.split_once(']').with_context(|| format!("{query:?} has an unclosed ["))?;
    Ok(format!("{head}[{window}]{tail}"))
}

/// `--offered-load SECOND:RATE`: from that second of the preview on, the
/// load offered is RATE req/s.
pub fn parse_offered_load(text: &str) -> Result<(f64, f64), String> {
    let (at, rate) = text.split_once(':').ok_or_else(|| format!("expected SECOND:RATE, got {text:?}"))?;
    let number = |part: &str| part.trim().parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0);
    match (number(at), number(rate)) {
        (Some(at), Some(rate)) => Ok((at, rate)),
        _ => Err(format!("expected SECOND:RATE with two non-negative numbers, got {text:?}")),
    }
}
