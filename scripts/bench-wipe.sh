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
#
# Then the journal's cost: decom wipe of a JSIZE (default 4G) disk-backed loop device with
# the resume journal on (--journal-dir, a directory on /var/tmp's filesystem, so that its
# fsyncs are real) and off, interleaved (on, off, off, on, ...), JREPEAT (default 5) runs of
# each, for a zero pass and for dod-3 (zeros, ones, random) (JMETHODS). decom's debug log
# counts every journal written, so that an "on" run that wrote none stops the benchmark
# instead of comparing two identical runs. PARTS=journal runs only this comparison (no fio).
# JBACKING=tmpfs puts that device's image in the tmpfs instead (the journal directory stays
# on /var/tmp): no host disk's writeback then spreads the runs, so a small difference shows.
#
# Then CPU and memory per pattern (PARTS=cpu runs only this): decom wipe of a CSIZE (default
# 1G) tmpfs-backed loop device with zero, one, random, dod-3 and gutmann (CMETHODS), whole-
# process CPU (user+sys, GNU time) per GiB written and peak RSS, next to fio writing the same
# bytes (zeros, 0xff, fio's random buffer, and 3 or 35 loops of it); and the random pass's
# throughput over the zero pass's on that device and on a disk-backed one, CREPEAT (default
# 5) interleaved runs, the order flipping every round.
#
# Then many devices at once (PARTS=parallel runs only this): PCOUNTS (default "1 4 8 16")
# loop devices of PSIZE (default 256M) each, tmpfs-backed and disk-backed, decom wiping all
# of them in one process against fio with one job per device, for zeros and random data,
# PREPEAT (default 3) interleaved runs; the ratios decom / fio and decom's peak RSS.
set -euo pipefail

SIZE=${SIZE:-2G}
VSIZE=${VSIZE:-8G}
REPEAT=${REPEAT:-3}
JSIZE=${JSIZE:-4G}
JREPEAT=${JREPEAT:-5}
JINTERVAL=${JINTERVAL:-5s} # decom wipe --journal-interval: shorter makes more checkpoints (flush + journal) per pass
JMETHODS=${JMETHODS:-zero dod-3}
JBACKING=${JBACKING:-disk} # where the journal benchmark's device image lives: disk (/var/tmp) or tmpfs
PARTS=${PARTS:-all}
PAR=4 # devices in the parallel measurement
CSIZE=${CSIZE:-1G}
CREPEAT=${CREPEAT:-5}
CMETHODS=${CMETHODS:-zero one random dod-3 gutmann}
PSIZE=${PSIZE:-256M}
PREPEAT=${PREPEAT:-3}
PCOUNTS=${PCOUNTS:-1 4 8 16}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DECOM_BINARY   (env: SIZE=2G VSIZE=8G REPEAT=3 JSIZE=4G JREPEAT=5 JMETHODS=\"zero dod-3\" CSIZE=1G CREPEAT=5 PSIZE=256M PREPEAT=3 PCOUNTS=\"1 4 8 16\" PARTS=all|journal|cpu|parallel)"
decom=$(realpath "$1")
[ -x "$decom" ] || die "$1: not an executable"
[ "$(id -u)" -eq 0 ] || die "run as root: it attaches loop devices and mounts a tmpfs"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "REPEAT=$REPEAT: want a positive integer"
[[ $JREPEAT =~ ^[1-9][0-9]*$ ]] || die "JREPEAT=$JREPEAT: want a positive integer"
[[ $CREPEAT =~ ^[1-9][0-9]*$ ]] || die "CREPEAT=$CREPEAT: want a positive integer"
[[ $PREPEAT =~ ^[1-9][0-9]*$ ]] || die "PREPEAT=$PREPEAT: want a positive integer"
[[ $PCOUNTS =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] || die "PCOUNTS=$PCOUNTS: want device counts such as \"1 4 8 16\""
case $PARTS in all | journal | cpu | parallel) ;; *) die "PARTS=$PARTS: want all, journal, cpu or parallel" ;; esac
case $JBACKING in disk | tmpfs) ;; *) die "JBACKING=$JBACKING: want disk or tmpfs" ;; esac
all() { [ "$PARTS" = all ]; }
part() { [ "$PARTS" = all ] || [ "$PARTS" = "$1" ]; }

