//! Instant queries against Prometheus's HTTP API, with the checks KEDA's
//! prometheus scaler applies to their result.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::keda::ScalingRule;

/// One series of an instant-query result.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

pub struct Prometheus {
    base_url: String,
    agent: ureq::Agent,
}

#[derive(Deserialize)]
struct Response {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<VectorSample>),
    Scalar((f64, String)),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct VectorSample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

impl Prometheus {
    pub fn new(base_url: &str) -> Self {
        Self::with_timeout(base_url, Duration::from_secs(10))
    }

    /// As [`Self::new`], giving up on a query after `timeout`: a stopped
    /// Prometheus accepts connections and never answers.
    pub fn with_timeout(base_url: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Self { base_url: base_url.trim_end_matches('/').to_owned(), agent }
    }

    /// Every series `query` returns now.
    pub fn query(&self, query: &str) -> Result<Vec<Sample>> {
        let url = format!("{}/api/v1/query", self.base_url);
        let mut response = self
            .agent
            .get(&url)
            .query("query", query)
            .call()
            .with_context(|| format!("Prometheus at {} is unreachable", self.base_url))?;
        let status = response.status();
        let body = response.body_mut().read_to_string()?;
        let parsed: Response = serde_json::from_str(&body)
            .with_context(|| format!("Prometheus answered {status} with no API response: {body:.200}"))?;
        if parsed.status != "success" {
            bail!("Prometheus rejected the query: {}", parsed.error.unwrap_or(parsed.status));
        }
        let samples = match parsed.data.context("Prometheus answered without data")? {
            Data::Vector(samples) => samples
                .into_iter()
                .map(|sample| Ok(Sample { labels: sample.metric, value: parse_value(&sample.value.1)? }))
                .collect::<Result<_>>()?,
            Data::Scalar((_, value)) => vec![Sample { labels: BTreeMap::new(), value: parse_value(&value)? }],
            Data::Matrix(_) | Data::String(_) => bail!("the query must return an instant vector or a scalar"),
        };
        Ok(samples)
    }

    /// The single value KEDA's prometheus scaler needs from `query`: it fails
    /// on several series, and a value that is not a number cannot be scaled on.
    pub fn value(&self, query: &str) -> Result<f64> {
        self.value_or_empty(query)?.context("the query returned no data: is Prometheus scraping the app yet?")
    }

    /// What KEDA's prometheus scaler reads for `rule`: as [`Self::value`],
    /// but no series reads as 0 when the trigger's `ignoreNullValues` is
    /// true (KEDA's default).
    pub fn keda_value(&self, rule: &ScalingRule) -> Result<f64> {
        match self.value_or_empty(&rule.query)? {
            Some(value) => Ok(value),
            None if rule.ignore_null_values => Ok(0.0),
            None => bail!("the query returned no data: is Prometheus scraping the app yet? (ignoreNullValues: \"false\" makes it an error)"),
        }
    }

    fn value_or_empty(&self, query: &str) -> Result<Option<f64>> {
        let samples = self.query(query)?;
        let value = match samples.as_slice() {
            [] => return Ok(None),
            [sample] => sample.value,
            several => bail!(
                "the query returned {} series, and KEDA accepts exactly one: aggregate it, e.g. sum(...)",
                several.len()
            ),
        };
        if !value.is_finite() {
            bail!("the query returned {value}, not a number KEDA can scale on");
        }
        Ok(Some(value))
    }
}

/// Prometheus writes sample values as strings, `NaN` and `+Inf` included.
fn parse_value(text: &str) -> Result<f64> {
    text.parse().with_context(|| format!("Prometheus returned a malformed value {text:?}"))
}
