//! Mounts that containerd, the shims and the kubelet leave below a test's
//! directory must go before the directory can.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The mount points at or below `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else { return Vec::new() };
    let mut mounts: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| PathBuf::from(point.replace("\\040", " ")))
        .filter(|point| point.starts_with(dir))
        .collect();
    mounts.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    mounts
}

/// Unmounts everything mounted at or below `dir`, deepest first; a mount
/// still busy is detached (`umount --lazy`), so that none is left behind.
pub fn unmount_under(dir: &Path) {
    for point in mounts_under(dir) {
        let unmounted = Command::new("umount").arg(&point).stderr(Stdio::null()).status().is_ok_and(|status| status.success());
        if !unmounted {
            let _ = Command::new("umount").arg("--lazy").arg(&point).stderr(Stdio::null()).status();
        }
    }
}
