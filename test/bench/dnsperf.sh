#!/usr/bin/env bash
# Throughput benchmark: CoreDNS with veil against stock CoreDNS, with dnsperf.
#
# One binary (built from cmd/coredns), two Corefiles serving the same
# generated zone with the file plugin: "stock" without veil, "veil" with
# every feature on and the dnsperf source external. dnsperf (Debian package
# dnsperf) queries from an external loopback address; the server runs on
# CPU 0 with GOMAXPROCS=1, dnsperf on CPU 1, so the server's core is the
# bottleneck. Runs alternate stock/veil per round, for three query mixes. A
# last phase measures the veil server's RSS before and after one query from
# each of 100,000 distinct source addresses (test/bench/manysources).
#
# Usage (from anywhere in the repository):
#
#   test/bench/dnsperf.sh                      # 5 rounds x 10 s per mix and config (about 6.5 minutes)
#   test/bench/dnsperf.sh --short              # 1 round x 2 s (CI; 1 to 1.5 minutes)
#   BENCH_ROUNDS=3 BENCH_SECONDS=5 test/bench/dnsperf.sh
#
# Settings (flag or environment variable, flags win):
#
#   -r, --rounds N      BENCH_ROUNDS    rounds per mix (default 5)
#   -l, --seconds S     BENCH_SECONDS   seconds per measured dnsperf run (default 10)
#   -w, --warmup S      BENCH_WARMUP    unmeasured dnsperf seconds after each start (default 1; 0 = none)
#   -m, --mixes LIST    BENCH_MIXES     "positive nxdomain txt" (default: all three)
#   -s, --sources N     BENCH_SOURCES   distinct sources of the RSS phase (default 100000; 0 skips it)
#       --cache         BENCH_CACHE=on  put "cache 30" in both Corefiles (default off: file alone)
#       --short                         BENCH_ROUNDS=1 BENCH_SECONDS=2 BENCH_SOURCES=100000
#       --keep          BENCH_KEEP=1    keep the work directory (zone, Corefiles, logs, raw output)
#
# Less common: BENCH_ADDR (server address, 127.0.77.1), BENCH_PORT (10053),
# BENCH_METRICS_PORT (10153), BENCH_SRC (dnsperf's source, 127.0.77.2),
# BENCH_CLIENTS (dnsperf -c, 8), BENCH_OUTSTANDING (dnsperf -q, 64),
# BENCH_MAX_LOSS (lost queries tolerated per run, percent, 1),
# BENCH_SERVER_CPU (0), BENCH_CLIENT_CPU (1), BENCH_NICE (the server's and
# dnsperf's nice value, 0; -10 as root keeps other processes on a shared
# machine from taking their cores, at those processes' expense).
#
# The exit status is 0 when every run worked, whatever the figures; it is
# non-zero when something broke: the build, a server that did not start,
# dnsperf failing, more than BENCH_MAX_LOSS % lost queries, an unexpected
# RCODE mix, a veil server that did not treat the dnsperf source as external
# or that blocked it. Meeting the QPS target or not is reported, not fatal.
#
# Only loopback addresses are used. Every process the script starts is
# stopped on exit.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

ORIG_ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
        -r|--rounds)  BENCH_ROUNDS=${2:?}; shift 2 ;;
        -l|--seconds) BENCH_SECONDS=${2:?}; shift 2 ;;
        -w|--warmup)  BENCH_WARMUP=${2:?}; shift 2 ;;
        -m|--mixes)   BENCH_MIXES=${2:?}; shift 2 ;;
        -s|--sources) BENCH_SOURCES=${2:?}; shift 2 ;;
        --cache)      BENCH_CACHE=on; shift ;;
        --short)      BENCH_ROUNDS=1; BENCH_SECONDS=2; BENCH_SOURCES=${BENCH_SOURCES:-100000}; shift ;;
        --keep)       BENCH_KEEP=1; shift ;;
        -h|--help)    usage; exit 0 ;;
        *) echo "dnsperf.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-1}
MIXES=${BENCH_MIXES:-positive nxdomain txt}
SOURCES=${BENCH_SOURCES:-100000}
CACHE=${BENCH_CACHE:-off}
KEEP=${BENCH_KEEP:-0}
ADDR=${BENCH_ADDR:-127.0.77.1}
PORT=${BENCH_PORT:-10053}
MPORT=${BENCH_METRICS_PORT:-10153}
SRC=${BENCH_SRC:-127.0.77.2}
CLIENTS=${BENCH_CLIENTS:-8}
OUTSTANDING=${BENCH_OUTSTANDING:-64}
MAX_LOSS=${BENCH_MAX_LOSS:-1}
NICE=${BENCH_NICE:-0}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
ZONE=bench.example
TABLE_SLOTS=262144 # the limit block's table option below (README: 16 bytes a slot)

