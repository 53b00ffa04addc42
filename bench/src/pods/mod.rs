//! `bench pods`: the cost of one replica. The wasm pod (containerd-shim-spin
//! v0.24.0), as the Spin OCI artifact and as the plain image we ship,
//! against the original Flask container (runc), side by side on one
//! containerd, in one run: image sizes, start to first 200 cold and warm,
//! memory of one replica and of many, and throughput at the Deployment's
//! CPU limit. Writes the "per replica" section of BENCHMARKS.md.
//!
//! Each pod runs as `kubectl kustomize` renders its Deployment
//! (`harness::pod`), under its securityContext as `ctr run` flags, as the
//! conformance tests run it; only the listen address changes, to a free
//! port of 127.0.0.1. The artifact cannot run restricted
//! (docs/security.md): it runs as root. Needs root; scripts/bench.sh checks
//! the Debian packages and builds the component first.

mod measure;
mod table;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use harness::buildah::Buildah;
use harness::containerd::{Containerd, Run, Task};
use harness::pod::Pod;
use harness::registry::Registry;

use measure::{Memory, Throughput};
use table::Figures;

#[derive(clap::Args)]
pub struct Settings {
    /// Starts per image form, cold and warm each.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// Seconds of wrk per throughput figure.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Replicas running at once, for the memory of many.
    #[arg(long, default_value_t = 10)]
    pub replicas: usize,
    /// Requests to `/` each replica serves before its memory is read.
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
    /// wrk's connections.
    #[arg(long, default_value_t = 16)]
    pub connections: u32,
    /// Spin's runtime knobs (SPIN_WASMTIME_POOLING=0, ...) added to the wasm
    /// tasks' environment, to see what they change.
    #[arg(long = "wasm-env", value_name = "NAME=VALUE")]
    pub wasm_env: Vec<String>,
    /// Write the section into this Markdown file, between its pods markers.
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Print the section only (a quick look: --runs 3 --seconds 3 --no-write).
    #[arg(long)]
    pub no_write: bool,
}

/// The three forms of a replica, in the table's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    Artifact,
    Plain,
    Container,
}

impl Form {
    pub const ALL: [Form; 3] = [Form::Artifact, Form::Plain, Form::Container];

    pub fn label(self) -> &'static str {
        match self {
            Form::Artifact => "wasm, Spin OCI artifact (as root)",
            Form::Plain => "wasm, plain image (restricted)",
            Form::Container => "container (Flask, restricted)",
        }
    }

    /// Its repository in the registry, and the name its tasks' ids carry.
    fn name(self) -> &'static str {
        match self {
            Form::Artifact => "wasm-artifact",
            Form::Plain => "wasm-plain",
            Form::Container => "container",
        }
    }
}

pub fn run(settings: &Settings) -> Result<()> {
    ensure!(unsafe { libc::geteuid() } == 0, "it starts containerd and runs containers, which needs root: run it as root");
    let seed_app = std::env::var_os("SEED_APP").map(PathBuf::from).unwrap_or_default();
    ensure!(
        seed_app.join("app-just-counter.py").is_file(),
        "set SEED_APP to the original demo's python-app directory (the one with app-just-counter.py)"
    );
    let containerd_1_7 =
        std::env::var_os("CONTAINERD_1_7").map(PathBuf::from).context("CONTAINERD_1_7 is not set (scripts/bench.sh sets it)")?;
    let (spin, shim) = (harness::binaries::spin(), harness::binaries::containerd_shim_spin());
    let work = Work::new()?;

    eprintln!("== the images");
    let registry = Registry::start(&work.dir);
    let buildah = Buildah::new(&work.dir);
    let image = |form: Form| format!("{}/{}:bench", registry.address, form.name());
    let repo = harness::repo_root();
    buildah.build(&repo, &repo.join("Dockerfile"), "localhost/wasm-plain:bench");
    buildah.push("localhost/wasm-plain:bench", &image(Form::Plain));
    let mut push = Command::new(&spin);
    push.args(["registry", "push", "--insecure", "--cache-dir"]).arg(work.dir.join("spin-cache")).arg("--from").arg(repo.join("spin.toml"));
    push.arg(image(Form::Artifact));
    harness::process::run_ok(push, Duration::from_secs(300));
    let mut flask = Command::new(repo.join("scripts/flask-image.sh"));
    flask.arg(format!("docker://{}", image(Form::Container))).env("SEED_APP", &seed_app);
    let flask_versions = harness::process::run_ok(flask, Duration::from_secs(1800));
    drop(buildah);

    eprintln!("== containerd");
    // ctr needs no CRI; leaving it out keeps its memory off the figures.
    let extra: toml::Table = r#"disabled_plugins = ["io.containerd.grpc.v1.cri"]"#.parse()?;
    let containerd = Containerd::start(&work.dir, Some(&containerd_1_7), &shim, &extra, &namespace());
    let bench = Bench::new(&containerd, &work.dir, image, settings)?;

    let mut figures = Figures::new(settings, &containerd.version, flask_versions.trim());
    for form in Form::ALL {
        figures.pulled.insert(form, measure::pulled_bytes(&registry.address, form.name())?);
    }
    bench.sizes(&mut figures)?;
    bench.starts(&mut figures)?;
    bench.memory(&mut figures)?;
    bench.throughput(&mut figures)?;

    let section = figures.markdown();
    println!("{section}");
    if let Some(file) = settings.write.as_ref().filter(|_| !settings.no_write) {
        harness::benchmarks::write_section(file, "pods", &section).map_err(anyhow::Error::msg)?;
        eprintln!("wrote the per-replica section of {}", file.display());
    }
    Ok(())
}

