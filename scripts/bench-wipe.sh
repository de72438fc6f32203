#!/usr/bin/env bash
# bench-wipe.sh DECOM — how close decom's overwrite throughput comes to fio's on this machine.
#
# Every measurement writes a whole loop device, and the only loop devices written are the
# ones this script attached itself, over image files it created itself: in a tmpfs it
# mounts itself and in a directory under /var/tmp it creates itself. A guard checks each
# device's backing file right before every write. All of it is removed on exit, also on
# failure or Ctrl-C. Environment: SIZE (per device, default 2G), VSIZE (the devices read
# back by decom verify, default 8G: a 10% sample reads at least 2,000 blocks whatever the
# size, so on small devices that floor, not the 10%, sets its time), REPEAT (runs per
# measurement, default 3; the table shows the median). Progress goes to stderr, the
# Markdown table to stdout.
set -euo pipefail

SIZE=${SIZE:-2G}
VSIZE=${VSIZE:-8G}
REPEAT=${REPEAT:-3}
PAR=4 # devices in the parallel measurement

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DECOM_BINARY   (env: SIZE=2G REPEAT=3)"
decom=$(realpath "$1")
[ -x "$decom" ] || die "$1: not an executable"
[ "$(id -u)" -eq 0 ] || die "run as root: it attaches loop devices and mounts a tmpfs"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "REPEAT=$REPEAT: want a positive integer"

# Every tool this needs, as command=Debian package.
missing=()
for pair in fio=fio jq=jq /usr/bin/time=time losetup=mount mount=mount fallocate=util-linux \
  blockdev=util-linux numfmt=coreutils timeout=coreutils; do
  PATH=$PATH:/usr/sbin:/sbin command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
