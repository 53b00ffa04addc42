//! After the load stops: the rate decays, KEDA's count and the modelled
//! HPA come down, and the whole run is held against the HPA's rules.

use std::path::Path;
use std::time::{Duration, Instant};

use scaling::hpa::Behavior;
use scaling::keda::ScalingRule;

use crate::RATE;
use crate::preview::{LONGEST_POLL_GAP, LivePreview, PreviewLine, longest_gap, preview_decision};
use crate::prometheus_server::Queries;
use harness::prometheus::PrometheusServer;

/// No load: the rate decays to 0 within the 1m window, the trigger goes
/// inactive and the replicas fall to minReplicaCount.
pub(crate) fn the_rate_decays_to_min_replicas(prometheus: &PrometheusServer, rule: &ScalingRule) {
    let deadline = Instant::now() + Duration::from_secs(100);
    while prometheus.api().value(&rule.query).unwrap() > 0.0 {
        assert!(Instant::now() < deadline, "the rate never decayed to 0");
        std::thread::sleep(Duration::from_secs(2));
    }
    let (idle, active, desired) = preview_decision(&prometheus.preview(&[]));
    assert_eq!(idle, 0.0);
    assert!(!active);
    assert_eq!(desired, rule.min_replicas);
}

/// The modelled replicas come down to the minimum too, but only after the
/// scale-down stabilization window; returns every line of the run.
pub(crate) fn the_modelled_replicas_come_down(live: &LivePreview, rule: &ScalingRule, stopped_at: f64) -> Vec<PreviewLine> {
    let deadline = Instant::now() + Duration::from_secs(240);
    while live.lines().last().is_none_or(|line| line.hpa != rule.min_replicas.max(1) || (line.at as f64) < stopped_at) {
        assert!(Instant::now() < deadline, "the modelled replicas never came down: {:?}", live.lines().last());
        std::thread::sleep(Duration::from_secs(2));
    }
    live.lines()
}

pub(crate) fn the_modelled_replicas_kept_the_hpas_rules(lines: &[PreviewLine], rule: &ScalingRule, behavior: &Behavior, stopped_at: f64) {
    // They rose no faster than the default scale-up allows: within one
    // 15 s period, from r pods to at most max(2r, r + 4).
    for (index, earlier) in lines.iter().enumerate() {
        for later in &lines[index + 1..] {
            if later.at + 1 - earlier.at <= 15 {
                let limit = (2 * earlier.hpa).max(earlier.hpa + 4);
                assert!(later.hpa <= limit, "{earlier:?} -> {later:?}: more than {limit} within 15 s");
            }
        }
    }
    // Under load they reached the count the load asks for.
    let under_load: Vec<_> = lines.iter().filter(|line| (line.at as f64) + 1.0 < stopped_at).collect();
    let peak = under_load.last().unwrap().hpa;
    let (low, high) = (rule.decide(0.8 * RATE, 1).desired_replicas, rule.decide(1.2 * RATE, 1).desired_replicas);
    assert!((low..=high).contains(&peak) && peak > rule.min_replicas, "{peak} replicas under {RATE} req/s");
    assert!(under_load.iter().all(|line| line.hpa <= high), "never above what the load asks for");
    // After the stop they held for the stabilization window (less the one
    // sync period by which the last recommendation under load may precede
    // the stop), then fell.
    let window = f64::from(behavior.scale_down.stabilization_window_seconds);
    let held_until = stopped_at + window - 15.0;
    let held: Vec<_> = lines.iter().filter(|line| (line.at as f64) >= stopped_at && (line.at as f64) + 1.0 <= held_until).collect();
    let gap = longest_gap(&held.iter().map(|line| line.at).collect::<Vec<_>>(), stopped_at, held_until);
    eprintln!("{} lines from the stop to {held_until:.0} s; the longest stretch without one: {gap:.1} s", held.len());
    assert!(gap <= LONGEST_POLL_GAP, "no line for {gap:.1} s between t+{stopped_at:.0}s and t+{held_until:.0}s: {held:?}");
    assert!(held.iter().all(|line| line.hpa == peak), "the replicas fell within the stabilization window: {held:?}");
    assert!(lines.iter().all(|line| line.value >= 0.0 && line.desired >= rule.min_replicas));
}

/// The chart of the whole run is an SVG with every series.
pub(crate) fn the_chart_has_every_series(chart: &Path) {
    let svg = std::fs::read_to_string(chart).unwrap();
    assert!(svg.starts_with("<svg"), "{:.100}", svg);
    for label in ["query value", "offered load", "threshold × modelled replicas", "KEDA desired count", "modelled HPA replicas"] {
        assert!(svg.contains(label), "the chart has no {label}");
    }
}
