//! The measurements of one run, and their Markdown.

use std::fmt::Write;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::servers::{Cache, Server};
use crate::wrk::{self, LoadResult};

pub struct Machine {
    cpu: String,
    cores: usize,
    tools: String,
}

impl Machine {
    pub fn read() -> Result<Self> {
        let harness::benchmarks::Machine { cpu, cores, .. } = harness::benchmarks::Machine::read();
        let version = |program: &str, arg: &str| {
            Command::new(program)
                .arg(arg)
                .output()
                .ok()
                .map(|output| String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().to_owned())
                .filter(|line| !line.is_empty())
                .unwrap_or_else(|| format!("{program}: not found"))
        };
        let tools = format!("{}; {}", version("wasmtime", "--version"), version("rustc", "--version"));
        Ok(Self { cpu, cores, tools })
    }
}

struct Load {
    server: &'static str,
    path: &'static str,
    connections: u32,
    result: LoadResult,
}

struct Process {
    server: &'static str,
    cold_start: Option<Duration>,
    warm_start: Duration,
    peak_rss_bytes: u64,
    component_bytes: Option<u64>,
}

pub struct Report {
    machine: Machine,
    duration: Duration,
    loads: Vec<Load>,
    processes: Vec<Process>,
}

impl Report {
    pub fn new(machine: Machine, duration: Duration) -> Self {
        Self { machine, duration, loads: Vec::new(), processes: Vec::new() }
    }

