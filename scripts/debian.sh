# shellcheck shell=bash
# Sourced by the scripts that fetch Debian packages outside the system's apt
# (scripts/containerd-1.7.sh, scripts/flask-image.sh). `debian_mirror` prints
# the Debian mirror this machine's apt already uses, so that no script names
# a mirror host of its own; it fails with the files it read when none is set.
debian_mirror() {
  local mirror
  mirror=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [[ -z "$mirror" ]]; then
    mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  fi
  if [[ -z "$mirror" ]]; then
    echo "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
    return 1
  fi
  echo "$mirror"
}
