//! The model's syncs, one rule at a time, against numbers worked out by
//! hand from the controller's functions that `super` cites.

use anyhow::Result;

use super::*;
use crate::keda::{MetricType, milli_units};
use crate::manifests::ScaledObject;

mod with_behavior;
mod without_behavior;

pub(crate) fn rule(min: u32, max: u32) -> ScalingRule {
    ScalingRule {
        server_address: "http://prometheus:9090".into(),
        query: "q".into(),
        threshold: 10.0,
        activation_threshold: 0.5,
        min_replicas: min,
        max_replicas: max,
        polling_interval_seconds: 15,
        metric_type: MetricType::AverageValue,
        use_cached_metrics: false,
        ignore_null_values: true,
    }
}

pub(crate) fn with_behavior(yaml: &str) -> Option<Behavior> {
    Some(behavior(yaml).unwrap().expect("a behavior"))
}

/// The defaults of an empty `behavior: {}` as the API server fills them in.
pub(crate) fn default_behavior() -> Option<Behavior> {
    Some(Behavior::default())
}

pub(crate) fn scaled_object(advanced: &str) -> ScaledObject {
    let yaml = format!(
        "metadata: {{name: test, namespace: test}}\n\
         spec:\n  scaleTargetRef: {{name: test}}\n  triggers: []\n  advanced:\n{advanced}"
    );
    serde_yaml_ng::from_str(&yaml).unwrap()
}

pub(super) fn behavior(yaml: &str) -> Result<Option<Behavior>> {
    Behavior::from_scaled_object(&scaled_object(yaml))
}

#[test]
fn the_ratio_of_value_to_target_decides_and_the_tolerance_holds_still() {
    // "Algorithm details": 200m against 100m doubles, 50m halves.
    let average = |value: f64, threshold: f64, current: u32| {
        metric_recommendation(MetricType::AverageValue, value, threshold, current)
    };
    assert_eq!(average(0.2 * 4.0, 0.1, 4), 8);
    assert_eq!(average(0.05 * 4.0, 0.1, 4), 2);
    // Within 1 ± 0.1 of the target, nothing changes.
    assert_eq!(average(43.9, 10.0, 4), 4);
    assert_eq!(average(36.1, 10.0, 4), 4);
    assert_eq!(average(44.1, 10.0, 4), 5);
    assert_eq!(average(35.9, 10.0, 4), 4);
    assert_eq!(average(29.9, 10.0, 4), 3);
    // At 1 replica the tolerance is ±1 req/s around the threshold.
    assert_eq!(average(10.9, 10.0, 1), 1);
    assert_eq!(average(11.1, 10.0, 1), 2);
}

#[test]
fn no_behavior_where_the_scaled_object_sets_none_and_defaults_where_it_sets_part() {
    let mut empty = scaled_object("    {}");
    assert_eq!(Behavior::from_scaled_object(&empty).unwrap(), None);
    empty.spec.advanced = None;
    assert_eq!(Behavior::from_scaled_object(&empty).unwrap(), None);
    assert_eq!(behavior("    horizontalPodAutoscalerConfig: {name: x}\n").unwrap(), None);
    // An empty behavior is a behavior: the API server fills both directions.
    let filled = with_behavior("    horizontalPodAutoscalerConfig:\n      behavior: {}\n").unwrap();
    assert_eq!(filled, Behavior::default());
    assert_eq!(filled.scale_down.stabilization_window_seconds, 300);
    assert_eq!(filled.scale_up.stabilization_window_seconds, 0);
    // A partial direction keeps the defaults of the fields it leaves out.
    let partial = with_behavior(
        "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          selectPolicy: Min\n",
    )
    .unwrap();
    assert_eq!(partial.scale_down.select_policy, SelectPolicy::Min);
    assert_eq!(partial.scale_down.stabilization_window_seconds, 300);
    assert_eq!(partial.scale_down.policies, Rules::default_scale_down().policies);
}

#[test]
fn min_and_max_bound_the_replicas() {
    let mut hpa = Hpa::new(rule(2, 6), default_behavior(), 1, 15.0);
    assert_eq!(hpa.sync(0.0, 0.0).replicas, 2, "below min jumps to min");
    assert_eq!(hpa.sync(15.0, 1000.0).replicas, 6, "capped at max");
    let mut hpa = Hpa::new(rule(1, 6), default_behavior(), 9, 15.0);
    assert_eq!(hpa.sync(0.0, 1000.0).replicas, 6, "above max falls to max");
}

#[test]
fn reads_every_5_s_sync_once_per_period() {
    let mut hpa = Hpa::new(rule(1, 10), default_behavior(), 1, 15.0);
    let synced: Vec<f64> =
        (0..10).flat_map(|i| hpa.read(f64::from(i) * 5.0, 30.0)).map(|sync| sync.at).collect();
    assert_eq!(synced, [0.0, 15.0, 30.0, 45.0]);
}

