//! What each path answers, whatever stores the counts.

use std::time::{Duration, Instant};

use anyhow::Result;
use http::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::{Format, Observations};

/// Where the counts live.
pub trait CounterStore {
    /// Count one request to `/` that took `elapsed` and succeeded.
    fn record(&self, elapsed: Duration) -> Result<()>;
    /// The counts as they are now, for `/metrics`.
    fn snapshot(&self) -> Result<Observations>;
}

/// What the runtime provides the app.
pub trait Platform {
    type Counters: CounterStore;
    /// Opening may fail, e.g. when the runtime grants no store.
    fn counters(&self) -> Result<Self::Counters>;
    /// How long `/` waits before answering (the Flask demo's sleep).
    fn simulated_work(&self) -> Result<Duration>;
}

const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

pub fn handle<P: Platform>(platform: &P, request: &Request<()>) -> Response<String> {
    let is_root = match request.uri().path() {
        "/" => true,
        "/metrics" => false,
        _ => return plain(StatusCode::NOT_FOUND, "Not Found\n"),
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let answer = if is_root { hello(platform) } else { metrics(platform, request) };
    // A store or configuration failure is the operator's to fix: say which.
    answer.unwrap_or_else(|error| plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}\n")))
}

/// The demo's workload: optionally simulate work, then count the request.
/// It is counted only once it has succeeded, so a failed request never shows
/// up in the rate KEDA scales on.
fn hello<P: Platform>(platform: &P) -> Result<Response<String>> {
    let started = Instant::now();
    let counters = platform.counters()?;
    let simulated_work = platform.simulated_work()?;
    if !simulated_work.is_zero() {
        std::thread::sleep(simulated_work);
    }
    counters.record(started.elapsed())?;
    Ok(plain(StatusCode::OK, "Hello World!"))
}

fn metrics<P: Platform>(platform: &P, request: &Request<()>) -> Result<Response<String>> {
    let accept = request.headers().get(ACCEPT).and_then(|value| value.to_str().ok());
    let format = Format::negotiate(accept);
    let body = platform.counters()?.snapshot()?.encode(format);
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    Ok(response)
}

pub fn plain(status: StatusCode, body: impl Into<String>) -> Response<String> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, TEXT_PLAIN);
    response
}
