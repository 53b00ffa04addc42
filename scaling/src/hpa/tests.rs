//! The model's syncs, one rule at a time, against numbers worked out by
//! hand from the controller's functions that `super` cites.

use anyhow::Result;

use super::*;
use crate::manifests::ScaledObject;

fn rule(min: u32, max: u32) -> ScalingRule {
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

fn with_behavior(yaml: &str) -> Option<Behavior> {
    Some(behavior(yaml).unwrap().expect("a behavior"))
}

/// The defaults of an empty `behavior: {}` as the API server fills them in.
fn default_behavior() -> Option<Behavior> {
    Some(Behavior::default())
}

fn scaled_object(advanced: &str) -> ScaledObject {
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
fn default_scale_up_is_the_larger_of_100_percent_and_4_pods_per_15_s() {
    let mut hpa = Hpa::new(rule(1, 100), default_behavior(), 1, 15.0);
    // 1 → 5 (4 pods beat 100 %), 5 → 10 (100 % beats 4 pods), 10 → 20.
    let steps: Vec<u32> = (0..4).map(|i| hpa.sync(f64::from(i) * 15.0, 1000.0).replicas).collect();
    assert_eq!(steps, [5, 10, 20, 40]);
    // Twice within one period: the second sync may not add more.
    let mut hpa = Hpa::new(rule(1, 100), default_behavior(), 1, 15.0);
    assert_eq!(hpa.sync(0.0, 1000.0).replicas, 5);
    assert_eq!(hpa.sync(5.0, 1000.0).replicas, 5);
    assert_eq!(hpa.sync(15.0, 1000.0).replicas, 10);
}

#[test]
fn default_scale_down_waits_300_s_for_the_highest_recommendation() {
    let mut hpa = Hpa::new(rule(1, 100), default_behavior(), 1, 15.0);
    assert_eq!(hpa.sync(0.0, 60.0).replicas, 5);
    assert_eq!(hpa.sync(15.0, 60.0).replicas, 6);
    let mut t = 30.0;
    while t < 315.0 {
        assert_eq!(hpa.sync(t, 0.0).replicas, 6, "at {t}");
        t += 15.0;
    }
    // The 60 req/s recommendation at 15 s has left the window; 100 % per 15 s allows the whole way.
    assert_eq!(hpa.sync(315.0, 0.0).replicas, 1);
}

#[test]
fn the_docs_example_of_4_pods_or_10_percent_per_minute_scales_down() {
    // "Scaling policies": 80 replicas scaling to 10, Pods 4/60 s and
    // Percent 10/60 s, selectPolicy Max: 8 go first; at 72, 10 % is 7.2,
    // rounded up to 8 pods; below 40 replicas the Pods policy, 4 a time.
    let behavior = with_behavior(
        "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          \
         stabilizationWindowSeconds: 0\n          policies:\n          - {type: Pods, value: 4, periodSeconds: 60}\n          \
         - {type: Percent, value: 10, periodSeconds: 60}\n",
    );
    let mut hpa = Hpa::new(rule(1, 100), behavior, 80, 15.0);
    let counts: Vec<u32> = (0..14).map(|minute| hpa.sync(f64::from(minute) * 60.0, 100.0).replicas).collect();
    // 10 % of 80, 72, 64, 57, 51, 45 (rounded up to whole pods), then 4 a time from 40.
    assert_eq!(counts, [72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16, 12, 10]);
    // Within one minute no second step.
    let mut hpa2 = Hpa::new(rule(1, 100), hpa.behavior.clone(), 80, 15.0);
    assert_eq!(hpa2.sync(0.0, 100.0).replicas, 72);
    assert_eq!(hpa2.sync(30.0, 100.0).replicas, 72);
}

#[test]
fn select_policy_min_and_disabled() {
    let min = with_behavior(
        "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n          selectPolicy: Min\n",
    );
    // Min of 100 % and 4 pods: from 10, 14.
    let mut hpa = Hpa::new(rule(1, 100), min, 10, 15.0);
    assert_eq!(hpa.sync(0.0, 1000.0).replicas, 14);
    let disabled = with_behavior(
        "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          selectPolicy: Disabled\n",
    );
    let mut hpa = Hpa::new(rule(1, 100), disabled, 10, 15.0);
    assert_eq!(hpa.sync(0.0, 0.0).replicas, 10);
    assert_eq!(hpa.sync(1000.0, 0.0).replicas, 10);
    assert_eq!(hpa.sync(1015.0, 1000.0).replicas, 20);
}

#[test]
fn scale_up_stabilization_takes_the_lowest_recommendation() {
    let behavior = with_behavior(
        "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n          stabilizationWindowSeconds: 30\n",
    );
    let mut hpa = Hpa::new(rule(1, 100), behavior, 1, 15.0);
    assert_eq!(hpa.sync(0.0, 5.0).replicas, 1);
    assert_eq!(hpa.sync(15.0, 60.0).replicas, 1, "the 0 s recommendation of 1 is still in the window");
    assert_eq!(hpa.sync(30.0, 60.0).replicas, 5, "only 6s in the window; 4 pods per 15 s");
    assert_eq!(hpa.sync(45.0, 60.0).replicas, 6);
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
fn the_shipped_scale_down_halves_every_15_s_after_60_s() {
    let behavior = shipped_scale_down();
    let history: Vec<(f64, f64)> =
        (0..20).map(|i| (f64::from(i) * 15.0, if i < 2 { 80.0 } else { 0.0 })).collect();
    let replicas: Vec<u32> =
        replay(&rule(1, 10), behavior.as_ref(), 1, 15.0, &history).iter().map(|s| s.replicas).collect();
    // 1 → 5 → 8; the last 8 (at 15 s) holds until it leaves the 60 s
    // window at 75 s, then halving every 15 s: 4, 2, 1.
    assert_eq!(replicas[..10], [5, 8, 8, 8, 8, 4, 2, 1, 1, 1]);
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
fn shipped_scale_down() -> Option<Behavior> {
    with_behavior(
        "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          \
         stabilizationWindowSeconds: 60\n          policies:\n          - {type: Percent, value: 50, periodSeconds: 15}\n",
    )
}

fn replicas_of(syncs: &[Sync]) -> Vec<u32> {
    syncs.iter().map(|sync| sync.replicas).collect()
}

// Point 1: `recordInitialRecommendation`.

#[test]
fn the_first_sync_records_the_current_replicas_and_the_scale_down_window_holds_them() {
    // From 5 replicas with no load: the recommendation of 5 recorded at
    // the first sync holds them for the 60 s window, then 50 % per 15 s.
    let history: Vec<(f64, f64)> = (0..8).map(|i| (f64::from(i) * 15.0, 0.0)).collect();
    let syncs = replay(&rule(1, 10), shipped_scale_down().as_ref(), 5, 15.0, &history);
    assert_eq!(replicas_of(&syncs), [5, 5, 5, 5, 2, 1, 1, 1]);
    assert_eq!(syncs[0].recommendation, Some(0), "the metric alone asks for 0");
    // The controller's TestScaleDownStabilizeInitialSize: no behavior, min 2,
    // max 6, 5 replicas, a metric asking for fewer: the first sync keeps 5.
    let mut hpa = Hpa::new(rule(2, 6), None, 5, 15.0);
    assert_eq!(hpa.sync(0.0, 25.0).replicas, 5);
}

#[test]
fn the_first_sync_records_the_current_replicas_and_the_scale_up_window_holds_them() {
    // A 30 s scale-up window from 1 replica at 60 req/s: the recorded 1 is
    // the lowest recommendation until it leaves the window at 30 s.
    let behavior = with_behavior(
        "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n          stabilizationWindowSeconds: 30\n",
    );
    let history: Vec<(f64, f64)> = (0..4).map(|i| (f64::from(i) * 15.0, 60.0)).collect();
    assert_eq!(replicas_of(&replay(&rule(1, 10), behavior.as_ref(), 1, 15.0, &history)), [1, 1, 5, 6]);
}

// Point 2: no `behavior`, `normalizeDesiredReplicas`.

#[test]
fn without_behavior_the_scale_up_limit_is_twice_the_replicas_or_4_per_sync() {
    let history: Vec<(f64, f64)> = (0..4).map(|i| (f64::from(i) * 15.0, 1000.0)).collect();
    // No behavior: max(2 × replicas, 4) each sync.
    assert_eq!(replicas_of(&replay(&rule(1, 100), None, 1, 15.0, &history)), [4, 8, 16, 32]);
    // The documented defaults written out are the other path: the larger
    // of +4 pods and +100 % per 15 s.
    assert_eq!(replicas_of(&replay(&rule(1, 100), default_behavior().as_ref(), 1, 15.0, &history)), [5, 10, 20, 40]);
    // The controller's TestConvertDesiredReplicasWithRules.
    assert_eq!(convert_without_behavior(5, 7, 3, 8), 7);
    assert_eq!(convert_without_behavior(3, 1, 2, 8), 2);
    assert_eq!(convert_without_behavior(1, 0, 0, 10), 0);
    assert_eq!(convert_without_behavior(20, 1000, 1, 10), 10);
    assert_eq!(convert_without_behavior(3, 1000, 1, 2000), 6);
}

#[test]
fn without_behavior_scale_down_waits_300_s_then_drops_at_once() {
    // From 8 replicas with no load: held by the recorded 8 for 300 s, then
    // straight to min, with no rate limit on this path.
    let history: Vec<(f64, f64)> = (0..23).map(|i| (f64::from(i) * 15.0, 0.0)).collect();
    let replicas = replicas_of(&replay(&rule(1, 10), None, 8, 15.0, &history));
    assert_eq!(replicas[..20], [8; 20]);
    assert_eq!(replicas[20..], [1, 1, 1]);
}

#[test]
fn without_behavior_a_higher_recommendation_in_the_window_scales_up() {
    // The controller's TestNormalizeDesiredReplicas: the highest of the
    // window, not bounded by the current replicas.
    // (name, log as (replicas, stamp), desired, stabilized, records after)
    type Case = (&'static str, Vec<(u32, f64)>, u32, u32, usize);
    let cases: [Case; 5] = [
        ("empty log", vec![], 5, 5, 1),
        ("stabilize", vec![(4, -120.0), (5, -60.0)], 3, 5, 3),
        ("no stabilize", vec![(1, -120.0), (2, -60.0)], 3, 3, 3),
        ("no stabilize - old recommendations", vec![(10, -600.0), (9, -540.0)], 3, 3, 2),
        ("stabilize - old recommendations", vec![(10, -600.0), (4, -60.0), (5, -120.0), (9, -540.0)], 3, 5, 4),
    ];
    for (name, log, desired, expected, length) in cases {
        let mut recommendations: Vec<Recommendation> =
            log.into_iter().map(|(replicas, at)| Recommendation { replicas, at }).collect();
        assert_eq!(stabilize_without_behavior(&mut recommendations, 0.0, desired, 300), expected, "{name}");
        assert_eq!(recommendations.len(), length, "{name}");
    }
    // In a whole HPA: 9 recommended 1 minute ago, 5 running, 3 asked for now: 9.
    let mut hpa = Hpa::new(rule(1, 20), None, 5, 15.0);
    hpa.recommendations = vec![Recommendation { replicas: 9, at: 0.0 }];
    assert_eq!(hpa.sync(60.0, 30.0).replicas, 9);
    // With a behavior the current replicas bound it: it stays at 5.
    let mut hpa = Hpa::new(rule(1, 20), default_behavior(), 5, 15.0);
    hpa.recommendations = vec![Recommendation { replicas: 9, at: 0.0 }];
    assert_eq!(hpa.sync(60.0, 30.0).replicas, 5);
}

#[test]
fn with_behavior_stabilization_follows_the_controllers_cases() {
    // TestNormalizeDesiredReplicasWithBehavior, at now = 0: (log, current,
    // desired, up window, down window) → (stabilized, replicas stored in order).
    type Case = (&'static str, Vec<(u32, f64)>, u32, u32, u32, u32, u32, Vec<u32>);
    let cases: Vec<Case> = vec![
        ("empty, down", vec![], 100, 5, 0, 0, 5, vec![5]),
        ("simple down", vec![(4, -120.0), (5, -60.0)], 100, 3, 0, 180, 5, vec![4, 5, 3]),
        ("simple up", vec![(4, -120.0), (5, -60.0)], 1, 7, 300, 0, 4, vec![4, 5, 7]),
        ("no down", vec![(1, -120.0), (2, -60.0)], 100, 3, 300, 0, 3, vec![1, 2, 3]),
        ("no up", vec![(4, -120.0), (5, -60.0)], 1, 3, 0, 300, 3, vec![4, 5, 3]),
        ("no down, reuse", vec![(10, -600.0), (9, -540.0)], 100, 3, 0, 0, 3, vec![10, 3]),
        ("no up, reuse", vec![(10, -600.0), (9, -540.0)], 1, 100, 0, 0, 100, vec![10, 100]),
        (
            "down, reuse one",
            vec![(10, -600.0), (4, -60.0), (5, -120.0), (9, -540.0)],
            100,
            3,
            0,
            180,
            5,
            vec![10, 4, 5, 3],
        ),
        (
            "up, reuse one",
            vec![(10, -6000.0), (6, -60.0), (5, -120.0), (9, -180.0)],
            1,
            100,
            300,
            300,
            5,
            vec![100, 6, 5, 9],
        ),
        ("up and down, no up", vec![(2, -6000.0), (3, -180.0)], 2, 1, 300, 300, 2, vec![1, 3]),
        ("up and down, no down", vec![(2, -6000.0), (1, -180.0)], 2, 3, 300, 300, 2, vec![3, 1]),
    ];
    for (name, log, current, desired, up, down, expected, stored) in cases {
        let mut recommendations: Vec<Recommendation> =
            log.into_iter().map(|(replicas, at)| Recommendation { replicas, at }).collect();
        assert_eq!(stabilize_with_behavior(&mut recommendations, 0.0, current, desired, up, down), expected, "{name}");
        assert_eq!(recommendations.iter().map(|r| r.replicas).collect::<Vec<_>>(), stored, "{name}");
    }
}

// Point 3: scale events per direction.

#[test]
fn scale_events_are_stored_and_outdated_as_the_controller_does() {
    // TestStoreScaleEvents, at now = 0, storing a change of 5 with the
    // direction's policies: (events before as (change, age), longest
    // policy period, change within 60 s before, events after as (change, outdated)).
    type Case = (&'static str, Vec<(u32, f64)>, u32, u32, Vec<(u32, bool)>);
    let cases: Vec<Case> = vec![
        ("empty", vec![], 60, 0, vec![(5, false)]),
        ("one outdated, replaced", vec![(7, 61.0)], 60, 0, vec![(5, false)]),
        ("one actual, kept", vec![(7, 58.0)], 60, 7, vec![(7, false), (5, false)]),
        ("two, one replaced", vec![(7, 61.0), (6, 59.0)], 60, 6, vec![(5, false), (6, false)]),
        (
            "different periods, the last outdated replaced",
            vec![(8, 29.0), (6, 59.0), (7, 61.0), (9, 61.0)],
            60,
            14,
            vec![(8, false), (6, false), (7, true), (5, false)],
        ),
        ("two, both actual", vec![(7, 58.0), (6, 59.0)], 120, 13, vec![(7, false), (6, false), (5, false)]),
    ];
    for (name, before, longest, changed, after) in cases {
        let mut events: Vec<ScaleEvent> =
            before.into_iter().map(|(replica_change, age)| ScaleEvent { replica_change, at: -age, outdated: false }).collect();
        assert_eq!(replicas_changed_within(&events, 0.0, 60), changed, "{name}");
        store_scale_event(&mut events, 0.0, 5, longest);
        let got: Vec<(u32, bool)> = events.iter().map(|event| (event.replica_change, event.outdated)).collect();
        assert_eq!(got, after, "{name}");
    }
    // Without behavior no event is stored at all.
    let mut hpa = Hpa::new(rule(1, 10), None, 1, 15.0);
    hpa.sync(0.0, 100.0);
    assert!(hpa.scale_up_events.is_empty() && hpa.scale_down_events.is_empty());
    // TestCalculateScaleUpLimitWithScalingRules and ...ScaleDownLimitWithBehaviors:
    // selectPolicy Min of 2 pods and 50 % per 60 s.
    let min_rules = Rules {
        stabilization_window_seconds: 300,
        select_policy: SelectPolicy::Min,
        policies: vec![
            Policy { kind: PolicyType::Pods, value: 2, period_seconds: 60 },
            Policy { kind: PolicyType::Percent, value: 50, period_seconds: 60 },
        ],
    };
    assert_eq!(scale_up_limit(1, &[], &[], &min_rules, 0.0), 2);
    assert_eq!(scale_down_limit(5, &[], &[], &min_rules, 0.0), 3);
}

#[test]
fn the_scale_up_limit_counts_only_the_scale_down_events_their_own_period_kept() {
    // Up 4 pods per 60 s; down 50 % per 15 s, no windows. 8 → 4 → 2, then
    // a load asking for 10. The removal of 4 at 0 s was outdated (older
    // than scale-down's 15 s) and overwritten by the removal of 2 at 15 s,
    // so at 30 s the scale-up period's start is 2 + 2 = 4, not 2 + 6 = 8:
    // the limit is 8, not 12.
    let behavior = with_behavior(
        "    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n          \
         policies:\n          - {type: Pods, value: 4, periodSeconds: 60}\n        scaleDown:\n          \
         stabilizationWindowSeconds: 0\n          policies:\n          - {type: Percent, value: 50, periodSeconds: 15}\n",
    );
    let history = [(0.0, 0.0), (15.0, 0.0), (30.0, 100.0)];
    let syncs = replay(&rule(1, 10), behavior.as_ref(), 8, 15.0, &history);
    assert_eq!(replicas_of(&syncs), [4, 2, 8]);
}

// Point 4: the tolerance at its boundary.

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

