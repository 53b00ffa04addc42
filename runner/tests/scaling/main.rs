//! The scaling signal end to end, on real parts: two runner instances play
//! two pods, a real Prometheus scrapes them with the ServiceMonitor's
//! labels, the ScaledObject's own query is evaluated, and `runner preview`
//! turns the result into replicas by KEDA's rule.

#[path = "../support/mod.rs"]
mod support;

mod after_load;
mod load;
mod preview;
mod prometheus_server;
mod under_load;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use scaling::hpa::{Behavior, Policy, PolicyType, SelectPolicy};
use scaling::keda::ScalingRule;
use scaling::manifests::{self, ScaledObject};
use harness::repo_root;
use harness::server::Server;
use support::{RunnerServer, project_manifest};

use load::Load;
use prometheus_server::Queries;

/// The load both pods share, in requests per second.
const RATE: f64 = 40.0;

fn runner_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runner"));
    command.current_dir(repo_root());
    command
}

fn scaled_object() -> ScaledObject {
    manifests::load(&repo_root().join("manifests/base"), "ScaledObject").unwrap()
}

fn scaling_rule() -> ScalingRule {
    ScalingRule::from_scaled_object(&scaled_object()).unwrap()
}

fn scaling_behavior() -> Behavior {
    Behavior::from_scaled_object(&scaled_object()).unwrap().expect("the shipped ScaledObject sets a behavior")
}

fn runner_pod(name: &str, args: &[&str]) -> Server {
    Server::runner_with(name, &project_manifest(), args, &[("RUST_LOG", "warn")])
}

#[test]
fn the_scaled_objects_query_follows_the_load_and_decays_to_min_replicas() {
    let (rule, behavior) = (scaling_rule(), scaling_behavior());
    // The numbers below are the HPA's default scale-up, which the shipped
    // ScaledObject keeps: +100 % or +4 pods per 15 s, the larger, at once.
    assert_eq!(behavior.scale_up.stabilization_window_seconds, 0);
    assert_eq!(behavior.scale_up.select_policy, SelectPolicy::Max);
    assert_eq!(
        behavior.scale_up.policies,
        [
            Policy { kind: PolicyType::Pods, value: 4, period_seconds: 15 },
            Policy { kind: PolicyType::Percent, value: 100, period_seconds: 15 }
        ]
    );
    let (pod_a, pod_b) = (runner_pod("scaling-pod-a", &[]), runner_pod("scaling-pod-b", &[]));
    let (address_a, address_b) = (pod_a.address, pod_b.address);

    // Load first, then Prometheus: every sample in its window is under load.
    let load = Load::start(&[address_a, address_b], RATE);
    std::thread::sleep(Duration::from_secs(2));
    let mut prometheus = prometheus_server::scraping("scaling", &[address_a, address_b]);
    prometheus.wait_for_series(r#"up{job="test",namespace="test",service="test",endpoint="http"} == 1"#, 2);
    // The replicas the HPA would set, all through the run, and its chart.
    let chart = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaling-run.svg");
    let live = prometheus.live_preview(
        "scaling-live-preview",
        &["--chart", chart.to_str().unwrap(), "--offered-load", &format!("0:{RATE}")],
    );
    // rate() divides by the whole 1m range, so it reads the full load only
    // once the window holds nearly a minute of samples.
    std::thread::sleep(Duration::from_secs(55));

    under_load::the_query_and_the_preview_read_the_load(&prometheus, &rule);
    under_load::the_original_raw_counter_query_has_a_series_per_pod(&prometheus);
    under_load::every_dashboard_query_parses(&prometheus);
    drop(pod_b);
    let restarted = runner_pod("scaling-pod-b-restarted", &["--listen", &address_b.to_string()]);
    under_load::a_pod_killed_and_restarted_dips_the_rate_within_bounds(&prometheus, &rule);
    under_load::a_prometheus_outage_is_reported_and_recovered_from(&mut prometheus, &live, &rule);

    let sent = load.stop();
    let stopped_at = live.seconds();
    assert!(sent > 0);
    after_load::the_rate_decays_to_min_replicas(&prometheus, &rule);
    let lines = after_load::the_modelled_replicas_come_down(&live, &rule, stopped_at);
    drop(live);
    after_load::the_modelled_replicas_kept_the_hpas_rules(&lines, &rule, &behavior, stopped_at);
    after_load::the_chart_has_every_series(&chart);
    drop(restarted);
    drop(pod_a);
}

#[test]
fn the_preview_reports_clear_errors_and_never_panics() {
    let (pod_a, pod_b) = (runner_pod("errors-pod-a", &[]), runner_pod("errors-pod-b", &[]));
    let prometheus = prometheus_server::scraping("errors", &[pod_a.address, pod_b.address]);
    prometheus.wait_for_series("python_request_operations_total", 2);

    let unreachable = format!("http://127.0.0.1:{}", harness::free_port());
    let cases: [(&[&str], &str); 4] = [
        (&["--query", "python_request_operations_total"], "returned 2 series"),
        (&["--query", "no_such_metric_anywhere"], "returned no data"),
        (&["--query", "vector(0/0)"], "returned NaN"),
        (&["--query", "sum(rate(oops[1m]"], "Prometheus rejected the query"),
    ];
    for (args, message) in cases {
        let output = prometheus.preview(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let output = runner_command().args(["preview", "--once", "--prometheus", &unreachable]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("is unreachable"), "{stderr}");

    // A chart that cannot be written fails at once, before the first poll.
    let output = prometheus.preview(&["--chart", "/nonexistent-directory/run.svg"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the chart to /nonexistent-directory/run.svg"), "{stderr}");
    assert!(!stdout.contains("t+"), "it polled before failing: {stdout}");

    // A ScaledObject whose behavior the model does not know: refused by the
    // field's name, never ignored.
    let shipped = std::fs::read_to_string(repo_root().join("manifests/base/scaledobject.yaml")).unwrap();
    let edits: [(&str, &str, &str); 3] = [
        ("stabilizationWindowSeconds:", "tolerance: 0.05\n          stabilizationWindowSeconds:", ".tolerance is not modelled"),
        ("type: Percent", "type: Cpu", ".policies[0].type: unknown variant `Cpu`"),
        ("scaleDown:", "scaleDown:\n          selectPolicy: Fastest", "behavior.scaleDown.selectPolicy: unknown variant `Fastest`"),
    ];
    for (from, to, field) in edits {
        assert!(shipped.contains(from), "manifests/base/scaledobject.yaml no longer has {from:?}");
        let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("unknown-behavior");
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join("scaledobject.yaml"), shipped.replacen(from, to, 1)).unwrap();
        let output = prometheus.preview(&["--manifests", directory.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{field}: {stderr}");
        assert!(stderr.contains(field), "{field}: {stderr}");
    }

    // Live, an error is reported and polling goes on.
    let mut live = runner_command()
        .args(["preview", "--interval", "0.2", "--prometheus", &unreachable])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(live.try_wait().unwrap().is_none(), "the live preview keeps polling");
    live.kill().unwrap();
    let output = live.wait_with_output().unwrap();
    let reported = String::from_utf8_lossy(&output.stderr).matches("is unreachable").count();
    assert!(reported >= 2, "{reported} errors reported");
}
