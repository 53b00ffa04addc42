//! The node bench (BENCHMARKS.md, "On a real node"): what one replica costs
//! as a cluster sees it, the wasm Deployment against the Flask container,
//! each applied unedited with `kubectl apply -k` on the test node.
//!
//! - start: from `kubectl scale --replicas=1` (from 0) to the pod Ready, as
//!   a watch of the API server sees it, and to the first 200 through the
//!   Service's ClusterIP; median of 10.
//! - scale 1 → 10: from `kubectl scale` to every pod Ready.
//! - memory at 10 and 50 replicas, per pod: the pods' memory cgroups'
//!   working set (usage less inactive file pages, what the kubelet reports),
//!   and the node's `MemAvailable` fallen since 0 replicas (which also holds
//!   each pod's shim, outside the pod's cgroup).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use harness::benchmarks::{Machine, median, mib};

use crate::apps::{self, NAMESPACE, Path, SELECTOR, SERVICE_PORT};
use crate::node::Node;

pub struct Settings {
    /// Starts to measure per path.
    pub starts: usize,
    /// The replica counts memory is read at.
    pub memory_at: Vec<usize>,
}

/// One path's figures.
struct Figures {
    to_ready: Vec<Duration>,
    to_first_200: Vec<Duration>,
    scale_to_10: Duration,
    /// (replicas, working set per pod, MemAvailable fallen per pod), bytes.
    memory: Vec<(usize, u64, u64)>,
}

pub fn run(node: &Node, settings: &Settings) -> Result<String> {
    let mut figures = Vec::new();
    for path in [Path::Wasm, Path::Container] {
        println!("node bench: {path:?}");
        node.kubectl.run(&["apply", "-k", &path.kustomization()])?;
        apps::rollout(node)?;
        figures.push(measure(node, path, settings)?);
        node.kubectl.run_within(&["delete", "-k", &path.kustomization(), "--wait=true", "--timeout=300s"], Duration::from_secs(310))?;
    }
    Ok(report(&figures))
}

fn measure(node: &Node, path: Path, settings: &Settings) -> Result<Figures> {
    let (mut to_ready, mut to_first_200) = (Vec::new(), Vec::new());
    for run in 0..settings.starts {
        scale_to_zero(node)?;
        let (ready, first) = start_one(node)?;
        println!("  start {}: Ready {:.0} ms, first 200 {:.0} ms", run + 1, millis(ready), millis(first));
        to_ready.push(ready);
        to_first_200.push(first);
    }
    let started = Instant::now();
    scale(node, 10)?;
    let scale_to_10 = started.elapsed();
    println!("  1 -> 10 Ready in {:.1} s", scale_to_10.as_secs_f64());

    let mut memory = Vec::new();
    for &replicas in &settings.memory_at {
        scale_to_zero(node)?;
        // Let the freed memory settle before the baseline.
        std::thread::sleep(Duration::from_secs(5));
        let available_before = mem_available()?;
        scale(node, replicas)?;
        // Every pod answers once, as a scraped replica has, then settles.
        let pods = apps::ready_pods(node)?;
        for pod in &pods {
            apps::count(path, &pod.ip)?;
        }
        std::thread::sleep(Duration::from_secs(10));
        let working_set: u64 = pods.iter().map(pod_working_set).collect::<Result<Vec<_>>>()?.iter().sum();
        let fallen = available_before.saturating_sub(mem_available()?);
        let per_pod = (working_set / replicas as u64, fallen / replicas as u64);
        println!("  {replicas} replicas: working set {} per pod, MemAvailable fallen {} per pod", mib(per_pod.0), mib(per_pod.1));
        memory.push((replicas, per_pod.0, per_pod.1));
    }
    scale(node, 1)?;
    Ok(Figures { to_ready, to_first_200, scale_to_10, memory })
}

fn scale(node: &Node, replicas: usize) -> Result<()> {
    node.kubectl.run(&["-n", NAMESPACE, "scale", "deployment/test", &format!("--replicas={replicas}")])?;
    apps::rollout(node)
}

