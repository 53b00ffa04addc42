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
                let at = line.trim_start_matches("t+").trim_start().split('s').next().unwrap();
                PreviewLine {
                    at: at.parse().unwrap(),
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
