#!/usr/bin/env bash
# The soak: 1,000,000 keep-alive requests to `/` at 64 connections, on the
# runner and under `spin up` with the pods' in-memory store, one after the
# other on fresh servers. Measures whether the counter is exact, RSS stays
# within 10 % of its value after warm-up, the server holds no more open files
# when idle after the soak than before it, and the p99 of the last 10 % of
# requests is within 20 % of the first 10 %; writes the figures and which
# bounds were met into BENCHMARKS.md. About 12 minutes on 2 cores.
#   SPIN=/path/to/spin scripts/soak.sh [REQUESTS]
# The same code runs at 50,000 requests in the tests (runner/tests/soak.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REQUESTS=${1:-1000000}

output=$(mktemp)
trap 'rm -f "$output"' EXIT
SOAK_REQUESTS=$REQUESTS cargo test --release -p runner --features conformance --test soak \
  -- --nocapture --test-threads=1 | tee "$output"

rows=$(grep -E '^\| (runner|spin up)' "$output")
notes=$(grep -E '^(runner|spin up).*(: (met|NOT met)$| after warm-up: )' "$output" | sed 's/^/- /')
if [[ $(wc -l <<<"$rows") -ne 2 ]]; then
  echo "the soak did not report both servers; BENCHMARKS.md is unchanged" >&2
  exit 1
fi
table=$(
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $REQUESTS requests each at 64 connections, by \`scripts/soak.sh\`."
  echo
  echo "| server | requests | req/s | counted | RSS after warm-up → max | idle open files before → after | p99 first → last 10 % |"
  echo "| --- | ---: | ---: | ---: | --- | --- | --- |"
  echo "$rows"
  echo
  echo "$notes"
)
cargo build --quiet --release -p bench
"${CARGO_TARGET_DIR:-target}/release/bench" section soak BENCHMARKS.md <<<"$table"
echo "BENCHMARKS.md: soak figures written"
