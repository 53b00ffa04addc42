//! Child processes for tests, benchmarks and the test node: run with a
//! time limit, end with their whole process group, read the end of their
//! logs, and measure a process group's memory and open files.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs `command` to its end, or kills it after `timeout`.
pub fn output_within(command: Command, timeout: Duration) -> Output {
    let description = format!("{command:?}");
    try_output_within(command, timeout).unwrap_or_else(|error| panic!("{description}: {error}"))
}

/// The same, with failure to start or to finish as an error, for guards
/// that must not panic.
pub fn try_output_within(mut command: Command, timeout: Duration) -> Result<Output, String> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start: {error}"))?;
    let pid = child.id();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(timeout) {
        Ok(output) => output.map_err(|error| error.to_string()),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            Err(format!("did not finish within {timeout:?}"))
        }
    }
}

/// Runs `command` and panics with its output unless it succeeds.
pub fn run_ok(command: Command, timeout: Duration) -> String {
    let description = format!("{command:?}");
    let output = output_within(command, timeout);
    assert!(
        output.status.success(),
        "{description} failed with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// SIGKILL to the whole process group the child leads, then reap the child.
pub fn kill_group(child: &mut Child) {
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).stderr(Stdio::null()).status();
    let _ = child.kill();
    let _ = child.wait();
}

/// `command` in a process group of its own, so that [`kill_group`] ends
/// what it starts too.
pub fn own_group(command: &mut Command) -> &mut Command {
    command.process_group(0)
}

/// The fields of /proc/PID/stat after the command's name, which may hold
/// spaces and parentheses: `[0]` the state, `[1]` the parent, `[2]` the
/// process group, `[11]` and `[12]` user and system time in clock ticks.
/// None once the process is gone.
pub fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.rsplit_once(')')?.1.split_whitespace().map(str::to_owned).collect())
}

/// Whether the process exists and has not exited: neither a zombie (Z)
/// nor dead (X).
pub fn is_alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|fields| fields.first().is_some_and(|state| state != "Z" && state != "X"))
}

/// The live processes, other than this one, whose command line names
/// `needle` (a path): what a daemon started with its socket or folder among
/// their arguments, such as containerd's shims.
pub fn processes_naming(needle: &Path) -> Vec<u32> {
    let needle = needle.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != std::process::id())
        .filter(|&pid| is_alive(pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| cmdline.windows(needle.len()).any(|window| window == needle))
        })
        .collect()
}

/// The processes in the group `group` leads: `spin up` serves from a child.
pub fn group_members(group: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        if stat_fields(pid).and_then(|fields| fields.get(2)?.parse().ok()) == Some(group) {
            members.push(pid);
        }
    }
    members
}

/// The resident memory of the group's processes, summed.
pub fn group_rss(group: u32) -> u64 {
    group_status_kib(group, "VmRSS:") * 1024
}

/// The most memory each of the group's processes has held (VmHWM), summed:
/// `spin up` and the `spin trigger http` it starts.
pub fn group_peak_rss(group: u32) -> u64 {
    group_status_kib(group, "VmHWM:") * 1024
}

fn group_status_kib(group: u32, field: &str) -> u64 {
    group_members(group)
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            let line = status.lines().find(|line| line.starts_with(field))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

/// A field of the processes' /proc/PID/smaps_rollup, in KiB, summed:
/// `Rss`, or `Pss`, which shares each page out among the processes that
/// map it (what a node pays for processes that share a binary).
pub fn smaps_kib(field: &str, pids: &[u32]) -> u64 {
    let prefix = format!("{field}:");
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|rollup| rollup.lines().find_map(|line| line.strip_prefix(&prefix)?.split_whitespace().next()?.parse::<u64>().ok()))
        .sum()
}

/// The open files of the group's processes, summed.
pub fn group_fds(group: u32) -> usize {
    group_members(group).into_iter().filter_map(|pid| std::fs::read_dir(format!("/proc/{pid}/fd")).ok()).map(Iterator::count).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell in a group of its own that starts a second process: both
    /// are counted, and the peak is at least the current memory.
    #[test]
    fn a_process_groups_members_memory_and_files_are_summed() {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & wait"]);
        let mut child = own_group(&mut command).spawn().unwrap();
        let group = child.id();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while group_members(group).len() < 2 {
            assert!(std::time::Instant::now() < deadline, "the group never had 2 members: {:?}", group_members(group));
            std::thread::sleep(Duration::from_millis(10));
        }
        let (rss, peak, files) = (group_rss(group), group_peak_rss(group), group_fds(group));
        kill_group(&mut child);
        assert!(rss > 0 && peak >= rss, "RSS {rss}, peak {peak}");
        // Each holds at least its standard input, output and error.
        assert!(files >= 6, "{files} open files");
        // The orphaned sleep is reaped by init, a moment later.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !group_members(group).is_empty() {
            assert!(std::time::Instant::now() < deadline, "the group outlived kill_group: {:?}", group_members(group));
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
