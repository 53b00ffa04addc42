//! A Kubernetes node's part, without Kubernetes: a real containerd with the
//! runtime registered from the repository's own config snippet, its
//! containers and tasks through `ctr`. Everything started here is stopped
//! when its guard is dropped, also when a test fails. The images come from
//! [`crate::buildah`] and [`crate::registry`].

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::binaries;
use crate::mounts::unmount_under;
use crate::process::{kill_group, output_within, run_ok, tail, try_output_within};

/// Merges `from` into `into`: tables key by key, anything else replaced.
pub fn merge(into: &mut toml::Table, from: &toml::Table) {
    for (key, value) in from {
        match (into.get_mut(key), value) {
            (Some(toml::Value::Table(mine)), toml::Value::Table(theirs)) => merge(mine, theirs),
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A containerd daemon of our own: its own socket, root, state and config,
/// and a `PATH` whose first directory holds the shim.
pub struct Containerd {
    child: Child,
    ctr: PathBuf,
    pub version: String,
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub root: PathBuf,
    pub state: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    pub namespace: String,
}

impl Containerd {
    /// Starts `containerd` from `binaries` (a directory holding `containerd`
    /// and `ctr`), or Debian's on `PATH` when `None`, with `extra` merged
    /// into its config and `shim` on its `PATH` as `containerd-shim-spin-v2`.
    pub fn start(dir: &Path, binaries: Option<&Path>, shim: &Path, extra: &toml::Table, namespace: &str) -> Containerd {
        let (containerd, ctr) = match binaries {
            Some(directory) => (directory.join("containerd"), directory.join("ctr")),
            None => (binaries::tool("containerd", "containerd"), binaries::tool("ctr", "containerd")),
        };
        let socket = dir.join("containerd.sock");
        // A Unix socket path holds at most 107 bytes, and containerd adds
        // ".ttrpc" for its second socket.
        assert!(
            socket.as_os_str().len() + ".ttrpc".len() < 108,
            "{} is too long for a Unix socket: use a shorter CARGO_TARGET_DIR",
            socket.display()
        );
        let (root, state, bin) = (dir.join("root"), dir.join("state"), dir.join("bin"));
        for directory in [&root, &state, &bin] {
            std::fs::create_dir_all(directory).unwrap();
        }
        // containerd turns runtime_type io.containerd.spin.v2 into the binary
        // name containerd-shim-spin-v2 and looks it up on its PATH.
        std::os::unix::fs::symlink(shim, bin.join("containerd-shim-spin-v2")).unwrap();

        let quoted = |path: &Path| toml::Value::from(path.to_str().unwrap()).to_string();
        let base = format!(
            r#"
version = 2
root = {root}
state = {state}

[grpc]
  address = {socket}

# The CRI plugin's default runtime, as on every node: without it the plugin
# rejects a runtimes table that names only `spin`.
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
"#,
            root = quoted(&root),
            state = quoted(&state),
            socket = quoted(&socket),
        );
        let mut config: toml::Table = base.parse().unwrap();
        merge(&mut config, extra);
        let config_path = dir.join("config.toml");
        std::fs::write(&config_path, toml::to_string(&config).unwrap()).unwrap();

        let version = run_ok(
            {
                let mut command = Command::new(&containerd);
                command.arg("--version");
                command
            },
            Duration::from_secs(30),
        );
        let version = version.split_whitespace().nth(2).unwrap_or("?").to_owned();

        let log = dir.join("containerd.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let path = std::env::join_paths(
            std::iter::once(bin.clone()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
        )
        .unwrap();
        let child = Command::new(&containerd)
            .arg("--config")
            .arg(&config_path)
            .env("PATH", path)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            // Its own process group, so that the guard can end it whole.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", containerd.display()));
        let mut daemon = Containerd {
            child,
            ctr,
            version,
            dir: dir.to_owned(),
            socket,
            root,
            state,
            config: config_path,
            log,
            namespace: namespace.to_owned(),
        };
        daemon.wait_ready();
        daemon
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("containerd exited with {status} while starting; the end of its log:\n{}", self.log_tail());
            }
            if self.socket.exists() && self.ctr(&["version"], Duration::from_secs(10)).status.success() {
                return;
            }
            if Instant::now() > deadline {
                panic!("containerd did not answer on {} within 60 s; the end of its log:\n{}", self.socket.display(), self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log, 60)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `ctr` against this daemon and its namespace.
    fn ctr_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.ctr);
        command.arg("--address").arg(&self.socket).arg("--namespace").arg(&self.namespace).args(args);
        command
    }

    pub fn ctr(&self, args: &[&str], timeout: Duration) -> Output {
        output_within(self.ctr_command(args), timeout)
    }

    /// `ctr` for the guards: never a panic, and nothing once containerd is gone.
    fn ctr_quiet(&self, args: &[&str]) -> Option<String> {
        if !self.socket.exists() {
            return None;
        }
        let output = try_output_within(self.ctr_command(args), Duration::from_secs(20)).ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `ctr`, which must succeed; returns its standard output.
    pub fn ctr_ok(&self, args: &[&str]) -> String {
        let output = self.ctr(args, Duration::from_secs(180));
        assert!(
            output.status.success(),
            "ctr {} failed with {}:\n{}{}\nthe end of containerd's log:\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log_tail()
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The status `ctr plugins ls` gives a plugin (`ok`, `error`, `skip`).
    pub fn plugin_status(&self, plugin_type: &str, id: &str) -> Option<String> {
        let listing = self.ctr_ok(&["plugins", "ls"]);
        listing.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 4 && fields[0] == plugin_type && fields[1] == id).then(|| fields[fields.len() - 1].to_owned())
        })
    }

    /// `ctr run -d`: a task of `image` through the runtime `runtime` on the
    /// host's network, as `--net-host` gives it.
    pub fn run(&self, run: &Run) -> Task<'_> {
        let mut args: Vec<String> = vec!["run".into(), "--detach".into(), "--runtime".into(), run.runtime.clone(), "--net-host".into()];
        for (name, value) in &run.env {
            args.push("--env".into());
            args.push(format!("{name}={value}"));
        }
        args.extend(run.flags.iter().cloned());
        for (source, destination) in &run.mounts {
            args.push("--mount".into());
            args.push(format!("type=bind,src={},dst={destination},options=rbind:ro", source.display()));
        }
        args.push(run.image.clone());
        args.push(run.id.clone());
        args.extend(run.command.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let log_offset = std::fs::metadata(&self.log).map_or(0, |log| log.len() as usize);
        let started = Instant::now();
        let task = Task { containerd: self, id: run.id.clone(), started, log_offset };
        self.ctr_ok(&args);
        task
    }

    /// The process ids of the shims and `ctr` calls that talk to this
    /// daemon: they are started with its socket's path among their arguments.
    pub fn helpers(&self) -> Vec<u32> {
        crate::process::processes_naming(&self.socket).into_iter().filter(|&pid| pid != self.child.id()).collect()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Tasks left behind (a test failed between `run` and its guard).
        if self.child.try_wait().is_ok_and(|status| status.is_none()) {
            for id in self.ctr_quiet(&["tasks", "ls", "--quiet"]).unwrap_or_default().split_whitespace() {
                self.ctr_quiet(&["tasks", "kill", "--signal", "SIGKILL", id]);
                self.ctr_quiet(&["tasks", "delete", "--force", id]);
                self.ctr_quiet(&["containers", "delete", id]);
            }
        }
        // Shims run in process groups of their own: end them by their ids.
        for pid in self.helpers() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
        }
        kill_group(&mut self.child);
        unmount_under(&self.dir);
    }
}

/// What `ctr run` is asked to run.
pub struct Run {
    pub image: String,
    pub id: String,
    pub runtime: String,
    pub env: Vec<(String, String)>,
    /// (file on the host, path in the container), bind-mounted read-only.
    pub mounts: Vec<(PathBuf, String)>,
    pub command: Vec<String>,
    /// Further `ctr run` flags, such as a pod's security context.
    pub flags: Vec<String>,
}

/// A task that `ctr run` started; killed and deleted with its container
/// when dropped.
pub struct Task<'a> {
    containerd: &'a Containerd,
    pub id: String,
    /// When `ctr run` was started.
    pub started: Instant,
    /// The length of containerd's log then: what the task's start wrote
    /// comes after it, whatever earlier tasks wrote before.
    log_offset: usize,
}

impl Task<'_> {
    /// What containerd logged since this task's `ctr run`: a refusal's
    /// reason is this task's, not an earlier one's.
    pub fn log(&self) -> String {
        let text = self.containerd.log_text();
        text.get(self.log_offset..).unwrap_or_default().to_owned()
    }

    /// Its status in `ctr tasks ls`: RUNNING, STOPPED, ...; None once gone.
    pub fn status(&self) -> Option<String> {
        let listing = self.containerd.ctr_ok(&["tasks", "ls"]);
        listing.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.first() == Some(&self.id.as_str())).then(|| fields.last().unwrap().to_string())
        })
    }

    /// The process id of the task's init process, from `ctr tasks ls`
    /// (the shim does not implement the Pids call `ctr tasks ps` makes).
    pub fn pid(&self) -> Option<u32> {
        let listing = self.containerd.ctr_ok(&["tasks", "ls"]);
        listing.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.first() == Some(&self.id.as_str())).then(|| fields.get(1)?.parse().ok()).flatten()
        })
    }

    pub fn kill(&self, signal: &str) {
        self.containerd.ctr_ok(&["tasks", "kill", "--signal", signal, &self.id]);
    }

    /// Waits for the task to stop: how long it took, or None after `timeout`.
    pub fn wait_stopped(&self, timeout: Duration) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.status().is_none_or(|status| status == "STOPPED") {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Waits until `url` answers 200: the time since `ctr run` started.
    pub fn wait_for_200(&self, url: &str, timeout: Duration) -> Duration {
        self.try_wait_for_200(url, timeout).unwrap_or_else(|error| panic!("{error}"))
    }

    /// The time from `ctr run` to the first 200 on `url`, or why there was none.
    pub fn try_wait_for_200(&self, url: &str, timeout: Duration) -> Result<Duration, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let mut checked = Instant::now();
        loop {
            if agent.get(url).call().is_ok_and(|response| response.status() == 200) {
                return Ok(self.started.elapsed());
            }
            if checked.elapsed() > Duration::from_millis(500) {
                checked = Instant::now();
                if self.status().as_deref() != Some("RUNNING") {
                    return Err(format!(
                        "task {} is {:?}, and {url} never answered 200; containerd's log since `ctr run`:\n{}",
                        self.id,
                        self.status(),
                        self.log()
                    ));
                }
            }
            if self.started.elapsed() > timeout {
                return Err(format!(
                    "{url} did not answer 200 within {timeout:?} of `ctr run`; containerd's log since:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

}

impl Drop for Task<'_> {
    fn drop(&mut self) {
        // Never a panic here: the test may be unwinding already.
        let containerd = self.containerd;
        containerd.ctr_quiet(&["tasks", "kill", "--signal", "SIGKILL", &self.id]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let listing = containerd.ctr_quiet(&["tasks", "ls"]).unwrap_or_default();
            let running = listing.lines().any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.first() == Some(&self.id.as_str()) && fields.last() != Some(&"STOPPED")
            });
            if !running {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        containerd.ctr_quiet(&["tasks", "delete", "--force", &self.id]);
        containerd.ctr_quiet(&["containers", "delete", &self.id]);
    }
}
