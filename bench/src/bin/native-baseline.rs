//! The app compiled natively: the same routes and metric semantics as the
//! component (both come from app-core), counting in process atomics, served
//! by hyper. No instance per request and no host calls: the physical upper
//! bound for this workload, which the benchmarks compare the wasm paths to.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use app_core::{BUCKETS, CounterStore, Observations, Platform, bucket_index, micros, routes};
use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
}

/// The counts, process-wide, as a Spin pod's in-memory store holds them.
struct AtomicCounters {
    bucket_counts: [AtomicU64; BUCKETS],
    sum_micros: AtomicU64,
    created_unix_seconds: f64,
}

static COUNTERS: LazyLock<AtomicCounters> = LazyLock::new(|| AtomicCounters {
    bucket_counts: Default::default(),
    sum_micros: AtomicU64::new(0),
    created_unix_seconds: SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_millis() as f64 / 1e3),
});

impl CounterStore for &AtomicCounters {
    fn record(&self, elapsed: Duration) -> Result<()> {
        self.sum_micros.fetch_add(micros(elapsed), Ordering::Relaxed);
        self.bucket_counts[bucket_index(elapsed)].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn snapshot(&self) -> Result<Observations> {
        Ok(Observations {
            bucket_counts: self.bucket_counts.each_ref().map(|count| count.load(Ordering::Relaxed)),
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
            created_unix_seconds: self.created_unix_seconds,
        })
    }
}

struct Native;

impl Platform for Native {
    type Counters = &'static AtomicCounters;

    fn counters(&self) -> Result<Self::Counters> {
        Ok(&COUNTERS)
    }

    /// No simulated work: a blocking sleep has no place on an async worker,
    /// and the baseline measures the counting path only.
    fn simulated_work(&self) -> Result<Duration> {
        Ok(Duration::ZERO)
    }
}

async fn handle(request: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (head, _body) = request.into_parts();
    let response = routes::handle(&Native, &http::Request::from_parts(head, ()));
    Ok(response.map(|body| Full::new(Bytes::from(body))))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("Serving http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}
