//! The component under the real containerd-shim-spin v0.24.0, the way a
//! Kubernetes node runs the pod: a real containerd with the runtime from
//! `runtime-class/containerd-1.x.toml`, the image pulled from a real registry,
//! and the Deployment's own command, environment and runtime-config mount as
//! `kubectl kustomize manifests/wasm` renders them, under the pod's
//! securityContext (as `ctr run` flags; checked in `/proc` of the task's
//! processes). Only the listen address changes, to a free port on 127.0.0.1.
//!
//! Two forms of the app, as the README publishes them:
//! - the plain image `Dockerfile` builds (buildah, no Docker daemon), under
//!   Debian 12's containerd 1.6;
//! - the Spin OCI artifact `spin registry push` makes, under containerd 1.7
//!   (1.6 cannot unpack it): `scripts/containerd-1.7.sh DIR` provides it, and
//!   `CONTAINERD_1_7=DIR` tells the test where.
//!
//! Needs root, Debian's `containerd`, `runc`, `buildah`, `docker-registry`
//! and `kubectl`, and the real `spin` and `containerd-shim-spin-v2`
//! (`SPIN`, `CONTAINERD_SHIM_SPIN`; see harness/src/binaries.rs).

#[path = "../support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use harness::{binaries, fresh_dir, repo_root};
use harness::confinement::{self, SecurityContext};
use harness::buildah::Buildah;
use harness::containerd::{Containerd, Run, Task};
use harness::registry::Registry;
use harness::files::{db_files, sqlite_files};
use harness::free_port;
use harness::http::{client, get, sample};
use harness::pod::{self, Pod};
use harness::process::run_ok;
use support::built_component;

mod artifact;
mod plain_image;

/// One test at a time: both start daemons, and the start-up times they
/// print are only comparable on an otherwise idle machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Requests to `/` per run.
pub(crate) const N: usize = 20;

/// The containerd runtime the RuntimeClass's handler names, from
/// `runtime-class/containerd-1.x.toml`: the whole file, to merge into
/// containerd's config, and the handler's runtime_type.
pub(crate) struct RuntimeRegistration {
    pub(crate) config: toml::Table,
    pub(crate) handler: String,
    pub(crate) runtime_type: String,
}

pub(crate) fn runtime_registration(runtime_class: &str) -> RuntimeRegistration {
    let class = harness::read_yaml("runtime-class/runtime-class.yaml");
    assert_eq!(class["metadata"]["name"], runtime_class, "the Deployment's RuntimeClass is runtime-class/runtime-class.yaml's");
    let handler = class["handler"].as_str().expect("the RuntimeClass has a handler").to_owned();
    let config: toml::Table = std::fs::read_to_string(repo_root().join("runtime-class/containerd-1.x.toml")).unwrap().parse().unwrap();
    assert_eq!(config.get("version").and_then(toml::Value::as_integer), Some(2), "containerd-1.x.toml is config version 2");
    let runtime_type = config["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
        .get(&handler)
        .and_then(|runtime| runtime.get("runtime_type"))
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("containerd-1.x.toml registers no runtime_type for the handler {handler}"))
        .to_owned();
    RuntimeRegistration { config, handler, runtime_type }
}

/// A containerd with the runtime registered from the repository's file; its
/// CRI plugin, which owns that table, must have loaded it.
pub(crate) fn start_containerd(dir: &Path, binaries_dir: Option<&Path>, registration: &RuntimeRegistration, namespace: &str) -> Containerd {
    let containerd = Containerd::start(dir, binaries_dir, &binaries::containerd_shim_spin(), &registration.config, namespace);
    assert_eq!(
        containerd.plugin_status("io.containerd.grpc.v1", "cri").as_deref(),
        Some("ok"),
        "containerd's CRI plugin did not load; the end of its log:\n{}",
        containerd.log_tail()
    );
    // The CRI plugin logs the runtimes it was configured with.
    let registered = format!("{}:{{Type:{} ", registration.handler, registration.runtime_type);
    assert!(
        containerd.log_text().contains(&registered),
        "containerd's CRI plugin did not log the runtime {registered:?}; the end of its log:\n{}",
        containerd.log_tail()
    );
    containerd
}

/// The Deployment's container, started with `ctr run`, listening on a free
/// port of 127.0.0.1 instead of the pod's port.
pub(crate) fn run_pod<'a>(containerd: &'a Containerd, pod: &Pod, runtime_type: &str, image: &str, id: &str, port: u16) -> Task<'a> {
    let listen = format!("127.0.0.1:{port}");
    let mut env = pod.env.clone();
    let listen_variable = env
        .iter_mut()
        .find(|(name, _)| name == "SPIN_HTTP_LISTEN_ADDR")
        .expect("the Deployment sets SPIN_HTTP_LISTEN_ADDR");
    assert!(
        listen_variable.1.ends_with(&format!(":{}", pod.port)),
        "SPIN_HTTP_LISTEN_ADDR {} is not the port the probes use ({})",
        listen_variable.1,
        pod.port
    );
    listen_variable.1 = listen;
    containerd.run(&Run {
        image: image.to_owned(),
        id: id.to_owned(),
        runtime: runtime_type.to_owned(),
        env,
        mounts: pod.mounts.clone(),
        command: pod.command.clone(),
        flags: pod.security.ctr_flags(&containerd.version),
    })
}

