#!/usr/bin/env bash
# The autoscaling loop on one machine, without Kubernetes: two runner
# instances play two pods, Debian's Prometheus scrapes them as the
# ServiceMonitor tells kube-prometheus to, oha offers a steady load, and
# `runner preview` shows KEDA's decision from the ScaledObject's own query
# as the load comes and goes.
#
#   scripts/local-demo.sh [RATE] [LOAD_SECONDS]     default: 60 req/s for 90 s
#
# Needs Debian's `prometheus` package; installs oha 1.16.0 with cargo if it
# is missing. Ports: 3001 and 3002 (the pods), 9090 (Prometheus); set
# PORT_A, PORT_B or PROMETHEUS_PORT to change them.
set -euo pipefail

RATE=${1:-60}
LOAD_SECONDS=${2:-90}
OHA_VERSION=1.16.0
PORT_A=${PORT_A:-3001}
PORT_B=${PORT_B:-3002}
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
# After the load: the 1m rate window drains and the replicas fall back.
COOLDOWN_SECONDS=75

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v prometheus >/dev/null; then
  echo "prometheus is missing: apt-get install prometheus" >&2
  exit 1
fi
if ! oha --version 2>/dev/null | grep -q "$OHA_VERSION"; then
  cargo install --locked "oha@${OHA_VERSION}"
fi
cargo build --release -p runner
runner=target/release/runner

wait_for() {
  for _ in $(seq 300); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "$1 never answered" >&2
  exit 1
}

for port in "$PORT_A" "$PORT_B"; do
  RUST_LOG=warn "$runner" --listen "127.0.0.1:${port}" >"$work/runner-${port}.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:${port}/metrics"
done

"$runner" scrape-config --target "127.0.0.1:${PORT_A}" --target "127.0.0.1:${PORT_B}" >"$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:${PROMETHEUS_PORT}" >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:${PROMETHEUS_PORT}/-/ready"

echo "Prometheus: http://127.0.0.1:${PROMETHEUS_PORT}  pods: :${PORT_A} :${PORT_B}"
echo "load: ${RATE} req/s for ${LOAD_SECONDS}s, then ${COOLDOWN_SECONDS}s without"
"$runner" preview --prometheus "http://127.0.0.1:${PROMETHEUS_PORT}" --interval 5 &
pids+=($!)
sleep 10

# Half the rate to each pod, as the Service spreads it.
half=$(awk -v rate="$RATE" 'BEGIN { print rate / 2 }')
for port in "$PORT_A" "$PORT_B"; do
  oha --no-tui -z "${LOAD_SECONDS}s" -q "$half" -c 4 "http://127.0.0.1:${port}/" >"$work/oha-${port}.txt" 2>&1 &
  pids+=($!)
done
sleep "$LOAD_SECONDS"
echo "--- load stopped"
sleep "$COOLDOWN_SECONDS"
