//! Files the runtimes leave behind: below a folder, without crossing into
//! other file systems.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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
