#!/usr/bin/env bash
# Installs checkov, the manifest scanner the tests run, at a pinned version
# into target/checkov-venv (a Python virtual environment; PyPI is the only
# source), once, and prints the line that tells the tests where it is:
#   checkov_env=$(scripts/checkov.sh) && eval "$checkov_env"   # sets CHECKOV; fails when the install does
set -euo pipefail
CHECKOV_VERSION=3.3.30
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=target/checkov-venv
if ! "$venv/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
  if ! python3 -m venv --help >/dev/null 2>&1; then
    echo "python3 with venv is missing: apt-get install python3-venv" >&2
    exit 1
  fi
  echo "installing checkov $CHECKOV_VERSION into $venv (about a minute, once)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" >&2
fi
printf 'export CHECKOV=%q\n' "$PWD/$venv/bin/checkov"
