#!/usr/bin/env bash
# The original demo's Flask app as an image, built here (no registry with
# python:3.10-alpine can be reached) and pushed to DESTINATION, a registry
# reference buildah understands (docker://HOST:PORT/NAME:TAG).
#   SEED_APP=DIR scripts/flask-image.sh DESTINATION
# SEED_APP is the original demo's python-app directory (app-just-counter.py).
# Its root filesystem is Debian 12's Python with its Flask and
# prometheus_client packages, from debootstrap, kept in target/ so that a
# second build does not fetch it again (the packages are fixed within the
# suite). Prints the packages' versions. Needs root (debootstrap, chroot).
# Used by `bench pods` (bench/src/pods) and the test node (cluster/tests/node.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=require.sh
source scripts/require.sh
# shellcheck source=debian.sh
source scripts/debian.sh

fail() {
  echo "flask-image: $*" >&2
  exit 1
}
(($# == 1)) || fail "usage: SEED_APP=DIR $0 docker://HOST:PORT/NAME:TAG"
destination=$1
[[ $EUID -eq 0 ]] || fail "debootstrap and chroot need root: run it as root"
require debootstrap:debootstrap buildah:buildah
[[ -f ${SEED_APP:-}/app-just-counter.py ]] ||
  fail "set SEED_APP to the original demo's python-app directory (the one with app-just-counter.py)"

suite=bookworm
packages=python3-flask,python3-prometheus-client
work=$(mktemp -d)
buildah_() { buildah --storage-driver vfs --root "$work/buildah-root" --runroot "$work/buildah-runroot" "$@"; }
# Runs as the EXIT trap under `set -e`: each step must not fail, or the
# script would exit 1 after a good build and leave $work behind.
cleanup() {
  if [[ -d $work/buildah-root ]]; then
    buildah_ rm --all >/dev/null 2>&1 || true
  fi
  # buildah's vfs layers may still be mounted: deepest first.
  { grep -F " $work/" /proc/mounts || true; } | awk '{ print $2 }' | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

rootfs_tar=target/flask-image/rootfs-$suite.tar
if [[ ! -f $rootfs_tar || "$(cat "$rootfs_tar.packages" 2>/dev/null)" != "$packages" ]]; then
  echo "== debootstrap $suite with $packages (about 2 minutes)" >&2
  mirror=$(debian_mirror)
  debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    fail "debootstrap failed; the end of its log:
$(tail -20 "$work/debootstrap.log")"
  # What an image build leaves out: the downloaded packages and apt's lists.
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  mkdir -p "$(dirname "$rootfs_tar")"
  tar -C "$work/rootfs" --numeric-owner -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  echo "$packages" >"$rootfs_tar.packages"
  rm -rf "$work/rootfs"
fi
builder=$(buildah_ from scratch)
mnt=$(buildah_ mount "$builder")
tar -C "$mnt" --numeric-owner -xf "$rootfs_tar"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
chroot "$mnt" dpkg-query -W -f '${Package} ${Version}\n' python3 python3-flask python3-werkzeug python3-prometheus-client
# The demo's FLASK_APP is server.py, which its repository lacks; the counter
# without the 600 ms sleep is the app the wasm Deployment matches
# (SPIN_VARIABLE_SIMULATED_WORK_MS=0).
mkdir -p "$mnt/app"
install -m 0644 "$SEED_APP/app-just-counter.py" "$mnt/app/server.py"
buildah_ umount "$builder" >/dev/null
buildah_ config --workingdir /app --env FLASK_APP=server.py \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd '["flask", "run", "-h", "0.0.0.0", "-p", "5000"]' "$builder"
buildah_ commit --quiet "$builder" localhost/flask-demo:built >/dev/null
buildah_ push --quiet --tls-verify=false localhost/flask-demo:built "$destination"
