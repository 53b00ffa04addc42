//! `runner preview` and `runner scrape-config`: KEDA's decision, the
//! replicas the HPA would set from it, and kube-prometheus's scrape job,
//! derived from `manifests/` and run locally.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use scaling::hpa::{Behavior, DEFAULT_SYNC_PERIOD_SECONDS, Hpa};
use scaling::keda::{Decision, ScalingRule};
use scaling::manifests::{self, ScaledObject, Service, ServiceMonitor};
use scaling::prometheus::Prometheus;

use self::chart::Point;

mod chart;

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
    let sync_period = options.sync_period.unwrap_or(DEFAULT_SYNC_PERIOD_SECONDS);
    if !sync_period.is_finite() || sync_period <= 0.0 {
        bail!("--sync-period must be positive");
    }
    let replicas = options.replicas.unwrap_or(rule.min_replicas.max(1));
    // Before the first poll, so a demo fails before its load starts.
    if let Some(path) = &options.chart {
        chart::write(path, &rule, &options.offered_load, &[])
            .with_context(|| format!("cannot write the chart to {}", path.display()))?;
    }
    println!(
        "ScaledObject {}/{}: {} every {}s against {prometheus_url}",
        scaled_object.metadata.namespace.as_deref().unwrap_or("default"),
        scaled_object.metadata.name,
        rule.query,
        interval.as_secs_f64(),
    );
    println!(
        "desired replicas = ceil(value / {}) within [{}, {}]; active while value > {}",
        rule.threshold, rule.min_replicas, rule.max_replicas, rule.activation_threshold
    );
    println!(
        "hpa: from {replicas} replicas, a sync every {sync_period}s, tolerance {}, scale up {}, scale down {}",
        scaling::hpa::TOLERANCE,
        describe_rules(&behavior.scale_up),
        describe_rules(&behavior.scale_down),
    );
    let prometheus = Prometheus::new(prometheus_url);
    let mut hpa = Hpa::new(rule.clone(), behavior, replicas, sync_period);
    let mut points = Vec::new();
    let started = Instant::now();
    loop {
        let elapsed = started.elapsed().as_secs_f64();
        match prometheus.value(&rule.query) {
            Ok(value) => {
                let decision = rule.decide(value);
                let before = hpa.replicas();
                // Once, the one value is a sync; live, syncs come every sync period.
                let synced = if options.once { Some(hpa.sync(elapsed, value)) } else { hpa.observe(elapsed, value) };
                let hpa_text = match synced {
                    Some(sync) => format!(
                        "hpa {} replicas (sync: {before} -> {}, recommends {})",
                        sync.replicas, sync.replicas, sync.recommendation
                    ),
                    None => format!("hpa {} replicas (no sync)", hpa.replicas()),
                };
                println!("t+{:>4}s  {}  {hpa_text}", elapsed as u64, describe(&rule, decision));
                points.push(Point {
                    at: elapsed,
                    value: Some(value),
                    desired: Some(decision.desired_replicas),
                    replicas: hpa.replicas(),
                });
            }
            // Once, an error is the answer; live, the next poll may succeed,
            // and the HPA keeps its replicas without a metric.
            Err(error) if options.once => return Err(error),
            Err(error) => {
                eprintln!("t+{:>4}s  error: {error:#}", elapsed as u64);
                points.push(Point { at: elapsed, value: None, desired: None, replicas: hpa.replicas() });
            }
        }
        if let Some(path) = &options.chart {
            chart::write(path, &rule, &options.offered_load, &points)
                .with_context(|| format!("cannot write the chart to {}", path.display()))?;
        }
        if options.once || options.duration.is_some_and(|duration| started.elapsed() + interval > duration) {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

fn describe_rules(rules: &scaling::hpa::Rules) -> String {
    let policies: Vec<String> = rules
        .policies
        .iter()
        .map(|policy| {
            let unit = match policy.kind {
                scaling::hpa::PolicyType::Pods => " pods",
                scaling::hpa::PolicyType::Percent => "%",
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

fn describe(rule: &ScalingRule, decision: Decision) -> String {
    format!(
        "value {value:.3}  active {active}  desired {desired} replicas (ceil({value:.3} / {threshold}) = {wanted}, within [{min}, {max}])",
        value = decision.value,
        active = if decision.active { "yes" } else { "no" },
        desired = decision.desired_replicas,
        threshold = rule.threshold,
        wanted = (decision.value / rule.threshold).ceil(),
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

/// The Prometheus configuration that scrapes `targets` as the ServiceMonitor
/// scrapes the Service's pods.
pub fn scrape_config(manifests_dir: &Path, targets: &[String], interval: Option<&str>) -> Result<String> {
    let monitor: ServiceMonitor = manifests::load(manifests_dir, "ServiceMonitor")?;
    let service: Service = manifests::load(manifests_dir, "Service")?;
    scaling::scrape_config::scrape_config(&monitor, &service, targets, interval)
}
