//! The servers under test, started as a user starts them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[derive(Clone, Debug)]
pub enum Kind {
    /// `runner --manifest <manifest>`
    Runner { manifest: PathBuf },
    /// `wasmtime serve <component>`
    WasmtimeServe { component: PathBuf },
    /// `spin up --from <manifest> --runtime-config-file <runtime_config>`:
    /// the real Spin, what users run.
    SpinUp { spin: PathBuf, manifest: PathBuf, runtime_config: PathBuf },
    /// `native-baseline`
    Native,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub name: &'static str,
    pub kind: Kind,
    /// The paths worth measuring: the fixture answers every path alike.
    pub paths: &'static [&'static str],
    /// The component it serves, for its size.
    pub component: Option<PathBuf>,
}

/// Whether the compilation cache holds the component when a server starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    Cold,
    Warm,
}

pub struct Running {
    child: Child,
    pub url: String,
}

impl Server {
    /// Every server this machine can run; `spin up` when Spin 3.6.3 is found
    /// (`SPIN`, else `PATH`; another version is an error).
    pub fn all(repo: &Path) -> Vec<Server> {
        let wasm = repo.join("target/wasm32-wasip2/wasm-release");
        let spin_up = harness::binaries::spin_if_present().map(|spin| Server {
            name: "spin up: component",
            kind: Kind::SpinUp {
                spin,
                manifest: repo.join("spin.toml"),
                runtime_config: repo.join("manifests/wasm/runtime-config.toml"),
            },
            paths: &["/", "/metrics"],
            component: Some(wasm.join("keda_spin_autoscaling.wasm")),
        });
        let servers = vec![
            Server {
                name: "runner: component",
                kind: Kind::Runner { manifest: repo.join("spin.toml") },
                paths: &["/", "/metrics"],
                component: Some(wasm.join("keda_spin_autoscaling.wasm")),
            },
            Server {
                name: "runner: hello fixture",
                kind: Kind::Runner { manifest: repo.join("fixtures/hello/spin.toml") },
                paths: &["/"],
                component: Some(wasm.join("hello_fixture.wasm")),
            },
            Server {
                name: "wasmtime serve: hello fixture",
                kind: Kind::WasmtimeServe { component: wasm.join("hello_fixture.wasm") },
                paths: &["/"],
                component: Some(wasm.join("hello_fixture.wasm")),
            },
            Server { name: "native baseline", kind: Kind::Native, paths: &["/", "/metrics"], component: None },
        ];
        spin_up.into_iter().chain(servers).collect()
    }

    pub fn has_cache(&self) -> bool {
        !matches!(self.kind, Kind::Native)
    }

    /// Start the server and wait for its first 200; returns how long that took.
    pub fn start(&self, cache: Cache, cache_dir: &Path) -> Result<(Running, Duration)> {
        let address = format!("127.0.0.1:{}", harness::free_port());
        let release = release_dir()?;
        let mut command = match &self.kind {
            Kind::Runner { manifest } => {
                let mut command = harness::server::runner_command(&release.join("runner"), manifest, &["--listen", &address]);
                command.arg("--cache-dir").arg(cache_dir);
                // The per-request log line is the runner's default; a
                // benchmark of the serving path leaves it out.
                command.env("RUST_LOG", "warn");
                command
            }
            Kind::WasmtimeServe { component } => {
                let mut command = Command::new("wasmtime");
                // Spin components import wasi:cli beyond the proxy world.
                command.args(["serve", "-S", "cli=y", "--addr", &address]);
                command.args(["-C", if cache == Cache::Warm { "cache=y" } else { "cache=n" }]);
                command.arg(component);
                command
            }
            Kind::SpinUp { spin, manifest, runtime_config } => {
                let mut command = Command::new(spin);
                command.arg("up").arg("--from").arg(manifest).args(["--listen", &address]);
                command.arg("--runtime-config-file").arg(runtime_config);
                command.arg("--state-dir").arg(cache_dir.join("spin-state"));
                match cache {
                    Cache::Cold => {
                        command.arg("--disable-cache");
                    }
                    Cache::Warm => {
                        command.arg("--cache").arg(spin_cache_config(cache_dir)?);
                    }
                }
                command
            }
            Kind::Native => {
                let mut command = Command::new(release.join("native-baseline"));
                command.args(["--listen", &address]);
                command
            }
        };
        // `spin up` serves from a child process: a group of its own lets
        // Drop stop both.
        harness::process::own_group(&mut command);
        let started = Instant::now();
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", self.name))?;
        let mut running = Running { child, url: format!("http://{address}") };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let first_path = format!("{}{}", running.url, self.paths.last().unwrap());
        loop {
            if agent.get(&first_path).call().is_ok_and(|response| response.status() == 200) {
                return Ok((running, started.elapsed()));
            }
            if let Some(status) = running.child.try_wait()? {
                bail!("{} exited with {status} before serving", self.name);
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("{} did not serve within 2 minutes", self.name);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Running {
    /// The most memory the server has held, summed over its process group:
    /// `spin up` and the `spin trigger http` it starts.
    pub fn peak_rss_bytes(&self) -> u64 {
        harness::process::group_peak_rss(self.child.id())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        harness::process::kill_group(&mut self.child);
    }
}

/// Where cargo put the bench binary, and `runner` and `native-baseline`
/// beside it: scripts/bench.sh builds them together, wherever
/// CARGO_TARGET_DIR puts them.
pub fn release_dir() -> Result<PathBuf> {
    Ok(std::env::current_exe()?.parent().context("the bench binary has no directory")?.to_owned())
}

/// A wasmtime cache configuration for Spin's `--cache`, kept in `cache_dir`
/// like the runner's cache.
fn spin_cache_config(cache_dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(cache_dir)?;
    let config = cache_dir.join("spin-cache.toml");
    let directory = cache_dir.join("spin-wasmtime");
    // Spin 3.6.3 rejects the older `enabled = true` key (tried here).
    std::fs::write(&config, format!("[cache]\ndirectory = {:?}\n", directory.display().to_string()))?;
    Ok(config)
}
