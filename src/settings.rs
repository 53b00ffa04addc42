//! The component's Spin variables.

use std::time::Duration;

use anyhow::{Context, Result, ensure};

/// Longest simulated work accepted: beyond it a request would outlive any
/// sensible HTTP timeout, which is a configuration mistake worth reporting.
const MAX_SIMULATED_WORK_MS: u64 = 60_000;

/// How long `/` waits before answering; the Flask demo slept 600 ms.
pub fn simulated_work() -> Result<Duration> {
    let raw = spin_sdk::variables::get("simulated_work_ms")
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("cannot read variable simulated_work_ms")?;
    let millis: u64 = raw.trim().parse().with_context(|| {
        format!("variable simulated_work_ms must be a whole number of milliseconds, not {raw:?}")
    })?;
    ensure!(
        millis <= MAX_SIMULATED_WORK_MS,
        "variable simulated_work_ms must be at most {MAX_SIMULATED_WORK_MS}, not {millis}"
    );
    Ok(Duration::from_millis(millis))
}
