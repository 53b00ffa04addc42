#!/usr/bin/env bash
# Installs the KEDA HTTP add-on v0.15.0 into the current kubectl context
# (namespace keda, beside KEDA, which scripts/deploy-keda.sh installs first:
# the add-on's interceptor scales itself with a ScaledObject) and waits
# until its operator, interceptor and external scaler serve. Then
# `kubectl apply -k manifests/scale-to-zero` (docs/scale-to-zero.md).
#
# The release manifest is the tag's config/ with its images resolved, the
# same config/ that the test node installs (cluster/manifests/http-add-on).
# Safe to re-run: applied server-side, it converges on an existing install.
set -euo pipefail

HTTP_ADD_ON_VERSION=v0.15.0

kubectl apply --server-side --force-conflicts \
  -f "https://github.com/kedacore/http-add-on/releases/download/${HTTP_ADD_ON_VERSION}/keda-add-ons-http-${HTTP_ADD_ON_VERSION#v}.yaml"
for deployment in keda-add-ons-http-operator keda-add-ons-http-interceptor keda-add-ons-http-scaler; do
  kubectl -n keda rollout status "deployment/${deployment}" --timeout=5m
done
echo "KEDA HTTP add-on ${HTTP_ADD_ON_VERSION} is ready"
