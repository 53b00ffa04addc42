//! `runner preview` and `runner scrape-config`: KEDA's decision and
//! kube-prometheus's scrape job, derived from `manifests/` and run locally.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use scaling::keda::{Decision, ScalingRule};
use scaling::manifests::{self, ScaledObject, Service, ServiceMonitor};
use scaling::prometheus::Prometheus;

/// Poll `prometheus` with the ScaledObject's query and print what KEDA
/// would decide, every `interval` (the ScaledObject's polling interval by
/// default), or once.
pub fn run(
    manifests_dir: &Path,
    prometheus_url: &str,
    query: Option<String>,
    interval: Option<Duration>,
    once: bool,
) -> Result<()> {
    let scaled_object: ScaledObject = manifests::load(manifests_dir, "ScaledObject")?;
    let mut rule = ScalingRule::from_scaled_object(&scaled_object)?;
    if let Some(query) = query {
        rule.query = query;
    }
    let interval = interval.unwrap_or(Duration::from_secs(rule.polling_interval_seconds));
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
    let prometheus = Prometheus::new(prometheus_url);
    let started = Instant::now();
    loop {
        let elapsed = started.elapsed().as_secs();
        match prometheus.value(&rule.query) {
            Ok(value) => println!("t+{elapsed:>4}s  {}", describe(&rule, rule.decide(value))),
            // Once, an error is the answer; live, the next poll may succeed.
            Err(error) if once => return Err(error),
            Err(error) => eprintln!("t+{elapsed:>4}s  error: {error:#}"),
        }
        if once {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
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

/// The Prometheus configuration that scrapes `targets` as the ServiceMonitor
/// scrapes the Service's pods.
pub fn scrape_config(manifests_dir: &Path, targets: &[String], interval: Option<&str>) -> Result<String> {
    let monitor: ServiceMonitor = manifests::load(manifests_dir, "ServiceMonitor")?;
    let service: Service = manifests::load(manifests_dir, "Service")?;
    scaling::scrape_config::scrape_config(&monitor, &service, targets, interval)
}