done
[ ${#missing[@]} -eq 0 ] || die "missing tools; install the Debian packages: ${missing[*]}"
export PATH=$PATH:/usr/sbin:/sbin

bytes=$(numfmt --from=iec "$SIZE") || die "SIZE=$SIZE: not a size such as 512M or 2G"
((bytes >= 64 << 20 && bytes % (1 << 20) == 0)) || die "SIZE=$SIZE: want a whole number of MiB, 64M or more"
vbytes=$(numfmt --from=iec "$VSIZE") || die "VSIZE=$VSIZE: not a size such as 512M or 8G"
((vbytes >= 64 << 20 && vbytes % (1 << 20) == 0)) || die "VSIZE=$VSIZE: want a whole number of MiB, 64M or more"
tmpfs_bytes=$((PAR * bytes + vbytes + (64 << 20)))
avail_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
((avail_kib * 1024 > tmpfs_bytes + (1 << 30))) || die "not enough free memory for a $((tmpfs_bytes >> 20)) MiB tmpfs"

# --- scratch space, loop devices and the cleanup that removes them -------------------
work="" mnt="" mounted=0
declare -A backing=() # loop device -> the image file it must be backed by
cleanup() {
  set +e
  for l in "${!backing[@]}"; do losetup --detach "$l" 2>/dev/null || log "could not detach $l"; done
  if ((mounted)); then umount "$mnt" 2>/dev/null || umount --lazy "$mnt"; fi
  [ -n "$work" ] && rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

work=$(mktemp -d /var/tmp/decom-bench.XXXX)
(($(df --output=avail -B1 "$work" | tail -n 1) > bytes + vbytes + (1 << 30))) || die "not enough disk space under /var/tmp"
mkdir "$work/tmpfs" "$work/disk" "$work/logs"
mnt=$work/tmpfs logs=$work/logs
mount -t tmpfs -o "size=$tmpfs_bytes,mode=0700" decom-bench "$mnt"
mounted=1

# attach IMAGE [BYTES]: pre-allocate IMAGE (SIZE, or BYTES) and attach a direct-I/O loop
# device over it; sets LOOP.
attach() {
  local size=${2:-$bytes}
  fallocate -l "$size" "$1"
  LOOP=$(losetup --find --show --direct-io=on "$1")
  backing[$LOOP]=$1
  [ "$(blockdev --getsize64 "$LOOP")" = "$size" ] || die "$LOOP: not $size bytes long"
  [ "$(cat "/sys/block/${LOOP#/dev/}/loop/dio" 2>/dev/null)" = 1 ] || log "warning: $LOOP is not in direct-I/O mode"
  log "attached $LOOP over $1"
}

# guard DEVICE...: die unless each is a loop device of ours, still over our image file.
guard() {
  for d in "$@"; do
    if [ -z "${backing[$d]:-}" ] || [ "$(losetup --noheadings --output BACK-FILE "$d" 2>/dev/null)" != "${backing[$d]}" ]; then
      die "refusing to write $d: not a loop device this script attached"
    fi
  done
}

# timed NAME CMD...: run CMD under GNU time; its stdout, stderr and "wall user sys maxrss_kib"
# go to $logs/NAME.{out,err,time}.
timed() {
  local name=$1
  shift
  if ! /usr/bin/time -o "$logs/$name.time" -f '%e %U %S %M' "$@" >"$logs/$name.out" 2>"$logs/$name.err" </dev/null; then
    log "$name failed ($(head -n 1 "$logs/$name.time")):"
    tail -n 5 "$logs/$name.err" >&2
    return 1
  fi
}

# record KEY NAME BYTES MBPS: append one run's figures to the results (CPU and RSS from NAME.time).
record() {
  local wall user sys rss
  read -r wall user sys rss < <(tail -n 1 "$logs/$2.time")
  awk -v k="$1" -v b="$3" -v m="$4" -v w="$wall" -v c="$(awk "BEGIN {print $user + $sys}")" -v r="$rss" \
    'BEGIN {printf "%s\t%.1f\t%.3f\t%.1f\t%.2f\n", k, m, c / (b / 2^30), r / 1024, w}' >>"$work/results.tsv"
  log "  $1: $(tail -n 1 "$work/results.tsv" | cut -f 2) MB/s (wall ${wall}s)"
}

epoch() { date -u -d "$1" +%s.%N; }

# fio_run KEY NAME DEVICE...: fio's sequential 1 MiB direct write, one job per device.
# FIO_EXTRA adds options (--refill_buffers: fresh data for every write).
fio_run() {
  local key=$1 name=$2 jobs=() i=0
  shift 2
  guard "$@"
  for d in "$@"; do jobs+=("--name=j$((i += 1))" "--filename=$d"); done
  # shellcheck disable=SC2086
  timed "$name" fio --rw=write --bs=1M --direct=1 --ioengine=libaio --iodepth=8 --size="$bytes" \
    --group_reporting --output-format=json ${FIO_EXTRA:-} "${jobs[@]}"
  record "$key" "$name" "$(jq '.jobs[0].write.io_bytes' "$logs/$name.out")" \
    "$(jq '.jobs[0].write.bw_bytes / 1e6' "$logs/$name.out")"
}

# fio_read KEY NAME DEVICE: fio's sequential 1 MiB direct read of a verification device,
# the verification ceiling. It only reads.
fio_read() {
  local key=$1 name=$2 dev=$3
  timed "$name" fio --rw=read --bs=1M --direct=1 --ioengine=libaio --iodepth=8 --size="$vbytes" \
    --output-format=json --name=r --filename="$dev" --readonly
  record "$key" "$name" "$(jq '.jobs[0].read.io_bytes' "$logs/$name.out")" \
    "$(jq '.jobs[0].read.bw_bytes / 1e6' "$logs/$name.out")"
}

# verify_run KEY NAME COVERAGE DEVICE: decom verify of a device holding zeros; its rate
# is bytes read over its own start to finish, and that time is kept for the sample's
# ratio to the full read.
verify_run() {
  local key=$1 name=$2 coverage=$3 dev=$4 read started finished outcome secs
  timed "$name" "$decom" verify "$dev" --expect zero --coverage "$coverage" --output json
  IFS=$'\t' read -r outcome read started finished < <(jq -r '[.outcome, .bytes_read, .started, .finished] | @tsv' "$logs/$name.out")
  [ "$outcome" = passed ] || die "$name: verification $outcome (see $logs/$name.out)"
  secs=$(awk "BEGIN {print $(epoch "$finished") - $(epoch "$started")}")
  record "$key" "$name" "$read" "$(awk "BEGIN {print $read / $secs / 1e6}")"
  printf '%s\t%s\n' "$key" "$secs" >>"$work/seconds.tsv"
}

# decom_run KEY NAME METHOD DEVICE...: decom's own rate, the bytes of every record's first
# pass over the span from the earliest pass start to the latest pass finish.
decom_run() {
  local key=$1 name=$2 method=$3 total=0 first="" last="" n=0 outcome written started finished s f
  shift 3
  guard "$@"
  timed "$name" "$decom" wipe "$@" --yes --method "$method" --verify none --no-certificate --output json
  while IFS=$'\t' read -r outcome written started finished; do
    [ "$outcome" = completed ] || die "$name: outcome $outcome (see $logs/$name.out)"
    s=$(epoch "$started") f=$(epoch "$finished")
    total=$((total + written)) n=$((n + 1))
    if [ -z "$first" ] || awk "BEGIN {exit !($s < $first)}"; then first=$s; fi
    if [ -z "$last" ] || awk "BEGIN {exit !($f > $last)}"; then last=$f; fi
  done < <(jq -r 'select(.type == "record") | [.outcome, .passes[0].bytes_written, .passes[0].started, .passes[0].finished] | @tsv' "$logs/$name.out")
  [ "$n" -eq $# ] || die "$name: $n records for $# devices"
  record "$key" "$name" "$total" "$(awk "BEGIN {print $total / ($last - $first) / 1e6}")"
}

# nwipe_run KEY NAME DEVICE: one pass of zeros by nwipe, rated as device size / wall time.
# The device is always named: nwipe --autonuke without one would wipe every disk it finds.
nwipe_skip=""
nwipe_run() {
  local key=$1 name=$2 dev=$3
  [ -n "$dev" ] || die "nwipe: no device"
  guard "$dev"
  if ! timed "$name" timeout --foreground 3600 nwipe --autonuke --nogui --nowait --method=zero --verify=off --noblank \
    --logfile="$logs/$name.log" "$dev"; then
    nwipe_skip="exit $(head -n 1 "$logs/$name.time" | grep -o '[0-9]*$'): $(grep -hiE 'error|fatal|not found' "$logs/$name.log" "$logs/$name.err" 2>/dev/null | tail -n 1 | cut -c 1-120)"
    return 0
  fi
  grep -q "$bytes bytes written to $dev" "$logs/$name.log" || log "warning: nwipe's log does not say $bytes bytes were written"
  local wall
  wall=$(tail -n 1 "$logs/$name.time" | cut -d ' ' -f 1)
  record "$key" "$name" "$bytes" "$(awk "BEGIN {print $bytes / $wall / 1e6}")"
}

# --- the devices: one on disk, PAR on tmpfs (the first of these is the single-device one) -
attach "$work/disk/d.img"
disk_loop=$LOOP
tmp_loops=()
for i in $(seq "$PAR"); do
  attach "$mnt/t$i.img"
  tmp_loops+=("$LOOP")
done
tmp_loop=${tmp_loops[0]}
attach "$mnt/verify.img" "$vbytes"
declare -A verify_loop=([tmpfs]=$LOOP)
attach "$work/disk/verify.img" "$vbytes"
verify_loop[disk]=$LOOP
have_nwipe=0
command -v nwipe >/dev/null && have_nwipe=1 || nwipe_skip="nwipe is not installed (Debian package nwipe)"

# A first untimed write of each device: on ext4 it turns fallocate's unwritten extents into
# written ones, which would otherwise slow down whichever tool happens to go first.
log "warm-up write of every device"
fio_run warmup warmup "$disk_loop" "${tmp_loops[@]}"
# The verification devices hold zeros from here on: decom writes them once, and only reads
# them afterwards.
log "zeros onto the verification devices"
guard "${verify_loop[@]}"
timed vzero "$decom" wipe "${verify_loop[@]}" --yes --method zero --verify none --no-certificate --output json

# Runs are interleaved (fio, decom zero, decom random, nwipe, then again) so that the
# machine's drift in load affects every tool alike.
for r in $(seq "$REPEAT"); do
  for b in tmpfs disk; do
    dev=$tmp_loop
    [ $b = disk ] && dev=$disk_loop
    log "run $r/$REPEAT, $b ($dev)"
    fio_run "$b|fio" "$b-fio-$r" "$dev"
    FIO_EXTRA=--refill_buffers fio_run "$b|fio, fresh data per write" "$b-fio-refill-$r" "$dev"
    decom_run "$b|decom random" "$b-random-$r" random "$dev"
    decom_run "$b|decom zero" "$b-zero-$r" zero "$dev"
    fio_read "$b|fio read" "$b-fio-read-$r" "${verify_loop[$b]}"
    verify_run "$b|decom verify full" "$b-verify-full-$r" full "${verify_loop[$b]}"
    verify_run "$b|decom verify 10%" "$b-verify-sample-$r" 10% "${verify_loop[$b]}"
    if ((have_nwipe)) && [ -z "$nwipe_skip" ]; then nwipe_run "$b|nwipe zero" "$b-nwipe-$r" "$dev"; fi
  done
  log "run $r/$REPEAT, tmpfs, $PAR devices at once"
  fio_run "tmpfs x$PAR|fio" "par-fio-$r" "${tmp_loops[@]}"
  decom_run "tmpfs x$PAR|decom zero" "par-zero-$r" zero "${tmp_loops[@]}"
done

# --- the table --------------------------------------------------------------------------
# med KEY COLUMN: the median of one column of a key's runs.
med() {
  awk -F '\t' -v k="$1" -v c="$2" '$1 == k {print $c}' "$work/results.tsv" | sort -g |
    awk '{a[NR] = $1} END {if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# row BACKING TOOL CEILING_KEY TARGET: one line of the table; TARGET is the ratio wanted.
row() {
  local key="$1|$2" mbps ratio cpu rss wall verdict
  mbps=$(med "$key" 2) cpu=$(med "$key" 3) rss=$(med "$key" 4) wall=$(med "$key" 5)
  ratio=$(awk -v a="$mbps" -v b="$(med "$3" 2)" 'BEGIN {printf "%.2f", a / b}')
  verdict="ceiling"
  if [ -n "$4" ]; then
    verdict=$(awk -v q="$ratio" -v t="$4" -v r="$rss" 'BEGIN {
      v = (q >= t) ? "ok" : "**below " t "**"; if (r >= 256) v = v ", **RSS ≥ 256 MiB**"; print v}')
  elif [[ $2 == nwipe* || $2 == fio,* ]]; then verdict="reference"; fi
  printf '| %s | %s | %.0f | %s | %.2f | %.1f | %.1f | %s |\n' "$1" "$2" "$mbps" "$ratio" "$cpu" "$rss" "$wall" "$verdict"
}

cpu_model=$(awk -F ': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "**Machine:** $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $cpu_model ($(nproc) cores);" \
  "$("$decom" version 2>&1 | head -n 1); $(fio --version)."
echo "SIZE=$SIZE ($bytes bytes) per device, median of REPEAT=$REPEAT runs, loop devices with --direct-io=on."
echo
echo "| backing | tool / method | MB/s | × fio | CPU s/GiB | peak RSS MiB | wall s | target |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
for b in tmpfs disk; do
  row "$b" fio "$b|fio" ""
  row "$b" "decom zero" "$b|fio" 0.90
  row "$b" "decom random" "$b|fio" 0.90
  row "$b" "fio, fresh data per write" "$b|fio" ""
  if grep -q "^$b|nwipe zero" "$work/results.tsv"; then row "$b" "nwipe zero" "$b|fio" ""
  else echo "| $b | nwipe zero | – | – | – | – | – | not run: ${nwipe_skip//|/\\|} |"; fi
done
row "tmpfs x$PAR" fio "tmpfs x$PAR|fio" ""
row "tmpfs x$PAR" "decom zero" "tmpfs x$PAR|fio" 0.85
echo
echo "Verification: decom verify --expect zero of a $VSIZE device holding zeros, against fio's sequential read:"
echo
echo "| backing | reader | MB/s | × fio read | time s | target |"
echo "|---|---|---:|---:|---:|---|"
medsec() {
  awk -F '\t' -v k="$1" '$1 == k {print $2}' "$work/seconds.tsv" | sort -g |
    awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
for b in tmpfs disk; do
  ceil=$(med "$b|fio read" 2) full=$(med "$b|decom verify full" 2) samp=$(med "$b|decom verify 10%" 2)
  tfull=$(medsec "$b|decom verify full") tsamp=$(medsec "$b|decom verify 10%")
  printf '| %s | fio read | %.0f | 1.00 | %.2f | ceiling |\n' "$b" "$ceil" "$(med "$b|fio read" 5)"
  awk -v b="$b" -v m="$full" -v c="$ceil" -v t="$tfull" 'BEGIN {
    q = m / c; printf "| %s | decom verify full | %.0f | %.2f | %.2f | %s |\n", b, m, q, t, (q >= 0.90) ? "ok" : "**below 0.90**"}'
  awk -v b="$b" -v m="$samp" -v c="$ceil" -v t="$tsamp" -v f="$tfull" 'BEGIN {
    q = t / f; printf "| %s | decom verify 10%% sample | %.0f | %.2f | %.2f (%.2f × full) | %s |\n", b, m, m / c, t, q, (q <= 0.15) ? "ok" : "**above 0.15 × full**"}'
done
echo
echo "Targets: decom ≥ 0.90 × fio on one device, ≥ 0.85 × fio on $PAR devices at once, peak RSS < 256 MiB."
echo "MB/s is decimal (10^6 bytes/s): fio's bw_bytes; decom's own pass rate (bytes written over the"
echo "first pass start to last pass finish); nwipe's device size over wall time (start-up included)."
echo "CPU s/GiB is the tool's user+system time (GNU time) per GiB written; the copy into the backing"
echo "file runs in the kernel's loop workers and is charged to no tool."
