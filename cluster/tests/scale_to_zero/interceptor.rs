//! What the interceptor costs on every request: the same load straight to
//! the Service and through the interceptor.

use super::*;

/// The hop every request pays, not only the first: fortio at 16
/// connections, as fast as it goes for 15 s, straight to the Service and
/// then through the interceptor, with KEDA holding the Deployment at 1 pod
/// (its `paused-replicas` annotation) so that both reach the same one. The
/// figures are printed, not asserted (BENCHMARKS.md, "Scale from zero");
/// every request must get a 200.
pub(crate) fn interceptor_cost(state: &ScaleToZero) -> Result<()> {
    let kubectl = &state.node.kubectl;
    kubectl.run(&["-n", NAMESPACE, "annotate", "scaledobject", "test", "autoscaling.keda.sh/paused-replicas=1", "--overwrite"])?;
    let measured = measure_the_interceptor(state);
    // KEDA scales again whether the measurement held or not.
    kubectl.run(&["-n", NAMESPACE, "annotate", "scaledobject", "test", "autoscaling.keda.sh/paused-replicas-"])?;
    measured
}

pub(crate) fn measure_the_interceptor(state: &ScaleToZero) -> Result<()> {
    let kubectl = &state.node.kubectl;
    wait_for(Duration::from_secs(180), "1 Ready pod, paused", || {
        let deployment = kubectl.get_json(&["-n", NAMESPACE, "deployment", "test"])?;
        Ok(deployment["spec"]["replicas"] == 1 && deployment["status"]["replicas"] == 1 && ready_pods(&state.node)?.len() == 1)
    })?;
    let fortio = |name: &str, extra: &[&str], url: &str| -> Result<Throughput> {
        let mut args = vec!["load", "-qps", "-1", "-c", "16", "-t", "15s"];
        args.extend_from_slice(extra);
        args.push(url);
        let report = load::run_fortio(&state.node, name, &args, Duration::from_secs(120))?;
        let codes = load::fortio_codes(&report)?;
        ensure!(codes.iter().all(|(code, _)| *code == 200), "{name}: {codes:?}");
        Throughput::read(&report).with_context(|| format!("{name}: fortio's report:\n{report}"))
    };
    let direct = fortio("direct", &[], &format!("http://{HOST}:5000/"))?;
    let through = fortio("through-the-interceptor", &["-H", &format!("Host: {HOST}")], &http_add_on::proxy_url())?;
    println!(
        "16 connections for 15 s to 1 wasm pod: straight to the Service {:.0} req/s, p50 {:.2} ms; through the interceptor {:.0} req/s, p50 {:.2} ms",
        direct.per_second,
        direct.p50 * 1e3,
        through.per_second,
        through.p50 * 1e3
    );
    Ok(())
}

/// fortio's throughput and median, from its report's
/// `Ended after 15.01s : 16547 calls. qps=1102.1` and `# target 50% 0.00123`
/// lines.
pub(crate) struct Throughput {
    pub(crate) per_second: f64,
    pub(crate) p50: f64,
}

impl Throughput {
    pub(crate) fn read(report: &str) -> Option<Throughput> {
        let per_second = report.lines().find(|line| line.starts_with("Ended after"))?.rsplit_once("qps=")?.1.trim().parse().ok()?;
        let p50 = report.lines().find_map(|line| line.strip_prefix("# target 50% "))?.trim().parse().ok()?;
        Some(Throughput { per_second, p50 })
    }
}
