//! What decides a scale-out, run locally: the ScaledObject and ServiceMonitor
//! as `manifests/` declares them, the Prometheus query the ScaledObject makes,
//! and the rule KEDA applies to its result.

#[cfg(feature = "chart")]
pub mod chart;
pub mod dashboard;
pub mod hpa;
pub mod keda;
pub mod manifests;
#[cfg(feature = "chart")]
pub mod preview;
pub mod prometheus;
pub mod scrape_config;
