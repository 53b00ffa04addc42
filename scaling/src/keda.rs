//! The decision KEDA 2.20 takes from a `prometheus` trigger, with either of
//! the metric types a trigger can set in `triggers[].metricType`:
//! `AverageValue` (the default) or `Value`.

use anyhow::{Context, Result, bail};

use crate::manifests::ScaledObject;

/// The HPA target KEDA builds from the trigger's `threshold`
/// (`GetMetricTargetMili` in KEDA 2.20's `pkg/scalers/scaler.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    /// `target.averageValue = threshold`: the HPA divides the value by the
    /// replicas, so it asks for ceil(value / threshold) replicas.
    AverageValue,
    /// `target.value = threshold`: the HPA compares the whole value with the
    /// threshold, so it asks for ceil(replicas × value / threshold).
    Value,
}

/// What KEDA's adapter hands the HPA for `value`, in thousandths: KEDA 2.20
/// writes the float with `%.3f` and parses that as a `resource.Quantity`
/// (`quantityFromFloat64` behind `GenerateMetricInMili` and
/// `GetMetricTargetMili`, `pkg/scalers/scaler.go`), and the HPA reads it with
/// `MilliValue()` (`GetExternalMetric` in the controller's
/// `metrics/client.go`). So the HPA sees the value rounded to the nearest
/// thousandth, never the query's raw float; NaN, infinities and negative
/// values become 0. (KEDA up to 2.19 truncated `value × 1000` instead.)
pub fn milli_units(value: f64) -> i64 {
    if !value.is_finite() || value < 0.0 {
        return 0;
    }
    // Formatted, not multiplied: `%.3f` rounds the exact binary value, ties to
    // even, as Rust's `{:.3}` does, so both round 0.0625 to 0.062.
    let text = format!("{value:.3}");
    let (whole, thousandths) = text.split_once('.').expect("{:.3} always has a point");
    let whole: i64 = whole.parse().unwrap_or(i64::MAX / 1000);
    let thousandths: i64 = thousandths.parse().expect("three digits");
    whole.saturating_mul(1000).saturating_add(thousandths)
}

/// The parts of a ScaledObject that turn a query result into replicas.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRule {
    pub server_address: String,
    pub query: String,
    /// Target value per replica.
    pub threshold: f64,
    /// The trigger is active while the value is above this.
    pub activation_threshold: f64,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub polling_interval_seconds: u64,
    pub metric_type: MetricType,
    /// The trigger's `useCachedMetrics`: without it KEDA queries Prometheus
    /// again for each of the HPA's asks (`GetScaledObjectMetrics` in KEDA
    /// 2.20's `pkg/scaling/scale_handler.go`); with it KEDA answers from its
    /// last `pollingInterval` poll.
    pub use_cached_metrics: bool,
    /// The trigger's `ignoreNullValues` (KEDA's default `true`): whether a
    /// query that returns no series reads as 0 or is an error
    /// (`ExecutePromQuery` in KEDA 2.20's `pkg/scalers/prometheus_scaler.go`).
    pub ignore_null_values: bool,
}

/// What KEDA and the HPA it drives make of one value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub value: f64,
    pub active: bool,
    /// The count the HPA's metric computation asks for before its tolerance,
    /// clamped to [min, max]: ceil(value / threshold) for `AverageValue`,
    /// ceil(replicas × value / threshold) for `Value`, both in the
    /// thousandths KEDA's adapter hands over.
    pub desired_replicas: u32,
}

impl ScalingRule {
    pub fn from_scaled_object(scaled_object: &ScaledObject) -> Result<Self> {
        let spec = &scaled_object.spec;
        let [trigger] = spec.triggers.as_slice() else {
            bail!("expected one trigger, found {}", spec.triggers.len());
        };
        if trigger.kind != "prometheus" {
            bail!("expected a prometheus trigger, found {:?}", trigger.kind);
        }
        let field = |name: &str| {
            trigger
                .metadata
                .get(name)
                .with_context(|| format!("the trigger has no {name}"))
        };
        let number = |name: &str| -> Result<f64> {
            let text = field(name)?;
            text.parse()
                .with_context(|| format!("{name} {text:?} is not a number"))
        };
        // KEDA reads the type from the trigger itself and ignores a
        // `metricType` key in `metadata`; one there is a mistake the cluster
        // would not report, so the preview does.
        if let Some(misplaced) = trigger.metadata.get("metricType") {
            bail!(
                "the trigger's metadata sets metricType {misplaced:?}, which KEDA ignores; \
                 the metric type goes in triggers[].metricType"
            );
        }
        let metric_type = match trigger.metric_type.as_deref() {
            None | Some("AverageValue") => MetricType::AverageValue,
            Some("Value") => MetricType::Value,
            // `GetMetricTargetType` refuses Utilization for every scaler.
            Some(other) => bail!("triggers[].metricType is {other:?}; KEDA takes AverageValue or Value"),
        };
        Ok(Self {
            server_address: field("serverAddress")?.clone(),
            query: field("query")?.clone(),
            threshold: number("threshold")?,
            activation_threshold: trigger
                .metadata
                .get("activationThreshold")
                .map_or(Ok(0.0), |_| number("activationThreshold"))?,
            min_replicas: spec.min_replica_count,
            max_replicas: spec.max_replica_count,
            polling_interval_seconds: spec.polling_interval,
            metric_type,
            use_cached_metrics: trigger.use_cached_metrics,
            // KEDA parses it with Go's strconv.ParseBool.
            ignore_null_values: match trigger.metadata.get("ignoreNullValues").map(String::as_str) {
                None | Some("1" | "t" | "T" | "true" | "TRUE" | "True") => true,
                Some("0" | "f" | "F" | "false" | "FALSE" | "False") => false,
                Some(other) => bail!("ignoreNullValues {other:?} is not a boolean"),
            },
        })
    }

