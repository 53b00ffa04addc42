#!/usr/bin/env bash
# Benchmarks every way this app is served here, in one run, and writes the
# table into BENCHMARKS.md:
#   scripts/bench.sh                          the full run (about 6 minutes)
#   scripts/bench.sh --seconds 3              shorter runs
#   scripts/bench.sh --url http://HOST:PORT   a running `spin up` or a port-forwarded pod
#   scripts/bench.sh --pods                   the wasm pod against the container, per replica
#                                             (scripts/bench-pods.sh; root, containerd)
#   scripts/bench.sh --node                   the same on the test node, through kubectl
#                                             (scripts/cluster.sh bench; root, Go, SEED_APP)
# Needs wrk (Debian) and, for the comparison, wasmtime-cli 48.0.8, which it
# installs with cargo (about 10 minutes, once) when missing. With the real
# Spin on PATH or in SPIN, it measures `spin up` too: what users run.
set -euo pipefail

WASMTIME_VERSION=48.0.8
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A replica of each path on the test node (BENCHMARKS.md, "On a real node").
if [[ "${1:-}" == --node ]]; then
  shift
  exec scripts/cluster.sh bench --write BENCHMARKS.md "$@"
fi
# The cost of one replica, the wasm pod against the container, under
# containerd: a bench of its own (BENCHMARKS.md, "Per replica").
if [[ "${1:-}" == --pods ]]; then
  shift
  exec scripts/bench-pods.sh "$@"
fi

if ! command -v wrk >/dev/null; then
  echo "wrk is missing: apt-get install wrk" >&2
  exit 1
fi
if [[ "$*" != *--url* ]] && ! wasmtime --version 2>/dev/null | grep -q "$WASMTIME_VERSION"; then
  cargo install --locked "wasmtime-cli@${WASMTIME_VERSION}"
fi
rustup target add wasm32-wasip2
cargo build --target wasm32-wasip2 --profile wasm-release --target-dir target -p keda-spin-autoscaling -p hello-fixture
cargo build --release -p runner --bins -p bench
if [[ "$*" == *--url* ]]; then
  exec "${CARGO_TARGET_DIR:-target}/release/bench" "$@"
fi
exec "${CARGO_TARGET_DIR:-target}/release/bench" --write BENCHMARKS.md "$@"
