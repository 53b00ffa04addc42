#!/usr/bin/env bash
# The autoscaling loop on one machine, without Kubernetes: two runner
# instances play two pods, Debian's Prometheus scrapes them as the
# ServiceMonitor tells kube-prometheus to, oha offers a load, and
# `runner preview` shows KEDA's decision from the ScaledObject's own query
# and the replicas the HPA would set, as the load comes and goes. It writes
# a chart of the run and prints how fast the modelled replicas reacted.
#
#   scripts/local-demo.sh [RATE] [LOAD_SECONDS]     default: 60 req/s for 90 s
#
# Environment:
#   CHART=FILE.svg      where the chart goes (default: local-demo.svg)
#   NOISE=0.2           offer RATE ± 20 %, a new uniform draw every 5 s
#   COOLDOWN_SECONDS    how long to watch after the load (default: 180)
#   WINDOWS="30s 1m 2m" and POLLS="5 15 30": run one preview per query window
#                       and polling interval on the same load, side by side,
#                       each writing OUT/preview-WINDOW-POLL.{txt,svg}
#   OUT=DIR             where those go (default: local-demo-runs)
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
CHART=${CHART:-local-demo.svg}
NOISE=${NOISE:-0}
WINDOWS=${WINDOWS:-}
POLLS=${POLLS:-}
OUT=${OUT:-local-demo-runs}
# After the load: the rate window drains, the scale-down stabilization
# passes and the replicas fall back.
COOLDOWN_SECONDS=${COOLDOWN_SECONDS:-180}
# The preview runs this long before the load starts.
LEAD_SECONDS=10

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
runner=${CARGO_TARGET_DIR:-target}/release/runner

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

load_end=$((LEAD_SECONDS + LOAD_SECONDS))
run_seconds=$((load_end + COOLDOWN_SECONDS))
preview_args=(preview --prometheus "http://127.0.0.1:${PROMETHEUS_PORT}" --duration "$run_seconds"
  --offered-load "${LEAD_SECONDS}:${RATE}" --offered-load "${load_end}:0")
echo "Prometheus: http://127.0.0.1:${PROMETHEUS_PORT}  pods: :${PORT_A} :${PORT_B}"
echo "load: ${RATE} req/s (noise ±${NOISE}) from t+${LEAD_SECONDS}s for ${LOAD_SECONDS}s, then ${COOLDOWN_SECONDS}s without"

previews=()
preview_pids=()
if [[ -z "$WINDOWS$POLLS" ]]; then
  # The ScaledObject as declared, on the terminal and in the chart.
  "$runner" "${preview_args[@]}" --chart "$CHART" | tee "$work/preview.txt" &
  pids+=($!)
  preview_pids+=($!)
  previews+=("$work/preview.txt")
else
  mkdir -p "$OUT"
  for window in ${WINDOWS:-1m}; do
    for poll in ${POLLS:-15}; do
      name="$OUT/preview-${window}-${poll}"
      "$runner" "${preview_args[@]}" --query-window "$window" --interval "$poll" --chart "$name.svg" \
        >"$name.txt" 2>&1 &
      pids+=($!)
      preview_pids+=($!)
      previews+=("$name.txt")
    done
  done
fi
sleep 1
# A preview that cannot start (a bad chart path, a ScaledObject it cannot
# model) has exited by now: stop before any load.
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { echo "a preview failed to start" >&2; exit 1; }
done
sleep $((LEAD_SECONDS - 1))

# Half the rate to each pod, as the Service spreads it; with noise, a new
# rate every 5 s.
oha_pids=()
if [[ "$NOISE" == 0 ]]; then
  half=$(awk -v rate="$RATE" 'BEGIN { print rate / 2 }')
  for port in "$PORT_A" "$PORT_B"; do
    oha --no-tui -z "${LOAD_SECONDS}s" -q "$half" -c 4 "http://127.0.0.1:${port}/" >"$work/oha-${port}.txt" 2>&1 &
    oha_pids+=($!)
  done
  wait "${oha_pids[@]}"
else
  for ((second = 0; second < LOAD_SECONDS; second += 5)); do
    rate=$(awk -v rate="$RATE" -v noise="$NOISE" -v seed="$second$$" \
      'BEGIN { srand(seed); printf "%.1f", rate * (1 + noise * (2 * rand() - 1)) }')
    half=$(awk -v rate="$rate" 'BEGIN { print rate / 2 }')
    oha_pids=()
    for port in "$PORT_A" "$PORT_B"; do
      oha --no-tui -z 5s -q "$half" -c 4 "http://127.0.0.1:${port}/" >>"$work/oha-${port}.txt" 2>&1 &
      oha_pids+=($!)
    done
    wait "${oha_pids[@]}"
  done
fi
echo "--- load stopped"
sleep "$COOLDOWN_SECONDS"

# Each preview ends after its --duration with a line on how the modelled
# replicas reacted: the time from the step to the load's count, from the
# stop back to minReplicaCount, and the changes under load in between.
for pid in "${preview_pids[@]}"; do
  wait "$pid" || echo "a preview exited with status $?" >&2
done
# Several previews wrote to files: their lines side by side.
if [[ -n "$WINDOWS$POLLS" ]]; then
  for preview in "${previews[@]}"; do
    echo "$(basename "$preview" .txt): $(sed -n 's/^reaction: //p' "$preview")"
  done
fi
