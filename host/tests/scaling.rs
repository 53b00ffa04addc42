//! The scaling signal end to end, on real parts: two runner instances play
//! two pods, a real Prometheus scrapes them with the ServiceMonitor's
//! labels, the ScaledObject's own query is evaluated, and `runner preview`
//! turns the result into replicas by KEDA's rule.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use scaling::keda::ScalingRule;
use scaling::manifests::{self, ScaledObject};
use scaling::prometheus::Prometheus;
use support::{Server, client, project_manifest, repo_root};

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

fn scaling_behavior() -> scaling::hpa::Behavior {
    scaling::hpa::Behavior::from_scaled_object(&scaled_object()).unwrap().expect("the shipped ScaledObject sets a behavior")
}

/// A Prometheus server of its own, scraping what `runner scrape-config`
/// derives from the ServiceMonitor.
struct PrometheusServer {
    child: Child,
    url: String,
    port: u16,
    directory: PathBuf,
}

impl PrometheusServer {
    fn start(name: &str, targets: &[SocketAddr]) -> PrometheusServer {
        let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("prometheus-{name}"));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        let mut command = runner_command();
        command.args(["scrape-config", "--interval", "1s"]);
        for target in targets {
            command.args(["--target", &target.to_string()]);
        }
        let config = command.output().unwrap();
        assert!(config.status.success(), "{}", String::from_utf8_lossy(&config.stderr));
        std::fs::write(directory.join("prometheus.yml"), &config.stdout).unwrap();