die() { echo "dnsperf.sh: FAIL: $*" >&2; exit 1; }
say() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
isint() { [[ $1 =~ ^[0-9]+$ ]]; }

for v in ROUNDS SECS WARMUP SOURCES PORT MPORT CLIENTS OUTSTANDING SERVER_CPU CLIENT_CPU; do
    isint "${!v}" || die "$v=${!v} is not a whole number"
done
[[ $NICE =~ ^-?[0-9]+$ ]] && [ "$NICE" -ge -20 ] && [ "$NICE" -le 19 ] || die "BENCH_NICE must be -20 to 19"
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 100 ] || die "rounds must be 1 to 100"
[ "$SECS" -ge 1 ] && [ "$SECS" -le 600 ] || die "seconds must be 1 to 600"
[ "$WARMUP" -le 60 ] || die "warmup must be at most 60 s"
[ "$SOURCES" -le 1000000 ] || die "sources must be at most 1000000"
case "$CACHE" in on|off) ;; *) die "BENCH_CACHE must be on or off" ;; esac
for a in "$ADDR" "$SRC"; do [[ $a =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$a is not a loopback (127/8) address"; done
for m in $MIXES; do case "$m" in positive|nxdomain|txt) ;; *) die "unknown mix $m (positive, nxdomain, txt)" ;; esac; done

for tool in go dnsperf dig curl taskset ss awk sort; do
    command -v "$tool" >/dev/null || die "$tool not found (dnsperf: apt-get install dnsperf; dig: bind9-dnsutils)"
done
if [ "$(nproc --all)" -lt 2 ]; then
    # CI may give one CPU: the script must still run end to end there, but
    # server and dnsperf then share the core and the figures mean little.
    echo "WARNING: one CPU only: server and dnsperf share CPU 0; the figures are not a measurement" >&2
    SERVER_CPU=0 CLIENT_CPU=0
fi

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
grep -q '^module github.com/veildns/veil$' "$ROOT/go.mod" || die "$ROOT is not the veil repository"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/veil-bench.XXXXXX")
SERVER_PID=""
HELPER_PID=""
cleanup() {
    local rc=$?
    set +e
    if [ -n "$HELPER_PID" ]; then kill "$HELPER_PID" 2>/dev/null; wait "$HELPER_PID" 2>/dev/null; fi
    if [ -n "$SERVER_PID" ]; then stop_server; fi
    if [ "$KEEP" = 1 ] || [ $rc -ne 0 ]; then
        echo "dnsperf.sh: work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build ------------------------------------------------------------------

say "building cmd/coredns and test/bench/manysources into $WORK"
(cd "$ROOT" && go build -o "$WORK/coredns" ./cmd/coredns) || die "go build ./cmd/coredns"
(cd "$ROOT" && go build -o "$WORK/manysources" ./test/bench/manysources) || die "go build ./test/bench/manysources"

# --- zone -------------------------------------------------------------------

NONCE=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
NHOSTS=996 # plus the apex: 997 names that hold A, AAAA, MX and TXT; 1,004 names in all

# Every name of the query mixes holds all four types, so a positive query
# never gets NODATA (which the limiter would count as a denial). Every tenth
# host holds a verification token beside an SPF record and a plain TXT, so
# that hiding the token leaves an answer; the apex holds five tokens.
awk -v zone="$ZONE" -v n="$NHOSTS" -v nonce="$NONCE" 'BEGIN {
    printf "$ORIGIN %s.\n$TTL 3600\n", zone
    printf "@ IN SOA ns1 hostmaster 2026112601 7200 3600 1209600 300\n"
    printf "@ IN NS ns1\n@ IN NS ns2\n"
    printf "@ IN A 198.18.0.1\n@ IN AAAA 2001:db8::1\n@ IN MX 10 mx1\n@ IN MX 20 mx2\n"
    printf "@ IN TXT \"v=spf1 ip4:198.18.0.0/15 include:_spf.google.com -all\"\n"
    printf "@ IN TXT \"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ\"\n"
    printf "@ IN TXT \"MS=ms64239401\"\n"
    printf "@ IN TXT \"atlassian-domain-verification=Z8Yq6zkT9TWr3Lsl4nJ8GvJIEkjwx/4o2HSnAiSnyqBOHwTB10TQ5L0vKuG3BeZ4\"\n"
    printf "@ IN TXT \"docusign=1b0a6754-49b1-4db5-8540-d2c12664b289\"\n"
    printf "ns1 IN A 198.18.0.2\nns2 IN A 198.18.0.3\nmx1 IN A 198.18.0.4\nmx2 IN A 198.18.0.5\n"
    printf "_github-challenge-bench-org IN TXT \"8f3c2a91d0\"\n"
    printf "run-id IN TXT \"%s\"\n", nonce
    for (i = 0; i < n; i++) {
        h = sprintf("h%04d", i)
        printf "%s IN A 198.18.%d.%d\n", h, 1 + int(i / 250), 1 + i % 250
        printf "%s IN AAAA 2001:db8:0:%x::%x\n", h, 1 + int(i / 250), 1 + i % 250
        printf "%s IN MX 10 mx%d\n", h, 1 + i % 2
        if (i % 10 == 0) {
            printf "%s IN TXT \"v=spf1 ip4:198.18.%d.%d -all\"\n", h, 1 + int(i / 250), 1 + i % 250
            k = int(i / 10) % 3
            if (k == 0) printf "%s IN TXT \"google-site-verification=%043d\"\n", h, i
            if (k == 1) printf "%s IN TXT \"MS=ms%08d\"\n", h, 12345678 + i
            if (k == 2) printf "%s IN TXT \"atlassian-domain-verification=%064d\"\n", h, i
            printf "%s IN TXT \"owner=team-%d\"\n", h, i % 7
        } else {
            printf "%s IN TXT \"host %s rack %d\"\n", h, h, i % 40
        }
    }
}' > "$WORK/db.$ZONE"

