//! A Prometheus scrape configuration equivalent to what kube-prometheus's
//! operator generates from the ServiceMonitor, for local targets.

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::manifests::{self, Service, ServiceMonitor};

/// `runner scrape-config`: the configuration that scrapes `targets` as the
/// ServiceMonitor of `manifests_dir` scrapes its Service's pods.
pub fn from_manifests(manifests_dir: &std::path::Path, targets: &[String], interval: Option<&str>) -> Result<String> {
    let monitor: ServiceMonitor = manifests::load(manifests_dir, "ServiceMonitor")?;
    let service: Service = manifests::load(manifests_dir, "Service")?;
    scrape_config(&monitor, &service, targets, interval)
}

/// Scrape `targets` (host:port, one per would-be pod) the way the
/// ServiceMonitor's first endpoint scrapes the Service's pods, with the
/// target labels the operator attaches. `interval` overrides the
/// ServiceMonitor's, for tests that cannot wait for it.
pub fn scrape_config(
    monitor: &ServiceMonitor,
    service: &Service,
    targets: &[String],
    interval: Option<&str>,
) -> Result<String> {
    let Some(endpoint) = monitor.spec.endpoints.first() else {
        bail!("ServiceMonitor {} has no endpoints", monitor.metadata.name);
    };
    if targets.is_empty() {
        bail!("no targets to scrape");
    }
    let namespace = monitor
        .metadata
        .namespace
        .as_deref()
        .context("the ServiceMonitor has no namespace")?;
    let interval = interval.or(endpoint.interval.as_deref()).unwrap_or("30s");
    let service_name = &service.metadata.name;
    let static_configs: Vec<_> = targets
        .iter()
        .enumerate()
        .map(|(index, target)| {
            json!({
                "targets": [target],
                "labels": {
                    "namespace": namespace,
                    "service": service_name,
                    "pod": format!("{service_name}-local-{index}"),
                    "endpoint": endpoint.port,
                    "job": service_name,
                },
            })
        })
        .collect();
    let config = json!({
        "global": {
            "scrape_interval": interval,
            "evaluation_interval": interval,
        },
        "scrape_configs": [{
            // The operator's job name; its relabelling sets `job` to the Service.
            "job_name": format!("serviceMonitor/{namespace}/{}/0", monitor.metadata.name),
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "metrics_path": endpoint.path.as_deref().unwrap_or("/metrics"),
            "honor_labels": false,
            "static_configs": static_configs,
        }],
    });
    Ok(serde_yaml_ng::to_string(&config)?)
}
