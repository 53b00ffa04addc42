//! HTTP to the app, wherever it runs: every status is a status, not an
//! error, and a metric's value is read from the exposition.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

/// An HTTP client that reports every status as a status, not an error.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

pub fn get(agent: &ureq::Agent, url: &str, accept: Option<&str>) -> Answer {
    let mut request = agent.get(url);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    answer(request.call().unwrap_or_else(|error| panic!("GET {url}: {error}")))
}

pub fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_owned()))
        .collect::<Vec<_>>();
    let content_type = headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    Answer { status, content_type, headers, body }
}

/// `clients` threads, each with its own keep-alive connection, each sending
/// `requests` GETs to `url`; returns how many were answered 200.
pub fn concurrent_gets(url: &str, clients: usize, requests: usize) -> usize {
    let clients: Vec<_> = (0..clients)
        .map(|_| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let agent = client();
                (0..requests).filter(|_| get(&agent, &url, None).status == 200).count()
            })
        })
        .collect();
    clients.into_iter().map(|client| client.join().unwrap()).sum()
}

/// The value of an unlabelled sample, or of a `_bucket` with `le`.
pub fn sample(exposition: &str, name: &str) -> Option<f64> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            (series == name).then(|| value.parse().unwrap())
        })
}

/// Send raw bytes (for requests no well-behaved client would make) and
/// return the status code of the answer, if any.
pub fn raw_status(address: SocketAddr, head: &[u8], body_len: usize) -> Option<u16> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let head = head.to_vec();
    // The body goes out from another thread, as a real client streams it,
    // so that an early answer can be read while the upload is refused.
    let upload = std::thread::spawn(move || {
        let _ = writer.write_all(&head);
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = body_len;
        while left > 0 {
            let n = left.min(chunk.len());
            if writer.write_all(&chunk[..n]).is_err() {
                break;
            }
            left -= n;
        }
    });
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    while !response.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buffer[..n]),
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = upload.join();
    let status_line = String::from_utf8_lossy(&response);
    status_line.split(' ').nth(1).and_then(|code| code.parse().ok())
}

/// `promtool check metrics` on a text exposition: its exit code and output.
pub fn promtool_check_metrics(exposition: &str) -> (i32, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package `prometheus`; .ci/run installs it)");
    child.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}
