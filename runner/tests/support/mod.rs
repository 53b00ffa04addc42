//! Starts a real server of the app on a free port (our runner, the native
//! baseline, or the real `spin up`) and talks HTTP to it.

#![allow(dead_code)] // each test file uses its own part of this

pub mod conformance;
pub mod soak;
pub mod spin;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use harness::http::{Answer, answer, client, concurrent_gets, get, sample};
pub use harness::mounts::unmount_under;
pub use harness::process::kill_group;
pub use harness::{binaries, repo_root};

pub fn project_manifest() -> PathBuf {
    repo_root().join("spin.toml")
}

/// The project's component, built by the command `spin.toml` gives, through
/// the runner's own staleness check (it builds only when the wasm is
/// missing or stale): its path.
pub fn built_component() -> PathBuf {
    drop(Server::runner("component-build"));
    let component = repo_root().join("target/wasm32-wasip2/wasm-release/keda_spin_autoscaling.wasm");
    assert!(component.is_file(), "the runner did not build {}", component.display());
    component
}

/// A server process, killed when dropped, even when a test fails.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    /// The project's own component on our runner, as `cargo run` serves it.
    pub fn runner(name: &str) -> Server {
        Server::runner_with(name, &project_manifest(), &[], &[])
    }

    pub fn runner_with(name: &str, manifest: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        // A free port, unless the caller names one.
        let listen: &[&str] = if args.contains(&"--listen") { &[] } else { &["--listen", "127.0.0.1:0"] };
        let mut command = Command::new(env!("CARGO_BIN_EXE_runner"));
        command.arg("--manifest").arg(manifest).args(listen).args(args).envs(env.iter().copied());
        Server::spawn(name, command)
    }

    /// The same app compiled natively.
    pub fn native(name: &str) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_native-baseline"));
        command.args(["--listen", "127.0.0.1:0"]);
        Server::spawn(name, command)
    }

    /// Run `command` and wait for it to print the address it serves, as
    /// the runner and `spin up` both do: `Serving http://ADDRESS`.
    pub fn spawn(name: &str, command: Command) -> Server {
        Server::try_spawn(name, command).unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// The same, with a server that exits or never serves as an error that
    /// carries its log.
    pub fn try_spawn(name: &str, mut command: Command) -> Result<Server, String> {
        let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.log"));
        if std::env::var_os("RUST_LOG").is_none() && !command.get_envs().any(|(key, _)| key == "RUST_LOG") {
            command.env("RUST_LOG", "info");
        }
        // Its own process group, so that what it starts goes with it: `spin
        // up` serves from a child process, `spin trigger http`.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
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

/// A fresh, empty directory for one test, under the target's tmp dir. A
/// previous run that was killed may have left mounts in it: they go first.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    unmount_under(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Regular files below `dirs` for which `keep` holds, without crossing into
/// other file systems: the containers' /proc, /sys and /dev, and their
/// overlay root file systems, whose writes land in the snapshot directories
/// below containerd's root anyway.
pub fn files_below(dirs: &[&Path], keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    fn walk(path: &Path, device: u64, keep: &dyn Fn(&Path) -> bool, found: &mut Vec<PathBuf>) {
        let Ok(metadata) = path.symlink_metadata() else { return };
        if metadata.dev() != device {
            return;
        }
        if metadata.is_dir() {
            let Ok(entries) = std::fs::read_dir(path) else { return };
            for entry in entries.filter_map(Result::ok) {
                walk(&entry.path(), device, keep, found);
            }
        } else if metadata.is_file() && keep(path) {
            found.push(path.to_owned());
        }
    }
    let mut found = Vec::new();
    for dir in dirs {
        if let Ok(metadata) = dir.metadata() {
            walk(dir, metadata.dev(), keep, &mut found);
        }
    }
    found
}

/// SQLite databases below `dirs`: files with SQLite's header, or named
/// like Spin's default store (`sqlite_key_value.db`).
pub fn sqlite_files(dirs: &[&Path]) -> Vec<PathBuf> {
    files_below(dirs, &|path| {
        let mut header = [0u8; 16];
        let is_sqlite = std::fs::File::open(path)
            .and_then(|mut file| file.read_exact(&mut header))
            .is_ok_and(|()| &header == b"SQLite format 3\0");
        is_sqlite || path.file_name().unwrap_or_default().to_string_lossy().contains("sqlite")
    })
}

/// Every file named `*.db` below `dirs`.
pub fn db_files(dirs: &[&Path]) -> Vec<PathBuf> {
    files_below(dirs, &|path| path.extension().is_some_and(|extension| extension == "db"))
}

/// Send raw bytes (for requests no well-behaved client would make) and
/// return the status code of the answer, if any.
pub fn raw_status(address: SocketAddr, head: &[u8], body_len: usize) -> Option<u16> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let head = head.to_vec();
    // The body goes out from another thread, as a real client streams it,
    // so that an early answer can be read while the upload is refused.
    let upload = std::thread::spawn(move || {
        let _ = writer.write_all(&head);
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = body_len;
        while left > 0 {
            let n = left.min(chunk.len());
            if writer.write_all(&chunk[..n]).is_err() {
                break;
            }
            left -= n;
        }
    });
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    while !response.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buffer[..n]),
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = upload.join();
    let status_line = String::from_utf8_lossy(&response);
    status_line.split(' ').nth(1).and_then(|code| code.parse().ok())
}

/// `promtool check metrics` on a text exposition: its exit code and output.
pub fn promtool_check_metrics(exposition: &str) -> (i32, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package `prometheus`; .ci/run installs it)");
    child.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}
