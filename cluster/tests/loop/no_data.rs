//! No data at all: Prometheus replaced while it cannot scrape the app, and
//! what KEDA and the HPA make of a query with no series.

use std::process::Command;

use super::*;

/// No data is an error (`ignoreNullValues: "false"`, docs/scaling.md): with
/// the Deployment idle at 1 pod, the app's pods are cut off from scrapes and
/// Prometheus' pod is deleted. Its replacement starts with an empty emptyDir
/// and cannot scrape, so it answers the query with no series for as long as
/// the cut lasts. KEDA's metrics API must answer the HPA's read with an
/// error, not a value, and the HPA must say so (ScalingActive false,
/// FailedGetExternalMetric) and keep its replica. Then the cut goes, and
/// KEDA and the HPA have a value again.
///
/// Without the cut, no data lasts from the new pod's Service endpoint to its
/// second scrape, and on a slow host the scrapes came first, 3 replacements
/// of 3 in a CI run: the check raced Prometheus' start.
pub(crate) fn no_data_is_an_error(state: &Loop, prometheus: &Prometheus, query: &str, metric: &str, started: Instant) -> Result<()> {
    let node = &state.node;
    let hpa = || node.kubectl.get_json(&["-n", NAMESPACE, "hpa", HPA]);
    ensure!(scaling_active(&hpa()?) == Some(("True", "ValidMetricFound")), "the HPA has no valid metric before the cut");
    let mut cut = Some(ScrapeCut::new(node, Path::Wasm.container_port())?);
    println!("{:6.1} s  the app's pods cut off from scrapes", started.elapsed().as_secs_f64());
    replace_prometheus(node, started)?;
    let mut refused = 0;
    let mut first_empty = None;
    let data_again = until_the_query_has_a_value(state, prometheus, query, metric, started, &mut |at| {
        // Once the cut is gone, Prometheus may scrape between this empty
        // answer and KEDA's query: only the cut makes no data certain.
        if cut.is_none() {
            return Ok(());
        }
        let (read, answer) = node.kubectl.try_run(&["get", "--raw", metric, "--request-timeout=5s"]);
        ensure!(!read, "KEDA answered {} for a query with no series: it must be an error", answer.trim());
        let since = at - *first_empty.get_or_insert(at);
        if refused == 0 {
            println!("{at:6.1} s  no series; KEDA's metrics API answers: {}", answer.trim());
        }
        refused += 1;
        let hpa = hpa()?;
        let desired = hpa["status"]["desiredReplicas"].as_u64();
        ensure!(desired == Some(1), "with no metric, the HPA went from 1 to {desired:?} replicas");
        // The condition as the HPA's last sync left it: only a sync that
        // came after the first empty answer (they are 15 s apart) says what
        // the HPA makes of no data, rather than of no Prometheus while its
        // pod was replaced.
        if since < SYNC_PERIOD + 5.0 {
            return Ok(());
        }
        match scaling_active(&hpa) {
            Some(("False", reason)) if reason == "FailedGetExternalMetric" => {
                println!("{at:6.1} s  the HPA, {since:.0} s into no data: ScalingActive False ({reason}), 1 replica kept; the cut removed");
                cut = None;
                Ok(())
            }
            active if since > 2.0 * SYNC_PERIOD + 5.0 => bail!("{since:.0} s into no data, the HPA's ScalingActive is {active:?}"),
            _ => Ok(()),
        }
    })?;
    ensure!(cut.is_none(), "the query had a value while the app's pods were cut off from scrapes");
    // KEDA's next query, a moment later, has the value too, and so does the
    // HPA's next sync.
    wait_for(Duration::from_secs(30), "KEDA's metric once the query has a value", || {
        Ok(node.kubectl.try_run(&["get", "--raw", metric, "--request-timeout=5s"]).0)
    })?;
    wait_for(Duration::from_secs(2 * SYNC_PERIOD as u64), "the HPA's metric once KEDA has it", || {
        Ok(scaling_active(&hpa()?).is_some_and(|(status, _)| status == "True"))
    })?;
    let desired = hpa()?["status"]["desiredReplicas"].as_u64();
    ensure!(desired == Some(1), "the HPA wants {desired:?} replicas of an idle app");
    println!("{data_again:6.1} s  a value again; KEDA refused {refused} reads of no data, and the HPA has its metric");
    Ok(())
}

