#!/usr/bin/env bash
# Installs kube-prometheus v0.18.0 (the Prometheus Operator, Prometheus as
# monitoring/prometheus-k8s, Alertmanager, Grafana) into the current kubectl
# context and waits until Prometheus is ready. kube-prometheus release-0.18
# supports Kubernetes 1.33 to 1.36.
#
# Safe to re-run: the manifests are fetched once per version and applied
# server-side, which converges on an existing installation.
set -euo pipefail

KUBE_PROMETHEUS_VERSION=v0.18.0
checkout="${XDG_CACHE_HOME:-$HOME/.cache}/keda-spin-autoscaling/kube-prometheus-${KUBE_PROMETHEUS_VERSION}"

if [[ ! -d "$checkout/manifests/setup" ]]; then
  rm -rf "$checkout"
  mkdir -p "$(dirname "$checkout")"
  git clone --quiet --depth 1 --branch "$KUBE_PROMETHEUS_VERSION" \
    https://github.com/prometheus-operator/kube-prometheus.git "$checkout"
fi

# CRDs and the namespace first; the rest needs them established.
kubectl apply --server-side --force-conflicts -f "$checkout/manifests/setup"
kubectl wait --for condition=Established --timeout=120s \
  crd/prometheuses.monitoring.coreos.com crd/servicemonitors.monitoring.coreos.com
kubectl apply --server-side --force-conflicts -f "$checkout/manifests"

# The operator creates Prometheus's StatefulSet once it is running itself.
for _ in $(seq 120); do
  kubectl -n monitoring get statefulset prometheus-k8s >/dev/null 2>&1 && break
  sleep 5
done
kubectl -n monitoring rollout status statefulset/prometheus-k8s --timeout=10m
echo "kube-prometheus ${KUBE_PROMETHEUS_VERSION} is ready: Prometheus at http://prometheus-k8s.monitoring.svc:9090"
