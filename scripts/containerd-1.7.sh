#!/usr/bin/env bash
# Puts containerd 1.7 (`containerd`, `ctr` and `containerd-shim-runc-v2`,
# from Debian 13 trixie's `containerd` package: 1.7.24 when this was
# written) into DIR and prints DIR. Debian 12's containerd 1.6 cannot unpack
# a Spin OCI artifact; 1.7 can, and Kubernetes 1.35, the test node's, is the
# last minor to support containerd 1.x. Nothing is installed on the system:
# the trixie package list lives in a private apt state directory and the
# package is only extracted. Running it again with the binaries already in
# DIR does nothing.
#   scripts/containerd-1.7.sh DIR && export CONTAINERD_1_7=DIR
set -euo pipefail
# shellcheck source=debian.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian.sh"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
mkdir -p "$1"
dir=$(cd "$1" && pwd)
# The minor is pinned, not the patch: trixie keeps 1.7 and moves its patch.
minor=1.7
binaries=(containerd ctr containerd-shim-runc-v2)

is_minor() {
  "$dir/containerd" --version | grep -q " v\?$minor\."
}

if [[ -x "$dir/containerd" && -x "$dir/ctr" && -x "$dir/containerd-shim-runc-v2" ]] && is_minor; then
  echo "$dir"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/deb"
# The Debian mirror this machine already uses, with trixie as the suite.
mirror=$(debian_mirror)
cat > "$work/trixie.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

apt_options=(
  -o "Dir::Etc::sourcelist=$work/trixie.sources"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache::archives=$work/archives"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "APT::Get::List-Cleanup=0"
  -o "APT::Sandbox::User=root"
)
apt-get "${apt_options[@]}" update -qq >&2
(cd "$work/deb" && apt-get "${apt_options[@]}" download -qq "containerd=$minor.*" >&2)
dpkg-deb -x "$work"/deb/containerd_*.deb "$work/root"
for binary in "${binaries[@]}"; do
  install -m 0755 "$work/root/usr/bin/$binary" "$dir/"
done
if ! is_minor; then
  echo "trixie's containerd is not $minor: $("$dir/containerd" --version)" >&2
  exit 1
fi
"$dir/containerd" --version >&2
echo "$dir"