        let port = free_port();
        let child = Self::spawn(&directory, port);
        let server = PrometheusServer { child, url: format!("http://127.0.0.1:{port}"), port, directory };
        server.wait_ready();
        server
    }

    fn spawn(directory: &Path, port: u16) -> Child {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(directory.join("prometheus.log")).unwrap();
        Command::new("prometheus")
            .arg(format!("--config.file={}", directory.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", directory.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus is installed (Debian package `prometheus`; .ci/run installs it)")
    }

    fn wait_ready(&self) {
        let agent = client();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !agent.get(format!("{}/-/ready", self.url)).call().is_ok_and(|r| r.status() == 200) {
            assert!(Instant::now() < deadline, "Prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stop the server for `outage` and start it again on the same port and
    /// data, as a Prometheus pod restarts.
    fn outage(&mut self, outage: Duration) {
        // SIGTERM, as the kubelet stops a pod: Prometheus flushes its WAL.
        // (After a SIGKILL it loses the samples its WAL had not written.)
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
        std::thread::sleep(outage);
        self.child = Self::spawn(&self.directory, self.port);
        self.wait_ready();
    }

    fn api(&self) -> Prometheus {
        Prometheus::new(&self.url)
    }

    /// Wait until `query` returns `series` series (the targets are up and scraped).
    fn wait_for_series(&self, query: &str, series: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.api().query(query).is_ok_and(|samples| samples.len() == series) {
                return;
            }
            assert!(Instant::now() < deadline, "{query} never returned {series} series");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn preview(&self, extra: &[&str]) -> Output {
        runner_command().args(["preview", "--once", "--prometheus", &self.url]).args(extra).output().unwrap()
    }

    /// `runner preview` polling every second until killed, its output in files.
    fn live_preview(&self, name: &str, extra: &[&str]) -> LivePreview {
        let directory = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let stdout = directory.join(format!("{name}.out"));
        let stderr = directory.join(format!("{name}.err"));
        let child = runner_command()
            .args(["preview", "--interval", "1", "--prometheus", &self.url])
            .args(extra)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        LivePreview { child, started: Instant::now(), stdout, stderr }
    }
}

struct LivePreview {
    child: Child,
    started: Instant,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// One line of the live preview.
#[derive(Clone, Copy, Debug)]
struct PreviewLine {
    /// Whole seconds since the preview started.
    at: u64,
    value: f64,
    desired: u32,
    hpa: u32,
}

impl LivePreview {
    fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn lines(&self) -> Vec<PreviewLine> {
        let text = std::fs::read_to_string(&self.stdout).unwrap();
        text.lines()
            .filter(|line| line.starts_with("t+") && line.contains(" hpa "))
            .map(|line| {
                let word_after = |word: &str| -> &str {
                    let mut words = line.split_whitespace();
                    words.find(|w| *w == word).unwrap_or_else(|| panic!("no {word} in {line}"));
                    words.next().unwrap()
                };
                let at = line.trim_start_matches("t+").trim_start().split('s').next().unwrap();
                PreviewLine {
                    at: at.parse().unwrap(),
                    value: word_after("value").parse().unwrap(),
                    desired: word_after("desired").parse().unwrap(),
                    hpa: word_after("hpa").parse().unwrap(),
                }
            })
            .collect()
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }
}

impl Drop for LivePreview {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A steady load of `rate` requests per second, spread evenly over the
/// targets as a Service spreads it over pods.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    workers: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(targets: &[SocketAddr], rate: f64) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let period = Duration::from_secs_f64(targets.len() as f64 / rate);
        let workers = targets
            .iter()
            .map(|target| {
                let (stop, sent, url) = (stop.clone(), sent.clone(), format!("http://{target}/"));
                std::thread::spawn(move || {
                    let agent = client();
                    let mut next = Instant::now();
                    // Bounded in time as well: it never outlives the test by much.
                    let deadline = Instant::now() + Duration::from_secs(240);
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        // A restarting instance refuses connections for a moment.
                        if agent.get(&url).call().is_ok_and(|response| response.status() == 200) {
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                        next += period;
                        if let Some(wait) = next.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                })
            })
            .collect();
        Load { stop, sent, workers }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.join().unwrap();
        }
        self.sent.load(Ordering::Relaxed)
    }
}

/// The value and desired replicas `runner preview --once` printed.
fn preview_decision(output: &Output) -> (f64, bool, u32) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "preview failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    let line = stdout.lines().find(|line| line.starts_with("t+")).unwrap_or_else(|| panic!("no decision in {stdout}"));
    let word_after = |word: &str| -> &str {
        let mut words = line.split_whitespace();
        words.find(|w| *w == word).unwrap();
        words.next().unwrap()
    };
    (word_after("value").parse().unwrap(), word_after("active") == "yes", word_after("desired").parse().unwrap())
}

/// The value, desired count and modelled HPA replicas `runner preview --once` printed.
fn preview_hpa(output: &Output) -> (f64, bool, u32, u32) {
    let (value, active, desired) = preview_decision(output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|line| line.starts_with("t+")).unwrap();
    let mut words = line.split_whitespace();
    words.find(|w| *w == "hpa").unwrap_or_else(|| panic!("no hpa in {line}"));
    (value, active, desired, words.next().unwrap().parse().unwrap())
}

#[test]
fn the_scaled_objects_query_follows_the_load_and_decays_to_min_replicas() {
    const RATE: f64 = 40.0;
    let pod_a = Server::runner_with("scaling-pod-a", &project_manifest(), &[], &[("RUST_LOG", "warn")]);
    let pod_b = Server::runner_with("scaling-pod-b", &project_manifest(), &[], &[("RUST_LOG", "warn")]);
    let (address_a, address_b) = (pod_a.address, pod_b.address);
    let rule = scaling_rule();
    let behavior = scaling_behavior();
    // The numbers below are the HPA's default scale-up, which the shipped
    // ScaledObject keeps: +100 % or +4 pods per 15 s, the larger, at once.
    use scaling::hpa::{Policy, PolicyType, SelectPolicy};
    assert_eq!(behavior.scale_up.stabilization_window_seconds, 0);
    assert_eq!(behavior.scale_up.select_policy, SelectPolicy::Max);
    assert_eq!(
        behavior.scale_up.policies,
        [
            Policy { kind: PolicyType::Pods, value: 4, period_seconds: 15 },
            Policy { kind: PolicyType::Percent, value: 100, period_seconds: 15 }
        ]
    );

    // Load first, then Prometheus: every sample in its window is under load.
    let load = Load::start(&[address_a, address_b], RATE);
    std::thread::sleep(Duration::from_secs(2));
    let mut prometheus = PrometheusServer::start("scaling", &[address_a, address_b]);
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

    // The ScaledObject's own query returns one series, close to the load.
    let samples = prometheus.api().query(&rule.query).unwrap();
    assert_eq!(samples.len(), 1, "{samples:?}");
    let value = samples[0].value;
    assert!((value - RATE).abs() <= 0.2 * RATE, "rate {value} for a load of {RATE} req/s");

    // The preview reads the same query from the manifests and applies KEDA's rule.
    let (previewed, active, desired) = preview_decision(&prometheus.preview(&[]));
    assert!((previewed - RATE).abs() <= 0.2 * RATE, "previewed {previewed}");
    assert!(active);
    let expected = ((previewed / rule.threshold).ceil() as u32).clamp(rule.min_replicas, rule.max_replicas);
    assert_eq!(desired, expected);
    assert!(desired > rule.min_replicas, "the load asks for more than the minimum");

    // And the HPA's step from a given count. At `desired` pods it holds
    // them while the value is within 10 % of threshold × pods (the
    // controller's default tolerance), else it asks for ceil(value / 10);
    // from one pod the default scale-up allows at most max(2 × 1, 1 + 4) = 5.
    let at = |replicas: u32| preview_hpa(&prometheus.preview(&["--replicas", &replicas.to_string()]));
    let (value_now, _, desired_now, hpa_from_desired) = at(desired);
    let ratio = value_now / (rule.threshold * f64::from(desired));
    let expected = if (ratio - 1.0).abs() <= 0.1 { desired } else { (value_now / rule.threshold).ceil() as u32 };
    assert_eq!(hpa_from_desired, expected, "at {desired} pods and {value_now} req/s (ratio {ratio:.3})");
    let (value_1, _, desired_now_1, hpa_from_one) = at(1);
    assert_eq!(desired_now_1, (value_1 / rule.threshold).ceil() as u32, "KEDA's count at {value_1}");
    assert_eq!(hpa_from_one, desired_now_1.min(5), "from 1 pod at {value_1} req/s (KEDA's count {desired_now})");

    // The original demo's raw counter query returns one series per pod:
    // KEDA 2.20 rejects that result, which is why the query had to change.
    let raw = prometheus.api().query("python_request_operations_total").unwrap();
    assert_eq!(raw.len(), 2, "{raw:?}");
    let mut pods: Vec<_> = raw.iter().map(|sample| sample.labels["pod"].as_str()).collect();
    pods.sort();
    assert_eq!(pods, ["test-local-0", "test-local-1"]);
    let preview_raw = prometheus.preview(&["--query", "python_request_operations_total"]);
    assert!(!preview_raw.status.success());
    assert!(String::from_utf8_lossy(&preview_raw.stderr).contains("returned 2 series"));

    // Every query of the Grafana dashboard parses on this Prometheus; those
    // on the app's own series return data (the kube-state-metrics and KEDA
    // series exist only in a cluster).
    let dashboard = scaling::dashboard::Dashboard::load(&repo_root().join(scaling::dashboard::PATH)).unwrap();
    for (panel, expr) in dashboard.queries() {
        let samples = prometheus.api().query(expr).unwrap_or_else(|error| panic!("{panel}: {expr}: {error:#}"));
        if expr.contains("python_") {
            assert!(!samples.is_empty(), "{panel}: {expr} returned no data under load");
            assert!(samples.iter().all(|sample| sample.value.is_finite()), "{panel}: {expr}: {samples:?}");
        }
    }

    // SIGKILL one pod under load and restart it: its counter starts again
    // from 0. rate() reads that as a counter reset, so the value never goes
    // negative or NaN; it dips only by the requests the dead pod refused.
    drop(pod_b);
    let restarted = Server::runner_with(
        "scaling-pod-b-restarted",
        &project_manifest(),
        &["--listen", &address_b.to_string()],
        &[("RUST_LOG", "warn")],
    );
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

    // Prometheus down for 20 s: the live preview reports each failed poll
    // and picks up again by itself; the counters went on meanwhile, so the
    // rate over the gap is still the load.
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
    std::thread::sleep(Duration::from_secs(3));
    let unreachable = live.errors().matches("is unreachable").count();
    assert!(unreachable >= 15, "{unreachable} polls reported the outage:\n{}", live.errors());
    let recovered = live.lines().iter().filter(|line| line.at as f64 > outage_to).count();
    assert!(recovered >= 2, "the live preview did not recover after the outage ({outage_from:.0}–{outage_to:.0} s)");

    // No load: the rate decays to 0 within the 1m window, the trigger goes
    // inactive and the replicas fall to minReplicaCount.
    let sent = load.stop();
    let stopped_at = live.seconds();
    assert!(sent > 0);
    let deadline = Instant::now() + Duration::from_secs(100);
    while prometheus.api().value(&rule.query).unwrap() > 0.0 {
        assert!(Instant::now() < deadline, "the rate never decayed to 0");
        std::thread::sleep(Duration::from_secs(2));
    }
    let (idle, active, desired) = preview_decision(&prometheus.preview(&[]));
    assert_eq!(idle, 0.0);
    assert!(!active);
    assert_eq!(desired, rule.min_replicas);

    // The modelled replicas come down to the minimum too, but only after the
    // scale-down stabilization window.
    let window = f64::from(behavior.scale_down.stabilization_window_seconds);
    let deadline = Instant::now() + Duration::from_secs(240);
    while live.lines().last().is_none_or(|line| line.hpa != rule.min_replicas.max(1) || (line.at as f64) < stopped_at) {
        assert!(Instant::now() < deadline, "the modelled replicas never came down: {:?}", live.lines().last());
        std::thread::sleep(Duration::from_secs(2));
    }
    let lines = live.lines();
    drop(live);

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
    let held: Vec<_> = lines
        .iter()
        .filter(|line| (line.at as f64) >= stopped_at && (line.at as f64) + 1.0 <= stopped_at + window - 15.0)
        .collect();
    assert!(held.len() as f64 >= (window - 15.0) * 0.8, "{} lines in the window", held.len());
    assert!(held.iter().all(|line| line.hpa == peak), "the replicas fell within the stabilization window: {held:?}");
    assert!(lines.iter().all(|line| line.value >= 0.0 && line.desired >= rule.min_replicas));

    // The chart of the whole run is an SVG with every series.
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg"), "{:.100}", svg);
    for label in ["query value", "offered load", "threshold × modelled replicas", "KEDA desired count", "modelled HPA replicas"] {
        assert!(svg.contains(label), "the chart has no {label}");
    }
    drop(restarted);
    drop(pod_a);
}

#[test]
fn the_preview_reports_clear_errors_and_never_panics() {
    let pod_a = Server::runner_with("errors-pod-a", &project_manifest(), &[], &[("RUST_LOG", "warn")]);
    let pod_b = Server::runner_with("errors-pod-b", &project_manifest(), &[], &[("RUST_LOG", "warn")]);
    let prometheus = PrometheusServer::start("errors", &[pod_a.address, pod_b.address]);
    prometheus.wait_for_series("python_request_operations_total", 2);

    let unreachable = format!("http://127.0.0.1:{}", free_port());
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
