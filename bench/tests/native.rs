//! The native baseline serves the same app as the component: same routes,
//! same families, same exact counts.

use std::path::Path;
use std::process::Command;

use harness::http::{client, concurrent_gets, get, promtool_check_metrics, sample};
use harness::server::{Server, runner_command};

fn families(exposition: &str) -> Vec<&str> {
    exposition.lines().filter(|line| line.starts_with("# TYPE")).collect()
}

#[test]
fn the_native_baseline_serves_the_same_app_and_loses_no_count() {
    let mut native = Command::new(env!("CARGO_BIN_EXE_native-baseline"));
    native.args(["--listen", "127.0.0.1:0"]);
    let native = Server::spawn("native", native);
    // The runner is another package's binary: cargo builds it beside this
    // one when it builds the workspace's tests (scripts/test.sh).
    let runner = Path::new(env!("CARGO_BIN_EXE_native-baseline")).with_file_name("runner");
    assert!(runner.is_file(), "{} is missing: `cargo build --release -p runner`, or run the workspace's tests", runner.display());
    let component = Server::spawn("native-comparison", runner_command(&runner, &harness::repo_root().join("spin.toml"), &[]));
    let agent = client();
    assert_eq!(get(&agent, &native.url("/"), None).body, "Hello World!");
    assert_eq!(get(&agent, &native.url("/nope"), None).status, 404);

    const CLIENTS: usize = 16;
    const REQUESTS: usize = 100;
    let succeeded = concurrent_gets(&native.url("/"), CLIENTS, REQUESTS);
    assert_eq!(succeeded, CLIENTS * REQUESTS);

    let metrics = get(&agent, &native.url("/metrics"), None).body;
    let sent = (CLIENTS * REQUESTS + 1) as f64;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(sent));
    assert_eq!(sample(&metrics, "python_request_duration_seconds_count"), Some(sent));
    assert_eq!(promtool_check_metrics(&metrics), (0, String::new()));

    get(&agent, &component.url("/"), None);
    let component_metrics = get(&agent, &component.url("/metrics"), None).body;
    assert_eq!(families(&metrics), families(&component_metrics));
}
