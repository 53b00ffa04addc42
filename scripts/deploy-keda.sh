#!/usr/bin/env bash
# Installs KEDA v2.20.2 into the current kubectl context (namespace keda) and
# waits until its operator, metrics API server and admission webhooks serve.
# KEDA 2.20 supports Kubernetes 1.33 to 1.35.
#
# Safe to re-run: the release manifest is applied server-side (its CRDs are
# too large for client-side apply), which converges on an existing install.
set -euo pipefail

KEDA_VERSION=v2.20.2

kubectl apply --server-side --force-conflicts \
  -f "https://github.com/kedacore/keda/releases/download/${KEDA_VERSION}/keda-${KEDA_VERSION#v}.yaml"
for deployment in keda-operator keda-operator-metrics-apiserver keda-admission-webhooks; do
  kubectl -n keda rollout status "deployment/${deployment}" --timeout=5m
done
echo "KEDA ${KEDA_VERSION} is ready"
