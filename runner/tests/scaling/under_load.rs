//! What the query, the preview and the dashboard read while both pods
//! serve the load, and what a killed pod and a stopped Prometheus do to it.

use std::time::{Duration, Instant};

use scaling::keda::ScalingRule;

use crate::RATE;
use crate::preview::{LONGEST_POLL_GAP, LivePreview, longest_gap, preview_decision, preview_hpa};
use crate::prometheus_server::Queries;
use harness::prometheus::PrometheusServer;
use harness::repo_root;

/// The ScaledObject's own query returns one series, close to the load; the
/// preview reads the same query from the manifests and applies KEDA's rule,
/// and the HPA model steps from a given count as the controller does.
pub(crate) fn the_query_and_the_preview_read_the_load(prometheus: &PrometheusServer, rule: &ScalingRule) {
    let samples = prometheus.api().query(&rule.query).unwrap();
    assert_eq!(samples.len(), 1, "{samples:?}");
    let value = samples[0].value;
    assert!((value - RATE).abs() <= 0.2 * RATE, "rate {value} for a load of {RATE} req/s");

    let (previewed, active, desired) = preview_decision(&prometheus.preview(&[]));
    assert!((previewed - RATE).abs() <= 0.2 * RATE, "previewed {previewed}");
    assert!(active);
    let expected = ((previewed / rule.threshold).ceil() as u32).clamp(rule.min_replicas, rule.max_replicas);
    assert_eq!(desired, expected);
    assert!(desired > rule.min_replicas, "the load asks for more than the minimum");

    // At `desired` pods the HPA holds them while the value is within 10 %
    // of threshold × pods (the controller's default tolerance), else it asks
    // for ceil(value / 10); from one pod the default scale-up allows at most
    // max(2 × 1, 1 + 4) = 5.
    let at = |replicas: u32| preview_hpa(&prometheus.preview(&["--replicas", &replicas.to_string()]));
    let (value_now, _, desired_now, hpa_from_desired) = at(desired);
    let ratio = value_now / (rule.threshold * f64::from(desired));
    let expected = if (ratio - 1.0).abs() <= 0.1 { desired } else { (value_now / rule.threshold).ceil() as u32 };
    assert_eq!(hpa_from_desired, expected, "at {desired} pods and {value_now} req/s (ratio {ratio:.3})");
    let (value_1, _, desired_now_1, hpa_from_one) = at(1);
    assert_eq!(desired_now_1, (value_1 / rule.threshold).ceil() as u32, "KEDA's count at {value_1}");
    assert_eq!(hpa_from_one, desired_now_1.min(5), "from 1 pod at {value_1} req/s (KEDA's count {desired_now})");
}

/// The original demo's raw counter query returns one series per pod: KEDA
/// 2.20 rejects that result, which is why the query had to change.
pub(crate) fn the_original_raw_counter_query_has_a_series_per_pod(prometheus: &PrometheusServer) {
    let raw = prometheus.api().query("python_request_operations_total").unwrap();
    assert_eq!(raw.len(), 2, "{raw:?}");
    let mut pods: Vec<_> = raw.iter().map(|sample| sample.labels["pod"].as_str()).collect();
    pods.sort();
    assert_eq!(pods, ["test-local-0", "test-local-1"]);
    let preview_raw = prometheus.preview(&["--query", "python_request_operations_total"]);
    assert!(!preview_raw.status.success());
    assert!(String::from_utf8_lossy(&preview_raw.stderr).contains("returned 2 series"));
}

/// Every query of the Grafana dashboard parses on this Prometheus; those on
/// the app's own series return data (the kube-state-metrics and KEDA series
/// exist only in a cluster).
pub(crate) fn every_dashboard_query_parses(prometheus: &PrometheusServer) {
    let dashboard = scaling::dashboard::Dashboard::load(&repo_root().join(scaling::dashboard::PATH)).unwrap();
    for (panel, expr) in dashboard.queries() {
        let samples = prometheus.api().query(expr).unwrap_or_else(|error| panic!("{panel}: {expr}: {error:#}"));
        if expr.contains("python_") {
            assert!(!samples.is_empty(), "{panel}: {expr} returned no data under load");
            assert!(samples.iter().all(|sample| sample.value.is_finite()), "{panel}: {expr}: {samples:?}");
        }
    }
}

