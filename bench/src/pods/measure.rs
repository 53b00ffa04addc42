//! What a replica costs, read from the kernel: its processes (those in the
//! task's memory cgroup, and its shim's), their RSS and PSS
//! (`/proc/PID/smaps_rollup`), the cgroup's usage, CPU time
//! (`/proc/PID/stat`), and the bytes of images on disk and in the registry.

use std::ops::AddAssign;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use harness::containerd::{Containerd, Task};
use harness::process::smaps_kib;

/// kB of RSS and PSS of the task's processes and its shim's, and bytes of
/// the task's memory cgroup.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    pub task_rss: u64,
    pub shim_rss: u64,
    pub task_pss: u64,
    pub shim_pss: u64,
    pub cgroup: u64,
}

impl Memory {
    pub fn of(containerd: &Containerd, task: &Task) -> Result<Memory> {
        let pids = task_pids(task)?;
        let shim = shim_pids(containerd, task, &pids);
        ensure!(!shim.is_empty(), "no shim process found for task {}", task.id);
        Ok(Memory {
            task_rss: smaps_kib("Rss", &pids),
            shim_rss: smaps_kib("Rss", &shim),
            task_pss: smaps_kib("Pss", &pids),
            shim_pss: smaps_kib("Pss", &shim),
            cgroup: CgroupDir::of(pids[0], "memory")?.memory_usage()?,
        })
    }

    pub fn rss(&self) -> u64 {
        self.task_rss + self.shim_rss
    }

    pub fn pss(&self) -> u64 {
        self.task_pss + self.shim_pss
    }
}

impl AddAssign for Memory {
    fn add_assign(&mut self, other: Memory) {
        self.task_rss += other.task_rss;
        self.shim_rss += other.shim_rss;
        self.task_pss += other.task_pss;
        self.shim_pss += other.shim_pss;
        self.cgroup += other.cgroup;
    }
}

/// wrk on `/`, and the CPU the task's processes and its shim's spent per
/// request.
#[derive(Clone, Copy, Debug)]
pub struct Throughput {
    pub requests_per_second: f64,
    pub p99: Duration,
    pub task_cpu_per_request: Duration,
    pub shim_cpu_per_request: Duration,
}

impl Throughput {
    pub fn measure(containerd: &Containerd, task: &Task, port: u16, connections: u32, seconds: u64) -> Result<Throughput> {
        let pids = task_pids(task)?;
        let shim = shim_pids(containerd, task, &pids);
        let url = format!("http://127.0.0.1:{port}/");
        crate::wrk::run(&url, connections, Duration::from_secs(2))?; // warm-up
        let (task_before, shim_before) = (cpu_time(&pids), cpu_time(&shim));
        let load = crate::wrk::run(&url, connections, Duration::from_secs(seconds))?;
        let (task_spent, shim_spent) = (cpu_time(&pids) - task_before, cpu_time(&shim) - shim_before);
        if load.errors > 0 {
            bail!("wrk on {url} saw {} errors", load.errors);
        }
        let served = load.requests.max(1) as u32;
        Ok(Throughput {
            requests_per_second: load.requests_per_second,
            p99: load.p99,
            task_cpu_per_request: task_spent / served,
            shim_cpu_per_request: shim_spent / served,
        })
    }
}

/// Every process in the memory cgroup of the task's init process (the
/// spin shim answers no `ctr tasks ps`).
fn task_pids(task: &Task) -> Result<Vec<u32>> {
    let init = task.pid().with_context(|| format!("ctr tasks ls has no process for {}", task.id))?;
    let procs = CgroupDir::of(init, "memory")?.read("cgroup.procs")?;
    let pids: Vec<u32> = procs.lines().filter_map(|line| line.trim().parse().ok()).collect();
    ensure!(!pids.is_empty(), "task {} has no process in its cgroup", task.id);
    Ok(pids)
}

