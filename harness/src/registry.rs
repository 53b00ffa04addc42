//! A real OCI registry on loopback, which pods and the Spin OCI artifact
//! are pulled from: stopped when its guard is dropped.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::binaries;
use crate::process::{kill_group, tail};

/// Debian's docker-registry (distribution 2.8) on 127.0.0.1, storing in `dir`.
pub struct Registry {
    child: Child,
    /// host:port, as image references name it.
    pub address: String,
    pub log: PathBuf,
}

impl Registry {
    pub fn start(dir: &Path) -> Registry {
        let registry = binaries::tool("docker-registry", "docker-registry");
        let storage = dir.join("registry-storage");
        std::fs::create_dir_all(&storage).unwrap();
        let address = format!("127.0.0.1:{}", crate::free_port());
        let config = dir.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                storage.display()
            ),
        )
        .unwrap();
        let log = dir.join("registry.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(registry)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .expect("docker-registry starts");
        let mut registry = Registry { child, address, log };
        let agent = crate::http::client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = registry.child.try_wait().unwrap() {
                panic!("docker-registry exited with {status}; its log:\n{}", tail(&registry.log, 40));
            }
            if agent.get(format!("http://{}/v2/", registry.address)).call().is_ok_and(|response| response.status() == 200) {
                return registry;
            }
            assert!(Instant::now() < deadline, "docker-registry did not answer; its log:\n{}", tail(&registry.log, 40));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}
