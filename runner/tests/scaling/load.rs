//! A steady request rate, as a Service spreads it over pods.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use harness::http::client;

/// A steady load of `rate` requests per second, spread evenly over the
/// targets as a Service spreads it over pods.
pub(crate) struct Load {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) sent: Arc<AtomicU64>,
    pub(crate) workers: Vec<JoinHandle<()>>,
}

impl Load {
    pub(crate) fn start(targets: &[SocketAddr], rate: f64) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let period = Duration::from_secs_f64(targets.len() as f64 / rate);
        let workers = targets
            .iter()
            .map(|target| {
                let (stop, sent, url) = (stop.clone(), sent.clone(), format!("http://{target}/"));
                std::thread::spawn(move || {
                    let agent = client();
                    let mut next = Instant::now();
                    // Bounded in time as well: it never outlives the test by much.
                    let deadline = Instant::now() + Duration::from_secs(240);
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        // A restarting instance refuses connections for a moment.
                        if agent.get(&url).call().is_ok_and(|response| response.status() == 200) {
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                        next += period;
                        if let Some(wait) = next.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                })
            })
            .collect();
        Load { stop, sent, workers }
    }

    pub(crate) fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.join().unwrap();
        }
        self.sent.load(Ordering::Relaxed)
    }
}