/// A folder of this run's own under /tmp (containerd's socket path must be
/// short); removed at the end, also after an error.
struct Work {
    dir: PathBuf,
}

impl Work {
    fn new() -> Result<Work> {
        let dir = std::env::temp_dir().join(format!("bench-pods.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Work { dir })
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        harness::mounts::unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
        // The tasks' cgroups are /NAMESPACE/ID on every hierarchy; a shim
        // that was killed leaves them behind.
        let namespace = namespace();
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().filter_map(Result::ok) {
            let ours = hierarchy.path().join(&namespace);
            for task in std::fs::read_dir(&ours).into_iter().flatten().filter_map(Result::ok) {
                let _ = std::fs::remove_dir(task.path());
            }
            let _ = std::fs::remove_dir(ours);
        }
    }
}

/// containerd's namespace of this run: its cgroups are /NAMESPACE/ID, and a
/// second run beside it cannot collide.
fn namespace() -> String {
    format!("bench-pods-{}", std::process::id())
}

/// The running pieces and what each form's pod is told.
struct Bench<'a, I: Fn(Form) -> String> {
    containerd: &'a Containerd,
    image: I,
    wasm: Pod,
    container: Pod,
    settings: &'a Settings,
}

impl<'a, I: Fn(Form) -> String> Bench<'a, I> {
    fn new(containerd: &'a Containerd, work: &Path, image: I, settings: &'a Settings) -> Result<Self> {
        let files = work.join("pod-files");
        std::fs::create_dir_all(&files)?;
        let wasm = harness::pod::read("manifests/wasm", &files);
        let container = harness::pod::read("manifests/container", &files);
        for extra in &settings.wasm_env {
            ensure!(extra.contains('='), "--wasm-env {extra}: expected NAME=VALUE");
        }
        Ok(Bench { containerd, image, wasm, container, settings })
    }

