# shellcheck shell=bash
# Sourced by the test scripts. `require COMMAND:PACKAGE ...` installs the
# Debian package of every missing command (or, for a COMMAND with a `/`, a
# missing file) when it can (root with apt-get), and otherwise stops at once
# with the command to run.
require() {
  local pair missing=()
  for pair in "$@"; do
    local wanted=${pair%%:*}
    if [[ $wanted == */* && ! -e $wanted ]] || { [[ $wanted != */* ]] && ! command -v "$wanted" >/dev/null; }; then
      [[ " ${missing[*]} " == *" ${pair#*:} "* ]] || missing+=("${pair#*:}")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "missing Debian packages; install them with:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# `require_kubectl`: kubectl is no Debian package; the tests use its
# kustomize (v5.5, in kubectl 1.32, is the oldest the suite has run with).
require_kubectl() {
  local install="  curl -fsSLo kubectl https://dl.k8s.io/release/v1.35.0/bin/linux/amd64/kubectl && sudo install -m 0755 kubectl /usr/local/bin/kubectl"
  if ! command -v kubectl >/dev/null; then
    echo "kubectl is missing; install it (Linux x86-64; 1.32 or later) with:" >&2
    echo "$install" >&2
    exit 1
  fi
  local minor
  minor=$(kubectl version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -1)
  if [[ -z $minor || $minor -lt 32 ]]; then
    echo "kubectl $(kubectl version --client 2>/dev/null | head -1) is older than 1.32, whose kustomize the tests need; install a newer one with:" >&2
    echo "$install" >&2
    exit 1
  fi
}
