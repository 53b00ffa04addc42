//! The one writer of BENCHMARKS.md: each benchmark owns the section between
//! `<!-- NAME:begin -->` and `<!-- NAME:end -->`, and replaces it whole, and
//! says on which machine and day it measured.

use std::path::Path;
use std::process::Command;

/// The machine a benchmark ran on, as each section's first line gives it.
pub struct Machine {
    /// The CPU's model name from /proc/cpuinfo.
    pub cpu: String,
    pub cores: usize,
    /// Today, UTC, as YYYY-MM-DD.
    pub date: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name")?.split_once(':').map(|(_, model)| model.trim().to_owned()))
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let date = Command::new("date")
            .args(["-u", "+%Y-%m-%d"])
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .unwrap_or_default();
        Machine { cpu, cores, date }
    }
}

/// Replaces the section `name` of `file` with `text`; an error names the
/// markers when the file has none.
pub fn write_section(file: &Path, name: &str, text: &str) -> Result<(), String> {
    let (begin, end) = (format!("<!-- {name}:begin -->"), format!("<!-- {name}:end -->"));
    let document = std::fs::read_to_string(file).map_err(|error| format!("cannot read {}: {error}", file.display()))?;
    let (Some(start), Some(stop)) = (document.find(&begin), document.find(&end)) else {
        return Err(format!("{} has no {begin} ... {end} markers: the section was not written", file.display()));
    };
    if stop < start {
        return Err(format!("{}: {end} comes before {begin}", file.display()));
    }
    let updated = format!("{}{begin}\n{}\n{}", &document[..start], text.trim_end(), &document[stop..]);
    std::fs::write(file, updated).map_err(|error| format!("cannot write {}: {error}", file.display()))
}
