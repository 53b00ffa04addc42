#!/usr/bin/env bash
# The node suite (docs/test-node.md): starts the one-node Kubernetes 1.35
# cluster, applies manifests/wasm and manifests/container with kubectl as a
# user does, asserts what only a cluster shows, and takes the node down.
#   CONTAINERD_SHIM_SPIN=/path/to/containerd-shim-spin-v2 SEED_APP=/path/to/python-app \
#     scripts/node-tests.sh [TEST NAME FILTER]
# SEED_APP is the original demo's python-app directory: the container path
# runs its Flask app, built here into an image (with debootstrap). Needs
# root and Go 1.26; scripts/cluster.sh, which this runs, checks the rest
# and installs the Debian packages.
set -euo pipefail
if [[ ! -f ${SEED_APP:-}/app-just-counter.py ]]; then
  echo "set SEED_APP to the original demo's python-app directory (the one with app-just-counter.py)" >&2
  exit 1
fi
exec "$(dirname "${BASH_SOURCE[0]}")/cluster.sh" test "$@"
