//! The component under the real `spin up` (Spin 3.6.3), the host users run
//! on their machines: the checks tests/serve.rs makes of our runner, and
//! what only Spin has, its on-disk default store.
//!
//! Spin comes from `SPIN` or `PATH` (.ci/run sets `SPIN`); without it these
//! tests fail and say how to install it.

use harness::conformance::{self, NonUtf8Header, PastCapacity};
use harness::files::db_files;
use harness::http::{client, get, sample};
use harness::server::Server;
use harness::spin_app::{self as spin, fresh_state_dir};

#[test]
fn counts_requests_to_root_and_exposes_them() {
    conformance::counts_requests_and_exposes_them(&spin::app().up("spin-counts", &[]));
}

#[test]
fn simulated_work_lands_in_the_first_bucket() {
    let server = spin::app().up("spin-simulated-work", &[("SPIN_VARIABLE_SIMULATED_WORK_MS", "600")]);
    conformance::simulated_work_lands_in_the_first_bucket(&server);
}

#[test]
fn a_bad_variable_is_a_500_with_its_reason() {
    let server = spin::app().up("spin-bad-variable", &[("SPIN_VARIABLE_SIMULATED_WORK_MS", "soon")]);
    conformance::a_bad_variable_is_a_500_with_its_reason(&server);
}

#[test]
fn negotiates_openmetrics_for_prometheus_and_text_for_everyone_else() {
    conformance::negotiates_openmetrics_for_prometheus_and_text_for_everyone_else(&spin::app().up("spin-negotiation", &[]));
}

#[test]
fn no_count_is_lost_under_concurrency() {
    conformance::no_count_is_lost_under_concurrency(&spin::app().up("spin-concurrency", &[]));
}

#[test]
fn bad_input_gets_a_client_error_never_a_server_error() {
    conformance::bad_input_never_gets_a_server_error(&mut spin::app().up("spin-bad-input", &[]), NonUtf8Header::RefusedWith500);
}

/// Spin's instance limit is `SPIN_WASMTIME_INSTANCE_COUNT` (1,000 by
/// default, crates/core/src/lib.rs); past it Spin answers an empty 500.
#[test]
fn past_its_instance_limit_spin_answers_an_empty_500() {
    let env = [("SPIN_WASMTIME_INSTANCE_COUNT", "8"), ("SPIN_VARIABLE_SIMULATED_WORK_MS", "1000")];
    let server = spin::app().up("spin-overload", &env);
    conformance::past_capacity_requests_are_refused_and_the_rest_counted(&server, 8, PastCapacity::EmptyInternalServerError);
}

/// `requests` GETs to `/`, then the counter as `/metrics` shows it.
fn count_then_read(server: &Server, requests: usize) -> f64 {
    let agent = client();
    for _ in 0..requests {
        assert_eq!(get(&agent, &server.url("/"), None).status, 200);
    }
    sample(&get(&agent, &server.url("/metrics"), None).body, "python_request_operations_total").unwrap()
}

#[test]
fn without_the_runtime_config_the_counts_survive_a_restart_on_disk() {
    let state = fresh_state_dir("spin-on-disk");
    let first = spin::app().up_with("spin-on-disk-1", &state, &[], &[]);
    assert_eq!(count_then_read(&first, 7), 7.0);
    drop(first);
    assert!(state.join("sqlite_key_value.db").is_file(), "Spin's default store is {}/sqlite_key_value.db", state.display());
    let second = spin::app().up_with("spin-on-disk-2", &state, &[], &[]);
    assert_eq!(count_then_read(&second, 3), 10.0, "the second run went on from the first's 7");
}

#[test]
fn with_the_runtime_config_the_counts_live_in_memory() {
    let state = fresh_state_dir("spin-in-memory");
    let config = spin::app().runtime_config();
    let args = ["--runtime-config-file", config.to_str().unwrap()];
    let first = spin::app().up_with("spin-in-memory-1", &state, &args, &[]);
    assert_eq!(count_then_read(&first, 7), 7.0);
    drop(first);
    let second = spin::app().up_with("spin-in-memory-2", &state, &args, &[]);
    assert_eq!(count_then_read(&second, 3), 3.0, "a restarted process starts again from 0");
    let written = db_files(&[&state]);
    assert!(written.is_empty(), "the in-memory store wrote {written:?}");
}

#[test]
fn a_component_that_fails_to_load_is_reported_with_spins_own_error() {
    let app = spin::app();
    let broken = app.root().join("broken.spin.toml");
    let not_wasm = app.root().join("README.md");
    let manifest = std::fs::read_to_string(app.root().join("spin.toml")).unwrap().replace(
        "source = \"target/wasm32-wasip2/wasm-release/keda_spin_autoscaling.wasm\"",
        &format!("source = {:?}", not_wasm.to_str().unwrap()),
    );
    std::fs::write(&broken, manifest).unwrap();
    let command = app.up_command(&broken, &fresh_state_dir("spin-broken"), &[], &[]);
    let Err(message) = Server::try_spawn("spin-broken", command) else {
        panic!("Spin served a component that is not Wasm");
    };
    assert!(message.contains("the server did not start"), "{message}");
    // Spin's own words, from its stderr.
    assert!(message.contains("Error: failed to resolve dependencies for component \"keda-spin-autoscaling\""), "{message}");
    assert!(message.contains("magic header not detected"), "{message}");
}
