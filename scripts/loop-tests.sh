#!/usr/bin/env bash
# The scaling loop on the test node (docs/test-node.md, "The scaling
# loop"): KEDA, prometheus-operator, Prometheus and fortio built from their
# Go modules, the wasm path applied as a user applies it, manifests/load's
# Job as shipped; asserts that KEDA's HPA scales to 6 and back to 1 with
# every request answered, and writes the timeline.
#   CONTAINERD_SHIM_SPIN=/path/to/containerd-shim-spin-v2 scripts/loop-tests.sh [TEST NAME FILTER]
# Needs root and Go 1.26; scripts/cluster.sh, which this runs, checks the
# rest and installs the Debian packages.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/cluster.sh" loop "$@"