/// Readiness, then N requests to `/` counted exactly, starting from 0.
/// Returns the time from `ctr run` to the first 200 on the probe's path.
pub(crate) fn serves_and_counts(task: &Task, pod: &Pod, port: u16) -> Duration {
    let base = format!("http://127.0.0.1:{port}");
    let ready = task.wait_for_200(&format!("{base}{}", pod.readiness_path), Duration::from_secs(120));
    let agent = client();
    let metrics = get(&agent, &format!("{base}/metrics"), None).body;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(0.0), "a new task counts from 0:\n{metrics}");
    for _ in 0..N {
        let answer = get(&agent, &format!("{base}/"), None);
        assert_eq!((answer.status, answer.body.as_str()), (200, "Hello World!"));
    }
    let metrics = get(&agent, &format!("{base}/metrics"), None).body;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(N as f64), "{metrics}");
    assert_eq!(sample(&metrics, "python_request_duration_seconds_count"), Some(N as f64), "{metrics}");
    // The probe's scrapes counted nothing.
    assert_eq!(get(&agent, &format!("{base}{}", pod.readiness_path), None).status, 200);
    let again = get(&agent, &format!("{base}/metrics"), None).body;
    assert_eq!(sample(&again, "python_request_operations_total"), Some(N as f64));
    ready
}

/// The task's processes run as the pod's securityContext says: read from
/// the kernel's own view of them (`/proc/PID/status`), not from the spec.
pub(crate) fn runs_confined(containerd: &Containerd, task: &Task, pod: &Pod) {
    let init = task.pid().unwrap_or_else(|| panic!("ctr tasks ls has no process for {}", task.id));
    let check_user = !containerd.version.starts_with("1.6");
    if let Err(difference) = confinement::check_process(init, &pod.security, check_user) {
        panic!("task {} is not confined as its pod says: {difference}", task.id);
    }
    let user_note = if containerd.version.starts_with("1.6") { " (the user is the image's: ctr 1.6 has no --user)" } else { "" };
    println!("task {} runs confined{user_note}: {:?}", task.id, pod.security);
}

/// SIGTERM, as the kubelet stops a pod: the task ends within the pod's
/// grace period, and the port closes.
pub(crate) fn stops_on_sigterm(task: &Task, pod: &Pod, port: u16) {
    task.kill("SIGTERM");
    let took = task
        .wait_stopped(pod.termination_grace)
        .unwrap_or_else(|| panic!("task {} still runs {:?} after SIGTERM", task.id, pod.termination_grace));
    println!("SIGTERM to stopped: {} ms (grace period {} s)", took.as_millis(), pod.termination_grace.as_secs());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "port {port} still open after the task stopped");
}

/// Pulls `image` and runs two pods from it, as a Deployment's replicas
/// come and go: each answers its probe, counts exactly from 0 (the first
/// pod's counts died with it), and writes no SQLite file; the second stops
/// on SIGTERM within the grace period. `form` names the image in the
/// start-up times printed.
pub(crate) fn two_pods_in_memory(containerd: &Containerd, pod: &Pod, runtime_type: &str, image: &str, form: &str) {
    containerd.ctr_ok(&["images", "pull", "--plain-http", image]);
    let watched = [containerd.root.as_path(), containerd.state.as_path()];
    for replica in ["first", "second"] {
        let port = free_port();
        let id = format!("{}-{replica}-{}", containerd.namespace, std::process::id());
        let task = run_pod(containerd, pod, runtime_type, image, &id, port);
        let ready = serves_and_counts(&task, pod, port);
        runs_confined(containerd, &task, pod);
        println!("shim start to first 200: {} ms ({form}, containerd {}, {replica} pod)", ready.as_millis(), containerd.version);
        // The in-memory store: no SQLite file, though the counts were written.
        assert_eq!(sqlite_files(&watched), Vec::<PathBuf>::new(), "the in-memory store wrote a database");
        let dbs = db_files(&watched);
        assert!(
            dbs.iter().all(|db| matches!(db.file_name().unwrap().to_str(), Some("meta.db" | "metadata.db"))),
            "*.db files beside containerd's own bolt databases: {dbs:?}"
        );
        if replica == "first" {
            task.kill("SIGKILL");
        } else {
            stops_on_sigterm(&task, pod, port);
        }
    }
}

/// The control of the in-memory checks: without the runtime config and with
/// a root it may write (writable, and as root: `/` is root's), Spin keeps
/// its default SQLite store in `/.spin`, and the search `two_pods_in_memory`
/// makes finds it below this containerd's root.
pub(crate) fn finds_the_default_store_without_the_runtime_config(containerd: &Containerd, pod: &Pod, runtime_type: &str, image: &str) {
    let security = SecurityContext { read_only_root: false, run_as: None, ..pod.security.clone() };
    let control = Pod { mounts: Vec::new(), security, ..pod.clone() };
    let port = free_port();
    let id = format!("{}-control-{}", containerd.namespace, std::process::id());
    let task = run_pod(containerd, &control, runtime_type, image, &id, port);
    serves_and_counts(&task, &control, port);
    let found = sqlite_files(&[containerd.root.as_path(), containerd.state.as_path()]);
    assert!(
        found.iter().any(|file| file.ends_with(".spin/sqlite_key_value.db")),
        "without the runtime config, Spin's default store should be a SQLite file below containerd {}'s root; found {found:?}",
        containerd.version
    );
}

/// Where `scripts/containerd-1.7.sh DIR` put containerd 1.7's binaries.
pub(crate) fn containerd_1_7() -> PathBuf {
    let dir = std::env::var_os("CONTAINERD_1_7").map(PathBuf::from).unwrap_or_else(|| {
        panic!("CONTAINERD_1_7 is not set: run `scripts/containerd-1.7.sh DIR` and set CONTAINERD_1_7=DIR (containerd 1.6 cannot unpack a Spin OCI artifact)")
    });
    for binary in ["containerd", "ctr"] {
        assert!(
            dir.join(binary).is_file(),
            "CONTAINERD_1_7={} has no {binary}: run `scripts/containerd-1.7.sh {}`",
            dir.display(),
            dir.display()
        );
    }
    dir
}
