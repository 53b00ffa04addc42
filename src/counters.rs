//! The request counts, kept in Spin's default key-value store.
//!
//! Every key-value operation is a host call, and under Spin's SQLite store a
//! transaction, so a counted request does exactly two: it adds to the
//! histogram's sum and to one bucket. The request counter and `_count` are
//! derived from the buckets at scrape time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use app_core::{BUCKETS, CounterStore, Observations, bucket_index, micros};
use spin_sdk::wit::wasi::keyvalue::{atomics, store};

/// The store spin.toml grants the component.
const STORE: &str = "default";

/// One key per histogram bucket, not cumulative; the last is `+Inf`.
const BUCKET_KEYS: [&str; BUCKETS] = [
    "request_duration_bucket_le_1",
    "request_duration_bucket_le_2",
    "request_duration_bucket_le_5",
    "request_duration_bucket_le_6",
    "request_duration_bucket_le_10",
    "request_duration_bucket_le_inf",
];
const SUM_MICROS_KEY: &str = "request_duration_sum_micros";
/// When the metrics were first written, in milliseconds since the epoch.
const CREATED_KEY: &str = "metrics_created_unix_ms";

pub struct Counters {
    bucket: store::Bucket,
}

impl Counters {
    pub fn open() -> Result<Self> {
        let bucket = store::open(STORE)
            .map_err(describe)
            .with_context(|| format!("cannot open key-value store {STORE:?}"))?;
        Ok(Self { bucket })
    }

    /// Reading through `increment(key, 0)` works on every Spin backend:
    /// SQLite stores counters as little-endian integers, Redis as decimal text.
    fn read(&self, key: &str) -> Result<u64> {
        self.increment(key, 0)
    }

    fn increment(&self, key: &str, delta: u64) -> Result<u64> {
        let delta = i64::try_from(delta).unwrap_or(i64::MAX);
        let value = atomics::increment(&self.bucket, key, delta)
            .map_err(describe)
            .with_context(|| format!("cannot increment {key:?} in key-value store {STORE:?}"))?;
        Ok(u64::try_from(value).unwrap_or(0))
    }

    /// The creation time in seconds since the epoch, stamped on first use.
    fn created(&self) -> Result<f64> {
        let stored = self
            .bucket
            .get(CREATED_KEY)
            .map_err(describe)
            .with_context(|| format!("cannot read {CREATED_KEY:?}"))?;
        let millis = match stored {
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| text.parse::<u64>().ok())
                .with_context(|| format!("{CREATED_KEY:?} holds no timestamp: {bytes:?}"))?,
            None => {
                // A clock before 1970 is not worth the bytes of formatting its error.
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
                let millis = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
                self.bucket
                    .set(CREATED_KEY, millis.to_string().as_bytes())
                    .map_err(describe)
                    .with_context(|| format!("cannot write {CREATED_KEY:?}"))?;
                millis
            }
        };
        Ok(millis as f64 / 1e3)
    }
}

impl CounterStore for Counters {
    fn record(&self, elapsed: Duration) -> Result<()> {
        let added = micros(elapsed);
        let sum = self.increment(SUM_MICROS_KEY, added)?;
        // The bucket goes last: it is what counts the request.
        self.increment(BUCKET_KEYS[bucket_index(elapsed)], 1)?;
        if sum == added {
            // The store's first observation: stamp `_created` now, once,
            // rather than paying a third operation on every request.
            self.created()?;
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Observations> {
        let mut observations = Observations {
            created_unix_seconds: self.created()?,
            sum_micros: self.read(SUM_MICROS_KEY)?,
            ..Observations::default()
        };
        for (count, key) in observations.bucket_counts.iter_mut().zip(BUCKET_KEYS) {
            *count = self.read(key)?;
        }
        Ok(observations)
    }
}

fn describe(error: store::Error) -> anyhow::Error {
    match error {
        store::Error::NoSuchStore => anyhow!("no such store"),
        store::Error::AccessDenied => anyhow!("access denied"),
        store::Error::Other(reason) => anyhow!("{reason}"),
    }
}
