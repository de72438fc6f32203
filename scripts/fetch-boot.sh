#!/usr/bin/env bash
# fetch-boot.sh — put Debian's systemd-boot UEFI loader (package systemd-boot-efi) into the
# cache `decom image build` takes it from, once per package version.
#
#   cache: ${DECOM_BOOT_CACHE:-$HOME/.cache/decom/boot}/<version>/systemd-bootx64.efi
#   cache/current names the version in use.
#
# Without apt (or offline) a version already cached is kept.
set -euo pipefail
source "$(dirname "$0")/lib/debcache.sh"

name=fetch-boot
cache=${DECOM_BOOT_CACHE:-$HOME/.cache/decom/boot}
pkg=${DECOM_BOOT_PACKAGE:-systemd-boot-efi}
marker=systemd-bootx64.efi

resolve() {
  apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2; exit }'
}

unpack() {
  local root=$1 dest=$2
  mv "$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$dest/systemd-bootx64.efi"
  chmod 0644 "$dest/systemd-bootx64.efi"
  printf '%s\n' "$pkg" >"$dest/package"
}

debcache_start
debcache_fetch "$pkg=$version"
