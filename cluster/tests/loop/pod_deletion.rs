//! A wasm pod deleted under load, and what the Service loses.

use super::*;

/// One wasm pod deleted under load, once Prometheus is back: the busiest
/// pod, seen counting requests. The Deployment replaces it, and no request
/// fails at the Service beyond those in flight on that pod, which are at
/// most fortio's connections.
pub(crate) struct PodDeletion {
    pub(crate) at: f64,
    pub(crate) pod: String,
    pub(crate) connections: u64,
}

impl PodDeletion {
    pub(crate) fn begin(node: &Node, started: Instant) -> Result<PodDeletion> {
        let pods = ready_pods(node)?;
        let before = pods.iter().map(|pod| apps::count(Path::Wasm, &pod.ip)).collect::<Result<Vec<_>>>()?;
        std::thread::sleep(Duration::from_secs(1));
        let mut busiest = None;
        for (pod, before) in pods.iter().zip(before) {
            let served = apps::count(Path::Wasm, &pod.ip)? - before;
            if busiest.as_ref().is_none_or(|(_, most)| served > *most) {
                busiest = Some((pod, served));
            }
        }
        let (pod, served) = busiest.context("no Ready pod to delete")?;
        ensure!(served > 0.0, "no pod counted a request in a second of the load");
        let job = node.kubectl.get_json(&["-n", "load", "job", "load"])?;
        let args = job["spec"]["template"]["spec"]["containers"][0]["args"].as_array().cloned().unwrap_or_default();
        let connections = args
            .iter()
            .position(|arg| arg == "-c")
            .and_then(|at| args.get(at + 1)?.as_str()?.parse().ok())
            .context("the load Job's fortio has no -c CONNECTIONS")?;
        node.kubectl.run(&["-n", NAMESPACE, "delete", "pod", &pod.name, "--wait=false"])?;
        let at = started.elapsed().as_secs_f64();
        println!("{at:6.1} s  pod {} deleted; it counted {served} requests in the second before", pod.name);
        Ok(PodDeletion { at, pod: pod.name.clone(), connections })
    }

    /// The Deployment had its 6 Ready pods again after the deletion, and
    /// fortio's failures were no more than its connections.
    pub(crate) fn replaced(&self, timeline: &[Sample], failed: u64) -> Result<()> {
        let again = timeline
            .iter()
            .find(|sample| sample.at > self.at && sample.ready >= REPLICAS_UNDER_LOAD)
            .with_context(|| format!("{} was deleted at {:.0} s and never replaced", self.pod, self.at))?;
        ensure!(
            failed <= self.connections,
            "{failed} requests failed when a pod was deleted under load: more than fortio's {} connections could have in flight on it",
            self.connections
        );
        println!(
            "{} deleted at {:.0} s: {REPLICAS_UNDER_LOAD} Ready again by {:.0} s; {failed} requests failed (at most {} could be in flight on it)",
            self.pod, self.at, again.at, self.connections
        );
        Ok(())
    }
}
