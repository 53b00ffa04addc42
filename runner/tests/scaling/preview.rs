//! `runner preview`, once or live, and what it printed.

use std::path::PathBuf;
use std::process::{Child, Output};
use std::time::Instant;

pub(crate) struct LivePreview {
    pub(crate) child: Child,
    pub(crate) started: Instant,
    pub(crate) stdout: PathBuf,
    pub(crate) stderr: PathBuf,
}

/// One line of the live preview.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PreviewLine {
    /// Whole seconds since the preview started.
    pub(crate) at: u64,
    pub(crate) value: f64,
    pub(crate) desired: u32,
    pub(crate) hpa: u32,
}

impl LivePreview {
    pub(crate) fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    pub(crate) fn lines(&self) -> Vec<PreviewLine> {
        let text = std::fs::read_to_string(&self.stdout).unwrap();
        text.lines()
            .filter(|line| line.starts_with("t+") && line.contains(" hpa "))
            .map(|line| {
                let word_after = |word: &str| -> &str {
                    let mut words = line.split_whitespace();
                    words.find(|w| *w == word).unwrap_or_else(|| panic!("no {word} in {line}"));
                    words.next().unwrap()
                };
                PreviewLine {
                    at: seconds_of(line),
                    value: word_after("value").parse().unwrap(),
                    desired: word_after("desired").parse().unwrap(),
                    hpa: word_after("hpa").parse().unwrap(),
                }
            })
            .collect()
    }

    pub(crate) fn errors(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    /// When each error line containing `text` was printed, in whole
    /// seconds since the preview started.
    pub(crate) fn error_times(&self, text: &str) -> Vec<u64> {
        self.errors().lines().filter(|line| line.starts_with("t+") && line.contains(text)).map(seconds_of).collect()
    }

    /// When each poll, answered or not, was printed.
    pub(crate) fn poll_times(&self) -> Vec<u64> {
        let mut times: Vec<u64> = self.lines().iter().map(|line| line.at).chain(self.error_times("error:")).collect();
        times.sort_unstable();
        times
    }
}

/// The live preview polls every second. A poll that is late is skipped,
/// not repeated, so on a loaded machine lines go missing; what the tests
/// need is that polling went on through a stretch, not how many polls fit
/// in it. So they bound the longest stretch without a poll, with room for
/// a few late polls in a row.
pub(crate) const LONGEST_POLL_GAP: f64 = 5.0;

/// The longest stretch of `from..to` seconds in which no time of `times`
/// (sorted, each a whole second, so standing for `at..at + 1`) falls.
pub(crate) fn longest_gap(times: &[u64], from: f64, to: f64) -> f64 {
    let mut covered_until = from;
    let mut longest = 0.0_f64;
    for at in times.iter().map(|&at| at as f64).filter(|&at| at + 1.0 > from && at < to) {
        longest = longest.max(at - covered_until);
        covered_until = covered_until.max(at + 1.0);
    }
    longest.max(to - covered_until)
}

fn seconds_of(line: &str) -> u64 {
    line.trim_start_matches("t+").trim_start().split('s').next().unwrap().parse().unwrap_or_else(|_| panic!("no time in {line}"))
}

impl Drop for LivePreview {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value and desired replicas `runner preview --once` printed.
pub(crate) fn preview_decision(output: &Output) -> (f64, bool, u32) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "preview failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    let line = stdout.lines().find(|line| line.starts_with("t+")).unwrap_or_else(|| panic!("no decision in {stdout}"));
    let word_after = |word: &str| -> &str {
        let mut words = line.split_whitespace();
        words.find(|w| *w == word).unwrap();
        words.next().unwrap()
    };
    (word_after("value").parse().unwrap(), word_after("active") == "yes", word_after("desired").parse().unwrap())
}

/// The value, desired count and modelled HPA replicas `runner preview --once` printed.
pub(crate) fn preview_hpa(output: &Output) -> (f64, bool, u32, u32) {
    let (value, active, desired) = preview_decision(output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|line| line.starts_with("t+")).unwrap();
    let mut words = line.split_whitespace();
    words.find(|w| *w == "hpa").unwrap_or_else(|| panic!("no hpa in {line}"));
    (value, active, desired, words.next().unwrap().parse().unwrap())
}

#[test]
fn the_longest_gap_is_the_longest_stretch_without_a_poll() {
    assert_eq!(longest_gap(&[10, 11, 12], 10.0, 13.0), 0.0);
    assert_eq!(longest_gap(&[10, 16], 10.0, 17.0), 5.0);
    assert_eq!(longest_gap(&[9, 12], 10.0, 13.0), 2.0);
    assert_eq!(longest_gap(&[10], 10.0, 14.0), 3.0);
    assert_eq!(longest_gap(&[], 3.0, 8.0), 5.0);
}
