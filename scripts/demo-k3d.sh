#!/usr/bin/env bash
# The whole loop on a local k3d cluster: the shim's k3d node image,
# kube-prometheus, KEDA, the RuntimeClass, the dashboard, the app built and
# imported into the cluster, a load Job, and a verdict on whether the HPA
# scaled out to the count the load asks for and back to the minimum.
#
#   scripts/demo-k3d.sh [RATE] [DURATION_SECONDS] [--teardown]
#       default: 60 req/s for 180 s; --teardown deletes the cluster at the end
#
# Needs Docker, k3d, kubectl, cargo with the wasm32-wasip2 target. Every
# step is a command docs/kubernetes.md ("A demo on k3d") shows. It has not been run on
# a real cluster: no machine it was written on had Docker.
set -euo pipefail

RATE=60
DURATION_SECONDS=180
TEARDOWN=no
positional=()
for argument in "$@"; do
  case "$argument" in
    --teardown) TEARDOWN=yes ;;
    -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) positional+=("$argument") ;;
  esac
done
RATE=${positional[0]:-$RATE}
DURATION_SECONDS=${positional[1]:-$DURATION_SECONDS}
CLUSTER=${CLUSTER:-keda-spin-autoscaling}
# How long the HPA may take to reach the count, and to come back down.
SCALE_UP_TIMEOUT=300
SCALE_DOWN_TIMEOUT=600

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
for tool in docker k3d kubectl cargo; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done

step() { echo; echo "=== $*"; }

step "cluster from the shim's k3d image, with the RuntimeClass"
scripts/install-spin-shim.sh k3d "$CLUSTER"

step "kube-prometheus and KEDA"
scripts/deploy-kube-prometheus.sh
scripts/deploy-keda.sh

step "the dashboard, KEDA's ServiceMonitor, and the dashboard's mount in Grafana"
kubectl apply -k manifests/monitoring
kubectl -n monitoring patch deployment grafana --patch-file manifests/monitoring/grafana-deployment-patch.yaml
kubectl -n monitoring rollout status deployment/grafana --timeout=5m

step "the app's image, built and imported into the cluster"
# The name manifests/wasm sets with `images:`, read from the rendered Deployment.
image=$(kubectl kustomize manifests/wasm | awk '$1 == "image:" { print $2; exit }')
cargo build --target wasm32-wasip2 --profile wasm-release --target-dir target -p keda-spin-autoscaling
docker build -t "$image" .
k3d image import "$image" --cluster "$CLUSTER"

step "the app"
kubectl apply -k manifests/wasm
kubectl -n test rollout status deployment/test --timeout=5m
kubectl -n test wait --for=condition=Ready scaledobject/test --timeout=5m

threshold=$(kubectl -n test get scaledobject test -o jsonpath='{.spec.triggers[0].metadata.threshold}')
min=$(kubectl -n test get scaledobject test -o jsonpath='{.spec.minReplicaCount}')
max=$(kubectl -n test get scaledobject test -o jsonpath='{.spec.maxReplicaCount}')
expected=$(awk -v rate="$RATE" -v threshold="$threshold" -v max="$max" \
  'BEGIN { n = rate / threshold; n = (n == int(n)) ? n : int(n) + 1; print (n > max) ? max : n }')

replicas() { kubectl -n test get hpa keda-hpa-test -o jsonpath='{.status.currentReplicas}'; }
# Seconds until `replicas` equals $1, or fail after $2 seconds.
wait_for_replicas() {
  local want=$1 timeout=$2 started=$SECONDS now
  while true; do
    now=$(replicas || echo "?")
    echo "  t+$((SECONDS - started))s: ${now} replicas (want ${want})"
    [[ "$now" == "$want" ]] && { elapsed=$((SECONDS - started)); return 0; }
    ((SECONDS - started < timeout)) || return 1
    sleep 5
  done
}

step "load: ${RATE} req/s for ${DURATION_SECONDS}s from Job load/load; expecting ${expected} replicas"
kubectl apply -f manifests/load/namespace.yaml
kubectl -n load create configmap load-settings \
  --from-literal=RATE="$RATE" --from-literal=DURATION="${DURATION_SECONDS}s" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl -n load delete job load --ignore-not-found --wait
kubectl apply -f manifests/load/job.yaml

verdict=PASS
elapsed=0
if wait_for_replicas "$expected" "$SCALE_UP_TIMEOUT"; then
  up="${expected} replicas ${elapsed}s after the Job started"
else
  up="never reached ${expected} replicas within ${SCALE_UP_TIMEOUT}s"
  verdict=FAIL
fi
kubectl -n load wait --for=condition=complete job/load --timeout="$((DURATION_SECONDS + 120))s"
step "load over; waiting for ${min} replica(s)"
if wait_for_replicas "$min" "$SCALE_DOWN_TIMEOUT"; then
  down="${min} replica(s) ${elapsed}s after the Job completed"
else
  down="never back to ${min} within ${SCALE_DOWN_TIMEOUT}s"
  verdict=FAIL
fi
kubectl -n test get scaledobject,hpa,pods

step "verdict: ${verdict}: ${up}; ${down}"
echo "Grafana: kubectl -n monitoring port-forward svc/grafana 3000, then http://127.0.0.1:3000 (admin/admin), dashboard \"KEDA Spin autoscaling\""

if [[ "$TEARDOWN" == yes ]]; then
  step "teardown"
  k3d cluster delete "$CLUSTER"
fi
[[ "$verdict" == PASS ]]
