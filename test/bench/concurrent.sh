#!/usr/bin/env bash
# Concurrent A/B throughput: stock CoreDNS and CoreDNS with veil served at
# the same time, both pinned to the same core, each driven to saturation by
# its own dnsperf on the other core. The two servers share the core's time
# (the kernel gives two always-runnable processes equal shares), so the ratio
# of their QPS is the ratio of their per-query costs, measured under the
# same conditions. On a virtual machine whose speed drifts by tens of
# percent between runs, this resolves differences of a few percent that
# alternating runs (dnsperf.sh) cannot.
#
# Usage: test/bench/concurrent.sh WORKDIR
#   WORKDIR is a directory dnsperf.sh kept (BENCH_KEEP=1 or --keep): it holds
#   the binary, the zone, the query files and Corefile.stock/Corefile.veil.
#   BENCH_ROUNDS (default 5) rounds of BENCH_SECONDS (default 8) per mix;
#   BENCH_MIXES (default "positive nxdomain txt").
#   BENCH_B_BIN and BENCH_B_COREFILE replace the second server's binary
#   (default WORKDIR/coredns) and Corefile (default Corefile.stock): with
#   BENCH_B_COREFILE=Corefile.veil and another build of veil, the ratio
#   compares two builds of veil (a performance trick on and off).
#
# Loopback only: veil on 127.0.77.1, stock on 127.0.78.1, port 10053; dnsperf
# from 127.0.77.2 and 127.0.78.2 (both external to veil). Every process it
# starts, it stops.
set -euo pipefail

WORK=${1:?usage: test/bench/concurrent.sh WORKDIR (a directory kept by dnsperf.sh --keep)}
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-8}
MIXES=${BENCH_MIXES:-positive nxdomain txt}
for f in coredns Corefile.stock Corefile.veil; do
    [ -e "$WORK/$f" ] || { echo "concurrent.sh: $WORK/$f missing; run BENCH_KEEP=1 test/bench/dnsperf.sh first" >&2; exit 1; }
done
[ "$(nproc --all)" -ge 2 ] || { echo "concurrent.sh: needs 2 CPUs" >&2; exit 1; }

B_BIN=${BENCH_B_BIN:-$WORK/coredns}
B_COREFILE=${BENCH_B_COREFILE:-Corefile.stock}
# The second ("stock") server moves to its own address and metrics port.
sed 's/127\.0\.77\.1/127.0.78.1/g; s/:10153/:10154/' "$WORK/$B_COREFILE" > "$WORK/Corefile.stock.ab"

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

start() { # binary corefile addr
    GOMAXPROCS=1 taskset -c 0 "$1" -conf "$2" > "$2.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
        dig +short +time=1 +tries=1 -p 10053 @"$3" "run-id.bench.example" TXT >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "concurrent.sh: server on $3 did not start" >&2
    exit 1
}
start "$WORK/coredns" "$WORK/Corefile.veil" 127.0.77.1
start "$B_BIN" "$WORK/Corefile.stock.ab" 127.0.78.1

qps() { awk '/Queries per second/ {print $4}' "$1"; }
median() { sort -g | awk '{a[NR] = $1} END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "| mix | veil/stock QPS per round | median |"
echo "|---|---|---:|"
for mix in $MIXES; do
    ratios=()
    for r in $(seq "$ROUNDS"); do
        taskset -c 1 dnsperf -s 127.0.77.1 -p 10053 -a 127.0.77.2 -d "$WORK/queries.$mix" -l "$SECS" -c 8 -T 1 -q 64 > "$WORK/ab.veil.out" 2>&1 &
        a=$!
        taskset -c 1 dnsperf -s 127.0.78.1 -p 10053 -a 127.0.78.2 -d "$WORK/queries.$mix" -l "$SECS" -c 8 -T 1 -q 64 > "$WORK/ab.stock.out" 2>&1 &
        b=$!
        wait "$a" "$b" || { echo "concurrent.sh: dnsperf failed ($mix, round $r)" >&2; exit 1; }
        v=$(qps "$WORK/ab.veil.out")
        s=$(qps "$WORK/ab.stock.out")
        [ -n "$v" ] && [ -n "$s" ] || { echo "concurrent.sh: no QPS in dnsperf output ($mix, round $r)" >&2; exit 1; }
        ratios+=("$(awk -v v="$v" -v s="$s" 'BEGIN { printf "%.3f", v / s }')")
    done
    echo "| $mix | ${ratios[*]} | $(printf '%s\n' "${ratios[@]}" | median) |"
done