#[test]
fn the_shipped_scaled_object_is_modelled() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/base");
    let scaled_object: ScaledObject = crate::manifests::load(&directory, "ScaledObject").unwrap();
    let behavior = Behavior::from_scaled_object(&scaled_object).unwrap();
    // scaleUp unset: the API's default; scaleDown: 60 s, 50 % per 15 s.
    assert_eq!(behavior, shipped_scale_down());
    assert_eq!(behavior.unwrap().scale_up, Rules::default_scale_up());
}

/// The shipped ScaledObject's behavior: scale-down 60 s, 50 % per 15 s.
pub(crate) fn shipped_scale_down() -> Option<Behavior> {
    with_behavior(
        "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          \
         stabilizationWindowSeconds: 60\n          policies:\n          - {type: Percent, value: 50, periodSeconds: 15}\n",
    )
}

pub(crate) fn replicas_of(syncs: &[Sync]) -> Vec<u32> {
    syncs.iter().map(|sync| sync.replicas).collect()
}

// Point 1: `recordInitialRecommendation`.

#[test]
fn a_ratio_of_exactly_1_1_is_within_the_tolerance() {
    let average = |value: f64, current: u32| metric_recommendation(MetricType::AverageValue, value, 10.0, current);
    // 44 against 4 × 10 is a ratio of 1.1: `isWithin` holds 4 (the
    // pre-1.33 `|1 − ratio| ≤ 0.1` asked for 5).
    assert_eq!(average(44.0, 4), 4);
    assert_eq!(average(11.0, 1), 1);
    assert_eq!(average(66.0, 6), 6);
    // And 0.9 at the other end.
    assert_eq!(average(36.0, 4), 4);
    assert_eq!(average(54.0, 6), 6);
    // One thousandth past either end is outside.
    assert_eq!(average(44.001, 4), 5);
    assert_eq!(average(35.999, 4), 4, "ceil(3.5999) is 4 anyway");
    assert_eq!(average(53.999, 6), 6, "ceil(5.3999) is 6 anyway");
    assert!(within_tolerance(1.1) && within_tolerance(0.9));
    assert!(!within_tolerance(1.1 + 1e-12) && !within_tolerance(0.9 - 1e-12));
    // TestTolerance-like, with Value: 1.1 × the target holds too.
    assert_eq!(metric_recommendation(MetricType::Value, 11.0, 10.0, 3), 3);
    assert_eq!(metric_recommendation(MetricType::Value, 30.0, 10.0, 2), 6);
}

// Point 5: the value KEDA's adapter hands over.

#[test]
fn the_hpa_computes_on_the_adapters_thousandths() {
    let average = |value: f64, current: u32| metric_recommendation(MetricType::AverageValue, value, 10.0, current);
    // 60.0004 reaches the HPA as 60.000: 6 from 1 replica, where the raw
    // float's ceil(6.00004) is 7.
    assert_eq!(average(60.0004, 1), 6);
    // 44.0004 reaches it as 44.000, a ratio of exactly 1.1 at 4: held.
    assert_eq!(average(44.0004, 4), 4);
    // 60.0005 is stored above the tie and rounds to 60.001: 7.
    assert_eq!(average(60.0005, 1), 7);
    // A threshold written with more than three decimals is rounded too:
    // 0.0004 is 0, and 0.0006 is 0.001.
    assert_eq!(milli_units(0.0006), 1);
}

// Point 6: the HPA's own 15 s sync.

#[test]
fn the_hpa_syncs_every_15_s_whatever_keda_polls() {
    // KEDA polls every 30 s; the HPA syncs every 15 s, at 15 s and 45 s
    // with the value polled before.
    let history: Vec<(f64, f64)> = (0..3).map(|i| (f64::from(i) * 30.0, 1000.0)).collect();
    let syncs = replay(&rule(1, 100), default_behavior().as_ref(), 1, 15.0, &history);
    let at: Vec<f64> = syncs.iter().map(|sync| sync.at).collect();
    assert_eq!(at, [0.0, 15.0, 30.0, 45.0, 60.0]);
    assert_eq!(replicas_of(&syncs), [5, 10, 20, 40, 80]);
    // A step read at 30 s is first acted on at 30 s, not before; a sync
    // between reads keeps the last value.
    let mut hpa = Hpa::new(rule(1, 100), default_behavior(), 1, 15.0);
    assert_eq!(replicas_of(&hpa.read(0.0, 5.0)), [1]);
    assert_eq!(replicas_of(&hpa.read(30.0, 60.0)), [1, 5]);
    let synced = hpa.advance(45.0);
    assert_eq!((synced[0].at, synced[0].value, synced[0].replicas), (45.0, Some(60.0), 6));
    // A failed read leaves no value: the next sync changes nothing.
    let failed = hpa.read_failed(60.0);
    assert_eq!((failed[0].value, failed[0].replicas), (None, 6));
    // Before any read a sync has no metric and changes nothing.
    let mut hpa = Hpa::new(rule(1, 100), default_behavior(), 3, 15.0);
    let first = hpa.advance(0.0);
    assert_eq!((first[0].value, first[0].recommendation, first[0].replicas), (None, None, 3));
}
