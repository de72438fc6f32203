#!/usr/bin/env bash
# fetch-boot.sh — put Debian's systemd-boot UEFI loader (package systemd-boot-efi) into the
# cache `decom image build` takes it from, once per package version.
#
#   cache: ${DECOM_BOOT_CACHE:-$HOME/.cache/decom/boot}/<version>/systemd-bootx64.efi
#   cache/current names the version the image builder uses.
#
# The package is fetched with apt-get download and unpacked with dpkg-deb; nothing is
# installed on the host. Without apt (or offline) a version already cached is kept.
set -euo pipefail

cache=${DECOM_BOOT_CACHE:-$HOME/.cache/decom/boot}
pkg=${DECOM_BOOT_PACKAGE:-systemd-boot-efi}
efi=usr/lib/systemd/boot/efi/systemd-bootx64.efi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

have_cached() {
  [ -s "$cache/current" ] && [ -f "$cache/$(cat "$cache/current")/systemd-bootx64.efi" ]
}

if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
  have_cached && exit 0
  echo "fetch-boot: no apt-get/dpkg-deb here and nothing cached in $cache" >&2
  exit 1
fi

candidate() {
  apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2; exit }'
}
version=$(candidate)
if [ -z "$version" ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq >/dev/null 2>&1 || true
  version=$(candidate)
fi
if [ -z "$version" ]; then
  have_cached && exit 0
  echo "fetch-boot: apt knows no $pkg (run apt-get update as root)" >&2
  exit 1
fi
# A version names a directory: an epoch's ':' is fine there, a '/' is not.
version=${version//\//_}

if [ -f "$cache/$version/systemd-bootx64.efi" ]; then
  echo "$version" >"$cache/current"
  exit 0
fi

tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-boot: downloading $pkg $version into $cache (about 100 kB, once)"
sandbox=()
[ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
(cd "$tmp" && apt-get download -qq "${sandbox[@]}" "$pkg=$version")
deb=$(ls "$tmp"/*.deb)
dpkg-deb -x "$deb" "$tmp/root"
mkdir "$tmp/$version"
mv "$tmp/root/$efi" "$tmp/$version/systemd-bootx64.efi"
chmod 0644 "$tmp/$version/systemd-bootx64.efi"
printf '%s\n' "$pkg" >"$tmp/$version/package"
mv "$tmp/$version" "$cache/$version"
echo "$version" >"$cache/current.tmp"
mv "$cache/current.tmp" "$cache/current"
echo "fetch-boot: systemd-boot $version ready"
