//! What each path answers.

use std::time::Instant;

use anyhow::Result;
use http::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use request_metrics::Format;

use crate::counters::Counters;
use crate::settings;

const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

pub fn handle(request: &Request<()>) -> Response<String> {
    let answer: fn(&Request<()>) -> Result<Response<String>> = match request.uri().path() {
        "/" => hello,
        "/metrics" => metrics,
        _ => return plain(StatusCode::NOT_FOUND, "Not Found\n"),
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
        response.headers_mut().insert(ALLOW, "GET, HEAD".parse().unwrap());
        return response;
    }
    // A store or configuration failure is the operator's to fix: say which.
    answer(request)
        .unwrap_or_else(|error| plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}\n")))
}

/// The demo's workload: optionally simulate work, then count the request.
/// It is counted only once it has succeeded, so a failed request never shows
/// up in the rate KEDA scales on.
fn hello(_request: &Request<()>) -> Result<Response<String>> {
    let started = Instant::now();
    let counters = Counters::open()?;
    let simulated_work = settings::simulated_work()?;
    if !simulated_work.is_zero() {
        std::thread::sleep(simulated_work);
    }
    counters.record(started.elapsed())?;
    Ok(plain(StatusCode::OK, "Hello World!"))
}

fn metrics(request: &Request<()>) -> Result<Response<String>> {
    let accept = request.headers().get(ACCEPT).and_then(|value| value.to_str().ok());
    let format = Format::negotiate(accept);
    let body = Counters::open()?.snapshot()?.encode(format);
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, format.content_type())
        .body(body)?)
}

pub fn plain(status: StatusCode, body: impl Into<String>) -> Response<String> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, TEXT_PLAIN.parse().unwrap());
    response
}
