//! The native baseline serves the same app as the component: same routes,
//! same families, same exact counts.

mod support;

use support::{Server, client, get, promtool_check_metrics, sample};

fn families(exposition: &str) -> Vec<&str> {
    exposition.lines().filter(|line| line.starts_with("# TYPE")).collect()
}

#[test]
fn the_native_baseline_serves_the_same_app_and_loses_no_count() {
    let native = Server::native("native");
    let component = Server::runner("native-comparison");
    let agent = client();
    assert_eq!(get(&agent, &native.url("/"), None).body, "Hello World!");
    assert_eq!(get(&agent, &native.url("/nope"), None).status, 404);

    const CLIENTS: usize = 16;
    const REQUESTS: usize = 100;
    let succeeded = support::concurrent_gets(&native.url("/"), CLIENTS, REQUESTS);
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