/// The task's shim processes: those started with `-id ID` and this
/// containerd's socket, less the task's own (containerd-shim-spin forks the
/// task from itself, so its task process has the shim's command line too).
fn shim_pids(containerd: &Containerd, task: &Task, task_pids: &[u32]) -> Vec<u32> {
    containerd
        .helpers()
        .into_iter()
        .filter(|pid| !task_pids.contains(pid))
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let words: Vec<&[u8]> = cmdline.split(|&byte| byte == 0).collect();
            words.windows(2).any(|pair| pair[0] == b"-id" && pair[1] == task.id.as_bytes())
        })
        .collect()
}

/// Where a process's cgroup for one controller lives, and which version of
/// the interface that folder speaks.
enum CgroupDir {
    /// The controller's own v1 hierarchy (this machine's hybrid layout).
    V1(String),
    /// The unified v2 hierarchy.
    V2(String),
}

impl CgroupDir {
    fn of(pid: u32, controller: &str) -> Result<CgroupDir> {
        let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).with_context(|| format!("process {pid} is gone"))?;
        let mut unified = None;
        for line in cgroups.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(id), Some(controllers), Some(path)) = (fields.next(), fields.next(), fields.next()) else { continue };
            let v1 = format!("/sys/fs/cgroup/{controller}{path}");
            if controllers.split(',').any(|name| name == controller) && Path::new(&v1).is_dir() {
                return Ok(CgroupDir::V1(v1));
            }
            if id == "0" {
                unified = Some(format!("/sys/fs/cgroup{path}"));
            }
        }
        unified.map(CgroupDir::V2).with_context(|| format!("process {pid} is in no {controller} cgroup"))
    }

    /// A file of this folder, named as the folder's version names it.
    fn read(&self, name: &str) -> Result<String> {
        let (CgroupDir::V1(dir) | CgroupDir::V2(dir)) = self;
        let file = format!("{dir}/{name}");
        std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))
    }

    /// The memory charged to the cgroup, in bytes.
    fn memory_usage(&self) -> Result<u64> {
        let name = match self {
            CgroupDir::V1(_) => "memory.usage_in_bytes",
            CgroupDir::V2(_) => "memory.current",
        };
        Ok(self.read(name)?.trim().parse()?)
    }

    /// The CPU limit the kernel holds the cgroup to, as quota/period.
    fn cpu_limit(&self) -> Result<String> {
        match self {
            CgroupDir::V1(_) => Ok(format!("{}/{}", self.read("cpu.cfs_quota_us")?.trim(), self.read("cpu.cfs_period_us")?.trim())),
            // cpu.max is "quota period" already ("max period" when unlimited).
            CgroupDir::V2(_) => Ok(self.read("cpu.max")?.trim().replace(' ', "/")),
        }
    }
}

/// The CPU limit the kernel holds the task to, as quota/period.
pub fn cpu_limit_of(task: &Task) -> Result<String> {
    let init = task.pid().with_context(|| format!("ctr tasks ls has no process for {}", task.id))?;
    CgroupDir::of(init, "cpu")?.cpu_limit()
}

