//! A Prometheus server of the test's own, scraping the runner instances
//! with the configuration `runner scrape-config` derives from the
//! ServiceMonitor, stopped and started again as a Prometheus pod restarts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use scaling::prometheus::Prometheus;

use crate::preview::LivePreview;
use crate::runner_command;
use harness::http::client;

/// A Prometheus server of its own, scraping what `runner scrape-config`
/// derives from the ServiceMonitor.
pub(crate) struct PrometheusServer {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) port: u16,
    pub(crate) directory: PathBuf,
}

impl PrometheusServer {
    pub(crate) fn start(name: &str, targets: &[SocketAddr]) -> PrometheusServer {
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

        let port = harness::free_port();
        let child = Self::spawn(&directory, port);
        let server = PrometheusServer { child, url: format!("http://127.0.0.1:{port}"), port, directory };
        server.wait_ready();
        server
    }

    pub(crate) fn spawn(directory: &Path, port: u16) -> Child {
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

    pub(crate) fn wait_ready(&self) {
        let agent = client();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !agent.get(format!("{}/-/ready", self.url)).call().is_ok_and(|r| r.status() == 200) {
            assert!(Instant::now() < deadline, "Prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stop the server for `outage` and start it again on the same port and
    /// data, as a Prometheus pod restarts.
    pub(crate) fn outage(&mut self, outage: Duration) {
        // SIGTERM, as the kubelet stops a pod: Prometheus flushes its WAL.
        // (After a SIGKILL it loses the samples its WAL had not written.)
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
        std::thread::sleep(outage);
        self.child = Self::spawn(&self.directory, self.port);
        self.wait_ready();
    }

    pub(crate) fn api(&self) -> Prometheus {
        Prometheus::new(&self.url)
    }

    /// Wait until `query` returns `series` series (the targets are up and scraped).
    pub(crate) fn wait_for_series(&self, query: &str, series: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.api().query(query).is_ok_and(|samples| samples.len() == series) {
                return;
            }
            assert!(Instant::now() < deadline, "{query} never returned {series} series");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub(crate) fn preview(&self, extra: &[&str]) -> Output {
        runner_command().args(["preview", "--once", "--prometheus", &self.url]).args(extra).output().unwrap()
    }

    /// `runner preview` polling every second until killed, its output in files.
    pub(crate) fn live_preview(&self, name: &str, extra: &[&str]) -> LivePreview {
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

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