# Query files, 20,000 lines each, shuffled with fixed seeds:
#   positive  existing names: A 40 %, AAAA 30 %, MX 10 %, TXT 20 %
#   nxdomain  the positive mix with 10 % of the queries (any type) for missing names
#   txt       existing names: TXT 70 %, A 15 %, AAAA 10 %, MX 5 %
# The names are the apex and the hosts, uniformly (about 10 % of the TXT
# queries hit a name holding a token).
genmix() { # name seed nxpercent pA pAAAA pMX (TXT takes the rest)
    awk -v zone="$ZONE" -v n="$NHOSTS" -v seed="$2" -v nx="$3" -v pa="$4" -v paaaa="$5" -v pmx="$6" 'BEGIN {
        srand(seed)
        for (q = 0; q < 20000; q++) {
            r = rand() * 100
            t = (r < pa) ? "A" : (r < pa + paaaa) ? "AAAA" : (r < pa + paaaa + pmx) ? "MX" : "TXT"
            if (rand() * 100 < nx) { printf "nx-%06d.%s %s\n", int(rand() * 1000000), zone, t; continue }
            i = int(rand() * (n + 1))
            if (i == n) printf "%s %s\n", zone, t; else printf "h%04d.%s %s\n", i, zone, t
        }
    }' > "$WORK/queries.$1"
}
genmix positive 1 0 40 30 10
genmix nxdomain 2 10 40 30 10
genmix txt 3 0 15 10 5

# --- Corefiles --------------------------------------------------------------

CACHE_LINE=""
if [ "$CACHE" = on ]; then CACHE_LINE="    cache 30"; fi

# Stock: the same server block without veil. prometheus, errors and transfer
# are identical in both; no log plugin.
cat > "$WORK/Corefile.stock" <<EOF
$ZONE:$PORT {
    bind $ADDR
    prometheus $ADDR:$MPORT
    errors
$CACHE_LINE
    transfer {
        to *
    }
    file $WORK/db.$ZONE
}
EOF

# veil, all features on. Only 127.0.0.1 is trusted (dig's default source, for
# the readiness probe); the dnsperf source $SRC and the RSS phase's sources
# 127.1.0.0 and up are external. The limiter charges every answer (both
# tiers, ratio window) but never trips on the benchmark:
#   rate 50000 / burst 10000: the nxdomain mix sends 10 % denials, so even
#     500,000 QPS from one source stays within the rate; the /24 tier gets
#     four times as much.
#   ratio 0.8 20 30s (off by default; on here for its cost): the mixes
#     have 0 % or 10 % denials.
#   stub 1000000 10000: dnsperf asks with recursion desired and without
#     EDNS, as a stub does, so every answer also spends the stub budget (the
#     costliest path), which must not trip either: the stub budget counts
#     hits too, so its rate must stay above what one source reaches (over
#     50,000 QPS on a fast core); its burst is the largest allowed.
#   block 1s: veil requires (burst + rate x block) x 16 x 256 < 2^28, so a
#     high rate needs a short block; nothing trips anyway.
#   table 262144 (the default, 4 MiB).
cat > "$WORK/Corefile.veil" <<EOF
$ZONE:$PORT {
    bind $ADDR
    prometheus $ADDR:$MPORT
    errors
    veil {
        trusted 127.0.0.1
        transfer refuse
        any refuse
        limit {
            rate 50000
            burst 10000
            ratio 0.8 20 30s
            stub 1000000 10000
            block 1s
            slip 2
            table $TABLE_SLOTS
        }
        tokens {
            hide all
        }
    }
$CACHE_LINE
    transfer {
        to *
    }
    file $WORK/db.$ZONE
}
EOF
sed -i '/^$/d' "$WORK/Corefile.stock" "$WORK/Corefile.veil"

# --- server control ---------------------------------------------------------

