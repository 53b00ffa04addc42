//! The KEDA demo app as a Spin HTTP component: `/` counts requests, and
//! `/metrics` exposes the counts for Prometheus.

// Wasm only: see the target-specific dependencies in Cargo.toml.
#![cfg(target_arch = "wasm32")]

mod counters;
mod response;
mod settings;

use std::time::Duration;

use app_core::routes;
use anyhow::Context;
use http::header::ACCEPT;
use spin_sdk::http::{IncomingRequest, Method as SpinMethod, ResponseOutparam};
use spin_sdk::http_component;

/// The app on Spin: counts in the default key-value store, settings from
/// Spin variables.
struct Spin;

impl app_core::Platform for Spin {
    type Counters = counters::Counters;

    fn counters(&self) -> anyhow::Result<counters::Counters> {
        counters::Counters::open()
    }

    fn simulated_work(&self) -> anyhow::Result<Duration> {
        settings::simulated_work()
    }
}

/// Spin's entry point. The request body is never read: no route needs it,
/// and a large upload must not cost memory or time. The handler takes the
/// outparam rather than returning the response so that the response leaves
/// whole (see `response.rs`).
#[http_component]
fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    let response = match request_head(&incoming) {
        Ok(request) => routes::handle(&Spin, &request),
        Err(error) => routes::plain(http::StatusCode::BAD_REQUEST, format!("{error:#}\n")),
    };
    response::send(out, response);
}

/// The request as `http` types: method, path and the one header a route
/// reads. Copying every header would parse every header name, which costs
/// the component more bytes than the rest of its routing.
fn request_head(incoming: &IncomingRequest) -> anyhow::Result<http::Request<()>> {
    let mut request = http::Request::builder()
        .method(method(incoming.method())?)
        // A target without a path (`GET example.com`, authority-form) is
        // not a request for `/`, and must not count as one.
        .uri(incoming.path_with_query().filter(|path| !path.is_empty()).context("the request target has no path")?);
    if let Some(accept) = incoming.headers().get(ACCEPT.as_str()).first() {
        request = request.header(ACCEPT, http::HeaderValue::from_bytes(accept)?);
    }
    Ok(request.body(())?)
}

fn method(method: SpinMethod) -> anyhow::Result<http::Method> {
    Ok(match method {
        SpinMethod::Get => http::Method::GET,
        SpinMethod::Head => http::Method::HEAD,
        SpinMethod::Post => http::Method::POST,
        SpinMethod::Put => http::Method::PUT,
        SpinMethod::Delete => http::Method::DELETE,
        SpinMethod::Patch => http::Method::PATCH,
        SpinMethod::Options => http::Method::OPTIONS,
        SpinMethod::Connect => http::Method::CONNECT,
        SpinMethod::Trace => http::Method::TRACE,
        SpinMethod::Other(other) => http::Method::from_bytes(other.as_bytes())?,
    })
}
