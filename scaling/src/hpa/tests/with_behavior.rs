//! The path of an HPA with `behavior`: the API server's defaults, the
//! policies, the stabilization windows and the scale events.

use super::*;

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
