//! `kubectl` 1.35, built from the same module as the cluster (the machine's
//! may be outside the skew a 1.35 API server supports), as the cluster's
//! administrator.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::layout::Layout;

#[derive(Clone)]
pub struct Kubectl {
    pub binary: PathBuf,
    pub kubeconfig: PathBuf,
}

impl Kubectl {
    pub fn new(layout: &Layout) -> Kubectl {
        Kubectl { binary: layout.binary("kubectl"), kubeconfig: layout.kubeconfig("admin") }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command.env("KUBECONFIG", &self.kubeconfig).args(args);
        command
    }

    /// Runs `kubectl ARGS`, which must succeed within `timeout`; returns
    /// its standard output.
    pub fn run_within(&self, args: &[&str], timeout: Duration) -> Result<String> {
        let output = harness::process::try_output_within(self.command(args), timeout)
            .map_err(|error| anyhow::anyhow!("kubectl {}: {error}", args.join(" ")))?;
        if !output.status.success() {
            bail!(
                "kubectl {} failed ({}):\n{}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    pub fn run(&self, args: &[&str]) -> Result<String> {
        self.run_within(args, Duration::from_secs(120))
    }

    /// `kubectl ARGS`, whose failure is an answer: (succeeded, stdout and stderr).
    pub fn try_run(&self, args: &[&str]) -> (bool, String) {
        match harness::process::try_output_within(self.command(args), Duration::from_secs(120)) {
            Ok(output) => {
                (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr))
            }
            Err(error) => (false, error),
        }
    }

    /// `kubectl get ARGS -o json`, parsed.
    pub fn get_json(&self, args: &[&str]) -> Result<serde_json::Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let text = self.run(&all)?;
        serde_json::from_str(&text).with_context(|| format!("kubectl {}: not JSON", all.join(" ")))
    }

    /// `kubectl ARGS` with `input` on its standard input, whose failure is
    /// an answer: (succeeded, stdout and stderr).
    pub fn try_run_with_input(&self, args: &[&str], input: &str) -> (bool, String) {
        let child = self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(error) => return (false, format!("starting kubectl: {error}")),
        };
        // kubectl reads all of its input before it answers: no deadlock.
        let written = std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes());
        match (written, child.wait_with_output()) {
            (Ok(()), Ok(output)) => {
                (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr))
            }
            (Err(error), _) | (_, Err(error)) => (false, format!("kubectl {}: {error}", args.join(" "))),
        }
    }
}

/// True when the object's status has the condition `kind` with status
/// `True` (a node's or pod's `Ready`, a Job's `Complete`, a custom
/// resource's `Ready`).
pub fn condition_is_true(object: &serde_json::Value, kind: &str) -> bool {
    object["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| conditions.iter().any(|condition| condition["type"] == kind && condition["status"] == "True"))
}