start_server() { # config
    local cfg=$1
    [ -z "$SERVER_PID" ] || die "internal: a server is already running"
    # CoreDNS binds with SO_REUSEPORT, so a second server on the same
    # address and port starts without error and takes part of the queries.
    if [ -n "$(ss -Hlun "sport = :$PORT" | grep -F "$ADDR:$PORT" || true)$(ss -Hltn "sport = :$MPORT" | grep -F "$ADDR:$MPORT" || true)" ]; then
        ss -Hlunpt "( sport = :$PORT or sport = :$MPORT )" >&2 || true
        die "something already listens on $ADDR:$PORT or $ADDR:$MPORT; set BENCH_ADDR, BENCH_PORT or BENCH_METRICS_PORT"
    fi
    GOMAXPROCS=1 nice -n "$NICE" taskset -c "$SERVER_CPU" "$WORK/coredns" -conf "$WORK/Corefile.$cfg" >"$WORK/coredns.$cfg.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || {
            SERVER_PID=""
            tail -20 "$WORK/coredns.$cfg.log" >&2
            die "coredns ($cfg) exited at start; is $ADDR:$PORT or $ADDR:$MPORT taken?"
        }
        if [ "$(dig +short +time=1 +tries=1 -p "$PORT" @"$ADDR" "run-id.$ZONE" TXT 2>/dev/null)" = "\"$NONCE\"" ] &&
            curl -sf --max-time 2 "http://$ADDR:$MPORT/metrics" >/dev/null; then
            [ "$(cat "/proc/$SERVER_PID/comm" 2>/dev/null)" = coredns ] || die "internal: pid $SERVER_PID is not coredns"
            return 0
        fi
        sleep 0.1
    done
    tail -20 "$WORK/coredns.$cfg.log" >&2
    die "coredns ($cfg) did not answer with this run's nonce within 10 s (another server on $ADDR:$PORT?)"
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    local pid=$SERVER_PID
    SERVER_PID=""
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; } # on-CPU ns, all threads
core_busy() { awk -v c="cpu$1" '$1 == c {print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; } # busy total
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }
metrics() { curl -sf --max-time 5 "http://$ADDR:$MPORT/metrics"; }
metric_sum() { # file metric-name [label filter regexp]
    awk -v m="$2" -v f="${3:-}" 'index($0, m) == 1 && (f == "" || $0 ~ f) && substr($0, length(m) + 1, 1) ~ /[{ ]/ {s += $NF} END {printf "%d\n", s}' "$1"
}

# --- checks that veil is really in the path ---------------------------------

digx() { dig +time=2 +tries=1 -p "$PORT" @"$ADDR" "$@" 2>&1 || true; }
expect() { # description output needle
    grep -qF -- "$3" <<<"$2" || { printf '%s\n' "$2" >&2; die "$1: expected \"$3\""; }
}
reject() {
    ! grep -qF -- "$3" <<<"$2" || { printf '%s\n' "$2" >&2; die "$1: did not expect \"$3\""; }
}

say "checking answers: stock, then veil (trusted 127.0.0.1, external $SRC)"
start_server stock
out=$(digx -b "$SRC" +short "h0010.$ZONE" TXT)
expect "stock, external TXT h0010" "$out" "MS=ms12345688"
out=$(digx -b "$SRC" +short "h0123.$ZONE" A)
expect "stock, external A h0123" "$out" "198.18.1.124"
out=$(digx -b "$SRC" "$ZONE" AXFR)
expect "stock, external AXFR (the baseline serves transfers)" "$out" "h0995.$ZONE."
stop_server

start_server veil
for h in h0000:google-site-verification= h0010:MS=ms12345688 h0020:atlassian-domain-verification=; do
    out=$(digx -b "$SRC" +short "${h%%:*}.$ZONE" TXT)
    expect "veil, external TXT ${h%%:*}" "$out" "v=spf1"
    reject "veil, external TXT ${h%%:*} (token must be hidden)" "$out" "${h#*:}"
    out=$(digx +short "${h%%:*}.$ZONE" TXT)
    expect "veil, trusted TXT ${h%%:*}" "$out" "${h#*:}"
done
out=$(digx -b "$SRC" +short "$ZONE" TXT)
expect "veil, external TXT apex" "$out" "v=spf1"
reject "veil, external TXT apex" "$out" "MS=ms64239401"
out=$(digx -b "$SRC" "_github-challenge-bench-org.$ZONE" TXT)
expect "veil, external TXT at a dedicated token label" "$out" "status: NXDOMAIN"
out=$(digx -b "$SRC" +short "h0123.$ZONE" A)
expect "veil, external A h0123" "$out" "198.18.1.124"
out=$(digx -b "$SRC" +comments "$ZONE" AXFR)
expect "veil, external AXFR" "$out" "status: REFUSED"
reject "veil, external AXFR" "$out" "h0995.$ZONE."
out=$(digx -b "$SRC" +notcp "$ZONE" ANY)
expect "veil, external ANY" "$out" "status: REFUSED"
metrics > "$WORK/metrics.check" || die "scrape http://$ADDR:$MPORT/metrics"
[ "$(metric_sum "$WORK/metrics.check" coredns_veil_requests_total 'class="external"')" -ge 7 ] ||
    die "veil did not count the dig queries from $SRC as external"
