#!/usr/bin/env bash
# fetch-kernel.sh — put Debian's current amd64 kernel (vmlinuz and modules) into the cache the
# QEMU tests boot (internal/qemutest), once per kernel version.
#
#   cache: ${DECOM_KERNEL_CACHE:-$HOME/.cache/decom/kernel}/<version>/{boot,lib/modules/<version>}
#   cache/current names the version the tests use.
#
# The package is linux-image-amd64's versioned dependency (e.g. linux-image-6.1.0-56-amd64),
# fetched with apt-get download and unpacked with dpkg-deb; nothing is installed on the host.
# Without apt (or offline) a version already cached is kept.
set -euo pipefail

cache=${DECOM_KERNEL_CACHE:-$HOME/.cache/decom/kernel}
meta=${DECOM_KERNEL_PACKAGE:-linux-image-amd64}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

have_cached() {
  [ -s "$cache/current" ] && [ -f "$cache/$(cat "$cache/current")/vmlinuz" ]
}

if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
  have_cached && exit 0
  echo "fetch-kernel: no apt-get/dpkg-deb here and nothing cached in $cache" >&2
  exit 1
fi

version_pkg() {
  apt-cache depends "$meta" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(version_pkg)
if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq >/dev/null 2>&1 || true
  pkg=$(version_pkg)
fi
if [ -z "$pkg" ]; then
  have_cached && exit 0
  echo "fetch-kernel: apt knows no $meta (run apt-get update as root)" >&2
  exit 1
fi
version=${pkg#linux-image-}

if [ -f "$cache/$version/vmlinuz" ]; then
  echo "$version" >"$cache/current"
  exit 0
fi

tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-kernel: downloading $pkg into $cache (about 70 MB, once)"
sandbox=()
[ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
(cd "$tmp" && apt-get download -qq "${sandbox[@]}" "$pkg")
deb=$(ls "$tmp"/*.deb)
dpkg-deb -x "$deb" "$tmp/root"
mkdir "$tmp/$version"
mv "$tmp/root/boot/vmlinuz-$version" "$tmp/$version/vmlinuz"
mv "$tmp/root/boot/config-$version" "$tmp/$version/config" 2>/dev/null || true
mkdir -p "$tmp/$version/lib"
mv "$tmp/root/lib/modules" "$tmp/$version/lib/modules" 2>/dev/null ||
  mv "$tmp/root/usr/lib/modules" "$tmp/$version/lib/modules"
chmod 0644 "$tmp/$version/vmlinuz"
mv "$tmp/$version" "$cache/$version"
echo "$version" >"$cache/current.tmp"
mv "$cache/current.tmp" "$cache/current"
echo "fetch-kernel: $version ready"