    /// `ctr run` of `form`'s pod on 127.0.0.1:`port`, with `flags` added.
    fn start(&self, form: Form, id: &str, port: u16, flags: &[String]) -> Task<'a> {
        let listen = format!("127.0.0.1:{port}");
        let security = match form {
            Form::Artifact => Vec::new(),
            Form::Plain => self.wasm.security.ctr_flags(&self.containerd.version),
            Form::Container => self.container.security.ctr_flags(&self.containerd.version),
        };
        let log = format!("--log-uri=file://{}", self.containerd.dir.join(format!("{id}.log")).display());
        let mut run = Run {
            image: (self.image)(form),
            id: id.to_owned(),
            runtime: "io.containerd.spin.v2".into(),
            env: Vec::new(),
            mounts: Vec::new(),
            command: Vec::new(),
            flags: [vec![log], security, flags.to_vec()].concat(),
        };
        if form == Form::Container {
            run.runtime = "io.containerd.runc.v2".into();
            // The Flask app on the free port: the Deployment's own listen address is 0.0.0.0:5000.
            run.command = ["flask", "run", "-h", "127.0.0.1", "-p", &port.to_string()].map(str::to_owned).to_vec();
        } else {
            run.env = self
                .wasm
                .env
                .iter()
                .map(|(name, value)| (name.clone(), if name == "SPIN_HTTP_LISTEN_ADDR" { listen.clone() } else { value.clone() }))
                .collect();
            run.env.extend(
                self.settings
                    .wasm_env
                    .iter()
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(name, value)| (name.to_owned(), value.to_owned())),
            );
            run.mounts = self.wasm.mounts.clone();
            run.command = self.wasm.command.clone();
        }
        self.containerd.run(&run)
    }

    /// Starts `form` and waits for its first 200 on `/`: the task, its port
    /// and the time from `ctr run`.
    fn started(&self, form: Form, id: &str, flags: &[String]) -> Result<(Task<'a>, u16, Duration)> {
        let port = harness::free_port();
        let task = self.start(form, id, port, flags);
        let took = task.try_wait_for_200(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(60)).map_err(anyhow::Error::msg)?;
        Ok((task, port, took))
    }

    fn fresh_pull(&self, form: Form) {
        let image = (self.image)(form);
        let _ = self.containerd.ctr(&["images", "rm", "--sync", &image], Duration::from_secs(60));
        self.containerd.ctr_ok(&["images", "pull", "--plain-http", &image]);
    }

    /// Unpacked by each pull, with nothing running; then what the first
    /// start adds to the content store (the shim's precompiled component).
    fn sizes(&self, figures: &mut Figures) -> Result<()> {
        eprintln!("== image sizes");
        let snapshots = self.containerd.root.join("io.containerd.snapshotter.v1.overlayfs");
        let content = self.containerd.root.join("io.containerd.content.v1.content");
        for form in Form::ALL {
            let before = measure::bytes_in(&snapshots);
            self.containerd.ctr_ok(&["images", "pull", "--plain-http", &(self.image)(form)]);
            figures.unpacked.insert(form, measure::bytes_in(&snapshots) - before);
        }
        for form in Form::ALL {
            let before = measure::bytes_in(&content);
            drop(self.started(form, &format!("size-{}", form.name()), &[])?);
            figures.precompiled.insert(form, measure::bytes_in(&content) - before);
        }
        Ok(())
    }

    fn starts(&self, figures: &mut Figures) -> Result<()> {
        let runs = self.settings.runs;
        eprintln!("== start to first 200: {runs} × (cold, warm) per form");
        for run in 1..=runs {
            let mut line = format!("run {run}/{runs}:");
            for form in Form::ALL {
                self.fresh_pull(form);
                let (_, _, cold) = self.started(form, &format!("cold-{}-{run}", form.name()), &[])?;
                let (_, _, warm) = self.started(form, &format!("warm-{}-{run}", form.name()), &[])?;
                figures.cold.entry(form).or_default().push(cold);
                figures.warm.entry(form).or_default().push(warm);
                line += &format!("  {} {}/{} ms", form.name(), cold.as_millis(), warm.as_millis());
            }
            eprintln!("{line}");
        }
        Ok(())
    }

    fn memory(&self, figures: &mut Figures) -> Result<()> {
        let (replicas, requests) = (self.settings.replicas, self.settings.requests);
        eprintln!("== memory: one replica, then {replicas} at once, after {requests} requests each");
        for form in Form::ALL {
            // The first replica after a pull (the artifact's shim compiles
            // the component then), then a second, as every further replica.
            self.fresh_pull(form);
            let (task, port, _) = self.started(form, &format!("mem-cold-{}", form.name()), &[])?;
            figures.one_cold.insert(form, self.served_memory(&task, port)?);
            drop(task);
            let (task, port, _) = self.started(form, &format!("mem-{}", form.name()), &[])?;
            figures.one.insert(form, self.served_memory(&task, port)?);
            figures.processes.insert(form, measure::describe_replica(self.containerd, &task)?);
            drop(task);

            let many: Vec<_> =
                (1..=replicas).map(|index| self.started(form, &format!("many-{}-{index}", form.name()), &[])).collect::<Result<_>>()?;
            let mut sum = Memory::default();
            for (task, port, _) in &many {
                sum += self.served_memory(task, *port)?;
            }
            figures.many.insert(form, sum);
            eprintln!("{}: one {:?}; {replicas} at once {sum:?}", form.label(), figures.one[&form]);
        }
        Ok(())
    }

    /// The task's memory after `requests` requests to `/`, counted exactly.
    fn served_memory(&self, task: &Task, port: u16) -> Result<Memory> {
        let requests = self.settings.requests;
        measure::send_requests(port, requests)?;
        let counted = measure::counted(port)?;
        // The first 200 of the start counted too.
        ensure!(counted == requests as u64 + 1, "task {} counted {counted} requests, expected {}", task.id, requests + 1);
        Memory::of(self.containerd, task)
    }

    fn throughput(&self, figures: &mut Figures) -> Result<()> {
        let limit = self.wasm.cpu_limit.as_deref().context("manifests/wasm sets no CPU limit")?;
        let millicores: u64 = match limit.strip_suffix('m') {
            Some(millis) => millis.parse()?,
            None => limit.parse::<u64>()? * 1000,
        };
        let (period, quota) = (100_000u64, millicores * 100);
        let (connections, seconds) = (self.settings.connections, self.settings.seconds);
        eprintln!("== throughput: wrk, {connections} connections, {seconds} s, at {limit} CPU and unlimited");
        figures.cpu_limit = limit.to_owned();
        let flags = ["--cpu-quota", &quota.to_string(), "--cpu-period", &period.to_string()].map(str::to_owned);
        for form in Form::ALL {
            let (task, port, _) = self.started(form, &format!("tput-{}", form.name()), &flags)?;
            let seen = measure::cpu_limit_of(&task)?;
            if seen != format!("{quota}/{period}") {
                bail!("task {} runs with CPU limit {seen}, not {quota}/{period}", task.id);
            }
            figures.limited.insert(form, Throughput::measure(self.containerd, &task, port, connections, seconds)?);
            drop(task);
            let (task, port, _) = self.started(form, &format!("tput-free-{}", form.name()), &[])?;
            figures.unlimited.insert(form, Throughput::measure(self.containerd, &task, port, connections, seconds)?);
            eprintln!("{}: at {limit} {:?}, unlimited {:?}", form.label(), figures.limited[&form], figures.unlimited[&form]);
        }
        Ok(())
    }
}
