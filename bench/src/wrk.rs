//! wrk (Debian's 4.1), run and parsed.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

#[derive(Clone, Copy, Debug, Default)]
pub struct LoadResult {
    pub requests_per_second: f64,
    /// Requests answered in the run.
    pub requests: u64,
    pub p50: Duration,
    pub p99: Duration,
    /// Non-2xx answers and socket errors: a benchmark with these is void.
    pub errors: u64,
}

/// `connections` keep-alive connections for `duration`, on two threads (one
/// for a single connection), as the figures in the issue were measured.
pub fn run(url: &str, connections: u32, duration: Duration) -> Result<LoadResult> {
    let threads = connections.min(2);
    let output = Command::new("wrk")
        .args(["--latency", "-t", &threads.to_string(), "-c", &connections.to_string()])
        .args(["-d", &format!("{}s", duration.as_secs())])
        .arg(url)
        .output()
        .context("wrk is not installed: apt-get install wrk")?;
    if !output.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    parse(&String::from_utf8_lossy(&output.stdout))
}

fn parse(text: &str) -> Result<LoadResult> {
    let mut result = LoadResult::default();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", value] => result.requests_per_second = value.parse()?,
            [count, "requests", "in", ..] => result.requests = count.parse()?,
            ["50%", value] => result.p50 = parse_duration(value)?,
            ["99%", value] => result.p99 = parse_duration(value)?,
            ["Non-2xx", "or", "3xx", "responses:", count] => result.errors += count.parse::<u64>()?,
            ["Socket", "errors:", rest @ ..] => {
                // "connect 0, read 0, write 0, timeout 0"
                result.errors += rest
                    .iter()
                    .filter_map(|word| word.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    if result.requests_per_second == 0.0 {
        bail!("no result in wrk's output:\n{text}");
    }
    Ok(result)
}

/// wrk prints `812.00us`, `1.23ms` or `2.00s`.
fn parse_duration(text: &str) -> Result<Duration> {
    let (number, scale) = if let Some(number) = text.strip_suffix("us") {
        (number, 1e-6)
    } else if let Some(number) = text.strip_suffix("ms") {
        (number, 1e-3)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1.0)
    } else {
        bail!("unknown duration {text:?}");
    };
    Ok(Duration::from_secs_f64(number.parse::<f64>()? * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_output() {
        let output = "Running 10s test @ http://127.0.0.1:3000/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.34ms  612.02us  12.61ms   80.91%
  Latency Distribution
     50%    1.32ms
     75%    1.61ms
     90%    1.92ms
     99%    3.05ms
  119516 requests in 10.00s, 12.65MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  11951.33
Transfer/sec:      1.26MB
";
        let result = parse(output).unwrap();
        assert_eq!(result.requests_per_second, 11951.33);
        assert_eq!(result.p50, Duration::from_micros(1320));
        assert_eq!(result.p99, Duration::from_micros(3050));
        assert_eq!(result.errors, 7);
        assert_eq!(parse_duration("812.00us").unwrap(), Duration::from_micros(812));
        assert_eq!(parse_duration("2.00s").unwrap(), Duration::from_secs(2));
    }
}
