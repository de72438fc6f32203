#!/usr/bin/env bash
# demo.sh DECOM — show decom's inventory on this machine with a scratch drive in it.
# The scratch drive is a loop device over a sparse image in a temporary directory; it is
# the only device this script touches, and it is removed on exit, also on failure.
set -euo pipefail
decom=$(realpath "$1")
if [ "$(id -u)" -ne 0 ]; then echo "demo: run as root (it attaches a loop device)" >&2; exit 1; fi

work=$(mktemp -d /tmp/decom-demo.XXXXXX)
loop=""
cleanup() {
  [ -n "$loop" ] && losetup --detach "$loop"
  rm -rf "$work"
}
trap cleanup EXIT

truncate -s 256M "$work/scratch.img"
loop=$(losetup --find --show "$work/scratch.img")
mkfs.ext4 -q -L decom-demo "$loop"

echo "== scratch drive $loop (256 MiB image, ext4) attached"
echo
echo "== decom inventory"
"$decom" inventory
echo
echo "== decom inventory $loop"
"$decom" inventory "$loop"
echo
echo "== decom inventory --wipeable --output json (device paths and verdicts)"
"$decom" inventory --wipeable --output json | grep -E '"(path|wipeable|filesystem)"' || true
echo
echo "== detaching $loop"
