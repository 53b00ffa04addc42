//! A server of the app on a free port, as users start one (the runner,
//! `spin up`, the native baseline): its address read from the `Serving
//! http://ADDRESS` line both print, its log in a file, and its whole process
//! group ended when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::process::{kill_group, own_group};

/// The runner serving `manifest`, as a user starts it, with `args` after:
/// on a free port unless `args` names one with `--listen`. The one place
/// the runner's command line is written, for the tests and the benchmarks.
pub fn runner_command(runner: &Path, manifest: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(runner);
    command.arg("--manifest").arg(manifest);
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    command.args(args);
    command
}

/// A server process, killed when dropped, even when a test fails.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    /// Run `command` and wait for it to print the address it serves, as
    /// the runner and `spin up` both do: `Serving http://ADDRESS`.
    pub fn spawn(name: &str, command: Command) -> Server {
        Server::try_spawn(name, command).unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// The same, with a server that exits or never serves as an error that
    /// carries its log.
    pub fn try_spawn(name: &str, mut command: Command) -> Result<Server, String> {
        let log = crate::tmp_dir().join(format!("{name}.log"));
        std::fs::create_dir_all(log.parent().unwrap()).unwrap();
        if std::env::var_os("RUST_LOG").is_none() && !command.get_envs().any(|(key, _)| key == "RUST_LOG") {
            command.env("RUST_LOG", "info");
        }
        // Its own process group, so that what it starts goes with it: `spin
        // up` serves from a child process, `spin trigger http`.
        own_group(&mut command);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("Serving http://") {
                    let _ = sender.send(address.parse::<SocketAddr>().unwrap());
                }
            }
        });
        // A first start may build and compile the component.
        let address = match receiver.recv_timeout(Duration::from_secs(600)) {
            Ok(address) => address,
            Err(_) => {
                kill_group(&mut child);
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("{name}: the server did not start; its log:\n{log}"));
            }
        };
        Ok(Server { child, address, log })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM to the server's process, as a pod or supervisor stops it, and
    /// wait for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "the server did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}