/// After one pod was SIGKILLed under load and restarted, its counter starts
/// again from 0. rate() reads that as a counter reset, so the value never
/// goes negative or NaN; it dips only by the requests the dead pod refused.
pub(crate) fn a_pod_killed_and_restarted_dips_the_rate_within_bounds(prometheus: &PrometheusServer, rule: &ScalingRule) {
    let mut lowest = f64::INFINITY;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_secs(1));
        let value = prometheus.api().value(&rule.query).unwrap();
        assert!(value.is_finite() && value >= 0.0, "rate after a restart: {value}");
        lowest = lowest.min(value);
    }
    // The bound docs/scaling.md states for the dip.
    assert!(lowest >= 0.7 * RATE, "the rate dipped to {lowest} after a restart under {RATE} req/s");
    eprintln!("lowest rate in the 20 s after SIGKILL and restart of one pod: {lowest:.2} req/s under {RATE}");
    let (after_restart, _, _) = preview_decision(&prometheus.preview(&[]));
    assert!(after_restart >= 0.7 * RATE, "the preview read {after_restart} after the restart under {RATE} req/s");
}

/// Prometheus down for 20 s: the live preview reports each failed poll and
/// picks up again by itself; the counters went on meanwhile, so the rate
/// over the gap is still the load.
pub(crate) fn a_prometheus_outage_is_reported_and_recovered_from(prometheus: &mut PrometheusServer, live: &LivePreview, rule: &ScalingRule) {
    let outage_from = live.seconds();
    prometheus.outage(Duration::from_secs(20));
    let outage_to = live.seconds();
    // Until it scrapes each pod again, the window's newest samples are from
    // before the gap and the value reads low; the next scrape sets it right.
    let restarted_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let before_first_scrape = prometheus.api().value(&rule.query);
    let freshest = r#"min(timestamp(python_request_operations_total{namespace="test"}))"#;
    let deadline = Instant::now() + Duration::from_secs(30);
    while prometheus.api().value(freshest).map_or(true, |at| at < restarted_at) {
        assert!(Instant::now() < deadline, "Prometheus did not scrape both pods after coming back");
        std::thread::sleep(Duration::from_millis(200));
    }
    let after_gap = prometheus.api().value(&rule.query).unwrap();
    eprintln!("after a 20 s outage: {before_first_scrape:?} before the first scrape, {after_gap:.2} after, under {RATE}");
    assert!((after_gap - RATE).abs() <= 0.2 * RATE, "rate {after_gap} after a 20 s gap under {RATE} req/s");
    // It picks up again by itself.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !live.lines().iter().any(|line| line.at as f64 > outage_to) {
        assert!(Instant::now() < deadline, "the live preview did not recover after the outage ({outage_from:.0}–{outage_to:.0} s)");
        std::thread::sleep(Duration::from_millis(500));
    }
    // It kept polling through the outage, and said that Prometheus was
    // unreachable at the polls of the 20 s in which nothing listened.
    let gap = longest_gap(&live.poll_times(), outage_from, outage_to);
    let unreachable = live.error_times("is unreachable");
    let span = unreachable.last().zip(unreachable.first()).map_or(0, |(last, first)| last - first);
    eprintln!("the outage, t+{outage_from:.0}s to t+{outage_to:.0}s: {} polls unreachable over {span} s; the longest stretch without a poll: {gap:.1} s", unreachable.len());
    assert!(gap <= LONGEST_POLL_GAP, "no poll for {gap:.1} s in the outage:\n{}", live.errors());
    assert!(span as f64 >= 20.0 - 2.0 * LONGEST_POLL_GAP, "unreachable over {span} s of a 20 s outage:\n{}", live.errors());
}
