//! A Prometheus server of a test's own (Debian's `prometheus`): on a free
//! port, with its configuration and data in a folder of its own, stopped
//! and started again on the same port and data as a Prometheus pod restarts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::client;

pub struct PrometheusServer {
    child: Child,
    pub url: String,
    port: u16,
    directory: PathBuf,
}

impl PrometheusServer {
    /// Prometheus with `config` (a prometheus.yml) in a fresh folder named
    /// after `name`, once it is ready.
    pub fn start(name: &str, config: &[u8]) -> PrometheusServer {
        let directory = crate::fresh_dir(&format!("prometheus-{name}"));
        std::fs::write(directory.join("prometheus.yml"), config).unwrap();
        let port = crate::free_port();
        let child = spawn(&directory, port);
        let server = PrometheusServer { child, url: format!("http://127.0.0.1:{port}"), port, directory };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let agent = client();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !agent.get(format!("{}/-/ready", self.url)).call().is_ok_and(|response| response.status() == 200) {
            assert!(Instant::now() < deadline, "Prometheus did not become ready; its log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stop the server for `outage` and start it again on the same port and
    /// data, as a Prometheus pod restarts.
    pub fn outage(&mut self, outage: Duration) {
        // SIGTERM, as the kubelet stops a pod: Prometheus flushes its WAL.
        // (After a SIGKILL it loses the samples its WAL had not written.)
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
        std::thread::sleep(outage);
        self.child = spawn(&self.directory, self.port);
        self.wait_ready();
    }

    pub fn log(&self) -> String {
        crate::process::tail(&self.directory.join("prometheus.log"), 20)
    }
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

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