[ "$(metric_sum "$WORK/metrics.check" coredns_veil_tokens_hidden_total)" -ge 4 ] ||
    die "veil's token filter did not count the hidden tokens"
stop_server
say "answers as expected: stock serves everything; veil hides tokens, refuses AXFR and ANY from $SRC"

# --- dnsperf runs -----------------------------------------------------------

RESULTS="$WORK/results.tsv"
printf 'mix\tconfig\tround\tqps\tp50_ms\tp99_ms\tmax_ms\tlost_pct\tnx_pct\tresp_bytes\tserver_cpu\tdnsperf_cpu\tcore_busy\tus_per_query\tcompleted\n' > "$RESULTS"

dnsperf_cmd() { # query-file seconds [extra args]
    local file=$1 secs=$2
    shift 2
    nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf -s "$ADDR" -p "$PORT" -a "$SRC" -d "$file" -l "$secs" \
        -c "$CLIENTS" -T 1 -q "$OUTSTANDING" -t 2 -W "$@"
}

# field file "label:" prints what follows the label on dnsperf's stats line.
field() { awk -v l="$2" 'index($0, l) { sub(".*" l "[ \t]*", ""); print; exit }' "$1"; }

one_run() { # mix config round
    local mix=$1 cfg=$2 round=$3 out="$WORK/dnsperf.$1.$2.$3" c0 c1 k0 k1 tf
    start_server "$cfg"
    if [ "$WARMUP" -gt 0 ]; then
        dnsperf_cmd "$WORK/queries.$mix" "$WARMUP" >"$out.warmup" 2>&1 || { cat "$out.warmup" >&2; die "dnsperf warm-up ($mix, $cfg) failed"; }
    fi
    c0=$(cpu_ns "$SERVER_PID")
    k0=$(core_busy "$SERVER_CPU")
    tf="$out.time"
    local TIMEFORMAT='%3R %3U %3S'
    { time dnsperf_cmd "$WORK/queries.$mix" "$SECS" -v >"$out" 2>"$out.err"; } 2>"$tf" ||
        { cat "$out.err" "$tf" >&2; tail -20 "$out" >&2; die "dnsperf ($mix, $cfg, round $round) failed"; }
    c1=$(cpu_ns "$SERVER_PID")
    k1=$(core_busy "$SERVER_CPU")
    kill -0 "$SERVER_PID" 2>/dev/null || die "coredns ($cfg) died during the run"

    local qps sent completed lost rcodes resp wall ucpu scpu
    qps=$(field "$out" "Queries per second:")
    sent=$(field "$out" "Queries sent:")
    completed=$(field "$out" "Queries completed:" | awk '{print $1}')
    lost=$(field "$out" "Queries lost:" | awk '{print $1}')
    rcodes=$(field "$out" "Response codes:")
    resp=$(field "$out" "Average packet size:" | sed 's/.*response //')
    read -r wall ucpu scpu < "$tf"
    [ -n "$qps" ] && [ -n "$sent" ] && [ -n "$completed" ] || { tail -20 "$out" >&2; die "cannot parse dnsperf output ($mix, $cfg)"; }
    [ "$completed" -gt 0 ] || die "dnsperf ($mix, $cfg) completed no query"

    # Latency percentiles from the per-query lines of -v ("> RCODE name type
    # seconds"), as a histogram in microseconds (dnsperf's resolution).
    local lat
    lat=$(awk '$1 == ">" && NF == 5 { us = int($5 * 1000000 + 0.5); h[us]++; n++; if (us > mx) mx = us }
        END {
            if (n == 0) { print "0 0 0 0"; exit }
            want50 = 0.50 * n; want99 = 0.99 * n; c = 0; p50 = -1
            for (us = 0; us <= mx; us++) {
                if (!(us in h)) continue
                c += h[us]
                if (p50 < 0 && c >= want50) p50 = us
                if (c >= want99) { p99 = us; break }
            }
            printf "%.3f %.3f %.3f %d\n", p50 / 1000, p99 / 1000, mx / 1000, n
        }' "$out")
    local p50 p99 mx nlat
    read -r p50 p99 mx nlat <<<"$lat"
    [ "$nlat" -eq "$completed" ] || die "$mix, $cfg, round $round: $nlat per-query latencies for $completed completed queries"

    # RCODEs: only NOERROR and NXDOMAIN, in the proportion of the query file.
    local nx_file nx_pct lost_pct other
    nx_file=$(awk '/^nx-/ {n++} END {printf "%.2f", 100 * n / NR}' "$WORK/queries.$mix")
    nx_pct=$(awk -v r="$rcodes" -v c="$completed" 'BEGIN { if (match(r, /NXDOMAIN [0-9]+/)) { split(substr(r, RSTART, RLENGTH), a, " "); printf "%.2f", 100 * a[2] / c } else print "0.00" }')
    other=$(sed 's/([^)]*)//g; s/NOERROR [0-9]*//; s/NXDOMAIN [0-9]*//; s/[ ,]//g' <<<"$rcodes")
    [ -z "$other" ] || die "$mix, $cfg, round $round: unexpected RCODEs: $rcodes"
    awk -v a="$nx_pct" -v b="$nx_file" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1.0) }' ||
        die "$mix, $cfg, round $round: NXDOMAIN $nx_pct % of answers, the query file has $nx_file % ($rcodes)"
    lost_pct=$(awk -v l="${lost:-0}" -v s="$sent" 'BEGIN { printf "%.3f", 100 * l / s }')
    awk -v l="$lost_pct" -v m="$MAX_LOSS" 'BEGIN { exit !(l <= m) }' ||
        die "$mix, $cfg, round $round: $lost_pct % of queries lost (more than $MAX_LOSS %)"

    local srv_cpu perf_cpu busy us_q
    srv_cpu=$(awk -v a="$c0" -v b="$c1" -v w="$wall" 'BEGIN { printf "%.0f", 100 * (b - a) / 1e9 / w }')
    us_q=$(awk -v a="$c0" -v b="$c1" -v n="$completed" 'BEGIN { printf "%.2f", (b - a) / 1e3 / n }')
    perf_cpu=$(awk -v u="$ucpu" -v s="$scpu" -v w="$wall" 'BEGIN { printf "%.0f", 100 * (u + s) / w }')
    busy=$(awk -v a="$k0" -v b="$k1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }')

    # veil: the dnsperf source must have been external, never limited.
    if [ "$cfg" = veil ]; then
        local m="$out.metrics" ext trusted trips limited hidden
        metrics > "$m" || die "scrape http://$ADDR:$MPORT/metrics after $mix round $round"
        ext=$(metric_sum "$m" coredns_veil_requests_total 'class="external"')
        trusted=$(metric_sum "$m" coredns_veil_requests_total 'class="trusted"')
        trips=$(metric_sum "$m" coredns_veil_limiter_trips_total)
        limited=$(metric_sum "$m" coredns_veil_limited_requests_total)
        hidden=$(metric_sum "$m" coredns_veil_tokens_hidden_total)
        [ "$ext" -ge "$completed" ] || die "veil counted $ext external requests, dnsperf completed $completed: the source $SRC was not external"
        [ "$trusted" -le 200 ] || die "veil counted $trusted trusted requests: the benchmark went through the trusted path"
        [ "$trips" -eq 0 ] && [ "$limited" -eq 0 ] || die "the limiter blocked the dnsperf source ($trips trips, $limited limited queries): raise rate/burst"
        [ "$hidden" -gt 0 ] || die "veil hid no token in the $mix mix"
        printf '%s\t%s\t%s\t%s\t%s\n' "$mix" "$round" "$ext" "$hidden" "$(metric_sum "$m" coredns_veil_limiter_collisions_total)" >> "$WORK/veil-metrics.tsv"
    fi
    stop_server

    printf '%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mix" "$cfg" "$round" "$qps" "$p50" "$p99" "$mx" \
        "$lost_pct" "$nx_pct" "$resp" "$srv_cpu" "$perf_cpu" "$busy" "$us_q" "$completed" >> "$RESULTS"
    say "$(printf '%-8s %-5s round %d: %6.0f qps  p50 %s ms  p99 %s ms  lost %s %%  NXDOMAIN %s %%  server %s us/query, CPU %s %%  dnsperf CPU %s %%  core%s busy %s %%' \
        "$mix" "$cfg" "$round" "$qps" "$p50" "$p99" "$lost_pct" "$nx_pct" "$us_q" "$srv_cpu" "$perf_cpu" "$SERVER_CPU" "$busy")"
    if [ "$srv_cpu" -lt 90 ]; then
        say "  warning: the server had only $srv_cpu % of CPU $SERVER_CPU (core busy $busy %): another process shared its core, or dnsperf did not saturate it"
        WARNINGS=$((WARNINGS + 1))
    fi
    if [ "$perf_cpu" -gt 90 ]; then
        say "  warning: dnsperf used $perf_cpu % of CPU $CLIENT_CPU: the client may be the bottleneck"
        WARNINGS=$((WARNINGS + 1))
    fi
    [ "$KEEP" = 1 ] || rm -f "$out" # the per-query lines are large
}

