//! What every host of the component must do, checked the same way on each:
//! our runner (runner/tests/serve.rs) and the real `spin up`
//! (runner/tests/real_spin.rs).
//! Where the hosts differ, the check takes the difference as an argument,
//! so that the difference is visible at the call.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::{Answer, answer, client, concurrent_gets, get, promtool_check_metrics, raw_status, sample};
use crate::server::Server;

/// What Prometheus 2.x sends.
pub const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// N GETs and a HEAD to `/` give a counter, `_count` and `+Inf` of N + 1;
/// `_created` is set once; scrapes do not count.
pub fn counts_requests_and_exposes_them(server: &Server) {
    let agent = client();
    const N: usize = 25;
    for _ in 0..N {
        let answer = get(&agent, &server.url("/"), None);
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "Hello World!");
        assert!(answer.content_type.starts_with("text/plain"), "{}", answer.content_type);
        assert_eq!(answer.header("content-length"), Some("12"));
    }
    // HEAD is answered like GET, without a body, and counts too.
    let head = answer(agent.head(server.url("/")).call().unwrap());
    assert_eq!((head.status, head.body.as_str()), (200, ""));

    let metrics = get(&agent, &server.url("/metrics"), None).body;
    let n = (N + 1) as f64;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(n));
    assert_eq!(sample(&metrics, "python_request_duration_seconds_count"), Some(n));
    assert_eq!(sample(&metrics, r#"python_request_duration_seconds_bucket{le="+Inf"}"#), Some(n));
    assert_eq!(sample(&metrics, r#"python_request_duration_seconds_bucket{le="1"}"#), Some(n));
    let created = sample(&metrics, "python_request_operations_created").expect("counter _created");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((now - 600.0..=now + 1.0).contains(&created), "created {created}, now {now}");
    assert_eq!(sample(&metrics, "python_request_duration_seconds_created"), Some(created));

    // Scrapes are not requests: the counter did not move.
    let again = get(&agent, &server.url("/metrics"), None).body;
    assert_eq!(sample(&again, "python_request_operations_total"), Some(n));
    // _created was set once.
    assert_eq!(sample(&again, "python_request_operations_created"), Some(created));
}

/// The server runs with `simulated_work_ms=600`: every observation lands in
/// `le="1"`, and the sum is at least 0.6 s a request.
pub fn simulated_work_lands_in_the_first_bucket(server: &Server) {
    let agent = client();
    const N: usize = 3;
    for _ in 0..N {
        let started = Instant::now();
        assert_eq!(get(&agent, &server.url("/"), None).status, 200);
        assert!(started.elapsed() >= Duration::from_millis(600));
    }
    let metrics = get(&agent, &server.url("/metrics"), None).body;
    let n = N as f64;
    assert_eq!(sample(&metrics, r#"python_request_duration_seconds_bucket{le="1"}"#), Some(n));
    assert_eq!(sample(&metrics, "python_request_duration_seconds_count"), Some(n));
    let sum = sample(&metrics, "python_request_duration_seconds_sum").unwrap();
    assert!(sum >= 0.6 * n && sum < 1.0 * n, "sum {sum}");
}

/// The server runs with `simulated_work_ms=soon`: `/` answers 500 with the
/// reason, and the failed request is not counted.
pub fn a_bad_variable_is_a_500_with_its_reason(server: &Server) {
    let agent = client();
    let answer = get(&agent, &server.url("/"), None);
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.body,
        "variable simulated_work_ms must be a whole number of milliseconds, not \"soon\": invalid digit found in string\n"
    );
    let metrics = get(&agent, &server.url("/metrics"), None).body;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(0.0));
}

/// OpenMetrics for Prometheus's Accept header, the 0.0.4 text format for
/// everyone else, which promtool accepts.
pub fn negotiates_openmetrics_for_prometheus_and_text_for_everyone_else(server: &Server) {
    let agent = client();
    assert_eq!(get(&agent, &server.url("/"), None).status, 200);

    let openmetrics = get(&agent, &server.url("/metrics"), Some(PROMETHEUS_ACCEPT));
    assert_eq!(openmetrics.content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert!(openmetrics.body.ends_with("# EOF\n"));
    assert!(openmetrics.body.contains("# TYPE python_request_operations counter\n"));
    assert_eq!(sample(&openmetrics.body, "python_request_operations_total"), Some(1.0));

    for accept in [None, Some("text/plain;version=0.0.4"), Some("*/*"), Some("application/json")] {
        let text = get(&agent, &server.url("/metrics"), accept);
        assert_eq!(text.content_type, "text/plain; version=0.0.4; charset=utf-8", "Accept {accept:?}");
        assert_eq!(text.header("content-length"), Some(text.body.len().to_string().as_str()));
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

/// 64 keep-alive clients × 200 requests: every one answered 200 and counted.
pub fn no_count_is_lost_under_concurrency(server: &Server) {
    const CLIENTS: usize = 64;
    const REQUESTS: usize = 200;
    let succeeded = concurrent_gets(&server.url("/"), CLIENTS, REQUESTS);
    assert_eq!(succeeded, CLIENTS * REQUESTS);
    let metrics = get(&client(), &server.url("/metrics"), None).body;
    let sent = (CLIENTS * REQUESTS) as f64;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(sent));
    assert_eq!(sample(&metrics, "python_request_duration_seconds_count"), Some(sent));
    assert_eq!(sample(&metrics, r#"python_request_duration_seconds_bucket{le="+Inf"}"#), Some(sent));
}

/// What a host does with a header value that is not UTF-8 (HTTP allows
/// such bytes; no client library sends them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NonUtf8Header {
    /// The request reaches the component, which ignores the bad `Accept`.
    ReachesTheComponent,
    /// The host answers 500 before the component runs: Spin 3.6.3 turns every
    /// header value into a `str` with `?` (crates/trigger-http/src/headers.rs,
    /// `prepare_request_headers`).
    RefusedWith500,
}

/// Unknown paths, wrong methods, odd `Accept` headers, 10 MB bodies, long
/// paths and malformed requests get a 4xx (or a 2xx where the request is
/// fine), never a 5xx from the component, and the server keeps serving and
/// counting.
pub fn bad_input_never_gets_a_server_error(server: &mut Server, non_utf8_header: NonUtf8Header) {
    let agent = client();

    for path in ["/nope", "/metrics/", "/index.html", "//", "/%00", "/metrics?x=1/../"] {
        let status = get(&agent, &server.url(path), None).status;
        let expected = if path == "/metrics?x=1/../" { 200 } else { 404 };
        assert_eq!(status, expected, "GET {path}");
    }
    for (method, path) in [("POST", "/"), ("PUT", "/"), ("DELETE", "/metrics"), ("PATCH", "/metrics"), ("OPTIONS", "/")] {
        let request = ureq::http::Request::builder().method(method).uri(server.url(path)).body(()).unwrap();
        let answer: Answer = answer(agent.run(request).unwrap());
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.header("allow"), Some("GET, HEAD"), "{method} {path}");
    }
    for accept in ["", ";;;,,,", "application/openmetrics-text;q=banana", "text/plain;q=2", "*/*;q="] {
        let answer = get(&agent, &server.url("/metrics"), Some(accept));
        assert_eq!(answer.status, 200, "Accept {accept:?}");
    }
    // A non-UTF-8 Accept header, which no client library will send.
    let odd_accept = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: \xff\xfe\r\nConnection: close\r\n\r\n";
    let expected = match non_utf8_header {
        NonUtf8Header::ReachesTheComponent => 200,
        NonUtf8Header::RefusedWith500 => 500,
    };
    assert_eq!(raw_status(server.address, odd_accept, 0), Some(expected), "{non_utf8_header:?}");

    // 10 MB bodies: refused where no body belongs, ignored where GET has one.
    const TEN_MB: usize = 10 * 1024 * 1024;
    let post = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {TEN_MB}\r\n\r\n");
    assert_eq!(raw_status(server.address, post.as_bytes(), TEN_MB), Some(405));
    let get_with_body = format!("GET /nope HTTP/1.1\r\nHost: x\r\nContent-Length: {TEN_MB}\r\n\r\n");
    assert_eq!(raw_status(server.address, get_with_body.as_bytes(), TEN_MB), Some(404));

    // Long paths: answered by the component up to what the host's HTTP
    // server parses, then refused before they reach it.
    let long = format!("/{}", "a".repeat(8 * 1024));
    assert_eq!(get(&agent, &server.url(&long), None).status, 404);
    let huge = format!("GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "a".repeat(1024 * 1024));
    let status = raw_status(server.address, huge.as_bytes(), 0).expect("an answer to a 1 MiB path");
    assert!((400..500).contains(&status), "1 MiB path: {status}");

    // Malformed requests, and a target without a path, which must not count
    // as `/` (the runner answers 400; Spin closes the connection, as the
    // target's authority is not the Host header's).
    let malformed = [
        &b"NOT HTTP\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET example.com HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    for garbage in malformed {
        let status = raw_status(server.address, garbage, 0);
        assert!(status.is_none_or(|status| (400..500).contains(&status)), "{:?}: {status:?}", String::from_utf8_lossy(garbage));
    }

    assert!(server.is_running(), "the server survived");
    assert_eq!(get(&agent, &server.url("/"), None).status, 200);
    let metrics = get(&agent, &server.url("/metrics"), None).body;
    // Only the one successful GET / counted.
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(1.0));
    assert!(!server.log_text().contains("panicked"), "{}", server.log_text());
}

/// What a host answers past its instance limit.
#[derive(Clone, Copy, Debug)]
pub enum PastCapacity {
    /// 503 with `Retry-After`: "try elsewhere or later" (our runner).
    ServiceUnavailable,
    /// 500 with an empty body (Spin 3.6.3: "maximum concurrent limit of N
    /// for component instances reached" in its log).
    EmptyInternalServerError,
}

/// The server allows `limit` instances at once and its `/` takes a second
/// (`simulated_work_ms=1000`). `limit` × 1.5 requests at once: `limit` are
/// answered 200 and counted exactly, the rest get the host's overload
/// answer, nothing else, and the server serves on.
pub fn past_capacity_requests_are_refused_and_the_rest_counted(server: &Server, limit: usize, past: PastCapacity) {
    let clients = limit * 3 / 2;
    let start = std::sync::Arc::new(std::sync::Barrier::new(clients));
    let url = server.url("/");
    let answers: Vec<Answer> = (0..clients)
        .map(|_| {
            let (start, url) = (start.clone(), url.clone());
            std::thread::spawn(move || {
                let agent = client();
                start.wait();
                get(&agent, &url, None)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    let ok = answers.iter().filter(|answer| answer.status == 200).count();
    for answer in answers.iter().filter(|answer| answer.status != 200) {
        match past {
            PastCapacity::ServiceUnavailable => {
                assert_eq!(answer.status, 503, "{}", answer.body);
                assert_eq!(answer.header("retry-after"), Some("1"));
                assert_eq!(answer.body, "Service Unavailable: every instance is busy\n");
            }
            PastCapacity::EmptyInternalServerError => assert_eq!((answer.status, answer.body.as_str()), (500, "")),
        }
    }
    // All were sent within the second the first `limit` hold their instances.
    assert_eq!((ok, clients - ok), (limit, clients - limit), "200s and refusals of {clients} requests at once");
    let metrics = get(&client(), &server.url("/metrics"), None).body;
    assert_eq!(sample(&metrics, "python_request_operations_total"), Some(ok as f64), "exactly the 200s counted");
    assert_eq!(get(&client(), &server.url("/"), None).status, 200, "serving again once the instances are free");
}
