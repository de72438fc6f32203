#!/usr/bin/env bash
# fetch-kernel.sh — put Debian's current amd64 kernel (vmlinuz and modules) into the cache the
# QEMU tests boot and the image builder packs, once per kernel version.
#
#   cache: ${DECOM_KERNEL_CACHE:-$HOME/.cache/decom/kernel}/<version>/{vmlinuz,lib/modules/<version>}
#   cache/current names the version in use.
#
# The package is linux-image-amd64's versioned dependency (e.g. linux-image-6.1.0-56-amd64).
# Without apt (or offline) a version already cached is kept.
set -euo pipefail
source "$(dirname "$0")/lib/debcache.sh"

name=fetch-kernel
cache=${DECOM_KERNEL_CACHE:-$HOME/.cache/decom/kernel}
meta=${DECOM_KERNEL_PACKAGE:-linux-image-amd64}
marker=vmlinuz

resolve() {
  apt-cache depends "$meta" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { sub(/^linux-image-/, "", $2); print $2; exit }'
}

unpack() {
  local root=$1 dest=$2
  mv "$root/boot/vmlinuz-$version" "$dest/vmlinuz"
  mv "$root/boot/config-$version" "$dest/config" 2>/dev/null || true
  mkdir -p "$dest/lib"
  mv "$root/lib/modules" "$dest/lib/modules" 2>/dev/null || mv "$root/usr/lib/modules" "$dest/lib/modules"
  chmod 0644 "$dest/vmlinuz"
}

debcache_start
debcache_fetch "linux-image-$version"
