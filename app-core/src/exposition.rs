use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet, prometheus_text, text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::registry::Registry;

use crate::observations::{BUCKET_UPPER_BOUNDS_SECONDS, Observations};

// Names and help texts of the Python demo, so that dashboards, the
// ServiceMonitor and the ScaledObject work unchanged on either app.
const REQUESTS: &str = "python_request_operations";
const REQUESTS_HELP: &str = "The total number of processed requests";
const DURATION: &str = "python_request_duration_seconds";
// prometheus-client ends every help text with a full stop.
const DURATION_HELP: &str = "Histogram for the duration in seconds";

/// The two exposition formats a scraper can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0, what Prometheus asks for first.
    OpenMetrics,
    /// The Prometheus text format 0.0.4, the fallback for everyone else.
    Text,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => prometheus_text::CONTENT_TYPE,
        }
    }
}

impl Observations {
    /// The exposition of these observations in `format`.
    ///
    /// prometheus-client 0.26 writes no `_created` sample inside a counter or
    /// classic histogram family, so each `_created` series is its own gauge
    /// family, exactly as the Python client writes them in the text format.
    /// Prometheus stores the same series either way.
    pub fn encode(&self, format: Format) -> String {
        let mut registry = Registry::default();
        registry.register(REQUESTS, REQUESTS_HELP, ConstCounter::new(self.count()));
        registry.register(format!("{REQUESTS}_created"), REQUESTS_HELP, Timestamp(self.created_unix_seconds));
        registry.register(DURATION, DURATION_HELP, HistogramSnapshot::from(self));
        registry.register(format!("{DURATION}_created"), DURATION_HELP, Timestamp(self.created_unix_seconds));

        let mut body = String::with_capacity(1024);
        // Writing into a String cannot fail; an error here is a bug in the encoder.
        match format {
            Format::OpenMetrics => text::encode(&mut body, &registry),
            Format::Text => prometheus_text::encode(&mut body, &registry),
        }
        .expect("encoding into a String is infallible");
        body
    }
}

// The registry requires `Debug` of every metric and keeps it in a vtable, so
// a derived `Debug` would link float formatting into the component: the two
// types below describe themselves by name only.

/// A `_created` series: seconds since the epoch, as a gauge.
struct Timestamp(f64);

impl EncodeMetric for Timestamp {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&self.0)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}

impl std::fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Timestamp")
    }
}

/// A histogram read back from storage: prometheus-client's own `Histogram`
/// only records observations made in this process.
struct HistogramSnapshot {
    /// (upper bound, non-cumulative count); the encoder accumulates.
    buckets: Vec<(f64, u64)>,
    sum_seconds: f64,
    count: u64,
}

impl From<&Observations> for HistogramSnapshot {
    fn from(observations: &Observations) -> Self {
        let upper_bounds = BUCKET_UPPER_BOUNDS_SECONDS
            .iter()
            .map(|&bound| bound as f64)
            .chain([f64::INFINITY]);
        Self {
            buckets: upper_bounds.zip(observations.bucket_counts).collect(),
            sum_seconds: observations.sum_seconds(),
            count: observations.count(),
        }
    }
}

impl std::fmt::Debug for HistogramSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HistogramSnapshot")
    }
}

impl EncodeMetric for HistogramSnapshot {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum_seconds, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn three_requests() -> Observations {
        let mut observations = Observations {
            created_unix_seconds: 1_700_000_000.5,
            ..Observations::default()
        };
        observations.observe(Duration::from_millis(600));
        observations.observe(Duration::from_secs(1));
        observations.observe(Duration::from_millis(5_500));
        observations
    }

    #[test]
    fn text_format_matches_the_python_families() {
        let expected = "\
# HELP python_request_operations_total The total number of processed requests.
# TYPE python_request_operations_total counter
python_request_operations_total 3
# HELP python_request_operations_created The total number of processed requests.
# TYPE python_request_operations_created gauge
python_request_operations_created 1700000000.5
# HELP python_request_duration_seconds Histogram for the duration in seconds.
# TYPE python_request_duration_seconds histogram
python_request_duration_seconds_bucket{le=\"1\"} 2
python_request_duration_seconds_bucket{le=\"2\"} 2
python_request_duration_seconds_bucket{le=\"5\"} 2
python_request_duration_seconds_bucket{le=\"6\"} 3
python_request_duration_seconds_bucket{le=\"10\"} 3
python_request_duration_seconds_bucket{le=\"+Inf\"} 3
python_request_duration_seconds_sum 7.1
python_request_duration_seconds_count 3
# HELP python_request_duration_seconds_created Histogram for the duration in seconds.
# TYPE python_request_duration_seconds_created gauge
python_request_duration_seconds_created 1700000000.5
";
        assert_eq!(three_requests().encode(Format::Text), expected);
    }

    #[test]
    fn openmetrics_format_names_families_without_suffixes_and_ends_with_eof() {
        let expected = "\
# HELP python_request_operations The total number of processed requests.
# TYPE python_request_operations counter
python_request_operations_total 3
# HELP python_request_operations_created The total number of processed requests.
# TYPE python_request_operations_created gauge
python_request_operations_created 1700000000.5
# HELP python_request_duration_seconds Histogram for the duration in seconds.
# TYPE python_request_duration_seconds histogram
python_request_duration_seconds_sum 7.1
python_request_duration_seconds_count 3
python_request_duration_seconds_bucket{le=\"1.0\"} 2
python_request_duration_seconds_bucket{le=\"2.0\"} 2
python_request_duration_seconds_bucket{le=\"5.0\"} 2
python_request_duration_seconds_bucket{le=\"6.0\"} 3
python_request_duration_seconds_bucket{le=\"10.0\"} 3
python_request_duration_seconds_bucket{le=\"+Inf\"} 3
# HELP python_request_duration_seconds_created Histogram for the duration in seconds.
# TYPE python_request_duration_seconds_created gauge
python_request_duration_seconds_created 1700000000.5
# EOF
";
        assert_eq!(three_requests().encode(Format::OpenMetrics), expected);
    }

    #[test]
    fn empty_observations_still_expose_every_series() {
        let text = Observations::default().encode(Format::Text);
        assert!(text.contains("python_request_operations_total 0\n"));
        assert!(text.contains("python_request_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
        assert!(text.contains("python_request_duration_seconds_count 0\n"));
    }
}
