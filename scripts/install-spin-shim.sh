#!/usr/bin/env bash
# Installs containerd-shim-spin v0.24.0 (which embeds Spin 3.6.3) so that pods
# with runtimeClassName wasmtime-spin-v2 can run, labels the nodes that have
# it, and applies the RuntimeClass.
#
#   scripts/install-spin-shim.sh k3d [CLUSTER]
#       Creates a local k3d cluster (default name keda-spin-autoscaling) from
#       the shim project's k3d node image, which ships the shim and its
#       containerd configuration. Recommended for trying the project: nothing
#       on any node is modified, and deleting the cluster removes everything.
#
#   scripts/install-spin-shim.sh nodes [NODE...]
#       For an existing cluster whose nodes run containerd (all nodes unless
#       some are named): installs the KWasm operator, which runs the shim
#       project's node installer on each annotated node. The installer copies
#       containerd-shim-spin-v2 onto the node, adds the runtime of
#       runtime-class/containerd-*.toml to containerd's configuration, and
#       restarts containerd. It is the route SpinKube documents for this shim;
#       its successor, runtime-class-manager, had no 1.0 release to pin.
#
# Needs kubectl, and k3d (for `k3d`) or helm (for `nodes`). Safe to re-run.
set -euo pipefail

SHIM_VERSION=v0.24.0
K3D_IMAGE="ghcr.io/spinframework/containerd-shim-spin/k3d:${SHIM_VERSION}"
NODE_INSTALLER_IMAGE="ghcr.io/spinframework/containerd-shim-spin/node-installer:${SHIM_VERSION}"
KWASM_CHART_VERSION=0.2.3
# runtime-class/runtime-class.yaml schedules wasm pods onto this label only.
NODE_LABEL="containerd-shim-spin=${SHIM_VERSION}"

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  sed -n '2,25p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

install_k3d() {
  local cluster=${1:-keda-spin-autoscaling}
  if ! k3d cluster get "$cluster" >/dev/null 2>&1; then
    # NodePort 30115 of Service `test` is reachable on localhost.
    k3d cluster create "$cluster" --image "$K3D_IMAGE" --agents 1 \
      --port "30115:30115@server:0" --wait
  fi
  kubectl label nodes --all "$NODE_LABEL" --overwrite
}

install_on_nodes() {
  local nodes=()
  if (($# == 0)); then
    mapfile -t nodes < <(kubectl get nodes -o name)
  else
    for node in "$@"; do nodes+=("node/${node}"); done
  fi
  helm upgrade --install kwasm-operator kwasm-operator \
    --repo http://kwasm.sh/kwasm-operator/ --version "$KWASM_CHART_VERSION" \
    --namespace kwasm --create-namespace \
    --set kwasmOperator.installerImage="$NODE_INSTALLER_IMAGE" --wait
  kubectl annotate "${nodes[@]}" kwasm.sh/kwasm-node=true --overwrite
  # The operator starts one provisioning Job per annotated node.
  for _ in $(seq 60); do
    [[ -n "$(kubectl -n kwasm get jobs -o name 2>/dev/null)" ]] && break
    sleep 5
  done
  kubectl -n kwasm wait --for=condition=complete job --all --timeout=10m
  kubectl label "${nodes[@]}" "$NODE_LABEL" --overwrite
}

case "${1:-}" in
  k3d) shift; install_k3d "$@" ;;
  nodes) shift; install_on_nodes "$@" ;;
  *) usage ;;
esac
kubectl apply -f "$repo_root/runtime-class/runtime-class.yaml"
echo "containerd-shim-spin ${SHIM_VERSION} is installed on: $(kubectl get nodes -l "$NODE_LABEL" -o name | tr '\n' ' ')"
