#!/usr/bin/env bash
# Puts containerd 1.7.24 (`containerd` and `ctr`, from Debian 13 trixie's
# `containerd` package) into DIR and prints DIR. Debian 12's containerd 1.6
# cannot unpack a Spin OCI artifact; 1.7 can. Nothing is installed on the
# system: the trixie package list lives in a private apt state directory and
# the package is only extracted. Running it again with the binaries already
# in DIR does nothing.
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
version=1.7.24

if [[ -x "$dir/containerd" && -x "$dir/ctr" ]] && "$dir/containerd" --version | grep -q " $version"; then
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
(cd "$work/deb" && apt-get "${apt_options[@]}" download -qq "containerd=$version*" >&2)
dpkg-deb -x "$work"/deb/containerd_*.deb "$work/root"
install -m 0755 "$work/root/usr/bin/containerd" "$work/root/usr/bin/ctr" "$dir/"
"$dir/containerd" --version >&2
echo "$dir"