/// User and system time of the processes, summed.
fn cpu_time(pids: &[u32]) -> Duration {
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let ticks: u64 = pids
        .iter()
        .filter_map(|&pid| {
            let fields = harness::process::stat_fields(pid)?;
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .sum();
    Duration::from_secs_f64(ticks as f64 / ticks_per_second)
}

/// Which processes make a replica, with their RSS, for the record beside
/// the table: the program's name without its directory, no machine path.
pub fn describe_replica(containerd: &Containerd, task: &Task) -> Result<String> {
    let pids = task_pids(task)?;
    let shim = shim_pids(containerd, task, &pids);
    let cgroups = std::fs::read_to_string(format!("/proc/{}/cgroup", pids[0]))?;
    let memory_cgroup = cgroups.lines().find_map(|line| line.split_once(":memory:").map(|(_, path)| path.to_owned())).unwrap_or_default();
    let describe = |pid: &u32| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let command = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let (program, arguments) = command.split_once(' ').unwrap_or((&command, ""));
        let program = program.rsplit('/').next().unwrap_or(program);
        let command: String = format!("{program} {arguments}").chars().take(50).collect();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kb = |name: &str| {
            harness::confinement::status_field(&status, name)
                .and_then(|value| value.split_whitespace().next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        format!("`{}` (RSS {:.1} MiB anonymous + {:.1} MiB file); ", command.trim_end(), kb("RssAnon") / 1024.0, kb("RssFile") / 1024.0)
    };
    let task_processes: String = pids.iter().map(describe).collect();
    let shim_processes: String = shim.iter().map(describe).collect();
    Ok(format!("in the task's cgroup {memory_cgroup}: {task_processes}its shim, {} process(es): {shim_processes}", shim.len()))
}

/// `n` requests to `/` on one keep-alive connection, each a 200.
pub fn send_requests(port: u16, n: usize) -> Result<()> {
    let agent = harness::http::client();
    let url = format!("http://127.0.0.1:{port}/");
    for index in 0..n {
        let answer = harness::http::get(&agent, &url, None);
        ensure!(answer.status == 200, "request {index} of {n} to {url} answered {}", answer.status);
    }
    Ok(())
}

/// The requests to `/` counted, from /metrics: both apps expose the same name.
pub fn counted(port: u16) -> Result<u64> {
    let exposition = harness::http::get(&harness::http::client(), &format!("http://127.0.0.1:{port}/metrics"), None).body;
    let value =
        harness::http::sample(&exposition, "python_request_operations_total").context("no python_request_operations_total in /metrics")?;
    Ok(value as u64)
}

/// Apparent bytes below a directory, as `du -sb` counts them; 0 before
/// containerd has made it.
pub fn bytes_in(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut total = std::fs::symlink_metadata(dir).map_or(0, |metadata| metadata.len());
    for entry in entries.filter_map(Result::ok) {
        let Ok(metadata) = entry.path().symlink_metadata() else { continue };
        total += if metadata.is_dir() { bytes_in(&entry.path()) } else { metadata.len() };
    }
    total
}

/// Bytes as pulled: the manifest's config and layer sizes.
pub fn pulled_bytes(registry: &str, repository: &str) -> Result<u64> {
    let accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
    let url = format!("http://{registry}/v2/{repository}/manifests/bench");
    let answer = harness::http::get(&harness::http::client(), &url, Some(accept));
    ensure!(answer.status == 200, "no manifest for {repository} in the registry: {}", answer.status);
    let manifest: serde_json::Value = serde_json::from_str(&answer.body)?;
    let layers = manifest["layers"].as_array().context("a manifest without layers")?;
    Ok(manifest["config"]["size"].as_u64().unwrap_or(0) + layers.iter().filter_map(|layer| layer["size"].as_u64()).sum::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This process runs without a CPU limit, in whichever hierarchy the
    /// machine has: -1/period on v1, max/period on v2. (The earlier reading
    /// compared the two files' contents to tell the versions apart, and so
    /// took a v1 quota equal to its period, 1 CPU, for v2's cpu.max.)
    #[test]
    fn the_cpu_limit_is_read_from_the_hierarchy_the_process_is_in() {
        let dir = CgroupDir::of(std::process::id(), "cpu").unwrap();
        let limit = dir.cpu_limit().unwrap();
        let (quota, period) = limit.split_once('/').unwrap_or_else(|| panic!("{limit}"));
        assert!(period.parse::<u64>().is_ok_and(|period| period > 0), "{limit}");
        match dir {
            CgroupDir::V1(_) => assert!(quota == "-1" || quota.parse::<u64>().is_ok(), "{limit}"),
            CgroupDir::V2(_) => assert!(quota == "max" || quota.parse::<u64>().is_ok(), "{limit}"),
        }
    }
}