WARNINGS=0
START=$(date +%s)
for mix in $MIXES; do
    for round in $(seq "$ROUNDS"); do
        one_run "$mix" stock "$round"
        one_run "$mix" veil "$round"
    done
done

# --- RSS after many distinct sources -----------------------------------------

RSS_LINES=()
if [ "$SOURCES" -gt 0 ]; then
    for cfg in veil stock; do
        start_server "$cfg"
        sleep 1
        rss0=$(rss_kib)
        say "RSS $cfg: ${rss0} KiB at start; one query (NXDOMAIN) from each of $SOURCES sources from 127.1.0.0"
        taskset -c "$CLIENT_CPU" "$WORK/manysources" -server "$ADDR:$PORT" -first 127.1.0.0 -count "$SOURCES" \
            -qname "nx-manysources.$ZONE." -qtype A -concurrency 256 -timeout 1s -deadline 3m \
            >"$WORK/manysources.$cfg" 2>&1 &
        HELPER_PID=$!
        wait "$HELPER_PID" || { HELPER_PID=""; cat "$WORK/manysources.$cfg" >&2; die "manysources ($cfg) failed"; }
        HELPER_PID=""
        sleep 1
        rss1=$(rss_kib)
        ms=$(head -1 "$WORK/manysources.$cfg")
        used="-"
        if [ "$cfg" = veil ]; then
            metrics > "$WORK/metrics.rss"
            used=$(metric_sum "$WORK/metrics.rss" coredns_veil_limiter_table_slots 'state="used"')
            [ "$(metric_sum "$WORK/metrics.rss" coredns_veil_limiter_trips_total)" -eq 0 ] || die "the limiter tripped in the RSS phase"
        fi
        say "RSS $cfg: ${rss1} KiB after ($ms)"
        RSS_LINES+=("$cfg	$rss0	$rss1	$used	$ms")
        stop_server
    done
