#!/usr/bin/env bash
# demo.sh DECOM — decom's main job on scratch media: inventory, plan, wipe, record.
# The scratch drive is a loop device over a sparse image in a temporary directory; it is
# the only device this script writes to, and it is removed on exit, also on failure.
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
echo "== decom wipe $loop --method dod-3 --dry-run"
"$decom" wipe "$loop" --method dod-3 --dry-run
echo
echo "== decom wipe $loop --method dod-3 --yes   (only the scratch drive is named)"
"$decom" wipe "$loop" --method dod-3 --yes --output json > "$work/wipe.jsonl"
grep '"type":"record"' "$work/wipe.jsonl" | grep -o '"outcome":"[a-z-]*"'
"$decom" inventory "$loop" | grep -E '^(Status|Filesystem|Partition table):'
echo
echo "== detaching $loop"
