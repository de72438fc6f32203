#!/usr/bin/env bash
# demo.sh DECOM — decom's main job end to end on scratch media: inventory, plan, wipe
# with NIST Clear and sampled verification, a signed certificate and its PDF, checked.
# The scratch drive is a loop device over a sparse image in a temporary directory; it is
# the only device this script writes to, and it is removed on exit, also on failure.
# The certificates and the demo key stay in ./demo-output for a look afterwards.
set -euo pipefail
decom=$(realpath "$1")
if [ "$(id -u)" -ne 0 ]; then echo "demo: run as root (it attaches a loop device)" >&2; exit 1; fi

out=$(realpath -m demo-output)
work=$(mktemp -d /tmp/decom-demo.XXXXXX)
loop=""
registry_pid=""
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  [ -n "$loop" ] && losetup --detach "$loop"
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out/certificates"

truncate -s 256M "$work/scratch.img"
loop=$(losetup --find --show "$work/scratch.img")
mkfs.ext4 -q -L decom-demo "$loop"

echo "== scratch drive $loop (256 MiB image, ext4) attached"
echo
echo "== decom inventory"
"$decom" inventory
echo
echo "== decom wipe $loop --method nist-clear --dry-run"
"$decom" wipe "$loop" --method nist-clear --dry-run
echo
export DECOM_KEY_PASSWORD=demo-only-passphrase
if [ ! -e "$out/demo.key" ]; then
  echo "== decom keys generate --out $out/demo   (passphrase from DECOM_KEY_PASSWORD)"
  "$decom" keys generate --out "$out/demo"
  echo
fi
# A registry of our own on a loopback port, with a temporary data directory.
port=$(( 20000 + RANDOM % 20000 ))
registry="http://127.0.0.1:$port"
data="$work/registry"
echo "== decom registry serve --addr 127.0.0.1:$port --data $data   (in the background)"
"$decom" registry key add --data "$data" "$out/demo.pub" >/dev/null
token=$("$decom" registry token create --data "$data" --name demo-agent)
"$decom" --log-level warn registry serve --addr "127.0.0.1:$port" --data "$data" > "$work/registry.out" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do curl -fs "$registry/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
echo "   agent key enrolled, API token created"
echo
export DECOM_STATE_DIR="$work/state"
echo "== decom wipe $loop --method nist-clear --verify sample --yes --key … --pdf --registry $registry"
echo "   (only the scratch drive is named)"
"$decom" wipe "$loop" --method nist-clear --verify sample --yes \
  --key "$out/demo.key" --cert-dir "$out/certificates" --pdf --registry "$registry" --token "$token" \
  --operator "Demo Technician" --operator-title "Technician" --organization "decom demo" \
  --destination internal-reuse --data-backed-up no --output json > "$work/wipe.jsonl"
record=$(grep '"type":"record"' "$work/wipe.jsonl")
cert=$(sed -E 's/.*"certificate":"([^"]*)".*/\1/' <<<"$record")
pdf=$(sed -E 's/.*"certificate_pdf":"([^"]*)".*/\1/' <<<"$record")
grep -oE '"(outcome|verified)":("[a-z-]*"|true|false)' <<<"$record" | tr '\n' ' '
echo
echo
echo "== decom cert verify $cert --key $out/demo.pub --registry $registry"
echo "   (signature, inclusion in the registry's log, consistency with earlier checks)"
"$decom" cert verify "$cert" --key "$out/demo.pub" --registry "$registry"
echo
id=$(sed -E 's/.*"certificate_id":"([^"]*)".*/\1/' <<<"$record")
echo "Its page while the demo registry runs: $registry/certificates/$id"
curl -fs "$registry/certificates/$id" | grep -oE 'included: entry [0-9]+ of [0-9]+[^<]*' || true
echo
echo "Certificate: $cert"
echo "PDF:         $pdf"
echo "Public key:  $out/demo.pub"
echo
echo "== detaching $loop"
