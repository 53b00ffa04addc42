//! A soak: many keep-alive requests to `/` at a fixed concurrency against a
//! fresh server, watching its process group's memory and open files, and
//! comparing the latency at the end with the latency at the start.
//! `bench soak` runs it with 1,000,000 requests; `cargo test` with 50,000
//! (`SOAK_REQUESTS` sets the size).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::http::{client, get, sample};
use crate::process::{group_fds, group_rss};
use crate::server::Server;

/// Requests per soak: 50,000 unless `SOAK_REQUESTS` says otherwise.
pub fn requests() -> usize {
    std::env::var("SOAK_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(50_000)
}

pub const CONNECTIONS: usize = 64;

/// What a soak measured.
pub struct Soak {
    pub requests: usize,
    pub seconds: f64,
    /// The server's count after the soak.
    pub counted: f64,
    /// RSS of the whole process group, sampled every 250 ms, once the first
    /// 10 % of the requests (the warm-up) are done: (first, max, last).
    pub rss_after_warmup: (u64, u64, u64),
    /// Open file descriptors of the process group while idle, before the
    /// soak (after one request) and after it (its connections closed).
    pub idle_fds: (usize, usize),
    /// The most open file descriptors seen during the soak.
    pub max_fds: usize,
    /// p99 latency of the first and the last 10 % of the requests.
    pub p99_first: Duration,
    pub p99_last: Duration,
    /// (requests sent, RSS, open files) at each sample after warm-up: whether
    /// growth levels off or goes on.
    pub trajectory: Vec<(usize, u64, usize)>,
}

impl Soak {
    pub fn rss_growth(&self) -> f64 {
        self.rss_after_warmup.1 as f64 / self.rss_after_warmup.0 as f64 - 1.0
    }

    pub fn p99_change(&self) -> f64 {
        self.p99_last.as_secs_f64() / self.p99_first.as_secs_f64() - 1.0
    }

    /// Each invariant, and whether the soak met it; `p99_bound` is the
    /// allowed rise of the p99 from the first to the last 10 %.
    pub fn verdicts(&self, p99_bound: f64) -> [(&'static str, bool); 4] {
        [
            ("exact count", self.counted == self.requests as f64),
            ("RSS within 10 %", self.rss_growth() <= 0.10),
            ("no open files gained", self.idle_fds.1 <= self.idle_fds.0),
            ("p99 drift", self.p99_change() <= p99_bound),
        ]
    }

    /// RSS and open files at each fifth of the run after warm-up.
    pub fn trajectory_line(&self) -> String {
        let points: Vec<String> = (1..=5)
            .filter_map(|fifth| {
                let at = self.requests * fifth / 5;
                let &(sent, rss, fds) = self.trajectory.iter().find(|(sent, ..)| *sent >= at).or(self.trajectory.last())?;
                Some(format!("{}k: {:.1} MiB, {fds} files", sent / 1000, rss as f64 / (1024.0 * 1024.0)))
            })
            .collect();
        points.join("; ")
    }

    /// One line of the table in BENCHMARKS.md.
    pub fn markdown_row(&self, server: &str) -> String {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        format!(
            "| {server} | {} | {:.0} | {} | {:.1} → {:.1} MiB ({:+.1} %) | {} → {} (max {} under load) | {:.2} → {:.2} ms ({:+.0} %) |",
            self.requests,
            self.requests as f64 / self.seconds,
            self.counted,
            mib(self.rss_after_warmup.0),
            mib(self.rss_after_warmup.1),
            self.rss_growth() * 100.0,
            self.idle_fds.0,
            self.idle_fds.1,
            self.max_fds,
            self.p99_first.as_secs_f64() * 1e3,
            self.p99_last.as_secs_f64() * 1e3,
            self.p99_change() * 100.0,
        )
    }
}

/// How far the p99 may rise from the first to the last 10 % of the
/// requests: 20 %, held at the soak's full size (`bench soak`), where each
/// tenth lasts long enough for a p99 to mean something. At the CI size each
/// tenth lasts about a second, and a p99 over one second of a 2-core machine
/// shared with the load generator moves by more than a doubling from noise
/// alone (a clean-clone CI run saw 24 → 55 ms with nothing else running),
/// so there the drift is reported, not asserted.
pub const P99_BOUND: f64 = 0.20;

/// The size at which the p99 drift is held to [`P99_BOUND`].
pub const FULL_SIZE: usize = 1_000_000;

pub const TABLE_HEADER: &str = "| server | requests | req/s | counted | RSS after warm-up → max | idle open files before → after | p99 first → last 10 % |\n| --- | ---: | ---: | ---: | --- | --- | --- |";

impl Soak {
    /// What a soak of `server` showed, for a reader: its row of the table,
    /// the trajectory after warm-up, and each invariant met or not.
    pub fn notes(&self, server: &str) -> Vec<String> {
        let mut notes = vec![format!("{server} after warm-up: {}", self.trajectory_line())];
        for (invariant, met) in self.verdicts(P99_BOUND) {
            notes.push(format!("{server}: {invariant}: {}", if met { "met" } else { "NOT met" }));
        }
        notes
    }
}

/// Soaks `server`, which must be fresh (its counter at 0).
pub fn soak(server: &Server, requests: usize) -> Soak {
    let address = server.address;
    let group = server.pid();
    // One request first: what a server opens on its first request is not growth.
    let mut first = Connection::open(address);
    assert_eq!(first.get_root(), 200);
    drop(first);
    let idle_before = settled_fds(group);
    let next = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let warm = AtomicBool::new(false);
    let started = Instant::now();
    let (latencies, samples) = std::thread::scope(|scope| {
        let monitor = scope.spawn(|| {
            let mut samples = Vec::new();
            while !done.load(Ordering::Relaxed) {
                if warm.load(Ordering::Relaxed) {
                    samples.push((group_rss(group), group_fds(group), next.load(Ordering::Relaxed).min(requests)));
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            samples
        });
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                scope.spawn(|| {
                    let mut connection = Connection::open(address);
                    let mut timings = Vec::new();
                    loop {
                        let sequence = next.fetch_add(1, Ordering::Relaxed);
                        if sequence >= requests {
                            return timings;
                        }
                        if sequence == requests / 10 {
                            warm.store(true, Ordering::Relaxed);
                        }
                        let sent = Instant::now();
                        let status = connection.get_root();
                        assert_eq!(status, 200, "request {sequence} answered {status}");
                        timings.push((sequence, sent.elapsed()));
                    }
                })
            })
            .collect();
        let mut latencies = vec![Duration::ZERO; requests];
        for worker in workers {
            for (sequence, latency) in worker.join().unwrap() {
                latencies[sequence] = latency;
            }
        }
        done.store(true, Ordering::Relaxed);
        (latencies, monitor.join().unwrap())
    });
    let seconds = started.elapsed().as_secs_f64();
    let idle_after = settled_fds(group);
    assert!(!samples.is_empty(), "the soak ended before a sample after warm-up: use more requests");
    let metrics = get(&client(), &server.url("/metrics"), None).body;
    let tenth = requests / 10;
    Soak {
        requests,
        seconds,
        // The request before the soak counted too.
        counted: sample(&metrics, "python_request_operations_total").expect("the counter is exposed") - 1.0,
        rss_after_warmup: (samples[0].0, samples.iter().map(|s| s.0).max().unwrap(), samples.last().unwrap().0),
        idle_fds: (idle_before, idle_after),
        max_fds: samples.iter().map(|s| s.1).max().unwrap(),
        p99_first: p99(&latencies[..tenth]),
        p99_last: p99(&latencies[requests - tenth..]),
        trajectory: samples.iter().map(|&(rss, fds, sent)| (sent, rss, fds)).collect(),
    }
}

fn p99(latencies: &[Duration]) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
}

/// Open files once the server has closed what its last connections held.
fn settled_fds(group: u32) -> usize {
    std::thread::sleep(Duration::from_millis(500));
    group_fds(group)
}

/// One keep-alive connection sending `GET /` and reading whole answers.
struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(address: std::net::SocketAddr) -> Connection {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Connection { reader: BufReader::new(stream) }
    }

    fn get_root(&mut self) -> u16 {
        self.reader.get_mut().write_all(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n").unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        let mut length = None;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let length = length.expect("every answer has a content-length");
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        status
    }
}

/// Asserts the invariants named in `required` (names from [`Soak::verdicts`]).
pub fn assert_met(soak: &Soak, p99_bound: f64, required: &[&str]) {
    for (invariant, met) in soak.verdicts(p99_bound) {
        if required.contains(&invariant) {
            assert!(
                met,
                "{invariant} not met: counted {} of {}; RSS {:?} ({:+.1} %); idle open files {:?}; p99 {:?} → {:?}",
                soak.counted,
                soak.requests,
                soak.rss_after_warmup,
                soak.rss_growth() * 100.0,
                soak.idle_fds,
                soak.p99_first,
                soak.p99_last
            );
        }
    }
}
