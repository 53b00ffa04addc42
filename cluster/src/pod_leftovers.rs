//! What the kubelet's pods leave on the machine until their node's `down`
//! removes it: their cgroups, and the network namespaces containerd's CRI
//! pinned for them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::layout::Layout;

/// The cgroup folders of the kubelet's pods, on every v1 hierarchy
/// (cgroupfs driver: /sys/fs/cgroup/CONTROLLER/kubepods/...).
pub fn pod_cgroups() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") else {
        return found;
    };
    for controller in controllers.filter_map(Result::ok) {
        let kubepods = controller.path().join("kubepods");
        if kubepods.is_dir() {
            collect_dirs(&kubepods, &mut found);
        }
    }
    // Deepest first, for rmdir.
    found.sort_by_key(|path| std::cmp::Reverse(path.components().count()));
    found
}

fn collect_dirs(dir: &Path, found: &mut Vec<PathBuf>) {
    found.push(dir.to_owned());
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                collect_dirs(&entry.path(), found);
            }
        }
    }
}

/// Processes left in the pods' cgroups (a container whose shim is gone).
pub(crate) fn kill_pod_cgroups() {
    for cgroup in pod_cgroups() {
        let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|line| line.trim().parse::<i32>().ok()) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

pub(crate) fn remove_pod_cgroups(left: &mut Vec<String>) {
    for _ in 0..50 {
        let cgroups = pod_cgroups();
        if cgroups.is_empty() {
            return;
        }
        for cgroup in &cgroups {
            let _ = std::fs::remove_dir(cgroup);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    left.extend(pod_cgroups().iter().map(|cgroup| format!("cgroup {}", cgroup.display())));
}

/// containerd 1.7's CRI pins each pod's network namespace at
/// /var/run/netns/cni-ID. The ones made since `up` whose pods `crictl rmp`
/// could not remove go here; those of anything else stay.
pub(crate) fn remove_network_namespaces(layout: &Layout) {
    for name in namespaces_since_up(layout) {
        let path = Path::new(NETNS_DIR).join(&name);
        let _ = Command::new("umount").arg(&path).stderr(std::process::Stdio::null()).status();
        let _ = std::fs::remove_file(&path);
    }
}

/// The network namespaces made since `up`. Without the record of those
/// before it, none is known to be ours: none.
pub(crate) fn namespaces_since_up(layout: &Layout) -> Vec<String> {
    let Ok(before) = std::fs::read_to_string(layout.saved("netns")) else {
        return Vec::new();
    };
    network_namespaces().into_iter().filter(|name| !before.lines().any(|line| line == name)).collect()
}

const NETNS_DIR: &str = "/var/run/netns";

pub fn network_namespaces() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    entries.filter_map(Result::ok).map(|entry| entry.file_name().to_string_lossy().into_owned()).collect()
}