/// Scales to 0 and waits until no pod of the app is left, terminating or not.
fn scale_to_zero(node: &Node) -> Result<()> {
    node.kubectl.run(&["-n", NAMESPACE, "scale", "deployment/test", "--replicas=0"])?;
    let started = Instant::now();
    loop {
        let pods = node.kubectl.get_json(&["-n", NAMESPACE, "pods", "-l", SELECTOR])?;
        if pods["items"].as_array().is_none_or(Vec::is_empty) {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("pods of the app remain 120 s after scaling to 0\n{}", node.describe(NAMESPACE, SELECTOR));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// From `kubectl scale --replicas=1` to the pod Ready (a watch of the API
/// server) and to the first 200 through the ClusterIP (a GET every 10 ms).
fn start_one(node: &Node) -> Result<(Duration, Duration)> {
    let url = format!("http://{}:{SERVICE_PORT}/", apps::service_ip(node)?);
    // The watch first, so that no event is missed.
    let mut watch = node
        .kubectl
        .command(&[
            "-n",
            NAMESPACE,
            "get",
            "pods",
            "-l",
            SELECTOR,
            "--watch",
            "-o",
            r#"jsonpath={.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("kubectl get --watch")?;
    let lines = BufReader::new(watch.stdout.take().unwrap());
    std::thread::sleep(Duration::from_millis(500));

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let poller = {
        let stop = stop.clone();
        std::thread::spawn(move || -> Result<Option<Duration>> {
            while !stop.load(Ordering::Relaxed) {
                // A new connection each time, as a new client would open:
                // it goes where kube-proxy's rules say now.
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_millis(200)))
                    .build()
                    .into();
                // Refused or timed out: no endpoint yet. An answer that is
                // not the app's is an error, not a start.
                if let Ok(mut response) = agent.get(&url).call() {
                    let body = response.body_mut().read_to_string().unwrap_or_default();
                    if response.status() != 200 || body != "Hello World!" {
                        bail!("the Service answered {} {body:?} while the pod started", response.status());
                    }
                    return Ok(Some(started.elapsed()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None)
        })
    };
    node.kubectl.run(&["-n", NAMESPACE, "scale", "deployment/test", "--replicas=1"])?;
    let mut ready = None;
    for line in lines.lines() {
        if line?.trim_end().ends_with(" True") {
            ready = Some(started.elapsed());
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !poller.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let first = poller.join().map_err(|_| anyhow::anyhow!("the poller panicked"))??;
    match (ready, first) {
        (Some(ready), Some(first)) => Ok((ready, first)),
        _ => bail!(
            "{:.1} s after the scale, the watch saw the pod Ready at {ready:?} and the Service's first 200 came at {first:?}\n{}",
            started.elapsed().as_secs_f64(),
            node.describe(NAMESPACE, SELECTOR)
        ),
    }
}

/// The pod's memory cgroup working set (usage less inactive file pages, as
/// the kubelet's cAdvisor computes it), from cgroup v1's memory hierarchy,
/// where the kubelet (cgroupfs driver) names it `pod<UID>`.
fn pod_working_set(pod: &apps::Pod) -> Result<u64> {
    let name = format!("pod{}", pod.uid);
    let cgroup = crate::pod_leftovers::pod_cgroups()
        .into_iter()
        .find(|cgroup| cgroup.starts_with("/sys/fs/cgroup/memory/kubepods") && cgroup.file_name().is_some_and(|file| *file == *name))
        .with_context(|| format!("no memory cgroup {name} for pod {}", pod.name))?;
    let usage: u64 = std::fs::read_to_string(cgroup.join("memory.usage_in_bytes"))?.trim().parse()?;
    let stat = std::fs::read_to_string(cgroup.join("memory.stat"))?;
    let inactive_file = stat
        .lines()
        .find_map(|line| line.strip_prefix("total_inactive_file "))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    Ok(usage.saturating_sub(inactive_file))
}

fn mem_available() -> Result<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .context("no MemAvailable in /proc/meminfo")?;
    Ok(kib * 1024)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The median of the times, in milliseconds.
fn median_millis(values: &[Duration]) -> f64 {
    median(&values.iter().copied().map(millis).collect::<Vec<_>>())
}

fn range(values: &[Duration]) -> String {
    let (low, high) = (values.iter().min().copied().unwrap_or_default(), values.iter().max().copied().unwrap_or_default());
    format!("{:.0}–{:.0}", millis(low), millis(high))
}

fn report(figures: &[Figures]) -> String {
    let [wasm, container] = figures else {
        return String::new();
    };
    let ratio = |a: f64, b: f64| {
        if b > 0.0 { format!("{:.2}", a / b) } else { String::new() }
    };
    let mut out = String::new();
    let machine = Machine::read();
    let _ = writeln!(
        out,
        "Measured on {} ({} cores), the test node of docs/test-node.md (Kubernetes 1.35.4, containerd 1.7.24, containerd-shim-spin v0.24.0), both Deployments applied unedited.\n",
        machine.cpu, machine.cores
    );
    let _ = writeln!(out, "| figure | wasm (plain image, restricted) | container (Flask) | wasm ÷ container |");
    let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
    for (name, pick) in [
        ("`kubectl scale` 0 → 1 to the pod Ready, median of {n} (range)", 0),
        ("`kubectl scale` 0 → 1 to the first 200 through the Service, median of {n} (range)", 1),
    ] {
        let values = |figures: &Figures| {
            if pick == 0 { figures.to_ready.clone() } else { figures.to_first_200.clone() }
        };
        let (w, c) = (values(wasm), values(container));
        let _ = writeln!(
            out,
            "| {} | {:.0} ms ({}) | {:.0} ms ({}) | {} |",
            name.replace("{n}", &w.len().to_string()),
            median_millis(&w),
            range(&w),
            median_millis(&c),
            range(&c),
            ratio(median_millis(&w), median_millis(&c))
        );
    }
    let _ = writeln!(
        out,
        "| `kubectl scale` 1 → 10 to every pod Ready | {:.1} s | {:.1} s | {} |",
        wasm.scale_to_10.as_secs_f64(),
        container.scale_to_10.as_secs_f64(),
        ratio(wasm.scale_to_10.as_secs_f64(), container.scale_to_10.as_secs_f64())
    );
    for ((replicas, w_set, w_fallen), (_, c_set, c_fallen)) in wasm.memory.iter().zip(&container.memory) {
        for (what, w, c) in [
            ("the pod's cgroup working set", w_set, c_set),
            ("the node's MemAvailable fallen since 0 replicas (shims included)", w_fallen, c_fallen),
        ] {
            let _ = writeln!(
                out,
                "| memory per pod at {replicas} replicas: {what} | {} | {} | {} |",
                mib(*w),
                mib(*c),
                ratio(*w as f64, *c as f64)
            );
        }
    }
    out
}
