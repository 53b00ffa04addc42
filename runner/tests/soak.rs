//! The soak at its CI size (50,000 requests at 64 connections; `bench soak`
//! runs 1,000,000): the counter is exact, RSS stays within 10 % of its value
//! after warm-up, and open files do not grow; the p99 of the last 10 % of
//! the requests against the first 10 % is reported, and asserted (within
//! 20 %) only at the full size. On the runner here; under
//! `spin up` with the pods' in-memory store in the conformance suite.

mod support;

use std::sync::Mutex;

use harness::server::Server;
use support::RunnerServer;
use harness::soak::{self, Soak};

/// One soak at a time: two at once on two cores measure each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn timed_invariants(requests: usize) -> &'static [&'static str] {
    if requests >= soak::FULL_SIZE { &["p99 drift"] } else { &[] }
}

fn report(server: &str, soak: &Soak) {
    println!("{}\n{}", soak::TABLE_HEADER, soak.markdown_row(server));
    println!("{}", soak.notes(server).join("\n"));
}

#[test]
fn the_runner_survives_a_soak() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let requests = soak::requests();
    let server = Server::runner_with("soak-runner", &support::project_manifest(), &[], &[("RUST_LOG", "warn")]);
    let soak = soak::soak(&server, requests);
    report("runner", &soak);
    soak::assert_met(&soak, soak::P99_BOUND, &["exact count", "RSS within 10 %", "no open files gained"]);
    soak::assert_met(&soak, soak::P99_BOUND, timed_invariants(requests));
}

/// Spin 3.6.3's RSS keeps rising under this load (7.6 %, 12.8 % and 14.7 %
/// after warm-up in three runs of a million requests; partly its blocking pool,
/// which grew from 197 to 298 threads): so the RSS bound is measured and
/// reported here and in BENCHMARKS.md ("Soak"), not asserted, while the
/// count and the open files are.
#[cfg(feature = "conformance")]
#[test]
fn spin_up_with_the_in_memory_store_survives_a_soak() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let requests = soak::requests();
    let server = harness::spin_app::app().up("soak-spin-up", &[]);
    let soak = soak::soak(&server, requests);
    report("spin up (in-memory store)", &soak);
    soak::assert_met(&soak, soak::P99_BOUND, &["exact count", "no open files gained"]);
}