# Every tool this needs, as command=Debian package.
missing=()
tools=(jq=jq /usr/bin/time=time losetup=mount mount=mount fallocate=util-linux blockdev=util-linux
  numfmt=coreutils timeout=coreutils)
[ "$PARTS" = journal ] || tools+=(fio=fio)
for pair in "${tools[@]}"; do
  PATH=$PATH:/usr/sbin:/sbin command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
done
[ ${#missing[@]} -eq 0 ] || die "missing tools; install the Debian packages: ${missing[*]}"
export PATH=$PATH:/usr/sbin:/sbin

bytes=$(numfmt --from=iec "$SIZE") || die "SIZE=$SIZE: not a size such as 512M or 2G"
((bytes >= 64 << 20 && bytes % (1 << 20) == 0)) || die "SIZE=$SIZE: want a whole number of MiB, 64M or more"
vbytes=$(numfmt --from=iec "$VSIZE") || die "VSIZE=$VSIZE: not a size such as 512M or 8G"
((vbytes >= 64 << 20 && vbytes % (1 << 20) == 0)) || die "VSIZE=$VSIZE: want a whole number of MiB, 64M or more"
jbytes=$(numfmt --from=iec "$JSIZE") || die "JSIZE=$JSIZE: not a size such as 512M or 4G"
((jbytes >= 64 << 20 && jbytes % (1 << 20) == 0)) || die "JSIZE=$JSIZE: want a whole number of MiB, 64M or more"
cbytes=$(numfmt --from=iec "$CSIZE") || die "CSIZE=$CSIZE: not a size such as 512M or 1G"
((cbytes >= 64 << 20 && cbytes % (1 << 20) == 0)) || die "CSIZE=$CSIZE: want a whole number of MiB, 64M or more"
pbytes=$(numfmt --from=iec "$PSIZE") || die "PSIZE=$PSIZE: not a size such as 256M or 1G"
((pbytes >= 64 << 20 && pbytes % (1 << 20) == 0)) || die "PSIZE=$PSIZE: want a whole number of MiB, 64M or more"
read -r -a pcounts <<<"$PCOUNTS"
pmax=0
for n in "${pcounts[@]}"; do ((n > pmax)) && pmax=$n; done
((pmax <= 64)) || die "PCOUNTS=$PCOUNTS: at most 64 devices"
# The parts run one after the other (journal, cpu, parallel, then the main table), and the
# cpu and parallel parts remove their devices when done: the tmpfs and the disk need room
# for the largest part, and the journal device, which stays to the end.
tmpfs_bytes=0 disk_bytes=0
if all; then tmpfs_bytes=$((PAR * bytes + vbytes)) disk_bytes=$((bytes + vbytes)); fi
if part cpu; then
  tmpfs_bytes=$((tmpfs_bytes > cbytes ? tmpfs_bytes : cbytes)) disk_bytes=$((disk_bytes > cbytes ? disk_bytes : cbytes))
fi
if part parallel; then
  tmpfs_bytes=$((tmpfs_bytes > pmax * pbytes ? tmpfs_bytes : pmax * pbytes))
  disk_bytes=$((disk_bytes > pmax * pbytes ? disk_bytes : pmax * pbytes))
fi
if part journal; then
  if [ "$JBACKING" = tmpfs ]; then tmpfs_bytes=$((tmpfs_bytes + jbytes)); else disk_bytes=$((disk_bytes + jbytes)); fi
fi
tmpfs_bytes=$((tmpfs_bytes + (64 << 20)))
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
(($(df --output=avail -B1 "$work" | tail -n 1) > disk_bytes + (1 << 30))) || die "not enough disk space under /var/tmp"
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

# fio_run KEY NAME DEVICE...: fio's sequential 1 MiB direct write of SIZE bytes per
# device, once: fio_write's.
fio_run() {
  local key=$1 name=$2
  shift 2
  fio_write "$key" "$name" "$bytes" 1 "$@"
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

# med KEY COLUMN: the median of one column of a key's runs.
med() {
  awk -F '\t' -v k="$1" -v c="$2" '$1 == k {print $c}' "$work/results.tsv" | sort -g |
    awk '{a[NR] = $1} END {if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# --- the journal's cost ------------------------------------------------------------------
# The journal device sits on /var/tmp's filesystem like the "disk" devices (in the tmpfs with
# JBACKING=tmpfs), and the journal directory always does:
# a journal on tmpfs would be synced for nothing. An "off" run names a
# certificate directory that does not exist (and no --journal-dir): with --no-certificate
# that leaves it without a journal. Both run with --log-level debug, where decom logs each
# journal it has written (renamed into place, the directory synced) with the write's time.
jdir=$work/journal nodir=$work/no-such-dir
mkdir "$jdir"

# journal_run KEY NAME METHOD on|off: decom wipe of the journal device; its rate is the bytes
# of all its passes over the first pass's start to the last pass's finish, so that the
# journal writes between passes count. To journal.tsv: "KEY <tab> journals written <tab>
# of them within a pass (offset > 0) <tab> seconds spent writing those the wipe waited for".
# A pass waits for the journal at its start and end; one within a pass is written by the
# engine's checkpointer while the writes go on.
journal_run() {
  local key=$1 name=$2 method=$3 mode=$4 jargs=(--cert-dir "$nodir") outcome written started finished n
  local writes mid secs
  [ "$mode" = on ] && jargs=(--journal-dir "$jdir" --journal-interval "$JINTERVAL")
  guard "$jloop"
  timed "$name" "$decom" wipe "$jloop" --yes --method "$method" --verify none --no-certificate --output json \
    --log-level debug --log-format json "${jargs[@]}"
  read -r writes mid secs < <(jq -rs '[.[] | select(.message? == "journal written")] |
    "\(length) \([.[] | select(.offset > 0)] | length) \([.[] | select(.offset <= 0) | .seconds] | add // 0)"' "$logs/$name.err")
  if [ "$mode" = on ]; then
    ((writes > 0)) || die "$name: no journal was written; with and without would be the same run"
  else
    ((writes == 0)) || die "$name: $writes journals written by a run without one"
  fi
  [ ! -e "$nodir" ] || die "$nodir exists: the runs without a journal could have kept one there"
  if compgen -G "$jdir/*" >/dev/null; then die "$name: left in $jdir: $(ls -A "$jdir")"; fi
  IFS=$'\t' read -r outcome n written started finished < <(jq -r 'select(.type == "record") |
    [.outcome, (.passes | length), ([.passes[].bytes_written] | add), .passes[0].started, .passes[-1].finished] | @tsv' "$logs/$name.out")
  [ "$outcome" = completed ] || die "$name: outcome $outcome (see $logs/$name.out)"
  ((written == n * jbytes)) || die "$name: $written bytes written in $n passes of a $jbytes-byte device"
  record "$key" "$name" "$written" "$(awk "BEGIN {print $written / ($(epoch "$finished") - $(epoch "$started")) / 1e6}")"
  printf '%s\t%s\t%s\t%s\n' "$key" "$writes" "$mid" "$secs" >>"$work/journal.tsv"
  [ "$mode" = off ] || log "  $key: $writes journals written ($mid within a pass); waited $(awk "BEGIN {printf \"%.1f\", $secs * 1000}") ms for them"
}

run_journal() {
jimage=$work/disk/journal.img
[ "$JBACKING" = tmpfs ] && jimage=$mnt/journal.img
attach "$jimage" "$jbytes"
jloop=$LOOP
read -r -a jmethods <<<"$JMETHODS"
log "warm-up write of the journal device"
guard "$jloop"
timed jwarmup "$decom" wipe "$jloop" --yes --method zero --verify none --no-certificate --output json --cert-dir "$nodir"
# Interleaved, and the order flips every round (on off, off on, ...) so that neither side
# always runs right after the other.
for r in $(seq "$JREPEAT"); do
  for m in "${jmethods[@]}"; do
    order=(on off)
    ((r % 2)) || order=(off on)
    for mode in "${order[@]}"; do
      log "journal run $r/$JREPEAT, $m, journal $mode"
      journal_run "$m|journal $mode" "journal-$m-$mode-$r" "$m" "$mode"
    done
  done
done
}

# jmed KEY COLUMN: the median of a column of journal.tsv; jlist KEY COLUMN: its distinct
# values; range KEY: the lowest and highest MB/s of KEY's runs.
jmed() {
  awk -F '\t' -v k="$1" -v c="$2" '$1 == k {print $c}' "$work/journal.tsv" | sort -g |
    awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
range() { awk -F '\t' -v k="$1" '$1 == k {print $2}' "$work/results.tsv" | sort -g | awk 'NR == 1 {a = $1} {b = $1} END {printf "%.0f–%.0f", a, b}'; }
jlist() { awk -F '\t' -v k="$1" -v c="$2" '$1 == k {print $c}' "$work/journal.tsv" | sort -g | uniq | paste -sd /; }

# journal_table: the comparison, as Markdown.
journal_table() {
  echo "Journal: decom wipe --verify none of a $JSIZE loop device (image on $JBACKING) with the resume journal"
  echo "(--journal-dir on /var/tmp's filesystem, --journal-interval $JINTERVAL) and without, interleaved, median of JREPEAT=$JREPEAT runs each:"
  echo
  echo "| method | MB/s without (range) | MB/s with (range) | with / without | paired median | wall s without / with | journals per run (within a pass) | ms waited for them | share of the pass time | target |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  local m off on paired
  for m in "${jmethods[@]}"; do
    off=$(med "$m|journal off" 2) on=$(med "$m|journal on" 2)
    # paired: each round's "on" over the same round's "off", whatever the order within it.
    paired=$(awk -F '\t' -v k="$m|journal " '
      index($1, k) == 1 {i[$1]++; v[$1, i[$1]] = $2}
      END {for (r = 1; r <= i[k "on"]; r++) print v[k "on", r] / v[k "off", r]}' "$work/results.tsv" | sort -g |
      awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    awk -v m="$m" -v a="$off" -v b="$on" -v p="$paired" -v w="$(jlist "$m|journal on" 2)" -v x="$(jlist "$m|journal on" 3)" \
      -v s="$(jmed "$m|journal on" 4)" -v n="$(awk -F '\t' -v k="$m|journal on" '$1 == k {print $2; exit}' "$work/journal.tsv")" \
      -v ra="$(range "$m|journal off")" -v rb="$(range "$m|journal on")" \
      -v bytes="$jbytes" -v wa="$(med "$m|journal off" 5)" -v wb="$(med "$m|journal on" 5)" -v passes="$(
        jq -r 'select(.type == "record") | .passes | length' "$logs/journal-$m-on-1.out")" 'BEGIN {
      q = b / a; t = passes * bytes / (b * 1e6); sh = 100 * s / t
      v = (q >= 0.99) ? "ratio ok" : "**ratio below 0.99**"; v = v ", " ((sh < 1) ? "share ok" : "**share ≥ 1%**")
      printf "| %s | %.0f (%s) | %.0f (%s) | %.3f | %.3f | %.2f / %.2f | %s (%s) | %.1f | %.2f%% | %s |\n",
        m, a, ra, b, rb, q, p, wa, wb, w, x, s * 1000, sh, v}'
  done
  echo
  echo "MB/s: all passes' bytes over the first pass's start to the last pass's finish (the journal"
  echo "writes between passes count; the ones after the last pass and the process's start do not:"
  echo "the wall column has them). with / without is the ratio of the medians; paired median, the"
  echo "median of each round's ratio. ms waited for them: decom's own time writing the journals a"
  echo "run waits for, those at the start and end of a pass (its debug log; median), and its share of"
  echo "the median pass time with the journal; one within a pass is written while the writes go on."
  echo "The engine flushes the device and journals every 5 s of a pass (its default interval), so a"
  echo "pass shorter than that journals only at its start and end (and after a read-back step that read)."
  echo "Targets: with / without ≥ 0.99 and the journals' share of the pass time < 1%. On a shared"
  echo "machine the runs' own spread (the ranges) can be far wider than 1%: then the share, measured"
  echo "inside decom, is the figure that can show it."
}
if part journal; then
  run_journal
  journal_table >"$work/journal.md"
fi
if [ "$PARTS" = journal ]; then
  cat "$work/journal.md"
  exit 0
fi

# --- CPU and memory per pattern, and the random pass against the zero pass ----------------

# detach DEVICE...: detach loop devices of ours and remove their image files.
detach() {
  for d in "$@"; do
    guard "$d"
    losetup --detach "$d" || log "could not detach $d"
    rm -f -- "${backing[$d]}"
    unset "backing[$d]"
  done
}

# fio_write KEY NAME BYTES LOOPS DEVICE...: fio's sequential 1 MiB direct write of BYTES per
# device, LOOPS times over, one job per device, ending with an fsync (--end_fsync=1,
# inside fio's runtime), as decom's pass ends with a flush inside its own time: without it
# fio's figure leaves out the device cache's flush that decom pays. FIO_EXTRA adds options
# (the buffer contents; --refill_buffers: fresh data for every write).
fio_write() {
  local key=$1 name=$2 size=$3 loops=$4 jobs=() i=0
  shift 4
  guard "$@"
  for d in "$@"; do jobs+=("--name=j$((i += 1))" "--filename=$d"); done
  # shellcheck disable=SC2086
  timed "$name" fio --rw=write --bs=1M --direct=1 --ioengine=libaio --iodepth=8 --size="$size" --loops="$loops" \
    --end_fsync=1 --group_reporting --output-format=json ${FIO_EXTRA:-} "${jobs[@]}"
  record "$key" "$name" "$(jq '.jobs[0].write.io_bytes' "$logs/$name.out")" \
    "$(jq '.jobs[0].write.bw_bytes / 1e6' "$logs/$name.out")"
}

# decom_all KEY NAME METHOD DEVICE...: like decom_run, but over every pass: the bytes of all
# passes of all records over the earliest pass start to the latest pass finish. Sets PASSES.
decom_all() {
  local key=$1 name=$2 method=$3 total first last n
  shift 3
  guard "$@"
  timed "$name" "$decom" wipe "$@" --yes --method "$method" --verify none --no-certificate --output json
  read -r n total first last PASSES < <(jq -rs '[.[] | select(.type == "record")] |
    if any(.[]; .outcome != "completed") then "bad" else
    "\(length) \([.[].passes[].bytes_written] | add) \([.[].passes[0].started] | min) \([.[].passes[-1].finished] | max) \(.[0].passes | length)" end' \
    "$logs/$name.out")
  [ "$n" != bad ] || die "$name: a wipe did not complete (see $logs/$name.out)"
  [ "$n" -eq $# ] || die "$name: $n records for $# devices"
  record "$key" "$name" "$total" "$(awk "BEGIN {print $total / ($(epoch "$last") - $(epoch "$first")) / 1e6}")"
}

# fio_buffers METHOD: fio's options for buffers like the method's (its first pass).
fio_buffers() {
  case $1 in
    zero) echo --zero_buffers ;;
    one) echo --buffer_pattern=0xff ;;
    *) echo "" ;; # fio's own pseudo-random buffers
  esac
}

# paired KEY_A KEY_B: the median of the paired ratios A/B of each round's runs (MB/s).
paired() {
  awk -F '\t' -v a="$1" -v b="$2" '$1 == a {x[++i] = $2} $1 == b {y[++j] = $2}
    END {for (r = 1; r <= i && r <= j; r++) print x[r] / y[r]}' "$work/results.tsv" | sort -g |
    awk '{a[NR] = $1} END {if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

run_cpu() {
  local ct cdisk r m order b dev
  attach "$mnt/c.img" "$cbytes"
  ct=$LOOP
  attach "$work/disk/c.img" "$cbytes"
  cdisk=$LOOP
  log "warm-up write of the cpu devices"
  fio_write warmup cwarmup "$cbytes" 1 "$ct" "$cdisk"
  read -r -a cmethods <<<"$CMETHODS"
  for r in $(seq "$CREPEAT"); do
    # zero and random on both devices, the order flipping every round; then every method
    # and fio's same bytes on the tmpfs device.
    order=(zero random)
    ((r % 2)) || order=(random zero)
    for b in tmpfs disk; do
      dev=$ct
      [ $b = disk ] && dev=$cdisk
      for m in "${order[@]}"; do
        log "cpu run $r/$CREPEAT, $b, decom $m"
        decom_all "c $b|decom $m" "c-$b-$m-$r" "$m" "$dev"
      done
      # fio on the same device: zeros, and fresh pseudo-random data for every write (what a
      # random pass writes: data no cache holds yet), the ceiling of a fresh-data pass there.
      log "cpu run $r/$CREPEAT, $b, fio zero and fresh random"
      FIO_EXTRA=--zero_buffers fio_write "c $b|fio zero" "c-$b-fio0-$r" "$cbytes" 1 "$dev"
      FIO_EXTRA=--refill_buffers fio_write "c $b|fio fresh" "c-$b-fiofresh-$r" "$cbytes" 1 "$dev"
    done
    for m in "${cmethods[@]}"; do
      if [ "$m" != zero ] && [ "$m" != random ]; then
        log "cpu run $r/$CREPEAT, tmpfs, decom $m"
        decom_all "c tmpfs|decom $m" "c-tmpfs-$m-$r" "$m" "$ct"
      else
        PASSES=1
      fi
      [ "$m" = zero ] && continue # measured above
      log "cpu run $r/$CREPEAT, tmpfs, fio as $m ($PASSES loops)"
      FIO_EXTRA=$(fio_buffers "$m") fio_write "c tmpfs|fio $m" "c-tmpfs-fio-$m-$r" "$cbytes" "$PASSES" "$ct"
    done
  done
  detach "$ct" "$cdisk"
}

cpu_table() {
  local m b z q p v
  echo "CPU and memory per pattern: decom wipe --verify none of a $CSIZE tmpfs-backed loop device, and fio"
  echo "writing the same bytes (1 MiB direct writes, depth 8; zeros, 0xff, or its own buffers: pseudo-random,"
  echo "not cryptographic, the method's pass count as --loops), median of CREPEAT=$CREPEAT interleaved runs:"
  echo
  echo "| method | decom MB/s | fio MB/s | decom CPU s/GiB | fio CPU s/GiB | decom peak RSS MiB | target |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  for m in "${cmethods[@]}"; do
    v=""
    [ "$m" = random ] && v=$(awk -v c="$(med "c tmpfs|decom $m" 3)" 'BEGIN {print (c <= 0.18) ? "CPU ok" : "**CPU above 0.18 s/GiB**"}')
    printf '| %s | %.0f | %.0f | %.3f | %.3f | %.1f | %s |\n' "$m" "$(med "c tmpfs|decom $m" 2)" "$(med "c tmpfs|fio $m" 2)" \
      "$(med "c tmpfs|decom $m" 3)" "$(med "c tmpfs|fio $m" 3)" "$(med "c tmpfs|decom $m" 4)" "$v"
  done
  echo
  echo "A random pass against a zero pass, the same device, the order flipping every round:"
  echo
  echo "| backing | zero MB/s | random MB/s | random / zero | paired median | zero CPU s/GiB | random CPU s/GiB | fio fresh / fio zero | target |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
  for b in tmpfs disk; do
    z=$(med "c $b|decom zero" 2) q=$(med "c $b|decom random" 2) p=$(paired "c $b|decom random" "c $b|decom zero")
    awk -v b="$b" -v z="$z" -v q="$q" -v p="$p" -v cz="$(med "c $b|decom zero" 3)" -v cr="$(med "c $b|decom random" 3)" \
      -v f="$(paired "c $b|fio fresh" "c $b|fio zero")" -v t="$([ $b = disk ] && echo 0.95 || echo 0.80)" 'BEGIN {
      r = q / z; printf "| %s | %.0f | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %s |\n", b, z, q, r, p, cz, cr, f, (r >= t) ? "≥ " t " ok" : "**below " t "**"}'
  done
  echo
  echo "CPU s/GiB: the whole process's user+system time (GNU time) per GiB written, all passes; the copy"
  echo "into the backing file runs in the kernel's loop workers and is charged to no tool. Targets: random"
  echo "≥ 0.95 × zero disk-backed, ≥ 0.80 × zero tmpfs-backed, random pass ≤ 0.18 CPU s/GiB. \"fio fresh / fio"
  echo "zero\": fio's pass with fresh pseudo-random data for every write (--refill_buffers) over its zero pass"
  echo "on the same device (paired median): what that device gives data no cache holds, against one buffer"
  echo "written again."
}

# --- many devices at once ---------------------------------------------------------------------
run_parallel() {
  local b r n m order devs=() i img
  for b in tmpfs disk; do
    devs=()
    for i in $(seq "$pmax"); do
      img=$mnt/p$i.img
      [ $b = disk ] && img=$work/disk/p$i.img
      attach "$img" "$pbytes"
      devs+=("$LOOP")
    done
    log "warm-up write of the $b parallel devices"
    fio_write warmup "pwarmup-$b" "$pbytes" 1 "${devs[@]}"
    for r in $(seq "$PREPEAT"); do
      order=(zero random)
      ((r % 2)) || order=(random zero)
      for n in "${pcounts[@]}"; do
        for m in "${order[@]}"; do
          log "parallel run $r/$PREPEAT, $b, $n devices, $m"
          FIO_EXTRA=$(fio_buffers "$m") fio_write "p $b x$n|fio $m" "p-$b-$n-fio-$m-$r" "$pbytes" 1 "${devs[@]:0:n}"
          if [ "$m" = random ]; then
            FIO_EXTRA=--refill_buffers fio_write "p $b x$n|fio fresh" "p-$b-$n-fiofresh-$r" "$pbytes" 1 "${devs[@]:0:n}"
          fi
          decom_run "p $b x$n|decom $m" "p-$b-$n-$m-$r" "$m" "${devs[@]:0:n}"
        done
      done
    done
    detach "${devs[@]}"
  done
}

parallel_table() {
  local b n
  echo "Many devices at once: decom wipe of N loop devices of $PSIZE in one process against fio with one job"
  echo "per device (1 MiB direct writes, depth 8 each), median of PREPEAT=$PREPEAT interleaved runs; fio's"
  echo "random data is its own buffer contents (pseudo-random, not cryptographic), filled once and written"
  echo "again (\"random\") or filled afresh for every write (\"fresh\", --refill_buffers); decom's is AES-CTR,"
  echo "fresh for every block:"
  echo
  echo "| backing | devices | fio zero MB/s | decom zero MB/s | × fio | fio random MB/s | fio fresh MB/s | decom random MB/s | × fio random | × fio fresh | decom peak RSS MiB zero / random | target |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  for b in tmpfs disk; do
    for n in "${pcounts[@]}"; do
      awk -v b="$b" -v n="$n" -v fz="$(med "p $b x$n|fio zero" 2)" -v dz="$(med "p $b x$n|decom zero" 2)" \
        -v fr="$(med "p $b x$n|fio random" 2)" -v ff="$(med "p $b x$n|fio fresh" 2)" -v dr="$(med "p $b x$n|decom random" 2)" \
        -v rz="$(med "p $b x$n|decom zero" 4)" -v rr="$(med "p $b x$n|decom random" 4)" -v big="$((n >= 16))" 'BEGIN {
        qz = dz / fz; qr = dr / fr; qf = dr / ff; v = ""
        if (big) {
          v = "zero " ((qz >= 0.90) ? "ok" : "**below 0.90**") ", random " ((qr >= 0.90) ? "ok" : "**below 0.90**")
          v = v " (× fresh " ((qf >= 0.90) ? "ok" : "**below 0.90**") "), " ((rz < 256 && rr < 256) ? "RSS ok" : "**RSS ≥ 256 MiB**")
        }
        printf "| %s | %d | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f | %.2f | %.2f | %.1f / %.1f | %s |\n", b, n, fz, dz, qz, fr, ff, dr, qr, qf, rz, rr, v}'
    done
  done
  echo
  echo "decom's MB/s: all devices' bytes over the earliest pass start to the latest pass finish; fio's, its"
  echo "group bandwidth. Targets with 16 devices: decom ≥ 0.90 × fio for zero and random, peak RSS < 256 MiB."
}

if part cpu; then
  run_cpu
  cpu_table >"$work/cpu.md"
fi
if part parallel; then
  run_parallel
  parallel_table >"$work/parallel.md"
fi
case $PARTS in
  cpu | parallel)
    echo "**Machine:** $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(awk -F ': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
      "($(nproc) cores); $("$decom" version 2>&1 | head -n 1); $(fio --version)."
    echo
    cat "$work/$PARTS.md"
    exit 0
    ;;
esac

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
echo
cat "$work/journal.md"
echo
cat "$work/cpu.md"
echo
cat "$work/parallel.md"
