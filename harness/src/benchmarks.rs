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

/// The median: the middle value, or the mean of the two middle ones.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => f64::NAN,
        length if length % 2 == 1 => sorted[middle],
        _ => (sorted[middle - 1] + sorted[middle]) / 2.0,
    }
}

/// Bytes in MiB, as the tables give them: "12.3 MiB".
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
