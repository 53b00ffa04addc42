//! The runner serving the real component, over real HTTP.

mod support;

use std::time::Duration;

use support::{Runner, client, get, project_manifest, promtool_check_metrics, raw_status, repo_root, sample};

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[test]
fn counts_requests_to_root_and_exposes_them() {
    let runner = Runner::start("counts");
    let agent = client();
    const N: usize = 25;
    for _ in 0..N {
        let answer = get(&agent, &runner.url("/"), None);
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "Hello World!");
        assert!(answer.content_type.starts_with("text/plain"), "{}", answer.content_type);
    }
    // HEAD is answered like GET, without a body, and counts too.
    let head = support::answer(agent.head(runner.url("/")).call().unwrap());
    assert_eq!((head.status, head.body.as_str()), (200, ""));

    let metrics = get(&agent, &runner.url("/metrics"), None).body;
    let n = (N + 1) as f64;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(n));
    assert_eq!(sample(&metrics, "python_request_duration_seconds_count"), Some(n));
    assert_eq!(sample(&metrics, r#"python_request_duration_seconds_bucket{le="+Inf"}"#), Some(n));
    assert_eq!(sample(&metrics, r#"python_request_duration_seconds_bucket{le="1"}"#), Some(n));
    let created = sample(&metrics, "python_request_operations_created").expect("counter _created");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((now - 600.0..=now + 1.0).contains(&created), "created {created}, now {now}");
    assert_eq!(sample(&metrics, "python_request_duration_seconds_created"), Some(created));

    // Scrapes are not requests: the counter did not move.
    let again = get(&agent, &runner.url("/metrics"), None).body;
    assert_eq!(sample(&again, "python_request_operations_total"), Some(n));
    // _created was set once.
    assert_eq!(sample(&again, "python_request_operations_created"), Some(created));
}

#[test]
fn simulated_work_lands_in_the_first_bucket() {
    let runner = Runner::start_with("simulated-work", &project_manifest(), &[], &[("SPIN_VARIABLE_SIMULATED_WORK_MS", "600")]);
    let agent = client();
    const N: usize = 3;
    for _ in 0..N {
        let started = std::time::Instant::now();
        assert_eq!(get(&agent, &runner.url("/"), None).status, 200);
        assert!(started.elapsed() >= Duration::from_millis(600));
    }
    let metrics = get(&agent, &runner.url("/metrics"), None).body;
    let n = N as f64;
    assert_eq!(sample(&metrics, r#"python_request_duration_seconds_bucket{le="1"}"#), Some(n));
    assert_eq!(sample(&metrics, "python_request_duration_seconds_count"), Some(n));
    let sum = sample(&metrics, "python_request_duration_seconds_sum").unwrap();
    assert!(sum >= 0.6 * n && sum < 1.0 * n, "sum {sum}");
}

#[test]
fn variable_flag_overrides_the_environment_and_bad_values_are_reported() {
    let runner = Runner::start_with(
        "bad-variable",
        &project_manifest(),
        &["--variable", "simulated_work_ms=soon"],
        &[("SPIN_VARIABLE_SIMULATED_WORK_MS", "0")],
    );
    let agent = client();
    let answer = get(&agent, &runner.url("/"), None);
    assert_eq!(answer.status, 500);
    assert!(answer.body.contains("simulated_work_ms must be a whole number"), "{}", answer.body);
    // The failed request was not counted.
    let metrics = get(&agent, &runner.url("/metrics"), None).body;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(0.0));
}

#[test]
fn negotiates_openmetrics_for_prometheus_and_text_for_everyone_else() {
    let runner = Runner::start("negotiation");
    let agent = client();
    assert_eq!(get(&agent, &runner.url("/"), None).status, 200);

    let openmetrics = get(&agent, &runner.url("/metrics"), Some(PROMETHEUS_ACCEPT));
    assert_eq!(openmetrics.content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert!(openmetrics.body.ends_with("# EOF\n"));
    assert!(openmetrics.body.contains("# TYPE python_request_operations counter\n"));
    assert_eq!(sample(&openmetrics.body, "python_request_operations_total"), Some(1.0));

    for accept in [None, Some("text/plain;version=0.0.4"), Some("*/*"), Some("application/json")] {
        let text = get(&agent, &runner.url("/metrics"), accept);
        assert_eq!(text.content_type, "text/plain; version=0.0.4; charset=utf-8", "Accept {accept:?}");
        assert!(!text.body.contains("# EOF"));
        assert!(text.body.contains("# TYPE python_request_operations_total counter\n"));
        assert!(text.body.contains("# TYPE python_request_duration_seconds histogram\n"));
        assert!(text.body.contains("# TYPE python_request_operations_created gauge\n"));
        let (code, output) = promtool_check_metrics(&text.body);
        assert_eq!((code, output.as_str()), (0, ""), "promtool on the text format");
    }
    // promtool reads only the text format: OpenMetrics is not what it checks.
    let (code, _) = promtool_check_metrics(&openmetrics.body);
    assert_ne!(code, 0);
}

#[test]
fn no_count_is_lost_under_concurrency() {
    let runner = Runner::start_with("concurrency", &project_manifest(), &[], &[("RUST_LOG", "warn")]);
    const CLIENTS: usize = 64;
    const REQUESTS: usize = 200;
    let succeeded = support::concurrent_gets(&runner.url("/"), CLIENTS, REQUESTS);
    assert_eq!(succeeded, CLIENTS * REQUESTS);
    let metrics = get(&client(), &runner.url("/metrics"), None).body;
    let sent = (CLIENTS * REQUESTS) as f64;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(sent));
    assert_eq!(sample(&metrics, "python_request_duration_seconds_count"), Some(sent));
    assert_eq!(sample(&metrics, r#"python_request_duration_seconds_bucket{le="+Inf"}"#), Some(sent));
}

#[test]
fn bad_input_gets_a_client_error_never_a_server_error() {
    let mut runner = Runner::start("bad-input");
    let agent = client();

    for path in ["/nope", "/metrics/", "/index.html", "//", "/%00", "/metrics?x=1/../"] {
        let status = get(&agent, &runner.url(path), None).status;
        let expected = if path == "/metrics?x=1/../" { 200 } else { 404 };
        assert_eq!(status, expected, "GET {path}");
    }
    for (method, path) in [("POST", "/"), ("PUT", "/"), ("DELETE", "/metrics"), ("PATCH", "/metrics"), ("OPTIONS", "/")] {
        let response = agent
            .run(ureq::http::Request::builder().method(method).uri(runner.url(path)).body(()).unwrap())
            .unwrap();
        let answer = support::answer(response);
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.header("allow"), Some("GET, HEAD"), "{method} {path}");
    }
    for accept in ["", ";;;,,,", "application/openmetrics-text;q=banana", "text/plain;q=2", "*/*;q="] {
        let answer = get(&agent, &runner.url("/metrics"), Some(accept));
        assert_eq!(answer.status, 200, "Accept {accept:?}");
    }
    // A non-UTF-8 Accept header, which no client library will send.
    let odd_accept = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: \xff\xfe\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(runner.address, odd_accept, 0), Some(200));

    // 10 MB bodies: refused where no body belongs, ignored where GET has one.
    const TEN_MB: usize = 10 * 1024 * 1024;
    let post = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {TEN_MB}\r\n\r\n");
    assert_eq!(raw_status(runner.address, post.as_bytes(), TEN_MB), Some(405));
    let get_with_body = format!("GET /nope HTTP/1.1\r\nHost: x\r\nContent-Length: {TEN_MB}\r\n\r\n");
    assert_eq!(raw_status(runner.address, get_with_body.as_bytes(), TEN_MB), Some(404));

    // Long paths: answered by the component up to what hyper parses, then
    // refused by hyper with a 4xx before they reach it.
    let long = format!("/{}", "a".repeat(8 * 1024));
    assert_eq!(get(&agent, &runner.url(&long), None).status, 404);
    let huge = format!("GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "a".repeat(1024 * 1024));
    let status = raw_status(runner.address, huge.as_bytes(), 0).expect("an answer to a 1 MiB path");
    assert!((400..500).contains(&status), "1 MiB path: {status}");

    // Malformed requests.
    for garbage in [&b"NOT HTTP\r\n\r\n"[..], b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"] {
        let status = raw_status(runner.address, garbage, 0);
        assert!(status.is_none_or(|status| (400..500).contains(&status)), "{:?}: {status:?}", String::from_utf8_lossy(garbage));
    }

    assert!(runner.is_running(), "the runner survived");
    assert_eq!(get(&agent, &runner.url("/"), None).status, 200);
    let metrics = get(&agent, &runner.url("/metrics"), None).body;
    // Only the one successful GET / counted.
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(1.0));
    assert!(!runner.log_text().contains("panicked"), "{}", runner.log_text());
}

#[test]
fn a_store_that_cannot_be_opened_is_a_500_with_its_reason() {
    // The same component, under a manifest that grants it no store.
    let component = repo_root().join("target/wasm32-wasip2/wasm-release/keda_spin_autoscaling.wasm");
    // The project's manifest builds the component if it is missing.
    drop(Runner::start("store-build"));
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
    let mut runner = Runner::start_with("no-store", &path, &[], &[]);
    let agent = client();
    for path in ["/", "/metrics", "/", "/metrics"] {
        let answer = get(&agent, &runner.url(path), None);
        assert_eq!(answer.status, 500, "{path}");
        assert_eq!(answer.body, "cannot open key-value store \"default\": access denied\n");
    }
    assert_eq!(get(&agent, &runner.url("/nope"), None).status, 404);
    assert!(runner.is_running());
}

#[test]
fn a_guest_trap_is_a_500_and_the_runner_keeps_serving() {
    let fixture = repo_root().join("fixtures/hello/spin.toml");
    let mut runner = Runner::start_with("trap", &fixture, &[], &[]);
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
    let runner = Runner::start_with("shutdown", &project_manifest(), &["--variable", "simulated_work_ms=1500"], &[]);
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
    let runner = Runner::start("log");
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
