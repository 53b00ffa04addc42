//! The test's Prometheus (the harness's), scraping the runner instances
//! with the configuration `runner scrape-config` derives from the
//! ServiceMonitor, and what the tests ask of it: queries and previews.

use std::net::SocketAddr;
use std::process::Output;
use std::time::{Duration, Instant};

use harness::prometheus::PrometheusServer;
use scaling::prometheus::Prometheus;

use crate::preview::LivePreview;
use crate::runner_command;

/// Prometheus scraping `targets` every second, as `runner scrape-config`
/// configures it.
pub(crate) fn scraping(name: &str, targets: &[SocketAddr]) -> PrometheusServer {
    let mut command = runner_command();
    command.args(["scrape-config", "--interval", "1s"]);
    for target in targets {
        command.args(["--target", &target.to_string()]);
    }
    let config = command.output().unwrap();
    assert!(config.status.success(), "{}", String::from_utf8_lossy(&config.stderr));
    PrometheusServer::start(name, &config.stdout)
}

pub(crate) trait Queries {
    fn api(&self) -> Prometheus;
    /// Wait until `query` returns `series` series (the targets are up and scraped).
    fn wait_for_series(&self, query: &str, series: usize);
    /// `runner preview --once` against this Prometheus.
    fn preview(&self, extra: &[&str]) -> Output;
    /// `runner preview` polling every second until killed, its output in files.
    fn live_preview(&self, name: &str, extra: &[&str]) -> LivePreview;
}

impl Queries for PrometheusServer {
    fn api(&self) -> Prometheus {
        Prometheus::new(&self.url)
    }

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

    fn live_preview(&self, name: &str, extra: &[&str]) -> LivePreview {
        let directory = harness::tmp_dir();
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
