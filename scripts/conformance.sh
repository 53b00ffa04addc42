#!/usr/bin/env bash
# The conformance suite: the component under the real `spin up` (Spin 3.6.3)
# and under the real containerd-shim-spin v0.24.0 in containerd, from the
# images docs/kubernetes.md publishes. Needs root (it starts containerd), and the
# two runtimes: SPIN and CONTAINERD_SHIM_SPIN name them, else they are
# looked up on PATH; a missing one fails its tests with how to install it.
#   SPIN=/path/to/spin CONTAINERD_SHIM_SPIN=/path/to/containerd-shim-spin-v2 scripts/conformance.sh [TEST NAME FILTER]
# It prints what it measures: the shim's start to first 200, keep-alive
# latency, the soak's figures at its CI size (the runner's and spin up's).
# Installs the Debian packages it drives when missing, and containerd 1.7
# (for the Spin OCI artifact) into target/containerd-1.7.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=require.sh
source "$(dirname "${BASH_SOURCE[0]}")/require.sh"

if [[ $EUID -ne 0 ]]; then
  echo "the shim tests start containerd, which needs root: run this as root" >&2
  exit 1
fi
require promtool:prometheus containerd:containerd ctr:containerd runc:runc \
  buildah:buildah docker-registry:docker-registry
require_kubectl
CONTAINERD_1_7=${CONTAINERD_1_7:-$(scripts/containerd-1.7.sh target/containerd-1.7)}
export CONTAINERD_1_7
status=0
cargo test --release -p runner --features conformance \
  --test real_spin --test real_spin_keepalive --test real_shim --test soak -- --nocapture "$@" || status=$?

# Whether the tests passed or not, they must leave nothing behind: every
# test's containerd, shims, registry and `spin up` run with paths below
# cargo's tmp directory for tests, and their mounts are below it too.
tmp=$(realpath "${CARGO_TARGET_DIR:-target}")/tmp/
left=$(findmnt -rn -o TARGET | grep -F "$tmp" || true)
left+=$(pgrep -af -- "$tmp" || true)
if [[ -n $left ]]; then
  echo "the conformance suite left behind:" >&2
  echo "$left" >&2
  exit 1
fi
exit "$status"
