//! Prometheus stopped under load: what KEDA answers the HPA, and what the
//! HPA keeps.

use super::*;

/// Prometheus stopped for 30 s under load, once the Deployment has its 6
/// pods: its process frozen (SIGSTOP) and then let go on (SIGCONT), so it
/// keeps its data. KEDA cannot read the metric meanwhile (the kubelet's
/// readiness probe soon takes Prometheus out of its Service, and its
/// liveness probe may restart the container, which keeps its emptyDir), and
/// the HPA must keep its replicas until the value is back.
pub(crate) struct Outage {
    pub(crate) pid: i32,
    pub(crate) stopped_at: f64,
    pub(crate) resumed_at: f64,
    pub(crate) desired_at_stop: u64,
    /// When the query had a value again.
    pub(crate) data_again: Option<f64>,
}

impl Outage {
    pub(crate) fn begin(started: Instant, desired_at_stop: u64) -> Result<Outage> {
        let pid = prometheus_pid()?;
        signal(pid, libc::SIGSTOP)?;
        let stopped_at = started.elapsed().as_secs_f64();
        println!("{stopped_at:6.1} s  Prometheus stopped (SIGSTOP to {pid})");
        Ok(Outage { pid, stopped_at, resumed_at: stopped_at, desired_at_stop, data_again: None })
    }

    /// Lets Prometheus go on, and samples every half second until the
    /// query has a value again.
    pub(crate) fn end(&mut self, state: &Loop, prometheus: &Prometheus, query: &str, metric: &str, started: Instant) -> Result<()> {
        signal(self.pid, libc::SIGCONT)?;
        self.resumed_at = started.elapsed().as_secs_f64();
        println!("{:6.1} s  Prometheus let go on (SIGCONT)", self.resumed_at);
        let data_again = until_the_query_has_a_value(state, prometheus, query, metric, started, &mut |_| Ok(()))?;
        println!("{data_again:6.1} s  the query has a value again");
        self.data_again = Some(data_again);
        Ok(())
    }

    /// The HPA kept at least the replicas it wanted when Prometheus stopped
    /// until one sync after the query had a value again (or the load ended).
    pub(crate) fn held(&self, timeline: &[Sample], load_ended: f64) -> Result<()> {
        let data_again = self.data_again.context("Prometheus was stopped and never had a value again")?;
        ensure!(
            data_again < load_ended,
            "the query had a value again only at {data_again:.0} s, after the load ended at {load_ended:.0} s"
        );
        let until = (data_again + SYNC_PERIOD).min(load_ended);
        let during = timeline.iter().filter(|sample| sample.at >= self.stopped_at && sample.at <= until);
        let lowest = during.map(|sample| sample.desired).min().context("no sample during the outage")?;
        ensure!(
            lowest >= self.desired_at_stop,
            "the HPA went from {} to {lowest} replicas while Prometheus was stopped",
            self.desired_at_stop
        );
        println!(
            "Prometheus stopped at {:.0} s for {:.0} s, a value again at {data_again:.0} s: the HPA held {} replicas",
            self.stopped_at,
            self.resumed_at - self.stopped_at,
            self.desired_at_stop
        );
        Ok(())
    }
}

/// Samples the timeline every 5 s while polling the query every half second
/// (for up to 4 minutes) until it returns a series; `on_empty` sees each
/// moment Prometheus answers it with none. Returns when it had one.
pub(crate) fn until_the_query_has_a_value(
    state: &Loop,
    prometheus: &Prometheus,
    query: &str,
    metric: &str,
    started: Instant,
    on_empty: &mut dyn FnMut(f64) -> Result<()>,
) -> Result<f64> {
    let node = &state.node;
    let waiting = Instant::now();
    let mut last_sample = Instant::now();
    while waiting.elapsed() < Duration::from_secs(240) {
        std::thread::sleep(Duration::from_millis(500));
        if last_sample.elapsed() >= Duration::from_secs(5) {
            last_sample = Instant::now();
            let sample = sample(node, prometheus, query, metric, started.elapsed().as_secs_f64())?;
            state.timeline.lock().unwrap().push(sample);
        }
        // Unreachable (no Ready endpoint) or not ready (503) yet.
        let Ok(result) = prometheus.query(query) else { continue };
        if !result.is_empty() {
            return Ok(started.elapsed().as_secs_f64());
        }
        on_empty(started.elapsed().as_secs_f64())?;
    }
    bail!("the query had no value within 240 s")
}

/// The process whose command is the Prometheus image's entrypoint.
pub(crate) fn prometheus_pid() -> Result<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(command) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if command.split(|byte| *byte == 0).next() == Some(b"/bin/prometheus".as_slice()) {
            found.push(pid);
        }
    }
    match found.as_slice() {
        [pid] => Ok(*pid),
        other => bail!("expected one /bin/prometheus process, found {other:?}"),
    }
}

pub(crate) fn signal(pid: i32, signal: libc::c_int) -> Result<()> {
    // SAFETY: kill(2) with a pid read from /proc and a valid signal number.
    let sent = unsafe { libc::kill(pid, signal) };
    ensure!(sent == 0, "kill({pid}, {signal}): {}", std::io::Error::last_os_error());
    Ok(())
}
