//! HTTP to the app, wherever it runs: every status is a status, not an
//! error, and a metric's value is read from the exposition.

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

