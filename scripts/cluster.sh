#!/usr/bin/env bash
# The one-node test cluster (docs/test-node.md): Kubernetes 1.35, etcd and
# CoreDNS built from the Go modules in cluster/go, containerd 1.7 with
# containerd-shim-spin, on this machine.
#   scripts/cluster.sh up      # build what is missing, start it, leave it running
#   scripts/cluster.sh down    # stop it and put the machine back as it was
#   scripts/cluster.sh build   # build its binaries only
#   SEED_APP=DIR scripts/cluster.sh bench  # BENCHMARKS.md, "On a real node" (scripts/bench.sh --node)
#   SEED_APP=DIR scripts/cluster.sh test   # the node suite (scripts/node-tests.sh)
#   scripts/cluster.sh loop                # KEDA's loop on the node (scripts/loop-tests.sh)
#   scripts/cluster.sh zero                # scale to zero (scripts/scale-to-zero-tests.sh)
# Needs root, Go 1.26, and containerd-shim-spin v0.24.0 (CONTAINERD_SHIM_SPIN,
# or containerd-shim-spin-v2 on PATH). Installs the Debian packages it needs
# when missing, and containerd 1.7 into target/containerd-1.7.
set -euo pipefail
# SEED_APP as given, before the cd below.
if [[ -n ${SEED_APP:-} ]]; then
  SEED_APP=$(cd "$SEED_APP" && pwd)
  export SEED_APP
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=require.sh
source "$(dirname "${BASH_SOURCE[0]}")/require.sh"

if [[ $EUID -ne 0 ]]; then
  echo "the test node starts a kubelet and containerd, which need root: run this as root" >&2
  exit 1
fi
if ! command -v go >/dev/null; then
  echo "Go 1.26 is missing: the test node is built from Go modules (https://go.dev/dl/)" >&2
  exit 1
fi
require ip:iproute2 iptables-save:iptables conntrack:conntrack runc:runc \
  /usr/lib/cni/bridge:containernetworking-plugins buildah:buildah \
  docker-registry:docker-registry gcc:gcc /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev
# The app's image holds the component: a fresh machine has no Wasm target.
rustup --quiet target add wasm32-wasip2
target=${CARGO_TARGET_DIR:-target}
CONTAINERD_1_7=${CONTAINERD_1_7:-$(scripts/containerd-1.7.sh "$target/containerd-1.7")}
export CONTAINERD_1_7
if [[ ${1:-} == test || ${1:-} == loop || ${1:-} == zero ]]; then
  suite=${1/test/node}
  suite=${suite/zero/scale_to_zero}
  shift
  exec cargo test --release -p cluster --features node-tests --test "$suite" -- --nocapture "$@"
fi
exec cargo run --quiet --release -p cluster -- "$@"
