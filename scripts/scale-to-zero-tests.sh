#!/usr/bin/env bash
# Scale to zero on the test node (docs/scale-to-zero.md): KEDA, Prometheus
# and the KEDA HTTP add-on built from their Go modules, manifests/scale-to-zero
# applied as a user applies it; asserts that KEDA takes the Deployment to 0
# when idle, that the first requests through the interceptor at 0 are all
# answered and counted, and measures the cold start beside the Flask
# container's (SEED_APP is the original demo's python-app directory).
#   CONTAINERD_SHIM_SPIN=/path/to/containerd-shim-spin-v2 SEED_APP=/path/to/python-app scripts/scale-to-zero-tests.sh [TEST NAME FILTER]
# Needs root and Go 1.26; scripts/cluster.sh, which this runs, checks the
# rest and installs the Debian packages.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/cluster.sh" zero "$@"
