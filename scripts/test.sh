#!/usr/bin/env bash
# Every test that runs without a Spin install: the component on our runner,
# the native baseline, the scaling signal against a real Prometheus, and the
# manifests against the real schemas. Installs the Debian packages they
# drive (prometheus for promtool, shellcheck) when missing, or says how, and
# the pinned checkov from PyPI.
#   scripts/test.sh [cargo test arguments...]
# The conformance suite on the real Spin and shim is scripts/conformance.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=require.sh
source "$(dirname "${BASH_SOURCE[0]}")/require.sh"

require promtool:prometheus prometheus:prometheus shellcheck:shellcheck
require_kubectl
# Assigned first: under `set -e` a failed install stops here, where
# `eval "$(...)"` would eval nothing and go on with whatever checkov is on PATH.
checkov_env=$(scripts/checkov.sh)
eval "$checkov_env"
exec cargo test --workspace --release "$@"
