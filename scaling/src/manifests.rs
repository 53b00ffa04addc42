//! The objects in `manifests/base` that the scaling signal depends on.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Every YAML document in the `.yaml` files of `directory`.
pub fn documents(directory: &Path) -> Result<Vec<serde_yaml_ng::Value>> {
    let mut paths: Vec<_> = std::fs::read_dir(directory)
        .with_context(|| format!("cannot read {}", directory.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|path| path.extension().is_some_and(|extension| extension == "yaml"));
    paths.sort();
    let mut documents = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = serde_yaml_ng::Value::deserialize(document)
                .with_context(|| format!("invalid YAML in {}", path.display()))?;
            if !value.is_null() {
                documents.push(value);
            }
        }
    }
    Ok(documents)
}

/// The one object of `kind` in `directory`.
pub fn load<T: DeserializeOwned>(directory: &Path, kind: &str) -> Result<T> {
    let mut found = documents(directory)?
        .into_iter()
        .filter(|document| document.get("kind").and_then(|k| k.as_str()) == Some(kind));
    let Some(object) = found.next() else {
        bail!("no {kind} in {}", directory.display());
    };
    ensure!(found.next().is_none(), "more than one {kind} in {}", directory.display());
    serde_yaml_ng::from_value(object).with_context(|| format!("unexpected {kind} in {}", directory.display()))
}

#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObject {
    pub metadata: Metadata,
    pub spec: ScaledObjectSpec,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObjectSpec {
    pub scale_target_ref: ScaleTargetRef,
    /// Seconds between KEDA's polls; KEDA's default is 30.
    #[serde(default = "default_polling_interval")]
    pub polling_interval: u64,
    #[serde(default)]
    pub min_replica_count: u32,
    #[serde(default = "default_max_replica_count")]
    pub max_replica_count: u32,
    pub triggers: Vec<Trigger>,
    /// `advanced`, read by `hpa::Behavior` into types of its own, which refuse what the model does not know.
    #[serde(default)]
    pub advanced: Option<serde_yaml_ng::Value>,
}

fn default_polling_interval() -> u64 {
    30
}

fn default_max_replica_count() -> u32 {
    100
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleTargetRef {
    #[serde(default)]
    pub kind: Option<String>,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    #[serde(rename = "type")]
    pub kind: String,
    pub metadata: std::collections::BTreeMap<String, String>,
    /// `triggers[].metricType`: `AverageValue` (KEDA's default when absent) or `Value`.
    #[serde(default)]
    pub metric_type: Option<String>,
    /// `triggers[].useCachedMetrics`: answer the HPA from the last poll instead of querying anew.
    #[serde(default)]
    pub use_cached_metrics: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitor {
    pub metadata: Metadata,
    pub spec: ServiceMonitorSpec,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ServiceMonitorSpec {
    pub endpoints: Vec<Endpoint>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub port: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub interval: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Service {
    pub metadata: Metadata,
}
