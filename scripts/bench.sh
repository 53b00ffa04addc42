#!/usr/bin/env bash
# Benchmarks every way this app is served here, in one run, and writes the
# table into BENCHMARKS.md:
#   scripts/bench.sh                          the full run (about 6 minutes)
#   scripts/bench.sh --seconds 3              shorter runs
#   scripts/bench.sh --url http://HOST:PORT   a running `spin up` or a port-forwarded pod
#   SEED_APP=DIR scripts/bench.sh --pods      the wasm pod against the container, per replica
#                                             (`bench pods`, bench/src/pods; root, containerd)
#   scripts/bench.sh --pods --runs 3 --seconds 3 --no-write   a quick look
#   scripts/bench.sh --node                   the same on the test node, through kubectl
#                                             (scripts/cluster.sh bench; root, Go, SEED_APP)
#   SPIN=PATH scripts/bench.sh --soak         1,000,000 requests on the runner and `spin up`
#                                             (`bench soak`, bench/src/soak.rs; about 12 minutes)
#   scripts/bench.sh --soak --requests 100000 --no-write   a quick look
# Needs wrk (Debian) and, for the comparison, wasmtime-cli 48.0.8, which it
# installs with cargo (about 10 minutes, once) when missing. With the real
# Spin on PATH or in SPIN, it measures `spin up` too: what users run.
set -euo pipefail

WASMTIME_VERSION=48.0.8
# SEED_APP as given, before the cd below.
if [[ -n ${SEED_APP:-} ]]; then
  SEED_APP=$(cd "$SEED_APP" && pwd)
  export SEED_APP
fi
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
  if [[ $EUID -ne 0 ]]; then
    echo "bench --pods starts containerd and runs containers, which needs root: run it as root" >&2
    exit 1
  fi
  # shellcheck source=require.sh
  source scripts/require.sh
  require containerd:containerd ctr:containerd containerd-shim-runc-v2:containerd runc:runc \
    debootstrap:debootstrap buildah:buildah docker-registry:docker-registry wrk:wrk
  require_kubectl # its kustomize renders the Deployments the pods run as
  rustup --quiet target add wasm32-wasip2
  cargo build --target wasm32-wasip2 --profile wasm-release --target-dir target -p keda-spin-autoscaling
  cargo build --release -p bench
  CONTAINERD_1_7=${CONTAINERD_1_7:-$(scripts/containerd-1.7.sh target/containerd-1.7)}
  export CONTAINERD_1_7
  exec "${CARGO_TARGET_DIR:-target}/release/bench" pods --write BENCHMARKS.md "$@"
fi

# A million requests on the runner and under `spin up`: BENCHMARKS.md, "Soak".
if [[ "${1:-}" == --soak ]]; then
  shift
  rustup --quiet target add wasm32-wasip2
  cargo build --release -p runner --bins -p bench
  exec "${CARGO_TARGET_DIR:-target}/release/bench" soak --write BENCHMARKS.md "$@"
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