    /// KEDA's view of `value` with `replicas` running (only `Value` depends on them).
    pub fn decide(&self, value: f64, replicas: u32) -> Decision {
        let ratio = milli_units(value) as f64 / milli_units(self.threshold) as f64;
        let wanted = match self.metric_type {
            MetricType::AverageValue => ratio.ceil(),
            MetricType::Value => (ratio * f64::from(replicas)).ceil(),
        };
        // The float-to-int cast saturates, so a huge value clamps to max.
        let desired_replicas = (wanted.max(0.0) as u32).clamp(self.min_replicas, self.max_replicas);
        Decision { value, active: value > self.activation_threshold, desired_replicas }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> ScalingRule {
        ScalingRule {
            server_address: "http://prometheus:9090".into(),
            query: "q".into(),
            threshold: 10.0,
            activation_threshold: 0.5,
            min_replicas: 1,
            max_replicas: 10,
            polling_interval_seconds: 15,
            metric_type: MetricType::AverageValue,
            use_cached_metrics: false,
            ignore_null_values: true,
        }
    }

    fn scaled_object(trigger: &str) -> ScaledObject {
        let yaml = format!(
            "metadata: {{name: test}}\n\
             spec:\n  scaleTargetRef: {{name: test}}\n  triggers:\n  - type: prometheus\n    \
             metadata: {{serverAddress: 'http://p:9090', query: q, threshold: '10'}}\n{trigger}"
        );
        serde_yaml_ng::from_str(&yaml).unwrap()
    }

    #[test]
    fn desired_is_ceil_of_value_over_threshold_clamped() {
        let rule = rule();
        assert_eq!(rule.decide(0.0, 1).desired_replicas, 1);
        assert_eq!(rule.decide(10.0, 1).desired_replicas, 1);
        assert_eq!(rule.decide(10.1, 1).desired_replicas, 2);
        assert_eq!(rule.decide(87.0, 1).desired_replicas, 9);
        assert_eq!(rule.decide(1e12, 1).desired_replicas, 10);
        // The adapter's thousandths: 10.0004 reaches the HPA as 10.000.
        assert_eq!(rule.decide(10.0004, 1).desired_replicas, 1);
        assert_eq!(rule.decide(10.0005, 1).desired_replicas, 2);
    }

    #[test]
    fn the_adapter_hands_over_the_value_rounded_to_thousandths() {
        assert_eq!(milli_units(60.0), 60_000);
        assert_eq!(milli_units(60.0025), 60_002, "60.0025 is stored a little below the tie");
        assert_eq!(milli_units(10.0005), 10_001, "10.0005 is stored a little above it");
        assert_eq!(milli_units(60.0004), 60_000);
        assert_eq!(milli_units(59.9996), 60_000);
        // Exact binary ties go to even, as Go's %.3f does.
        assert_eq!(milli_units(0.0625), 62);
        assert_eq!(milli_units(0.1875), 188);
        assert_eq!(milli_units(10.0), 10_000);
        assert_eq!(milli_units(-1.0), 0);
        assert_eq!(milli_units(f64::NAN), 0);
        assert_eq!(milli_units(f64::INFINITY), 0);
    }

    #[test]
    fn the_metric_type_is_read_from_the_trigger_not_its_metadata() {
        let average = ScalingRule::from_scaled_object(&scaled_object("")).unwrap();
        assert_eq!(average.metric_type, MetricType::AverageValue);
        assert!(!average.use_cached_metrics);
        let value =
            ScalingRule::from_scaled_object(&scaled_object("    metricType: Value\n    useCachedMetrics: true\n"))
                .unwrap();
        assert_eq!(value.metric_type, MetricType::Value);
        assert!(value.use_cached_metrics);
        // Value scales with the replicas running: 30 against 10 from 2 is 6.
        assert_eq!(value.decide(30.0, 2).desired_replicas, 6);
        assert_eq!(average.decide(30.0, 2).desired_replicas, 3);

        let misplaced = scaled_object("");
        let mut misplaced = misplaced;
        misplaced.spec.triggers[0].metadata.insert("metricType".into(), "Value".into());
        let error = format!("{:#}", ScalingRule::from_scaled_object(&misplaced).unwrap_err());
        assert!(error.contains("triggers[].metricType"), "{error}");
        let utilization = ScalingRule::from_scaled_object(&scaled_object("    metricType: Utilization\n"));
        assert!(format!("{:#}", utilization.unwrap_err()).contains("Utilization"));
    }

    #[test]
    fn no_data_reads_as_zero_unless_ignore_null_values_is_false() {
        let with = |value: &str| {
            let mut object = scaled_object("");
            object.spec.triggers[0].metadata.insert("ignoreNullValues".into(), value.into());
            ScalingRule::from_scaled_object(&object)
        };
        assert!(ScalingRule::from_scaled_object(&scaled_object("")).unwrap().ignore_null_values, "KEDA's default");
        assert!(!with("false").unwrap().ignore_null_values);
        assert!(!with("0").unwrap().ignore_null_values);
        assert!(with("True").unwrap().ignore_null_values);
        assert!(format!("{:#}", with("no").unwrap_err()).contains("ignoreNullValues \"no\" is not a boolean"));
        let shipped: ScaledObject =
            crate::manifests::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/base"), "ScaledObject").unwrap();
        assert!(!ScalingRule::from_scaled_object(&shipped).unwrap().ignore_null_values);
    }

    #[test]
    fn active_above_the_activation_threshold() {
        let rule = rule();
        assert!(!rule.decide(0.0, 1).active);
        assert!(!rule.decide(0.5, 1).active);
        assert!(rule.decide(0.51, 1).active);
    }
}
