//! The runner serving the real component, over real HTTP.

mod support;

use std::process::Command;
use std::time::Duration;

use harness::conformance::{self, NonUtf8Header, PastCapacity};
use harness::http::{client, get};
use harness::repo_root;
use harness::server::Server;
use support::{RunnerServer, built_component, project_manifest};

#[test]
fn counts_requests_to_root_and_exposes_them() {
    conformance::counts_requests_and_exposes_them(&Server::runner("counts"));
}

#[test]
fn simulated_work_lands_in_the_first_bucket() {
    let env = [("SPIN_VARIABLE_SIMULATED_WORK_MS", "600")];
    conformance::simulated_work_lands_in_the_first_bucket(&Server::runner_with("simulated-work", &project_manifest(), &[], &env));
}

#[test]
fn variable_flag_overrides_the_environment_and_bad_values_are_reported() {
    let server = Server::runner_with(
        "bad-variable",
        &project_manifest(),
        &["--variable", "simulated_work_ms=soon"],
        &[("SPIN_VARIABLE_SIMULATED_WORK_MS", "0")],
    );
    conformance::a_bad_variable_is_a_500_with_its_reason(&server);
}

#[test]
fn negotiates_openmetrics_for_prometheus_and_text_for_everyone_else() {
    conformance::negotiates_openmetrics_for_prometheus_and_text_for_everyone_else(&Server::runner("negotiation"));
}

#[test]
fn no_count_is_lost_under_concurrency() {
    let server = Server::runner_with("concurrency", &project_manifest(), &[], &[("RUST_LOG", "warn")]);
    conformance::no_count_is_lost_under_concurrency(&server);
}

#[test]
fn past_its_instance_limit_the_runner_answers_503_with_retry_after() {
    let args = ["--max-instances", "8", "--variable", "simulated_work_ms=1000"];
    let server = Server::runner_with("overload", &project_manifest(), &args, &[("RUST_LOG", "warn")]);
    conformance::past_capacity_requests_are_refused_and_the_rest_counted(&server, 8, PastCapacity::ServiceUnavailable);
}

#[test]
fn bad_input_gets_a_client_error_never_a_server_error() {
    conformance::bad_input_never_gets_a_server_error(&mut Server::runner("bad-input"), NonUtf8Header::ReachesTheComponent);
}

#[test]
fn a_store_that_cannot_be_opened_is_a_500_with_its_reason() {
    // The same component, under a manifest that grants it no store.
    let component = built_component();
    let manifest = format!(
        r#"
spin_manifest_version = 2
[application]
name = "no-store"
[[trigger.http]]
route = "/..."
component = "no-store"
[component.no-store]
source = "{}"
[component.no-store.variables]
simulated_work_ms = "0"
"#,
        component.display()
    );
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-store.spin.toml");
    std::fs::write(&path, manifest).unwrap();
    let mut runner = Server::runner_with("no-store", &path, &[], &[]);
    let agent = client();
    for path in ["/", "/metrics", "/", "/metrics"] {
        let answer = get(&agent, &runner.url(path), None);
        assert_eq!(answer.status, 500, "{path}");
        assert_eq!(answer.body, "cannot open key-value store \"default\": access denied\n");
    }
    assert_eq!(get(&agent, &runner.url("/nope"), None).status, 404);
    assert!(runner.is_running());
}

/// The component's shadow stack is 64 KiB (`build.rs`), not Rust's 1 MiB.
/// Spin's pooling allocator clears the resident part of an instance's
/// memory after every request, so every byte the memory starts with is paid
/// on every request (docs/pod-cost.md). The tests above pass with a 2 KiB
/// stack and fail with 256 B: 64 KiB leaves room. This holds the memory the
/// component starts with to the stack and its data, 2 pages of 64 KiB.
#[test]
fn the_component_starts_with_two_pages_of_memory_not_seventeen() {
    let component = std::fs::read(built_component()).unwrap();
    let mut minimums = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&component) {
        if let wasmparser::Payload::MemorySection(memories) = payload.unwrap() {
            minimums.extend(memories.into_iter().map(|memory| memory.unwrap().initial));
        }
    }
    // The component's own module has the one memory the adapters share.
    assert_eq!(minimums, vec![2], "the initial sizes, in 64 KiB pages, of the component's memories");
}