fi
END=$(date +%s)

# --- report -------------------------------------------------------------------

median() { sort -g | awk '{a[NR] = $1} END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { # mix config column-name
    awk -F'\t' -v m="$1" -v c="$2" -v k="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) f = i; next } $1 == m && $2 == c { print $f }' "$RESULTS" | median
}

paired() { # mix column-name: the median over rounds of veil/stock, each round's two runs side by side
    awk -F'\t' -v m="$1" -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) f = i; next }
        $1 == m { v[$2, $3] = $f; r[$3] = 1 } END { for (i in r) if (v["stock", i] > 0) print v["veil", i] / v["stock", i] }' "$RESULTS" | median
}

CMD="test/bench/dnsperf.sh"
[ ${#ORIG_ARGS[@]} -eq 0 ] || CMD="$CMD ${ORIG_ARGS[*]}"
ENVS=$(env | grep -E '^BENCH_[A-Z_]+=' | sort | tr '\n' ' ' || true)
DNSPERF_VERSION=$(dnsperf -h 2>&1 | awk '/^Version/ {print $2}')
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)

echo
echo "## veil vs stock CoreDNS: dnsperf"
echo
echo "Command: \`${ENVS}${CMD}\` ($(( (END - START) / 60 )) min $(( (END - START) % 60 )) s after the build)"
echo
echo "CoreDNS v1.15.0 from cmd/coredns, $(go version | awk '{print $3}'), dnsperf $DNSPERF_VERSION; $CPU_MODEL, $(nproc --all) cores."
echo "Server on CPU $SERVER_CPU with GOMAXPROCS=1, dnsperf on CPU $CLIENT_CPU (\`-c $CLIENTS -T 1 -q $OUTSTANDING\`, UDP, no EDNS, from $SRC, external to veil)."
echo "Zone: 1,004 names with the file plugin, cache $CACHE; prometheus and errors in both Corefiles, no log."
echo "veil: \`transfer refuse\`, \`any refuse\`, \`limit\` (rate 50000, burst 10000, ratio 0.8 20 30s, stub 1000000 10000, block 1s, table $TABLE_SLOTS), \`tokens { hide all }\`."
echo "$ROUNDS round(s) x $SECS s per mix and server, alternating stock/veil, a fresh server per run, medians shown."
echo "Latency is dnsperf's per-query figure (-v) under saturation with $OUTSTANDING queries outstanding, so it is mostly queueing: p99 tracks 1/QPS."
echo "Server CPU per query is the server's on-CPU time (/proc/PID/task/*/schedstat) over the queries dnsperf completed; it is less disturbed than QPS when other processes share the server's core."
echo
echo "The machine's speed drifts between runs; a round's stock and veil runs are neighbours in time, so the paired column (median over rounds of veil/stock) is the steadier figure."
echo
echo "| mix | stock QPS | veil QPS | veil/stock QPS | paired veil/stock QPS | stock p99 (ms) | veil p99 (ms) | veil/stock p99 | server CPU per query stock / veil (µs) | veil/stock CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
declare -A RATIO PAIRED
for mix in $MIXES; do
    sq=$(col "$mix" stock qps); vq=$(col "$mix" veil qps)
    sp=$(col "$mix" stock p99_ms); vp=$(col "$mix" veil p99_ms)
    su=$(col "$mix" stock us_per_query); vu=$(col "$mix" veil us_per_query)
    RATIO[$mix]=$(awk -v a="$vq" -v b="$sq" 'BEGIN { printf "%.3f", a / b }')
    PAIRED[$mix]=$(paired "$mix" qps | awk '{ printf "%.3f", $1 }')
    pr=$(awk -v a="$vp" -v b="$sp" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    ur=$(awk -v a="$vu" -v b="$su" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
    case "$mix" in
        positive) label="positive (A 40, AAAA 30, MX 10, TXT 20 %)" ;;
        nxdomain) label="10 % NXDOMAIN" ;;
        txt) label="TXT-heavy (TXT 70 %)" ;;
    esac
    printf '| %s | %.0f | %.0f | %s | %s | %.3f | %.3f | %s | %.2f / %.2f | %s |\n' "$label" "$sq" "$vq" "${RATIO[$mix]}" "${PAIRED[$mix]}" "$sp" "$vp" "$pr" "$su" "$vu" "$ur"