    pub fn measure_server(&mut self, server: &Server, connections: &[u32], duration: Duration) -> Result<()> {
        let cache_dir = std::env::temp_dir().join(format!("keda-spin-bench-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache_dir);
        let cold_start = if server.has_cache() {
            let (_, cold) = server.start(Cache::Cold, &cache_dir)?;
            // Fills the cache where the cold start did not use one.
            drop(server.start(Cache::Warm, &cache_dir)?);
            Some(cold)
        } else {
            None
        };
        let (running, warm_start) = server.start(Cache::Warm, &cache_dir)?;
        for &path in server.paths {
            for &connections in connections {
                let result = wrk::run(&format!("{}{path}", running.url), connections, duration)?;
                eprintln!("   {path} c={connections}: {:.0} req/s", result.requests_per_second);
                if result.errors > 0 {
                    bail!("{} {path} c={connections}: {} errors", server.name, result.errors);
                }
                self.loads.push(Load { server: server.name, path, connections, result });
            }
        }
        let component_bytes = match &server.component {
            Some(path) => Some(std::fs::metadata(path).with_context(|| format!("{}", path.display()))?.len()),
            None => None,
        };
        self.processes.push(Process {
            server: server.name,
            cold_start,
            warm_start,
            peak_rss_bytes: running.peak_rss_bytes(),
            component_bytes,
        });
        drop(running);
        let _ = std::fs::remove_dir_all(&cache_dir);
        Ok(())
    }

    pub fn measure_url(&mut self, name: &'static str, url: &str, connections: &[u32], duration: Duration) -> Result<()> {
        for path in ["/", "/metrics"] {
            for &connections in connections {
                let result = wrk::run(&format!("{}{path}", url.trim_end_matches('/')), connections, duration)?;
                self.loads.push(Load { server: name, path, connections, result });
            }
        }
        Ok(())
    }

    fn rate(&self, server: &str, path: &str, connections: u32) -> Option<f64> {
        self.load(server, path, connections).map(|load| load.result.requests_per_second)
    }

    fn load(&self, server: &str, path: &str, connections: u32) -> Option<&Load> {
        self.loads
            .iter()
            .find(|load| load.server == server && load.path == path && load.connections == connections)
    }

    fn process(&self, server: &str) -> Option<&Process> {
        self.processes.iter().find(|process| process.server == server)
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let machine = &self.machine;
        let _ = writeln!(out, "Measured on {} ({} cores), {}.", machine.cpu, machine.cores, machine.tools);
        let _ = writeln!(
            out,
            "Load: wrk 4.1 on the same machine, keep-alive, 2 threads (1 for one connection), {} s per run.\n",
            self.duration.as_secs()
        );

        out.push_str("### Throughput and latency\n\n| server | path | connections | req/s | p50 | p99 |\n| --- | --- | ---: | ---: | ---: | ---: |\n");
        for load in &self.loads {
            let r = &load.result;
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {:.0} | {} | {} |",
                load.server, load.path, load.connections, r.requests_per_second, millis(r.p50), millis(r.p99)
            );
        }

        if !self.processes.is_empty() {
            out.push_str("\n### Start-up, memory and size\n\n| server | start to first 200, cold cache | warm cache | peak RSS | component |\n| --- | ---: | ---: | ---: | ---: |\n");
            for process in &self.processes {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.1} MiB | {} |",
                    process.server,
                    process.cold_start.map_or("n/a".into(), millis),
                    millis(process.warm_start),
                    process.peak_rss_bytes as f64 / 1048576.0,
                    process.component_bytes.map_or("n/a".into(), |bytes| format!("{bytes} B")),
                );
            }
            self.ratios(&mut out);
            self.targets(&mut out);
        }
        out
    }

    fn ratios(&self, out: &mut String) {
        let connections: Vec<u32> = {
            let mut all: Vec<u32> = self.loads.iter().map(|load| load.connections).collect();
            all.sort_unstable();
            all.dedup();
            all
        };
        let _ = write!(out, "\n### Ratios, from this run\n\n| ratio |");
        for c in &connections {
            let _ = write!(out, " {c} conn. |");
        }
        let _ = write!(out, "\n| --- |{}\n", " ---: |".repeat(connections.len()));
        let ratios = [
            ("runner / `wasmtime serve`, hello fixture, `/`", ("runner: hello fixture", "/"), ("wasmtime serve: hello fixture", "/")),
            ("component / hello fixture, both on the runner, `/`", ("runner: component", "/"), ("runner: hello fixture", "/")),
            ("wasm / native, `/`", ("runner: component", "/"), ("native baseline", "/")),
            ("wasm / native, `/metrics`", ("runner: component", "/metrics"), ("native baseline", "/metrics")),
        ];
        for (label, (top_server, top_path), (bottom_server, bottom_path)) in ratios {
            let _ = write!(out, "| {label} |");
            for &c in &connections {
                match (self.rate(top_server, top_path, c), self.rate(bottom_server, bottom_path, c)) {
                    (Some(top), Some(bottom)) => {
                        let _ = write!(out, " {:.2} |", top / bottom);
                    }
                    _ => out.push_str(" n/a |"),
                }
            }
            out.push('\n');
        }
    }

    fn targets(&self, out: &mut String) {
        out.push_str("\n### Targets\n\n| target | measured | met |\n| --- | --- | --- |\n");
        let mut row = |target: &str, measured: String, met: Option<bool>| {
            let verdict = match met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "not measured",
            };
            let _ = writeln!(out, "| {target} | {measured} | {verdict} |");
        };
        for c in [16, 64] {
            let runner = self.rate("runner: hello fixture", "/", c);
            let serve = self.rate("wasmtime serve: hello fixture", "/", c);
            let measured = match (runner, serve) {
                (Some(runner), Some(serve)) => format!("{runner:.0} vs {serve:.0} req/s ({:+.0} %)", (runner / serve - 1.0) * 100.0),
                _ => "n/a".into(),
            };
            row(&format!("runner ≥ `wasmtime serve` on the hello fixture, {c} connections"), measured, runner.zip(serve).map(|(r, s)| r >= s));
        }
        let component = self.rate("runner: component", "/", 16);
        let fixture = self.rate("runner: hello fixture", "/", 16);
        row(
            "component `/` ≥ 80 % of the runner's hello-world rate, 16 connections",
            component.zip(fixture).map_or("n/a".into(), |(c, f)| format!("{:.0} %", c / f * 100.0)),
            component.zip(fixture).map(|(c, f)| c >= 0.8 * f),
        );
        let p99 = self.load("runner: component", "/", 16).map(|load| load.result.p99);
        row(
            "p99 at 16 connections < 5 ms (component `/`)",
            p99.map_or("n/a".into(), millis),
            p99.map(|p99| p99 < Duration::from_millis(5)),
        );
        let process = self.process("runner: component");
        let size = process.and_then(|process| process.component_bytes);
        row(
            "component ≤ 200 KB (200,000 B)",
            size.map_or("n/a".into(), |bytes| format!("{bytes} B ({:+} B)", bytes as i64 - 200_000)),
            size.map(|bytes| bytes <= 200_000),
        );
        let warm = process.map(|process| process.warm_start);
        row(
            "warm start to the first 200 ≤ 150 ms (component)",
            warm.map_or("n/a".into(), millis),
            warm.map(|warm| warm <= Duration::from_millis(150)),
        );
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}
