//! manifests/load's Job on the test node: applied as shipped or aimed
//! elsewhere, its state, and fortio's report of what it sent.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Node;
use crate::apps;
use crate::kubectl::condition_is_true;

/// The Job's namespace and name.
pub const NAMESPACE: &str = "load";
pub const JOB: &str = "load";

/// Applies manifests/load with fortio aimed at `url` with `headers`
/// (`Name: value`) instead of the app's Service; the shipped rate and
/// duration stay.
pub fn apply_aimed_at(node: &Node, url: &str, headers: &[&str]) -> Result<()> {
    let mut objects = rendered(node)?;
    for object in objects.iter_mut().filter(|object| object["kind"] == "Job") {
        let args = fortio_args(object)?;
        let target = args.pop().context("the load Job's args are empty")?;
        ensure!(
            target.as_str().is_some_and(|target| target.starts_with("http://")),
            "the load Job's last argument is {target}, not its URL"
        );
        for header in headers {
            args.extend([json!("-H"), json!(header)]);
        }
        args.push(json!(url));
    }
    apply(node, objects)
}

/// Runs manifests/load's Job as `name` with fortio's `args` in place of its
/// own, and returns fortio's report once it has ended well.
pub fn run_fortio(node: &Node, name: &str, args: &[&str], timeout: Duration) -> Result<String> {
    let mut objects = rendered(node)?;
    for object in objects.iter_mut().filter(|object| object["kind"] == "Job") {
        object["metadata"]["name"] = json!(name);
        *fortio_args(object)? = args.iter().map(|arg| json!(arg)).collect();
    }
    apply(node, objects)?;
    let job = format!("job/{name}");
    node.kubectl.run_within(
        &["-n", NAMESPACE, "wait", "--for=condition=Complete", &job, &format!("--timeout={}s", timeout.as_secs())],
        timeout + Duration::from_secs(10),
    )?;
    node.kubectl.run(&["-n", NAMESPACE, "logs", &job])
}

/// manifests/load as `kubectl apply -k` would apply it.
fn rendered(node: &Node) -> Result<Vec<Value>> {
    let rendered = node.kubectl.run(&["kustomize", &apps::repo_path("manifests/load")])?;
    serde_yaml_ng::Deserializer::from_str(&rendered).map(|document| Ok(Value::deserialize(document)?)).collect()
}

fn fortio_args(job: &mut Value) -> Result<&mut Vec<Value>> {
    job["spec"]["template"]["spec"]["containers"][0]["args"].as_array_mut().context("the load Job has no args")
}

fn apply(node: &Node, objects: Vec<Value>) -> Result<()> {
    let list = json!({ "apiVersion": "v1", "kind": "List", "items": objects });
    let (applied, answer) = node.kubectl.try_run_with_input(&["apply", "-f", "-"], &list.to_string());
    ensure!(applied, "applying the load Job: {answer}");
    Ok(())
}

/// Some(true) once the Job is Complete, Some(false) once it Failed.
pub fn job_state(node: &Node) -> Result<Option<bool>> {
    let job = node.kubectl.get_json(&["-n", NAMESPACE, "job", JOB])?;
    Ok(if condition_is_true(&job, "Complete") {
        Some(true)
    } else if condition_is_true(&job, "Failed") {
        Some(false)
    } else {
        None
    })
}

/// The end of fortio's report, where its `Code` lines are.
pub fn report(node: &Node) -> String {
    node.kubectl.try_run(&["-n", NAMESPACE, "logs", &format!("job/{JOB}"), "--tail=30"]).1
}

/// fortio's report lines `Code 200 : 7199 (100.0 %)`, as (code, count).
pub fn fortio_codes(log: &str) -> Result<Vec<(i32, u64)>> {
    let codes: Vec<(i32, u64)> = log
        .lines()
        .filter_map(|line| {
            let (code, rest) = line.strip_prefix("Code")?.split_once(':')?;
            Some((code.trim().parse().ok()?, rest.split_whitespace().next()?.parse().ok()?))
        })
        .collect();
    ensure!(!codes.is_empty(), "no `Code` line in fortio's report:\n{log}");
    Ok(codes)
}
