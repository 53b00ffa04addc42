//! One DNS question over UDP, as a pod's resolver asks the cluster DNS:
//! enough to show that a Service's name resolves to its ClusterIP. The
//! host's own resolver does not know the cluster's domain.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The A records `server` answers for `name` (a fully qualified name).
pub fn resolve_a(server: Ipv4Addr, name: &str) -> Result<Vec<Ipv4Addr>> {
    let id: u16 = std::process::id() as u16;
    // RFC 1035 4.1: header (id, flags with RD set, one question), then the
    // question: the name as length-prefixed labels, type A (1), class IN (1).
    let mut query = Vec::with_capacity(512);
    query.extend_from_slice(&id.to_be_bytes());
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            bail!("{name:?} is not a domain name");
        }
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);

    let socket = UdpSocket::bind("0.0.0.0:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(3)))?;
    socket.send_to(&query, SocketAddrV4::new(server, 53))?;
    let mut answer = [0u8; 512];
    let length = socket.recv(&mut answer).with_context(|| format!("no answer from {server}:53 for {name}"))?;
    parse_a_records(&answer[..length], id).with_context(|| format!("the answer of {server} for {name}"))
}

fn parse_a_records(message: &[u8], id: u16) -> Result<Vec<Ipv4Addr>> {
    if message.len() < 12 || u16::from_be_bytes([message[0], message[1]]) != id {
        bail!("not an answer to our question");
    }
    let rcode = message[3] & 0x0f;
    if rcode != 0 {
        bail!("response code {rcode} (3 is NXDOMAIN)");
    }
    let questions = u16::from_be_bytes([message[4], message[5]]);
    let answers = u16::from_be_bytes([message[6], message[7]]);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(message, at)? + 4;
    }
    let mut records = Vec::new();
    for _ in 0..answers {
        at = skip_name(message, at)?;
        let field = |offset: usize| -> Result<u16> {
            let bytes = message.get(at + offset..at + offset + 2).context("truncated record")?;
            Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
        };
        let (kind, length) = (field(0)?, field(8)? as usize);
        let data = message.get(at + 10..at + 10 + length).context("truncated record")?;
        if kind == 1 && length == 4 {
            records.push(Ipv4Addr::new(data[0], data[1], data[2], data[3]));
        }
        at += 10 + length;
    }
    Ok(records)
}

/// The offset after the name at `at`: labels, ending in a zero byte or in
/// a two-byte pointer to an earlier name.
fn skip_name(message: &[u8], mut at: usize) -> Result<usize> {
    loop {
        let length = *message.get(at).context("truncated name")?;
        match length {
            0 => return Ok(at + 1),
            pointer if pointer & 0xc0 == 0xc0 => return Ok(at + 2),
            label => at += 1 + label as usize,
        }
    }
}
