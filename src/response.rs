//! Hands a response to Spin with its body already complete.
//!
//! spin-sdk's `#[http_component]` glue for handlers that return a response
//! sets the response outparam first and writes the body afterwards
//! (`ResponseOutparam::set_with_body`). Spin's HTTP server then writes the
//! head as soon as it has it, and the body as a second small write once the
//! guest gets to it. Spin sets no `TCP_NODELAY`, so on a keep-alive
//! connection Nagle's algorithm holds that second segment until the client
//! acknowledges the head, and the client delays its ACK by up to 40 ms:
//! every request that awaits a host call between the two writes (each
//! key-value operation does) stalled for 22–44 ms. docs/keep-alive-stall.md
//! has the capture and the measurements.
//!
//! Here the body is written and finished, with its `content-length`, before
//! the outparam is set, so the server finds head and body together and sends
//! them in one write.

use anyhow::{Context, Result, anyhow};
use http::header::CONTENT_LENGTH;
use spin_sdk::http::{ErrorCode, Fields, OutgoingBody, OutgoingResponse, ResponseOutparam};

pub fn send(out: ResponseOutparam, response: http::Response<String>) {
    let (head, body) = response.into_parts();
    let mut out = Some(out);
    if let Err(error) = send_parts(&mut out, &head, body.as_bytes()) {
        let reason = format!("cannot send the response: {error:#}");
        eprintln!("{reason}");
        // Before the head is handed over, the client can still get a 500.
        if let Some(out) = out {
            fail(out, ErrorCode::InternalError(Some(reason)));
        }
    }
}

/// Takes `out` when it sets it.
fn send_parts(out: &mut Option<ResponseOutparam>, head: &http::response::Parts, body: &[u8]) -> Result<()> {
    let response = outgoing_response(head, body.len())?;
    let outgoing_body = response.body().map_err(|()| anyhow!("the response body was already taken"))?;
    let stream = outgoing_body.write().map_err(|()| anyhow!("the response body stream was already taken"))?;
    // What the host takes without blocking (1 MiB in Spin, far above any
    // body here) goes in before the head is handed over: the server reads
    // nothing until then, so waiting for more room would deadlock.
    let room = usize::try_from(stream.check_write()?).unwrap_or(usize::MAX);
    let (now, later) = body.split_at(body.len().min(room));
    stream.write(now)?;
    if !later.is_empty() {
        // A larger body streams the rest once the server is reading.
        out.take().expect("the outparam is set once").set(response);
        for chunk in later.chunks(MAX_BLOCKING_WRITE) {
            stream.blocking_write_and_flush(chunk)?;
        }
        drop(stream);
        return OutgoingBody::finish(outgoing_body, None).context("cannot finish the response body");
    }
    drop(stream);
    OutgoingBody::finish(outgoing_body, None).context("cannot finish the response body")?;
    out.take().expect("the outparam is set once").set(response);
    Ok(())
}

/// `blocking-write-and-flush` accepts at most 4096 bytes a call (WASI 0.2).
const MAX_BLOCKING_WRITE: usize = 4096;

fn outgoing_response(head: &http::response::Parts, body_len: usize) -> Result<OutgoingResponse> {
    let mut fields: Vec<(String, Vec<u8>)> = head
        .headers
        .iter()
        .filter(|(name, _)| *name != CONTENT_LENGTH)
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    // A length, not chunked encoding: the whole body is known.
    fields.push((CONTENT_LENGTH.as_str().to_owned(), body_len.to_string().into_bytes()));
    let headers = Fields::from_list(&fields).map_err(|error| anyhow!("invalid response header: {error:?}"))?;
    let response = OutgoingResponse::new(headers);
    response
        .set_status_code(head.status.as_u16())
        .map_err(|()| anyhow!("invalid status code {}", head.status))?;
    Ok(response)
}

/// Tells Spin the handler failed, so that the client gets a 500.
fn fail(out: ResponseOutparam, error: ErrorCode) {
    spin_sdk::wit::wasi::http0_2_0::types::ResponseOutparam::set(out.into_inner(), Err(error));
}