#[test]
fn the_pods_runtime_config_is_honoured_and_one_it_cannot_honour_is_refused_before_serving() {
    let pods_config = repo_root().join("manifests/wasm/runtime-config.toml");
    let pods_config = pods_config.to_str().unwrap();
    conformance::counts_requests_and_exposes_them(&Server::runner_with(
        "runtime-config",
        &project_manifest(),
        &["--runtime-config-file", pods_config],
        &[],
    ));

    // An on-disk store: the runner says which key it cannot honour, and
    // does not start serving something else.
    let on_disk = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("on-disk.runtime-config.toml");
    std::fs::write(&on_disk, "[key_value_store.default]\ntype = \"spin\"\npath = \"kv.db\"\n").unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_runner"));
    command.arg("--manifest").arg(project_manifest()).arg("--runtime-config-file").arg(&on_disk);
    command.args(["--listen", "127.0.0.1:0"]);
    let error = Server::try_spawn("on-disk-config", command).err().expect("the runner refuses the config");
    let expected = format!("invalid runtime config {}: key `key_value_store.default.path`", on_disk.display());
    assert!(error.contains(&expected), "{error}");
}

#[test]
fn a_guest_trap_is_a_500_and_the_runner_keeps_serving() {
    let fixture = repo_root().join("fixtures/hello/spin.toml");
    let mut runner = Server::runner_with("trap", &fixture, &[], &[]);
    let agent = client();
    for _ in 0..3 {
        assert_eq!(get(&agent, &runner.url("/trap"), None).status, 500);
        let hello = get(&agent, &runner.url("/"), None);
        assert_eq!((hello.status, hello.body.as_str()), (200, "Hello World!"));
    }
    assert!(runner.is_running());
    assert!(runner.log_text().contains("the component trapped"), "{}", runner.log_text());
}

#[test]
fn sigterm_drains_in_flight_requests_and_exits_zero() {
    let runner = Server::runner_with("shutdown", &project_manifest(), &["--variable", "simulated_work_ms=1500"], &[]);
    let url = runner.url("/");
    let in_flight = std::thread::spawn(move || get(&client(), &url, None));
    std::thread::sleep(Duration::from_millis(500));
    let status = runner.terminate();
    let answer = in_flight.join().unwrap();
    assert_eq!((answer.status, answer.body.as_str()), (200, "Hello World!"));
    assert!(status.success(), "exit status {status}");
}

#[test]
fn the_log_has_one_line_per_request() {
    let runner = Server::runner("log");
    let agent = client();
    get(&agent, &runner.url("/"), None);
    get(&agent, &runner.url("/metrics"), None);
    get(&agent, &runner.url("/nope"), None);
    std::thread::sleep(Duration::from_millis(100));
    let log = runner.log_text();
    let lines: Vec<_> = log.lines().filter(|line| line.contains("ms")).filter(|line| line.contains(" GET /")).collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[0].contains("GET / 200"), "{}", lines[0]);
    assert!(lines[1].contains("GET /metrics 200"), "{}", lines[1]);
    assert!(lines[2].contains("GET /nope 404"), "{}", lines[2]);
}

/// Where the address space cannot hold the pooling allocator's reservation
/// (here a `ulimit -v` of 16 GiB; a 39-bit address space does the same),
/// the runner checks as `wasmtime serve` does and allocates on demand: it
/// serves, counts exactly, and still refuses past its instance limit.
#[test]
fn without_the_address_space_for_the_pool_the_runner_allocates_on_demand() {
    // Started first without a limit, so that the component is built and the
    // limited start below compiles nothing.
    let pooled = Server::runner("pooled");
    conformance::counts_requests_and_exposes_them(&pooled);
    let log = std::fs::read_to_string(&pooled.log).unwrap();
    assert!(log.contains("instance allocation: pooling, 1000 instances reserved"), "{log}");
    drop(pooled);

    let mut command = Command::new("sh");
    command
        .args(["-c", "ulimit -v 16777216 && exec \"$@\"", "sh", env!("CARGO_BIN_EXE_runner"), "--manifest"])
        .arg(project_manifest())
        .args(["--listen", "127.0.0.1:0", "--max-instances", "8", "--variable", "simulated_work_ms=1000"]);
    let limited = Server::spawn("on-demand", command);
    let log = std::fs::read_to_string(&limited.log).unwrap();
    assert!(log.contains("instance allocation: on demand"), "{log}");
    conformance::past_capacity_requests_are_refused_and_the_rest_counted(&limited, 8, PastCapacity::ServiceUnavailable);
}