done
echo
awk -F'\t' 'NR > 1 { n++; if (mins == "" || $11 < mins) mins = $11; if ($11 > maxs) maxs = $11; if ($12 > maxp) maxp = $12; if ($12 < minp || minp == "") minp = $12 }
    END { printf "Bottleneck check over %d runs: the server used %d to %d %% of its core, dnsperf %d to %d %% of its own.\n", n, mins, maxs, minp, maxp }' "$RESULTS"
if [ "$WARNINGS" -gt 0 ]; then
    echo "WARNING: $WARNINGS run(s) had the server below 90 % of its core or dnsperf above 90 % of its core (see the log above): figures disturbed."
fi
echo
if [ -n "${RATIO[positive]:-}" ]; then
    if awk -v r="${PAIRED[positive]}" 'BEGIN { exit !(r >= 0.97) }'; then
        verdict="PASS"
    else
        verdict="MISSED"
    fi
    note=""
    if [ "$WARNINGS" -gt 0 ]; then note=" Other processes disturbed $WARNINGS run(s): not conclusive; compare the CPU-per-query column."; fi
    echo "Target \"veil keeps at least 97 % of stock CoreDNS's QPS on the positive mix\": $verdict (veil/stock ${RATIO[positive]}, paired ${PAIRED[positive]}).$note"
    cap=$(awk -v a="$(col positive stock us_per_query)" -v b="$(col positive veil us_per_query)" 'BEGIN { printf "%.3f", a / b }')
    capv=$(awk -v c="$cap" 'BEGIN { print (c >= 0.97) ? "PASS" : "MISSED" }')
    echo "The same target by server CPU per query (the QPS a whole core would give, stock µs / veil µs): $capv ($cap)."
fi
if [ -f "$WORK/veil-metrics.tsv" ]; then
    echo
    echo "veil path check (metrics after each veil run): every query from $SRC counted external, no limiter trip or limited query;"
    awk -F'\t' '{h[$1] += $4; n[$1]++} END { for (m in h) printf "tokens hidden per veil run, %s mix: %d on average\n", m, h[m] / n[m] }' "$WORK/veil-metrics.tsv" | sort
fi
if [ ${#RSS_LINES[@]} -gt 0 ]; then
    echo
    echo "Server RSS (VmRSS) before and after one query from each of $SOURCES distinct external sources (127.1.0.0 up), limiter table $TABLE_SLOTS slots x 16 bytes = $(( TABLE_SLOTS * 16 / 1024 )) KiB:"
    echo
    echo "| server | RSS at start (KiB) | RSS after (KiB) | delta (KiB) | limiter table (KiB) | table slots used | manysources |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for line in "${RSS_LINES[@]}"; do
        IFS=$'\t' read -r cfg r0 r1 used ms <<<"$line"
        tbl="-"
        [ "$cfg" = veil ] && tbl=$(( TABLE_SLOTS * 16 / 1024 ))
        printf '| %s | %d | %d | %+d | %s | %s | %s |\n' "$cfg" "$r0" "$r1" $(( r1 - r0 )) "$tbl" "$used" "$ms"
    done
fi
echo
echo "Corefile without veil (stock):"
echo
echo '```'
cat "$WORK/Corefile.stock"
echo '```'
echo
echo "Corefile with veil:"
echo
echo '```'
cat "$WORK/Corefile.veil"
echo '```'
echo
echo "Per run (raw):"
echo
echo '```'
column -t -s $'\t' "$RESULTS" 2>/dev/null || cat "$RESULTS"
echo '```'
