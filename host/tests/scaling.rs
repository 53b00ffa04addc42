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

fn scaling_rule() -> ScalingRule {
    let scaled_object: ScaledObject = manifests::load(&repo_root().join("manifests/base"), "ScaledObject").unwrap();
    ScalingRule::from_scaled_object(&scaled_object).unwrap()
}

/// A Prometheus server of its own, scraping what `runner scrape-config`
/// derives from the ServiceMonitor.
struct PrometheusServer {
    child: Child,
    url: String,
    _data: PathBuf,
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
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", directory.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", directory.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(directory.join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus is installed (Debian package `prometheus`; .ci/run installs it)");
        let server = PrometheusServer { child, url: format!("http://127.0.0.1:{port}"), _data: directory };
        let agent = client();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !agent.get(format!("{}/-/ready", server.url)).call().is_ok_and(|r| r.status() == 200) {
            assert!(Instant::now() < deadline, "Prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(200));
        }
        server
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

#[test]
fn the_scaled_objects_query_follows_the_load_and_decays_to_min_replicas() {
    const RATE: f64 = 40.0;
    let pod_a = Server::runner_with("scaling-pod-a", &project_manifest(), &[], &[("RUST_LOG", "warn")]);
    let pod_b = Server::runner_with("scaling-pod-b", &project_manifest(), &[], &[("RUST_LOG", "warn")]);
    let (address_a, address_b) = (pod_a.address, pod_b.address);
    let rule = scaling_rule();

    // Load first, then Prometheus: every sample in its window is under load.
    let load = Load::start(&[address_a, address_b], RATE);
    std::thread::sleep(Duration::from_secs(2));
    let prometheus = PrometheusServer::start("scaling", &[address_a, address_b]);
    prometheus.wait_for_series(r#"up{job="test",namespace="test",service="test",endpoint="http"} == 1"#, 2);
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

    // A pod restart resets its counter: no negative or NaN rate, and the preview keeps working.
    drop(pod_b);
    let restarted = Server::runner_with(
        "scaling-pod-b-restarted",
        &project_manifest(),
        &["--listen", &address_b.to_string()],
        &[("RUST_LOG", "warn")],
    );
    for _ in 0..8 {
        std::thread::sleep(Duration::from_secs(1));
        let value = prometheus.api().value(&rule.query).unwrap();
        assert!(value.is_finite() && value >= 0.0, "rate after a restart: {value}");
    }
    let (after_restart, _, _) = preview_decision(&prometheus.preview(&[]));
    assert!(after_restart >= 0.0);

    // No load: the rate decays to 0 within the 1m window, the trigger goes
    // inactive and the replicas fall to minReplicaCount.
    let sent = load.stop();
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
