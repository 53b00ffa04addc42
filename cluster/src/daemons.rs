//! The node's long-running processes. Each runs in a process group of its
//! own with its output in `run/logs/NAME.log`, and its id is written to
//! `run/pids/`, so that `down`, from this process or a later one, ends
//! every one of them in the reverse order of their start.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::layout::Layout;

/// A started process.
#[derive(Clone, Debug)]
pub struct Daemon {
    pub name: String,
    pub pid: i32,
}

/// Starts `command` as the daemon `name`.
pub fn start(layout: &Layout, name: &str, mut command: Command) -> Result<Daemon> {
    std::fs::create_dir_all(layout.logs())?;
    std::fs::create_dir_all(layout.pids())?;
    let log = std::fs::File::create(layout.log(name))?;
    harness::process::own_group(&mut command);
    let child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {name}: {command:?}"))?;
    let pid = child.id() as i32;
    // The order of the start, so that `down` stops the last started first.
    let order = std::fs::read_dir(layout.pids())?.count();
    std::fs::write(layout.pids().join(format!("{order:02}-{name}")), pid.to_string())?;
    Ok(Daemon { name: name.to_owned(), pid })
}

impl Daemon {
    /// Running, and not a zombie waiting to be reaped.
    pub fn is_running(&self) -> bool {
        is_running(self.pid)
    }

    /// Waits until `ready` holds, while the process runs; on failure the
    /// error carries the end of its log.
    pub fn wait_ready(&self, layout: &Layout, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<Duration> {
        let started = Instant::now();
        loop {
            if !self.is_running() {
                bail!("{} exited while starting; the end of its log:\n{}", self.name, log_tail(layout, &self.name));
            }
            if ready() {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                bail!("{} was not ready within {timeout:?}; the end of its log:\n{}", self.name, log_tail(layout, &self.name));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn log_tail(layout: &Layout, name: &str) -> String {
    harness::process::tail(&layout.log(name), 40)
}

fn is_running(pid: i32) -> bool {
    // Reaps it if it is our own child that has exited.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
    harness::process::is_alive(pid as u32)
}

/// The daemons `up` recorded, in the order they were started.
pub fn recorded(layout: &Layout) -> Vec<Daemon> {
    let Ok(entries) = std::fs::read_dir(layout.pids()) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.filter_map(Result::ok).map(|entry| entry.path()).collect();
    files.sort();
    files
        .iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.split_once('-')?.1.to_owned();
            let pid = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
            Some(Daemon { name, pid })
        })
        .collect()
}

/// Ends every recorded daemon, the last started first: SIGTERM to its
/// process group, then SIGKILL after `grace`.
pub fn stop_all(layout: &Layout, grace: Duration) {
    for daemon in recorded(layout).iter().rev() {
        stop(daemon, grace);
    }
    let _ = std::fs::remove_dir_all(layout.pids());
}

pub fn stop(daemon: &Daemon, grace: Duration) {
    if !daemon.is_running() {
        return;
    }
    unsafe { libc::kill(-daemon.pid, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while daemon.is_running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(-daemon.pid, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while daemon.is_running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}
