#!/usr/bin/env bash
# The node suite (docs/test-node.md): starts the one-node Kubernetes 1.35
# cluster, applies manifests/wasm and manifests/container with kubectl as a
# user does, asserts what only a cluster shows, and takes the node down.
#   CONTAINERD_SHIM_SPIN=/path/to/containerd-shim-spin-v2 SEED_APP=/path/to/python-app \
#     scripts/node-tests.sh [TEST NAME FILTER]
# SEED_APP is the original demo's python-app directory: the container path
# runs its Flask app, built here into an image. Needs root and Go 1.26
# (scripts/cluster.sh says what else, and installs the Debian packages).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=require.sh
source "$(dirname "${BASH_SOURCE[0]}")/require.sh"

if [[ $EUID -ne 0 ]]; then
  echo "the node suite starts a kubelet and containerd, which need root: run this as root" >&2
  exit 1
fi
if ! command -v go >/dev/null; then
  echo "Go 1.26 is missing: the test node is built from Go modules (https://go.dev/dl/)" >&2
  exit 1
fi
require ip:iproute2 iptables-save:iptables conntrack:conntrack runc:runc \
  /usr/lib/cni/bridge:containernetworking-plugins buildah:buildah \
  docker-registry:docker-registry gcc:gcc /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev \
  debootstrap:debootstrap
if [[ ! -f ${SEED_APP:-}/app-just-counter.py ]]; then
  echo "set SEED_APP to the original demo's python-app directory (the one with app-just-counter.py)" >&2
  exit 1
fi
SEED_APP=$(cd "$SEED_APP" && pwd)
target=${CARGO_TARGET_DIR:-target}
CONTAINERD_1_7=${CONTAINERD_1_7:-$(scripts/containerd-1.7.sh "$target/containerd-1.7")}
export CONTAINERD_1_7 SEED_APP
exec cargo test --release -p cluster --features node-tests --test node -- --nocapture "$@"