/// The status and reason of the HPA's ScalingActive condition.
fn scaling_active(hpa: &Value) -> Option<(&str, &str)> {
    let conditions = hpa["status"]["conditions"].as_array()?;
    let active = conditions.iter().find(|condition| condition["type"] == "ScalingActive")?;
    Some((active["status"].as_str()?, active["reason"].as_str().unwrap_or_default()))
}

/// Deletes Prometheus' pod and waits for its replacement to exist.
fn replace_prometheus(node: &Node, started: Instant) -> Result<()> {
    let uid = || node.kubectl.try_run(&["-n", "monitoring", "get", "pod", "prometheus-k8s-0", "-o", "jsonpath={.metadata.uid}"]);
    let (_, old) = uid();
    node.kubectl.run(&["-n", "monitoring", "delete", "pod", "prometheus-k8s-0", "--wait=false"])?;
    println!("{:6.1} s  Prometheus' pod deleted", started.elapsed().as_secs_f64());
    // The old pod answers until it has gone: wait for its replacement.
    wait_for(Duration::from_secs(120), "Prometheus' new pod", || Ok(matches!(uid(), (true, new) if new != old)))
}

/// Rules at the top of the node's FORWARD chain that reset every connection
/// to the app's pods on their port. Pod-to-pod traffic crosses the pod
/// bridge, and bridged packets pass FORWARD (the node sets
/// bridge-nf-call-iptables); the kubelet's probes leave the node itself
/// (OUTPUT), so the pods stay Ready. Dropped, it deletes its rules; `down`
/// reports any rule left.
struct ScrapeCut {
    rules: Vec<Vec<String>>,
}

impl ScrapeCut {
    /// Every pod of the app that has an address, Ready or not: Prometheus
    /// scrapes a terminating pod's endpoint too.
    fn new(node: &Node, port: u16) -> Result<ScrapeCut> {
        let pods = node.kubectl.get_json(&["-n", NAMESPACE, "pods", "-l", apps::SELECTOR])?;
        let addresses: Vec<&str> =
            pods["items"].as_array().into_iter().flatten().filter_map(|pod| pod["status"]["podIP"].as_str()).collect();
        ensure!(!addresses.is_empty(), "no pod of the app has an address");
        let mut cut = ScrapeCut { rules: Vec::new() };
        for address in addresses {
            let rule: Vec<String> = [
                "FORWARD",
                "-d",
                address,
                "-p",
                "tcp",
                "--dport",
                &port.to_string(),
                "-m",
                "comment",
                "--comment",
                "keda-spin-autoscaling loop: no scrapes",
                "-j",
                "REJECT",
                "--reject-with",
                "tcp-reset",
            ]
            .map(str::to_owned)
            .into();
            iptables("-I", &rule)?;
            cut.rules.push(rule);
        }
        Ok(cut)
    }
}

impl Drop for ScrapeCut {
    fn drop(&mut self) {
        for rule in &self.rules {
            if let Err(error) = iptables("-D", rule) {
                eprintln!("the scrape cut's rule stays: {error:#}");
            }
        }
    }
}

/// `iptables -w 30 COMMAND RULE`: waits for kube-proxy's hold on the
/// tables' lock.
fn iptables(command: &str, rule: &[String]) -> Result<()> {
    let output = Command::new("iptables").args(["-w", "30", command]).args(rule).output().context("running iptables")?;
    ensure!(output.status.success(), "iptables {command} {}: {}", rule.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    Ok(())
}
