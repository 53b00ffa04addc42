//! The Grafana dashboard in `manifests/monitoring`, read for its queries.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// The dashboard's file, relative to the repository.
pub const PATH: &str = "manifests/monitoring/keda-spin-autoscaling.json";

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    pub schema_version: u32,
    pub templating: Templating,
    pub panels: Vec<Panel>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Templating {
    pub list: Vec<Variable>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Variable {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub query: serde_json::Value,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    pub id: u32,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub datasource: DataSource,
    pub grid_pos: serde_json::Value,
    #[serde(default)]
    pub targets: Vec<Target>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DataSource {
    #[serde(rename = "type")]
    pub kind: String,
    pub uid: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub ref_id: String,
    pub expr: String,
    pub datasource: DataSource,
    #[serde(default)]
    pub legend_format: Option<String>,
}

impl Dashboard {
    pub fn load(path: &Path) -> Result<Dashboard> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a dashboard", path.display()))
    }

    /// (panel title, PromQL) for every query of every panel.
    pub fn queries(&self) -> Vec<(&str, &str)> {
        self.panels
            .iter()
            .flat_map(|panel| panel.targets.iter().map(move |target| (panel.title.as_str(), target.expr.as_str())))
            .collect()
    }
}
