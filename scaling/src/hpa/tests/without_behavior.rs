//! The path of an HPA without `behavior`, which is not the defaults
//! written out: its own scale-up limit and one scale-down window.

use super::*;

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
