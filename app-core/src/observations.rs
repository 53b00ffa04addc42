use std::time::Duration;

/// Upper bounds of the finite buckets of `python_request_duration_seconds`,
/// as in the Python demo; the last bucket is `+Inf`.
pub const BUCKET_UPPER_BOUNDS_SECONDS: [u64; 5] = [1, 2, 5, 6, 10];

/// Number of buckets, `+Inf` included.
pub const BUCKETS: usize = BUCKET_UPPER_BOUNDS_SECONDS.len() + 1;

/// The bucket a handling time falls in. Buckets are stored non-cumulative, one
/// counter each, so that a request increments exactly one of them.
///
/// Prometheus buckets are inclusive (`le`): exactly 1 s belongs to `le="1"`.
/// Comparing whole microseconds keeps the edge exact.
pub fn bucket_index(elapsed: Duration) -> usize {
    let micros = elapsed.as_micros();
    BUCKET_UPPER_BOUNDS_SECONDS
        .iter()
        .position(|&bound| micros <= u128::from(bound) * 1_000_000)
        .unwrap_or(BUCKETS - 1)
}

/// A consistent snapshot of the raw counts behind the exposition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observations {
    /// Requests per bucket, not cumulative; the last one is `+Inf`.
    pub bucket_counts: [u64; BUCKETS],
    /// Total handling time in whole microseconds. An integer, so that
    /// concurrent atomic increments never lose precision.
    pub sum_micros: u64,
    /// When the metrics were created, in seconds since the Unix epoch.
    pub created_unix_seconds: f64,
}

impl Observations {
    /// Requests observed. The request counter and the histogram's `_count`
    /// both derive from the buckets, so that a scrape can never show them
    /// disagreeing with each other or with the `+Inf` bucket.
    pub fn count(&self) -> u64 {
        self.bucket_counts.iter().sum()
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_micros as f64 / 1e6
    }

    /// Record one handled request.
    pub fn observe(&mut self, elapsed: Duration) {
        self.bucket_counts[bucket_index(elapsed)] += 1;
        self.sum_micros += micros(elapsed);
    }
}

/// Whole microseconds of a duration, saturating instead of wrapping.
pub fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_edges_are_inclusive() {
        assert_eq!(bucket_index(Duration::ZERO), 0);
        assert_eq!(bucket_index(Duration::from_millis(600)), 0);
        assert_eq!(bucket_index(Duration::from_secs(1)), 0);
        assert_eq!(bucket_index(Duration::from_micros(1_000_001)), 1);
        assert_eq!(bucket_index(Duration::from_secs(2)), 1);
        assert_eq!(bucket_index(Duration::from_secs(5)), 2);
        assert_eq!(bucket_index(Duration::from_secs(6)), 3);
        assert_eq!(bucket_index(Duration::from_secs(10)), 4);
        assert_eq!(bucket_index(Duration::from_micros(10_000_001)), 5);
        assert_eq!(bucket_index(Duration::from_secs(3600)), 5);
    }

    #[test]
    fn count_derives_from_buckets() {
        let mut observations = Observations::default();
        observations.observe(Duration::from_millis(600));
        observations.observe(Duration::from_secs(3));
        observations.observe(Duration::from_secs(30));
        assert_eq!(observations.bucket_counts, [1, 0, 1, 0, 0, 1]);
        assert_eq!(observations.count(), 3);
        assert_eq!(observations.sum_micros, 33_600_000);
        assert_eq!(observations.sum_seconds(), 33.6);
    }
}
