#!/bin/sh
# bench-cm.sh [--quick] [--out DIR]: the connection manager's figures
# (issue 13) on a private daemon with this build's binaries (RB_BUILDDIR):
#  - cmtime's full connect rate (create id, resolve address and route,
#    create QP, connect: N connections over the sum of those steps' wall
#    time) beside the goal of 5,000 a second and rdma-core's cmtime on
#    real NICs (1,000 connections in 0.89 s), in rounds paired with the
#    synchronous path (RDMABROKER_CM_SYNC=1: every step a round trip to
#    the daemon, the QP moved by the library), medians and the load;
#  - perftest's 8-byte latency with the connection made by rdma_cm (-R)
#    beside the same tool connected over TCP (the non-CM figure), as a
#    ratio: the CM must cost nothing once connected.
# Prints a table and writes DIR/cm.json.  Speed is never asserted: the
# ratios are for reading.  Exit 0, or 1 when a program fails.
set -u
quick=
out=./bench-results
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; shift ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: bench-cm.sh [--quick] [--out DIR]" >&2; exit 2 ;;
	esac
done
BENCH_NAME=bench-cm
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
bench_build
rdmactl=$build/rdmactl/rdmactl
command -v cmtime >/dev/null 2>&1 || { echo "bench-cm: rdmacm-utils not installed: skipped"; exit 0; }
mkdir -p "$out" && out=$(cd "$out" && pwd)
spid=
bench_cleanup_hook() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
}
bench_daemon cm '[daemon]
log_level = notice
[limits]
qps = 0
cqs = 0
pds = 0
mrs = 0'

listening() {	# PORT: a CM id or a TCP socket listens on PORT
	"$rdmactl" -s "$tmp/sock" -j res cm_id state LISTEN 2>/dev/null | grep -q ":$1\"" ||
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}
pair() {	# OUT 'SERVER' 'CLIENT': 0 when both exit 0
	port=$((port + 1))
	# shellcheck disable=SC2086
	timeout 120 "$run" $(echo "$2" | sed "s/@PORT@/$port/g") > "$1.server" 2>&1 &
	spid=$!
	for _ in $(seq 1 200); do listening "$port" && break; sleep 0.05; done
	# shellcheck disable=SC2086
	timeout 120 "$run" $(echo "$3" | sed "s/@PORT@/$port/g") > "$1" 2>&1
	rc=$?
	wait "$spid"; src=$?
	spid=
	[ "$rc" -eq 0 ] && [ "$src" -eq 0 ]
}

conns=1000; iters=20000
[ -n "$quick" ] && { conns=100; iters=1000; }

# cmtime: its server never exits; stopped when the client is done.
# cmtime_round OUT [ENV=VALUE]: one client run of N connections; prints
# the full connect time in ms.
cmtime_round() {
	o=$1; shift
	port=$((port + 1))
	env "$@" timeout 300 "$run" cmtime -b 127.0.0.1 -p "$port" > "$tmp/cmtime.server" 2>&1 &
	spid=$!
	for _ in $(seq 1 200); do listening "$port" && break; sleep 0.05; done
	env "$@" timeout 300 "$run" cmtime -s 127.0.0.1 -p "$port" -c "$conns" > "$o" 2>&1 ||
		{ echo "bench-cm: cmtime failed: $(tail -3 "$o")" >&2; return 1; }
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; spid=
	# The next round starts once the daemon has freed this one's 2,000
	# ids and QPs, not while it tears them down.
	for _ in $(seq 1 100); do
		[ "$("$rdmactl" -s "$tmp/sock" -j res 2>/dev/null)" = "[]" ] && break
		sleep 0.05
	done
	grep -q 'REJECTED\|failure' "$o" &&
		{ echo "bench-cm: some of cmtime's connections failed: $(grep -m1 'REJECTED\|failure' "$o")" >&2; return 1; }
	awk -F: '/^(create id|resolve addr|resolve route|create qp|connect) *:/ {
		split($2, f, " "); t += f[1] } END { printf "%.2f\n", t }' "$o"
}
rounds=5
[ -n "$quick" ] && rounds=1
load0=$(cut -d' ' -f1 /proc/loadavg)
: > "$tmp/async.ms"; : > "$tmp/sync.ms"
for r in $(seq 1 "$rounds"); do
	cmtime_round "$tmp/cmtime-sync.txt" RDMABROKER_CM_SYNC=1 >> "$tmp/sync.ms" || exit 1
	cmtime_round "$out/cmtime.txt" RDMABROKER_CM_SYNC=0 >> "$tmp/async.ms" || exit 1
done
load1=$(cut -d' ' -f1 /proc/loadavg)
full_ms=$(bench_median < "$tmp/async.ms")
sync_ms=$(bench_median < "$tmp/sync.ms")
rate=$(awk -v n="$conns" -v ms="$full_ms" 'BEGIN { printf "%.0f", (ms > 0 ? n * 1000 / ms : 0) }')
sync_rate=$(awk -v n="$conns" -v ms="$sync_ms" 'BEGIN { printf "%.0f", (ms > 0 ? n * 1000 / ms : 0) }')

rows=
for tool in ib_send_lat ib_read_lat; do
	command -v "$tool" >/dev/null 2>&1 || continue
	pair "$tmp/$tool-tcp" "$tool -d rbsoft0 -x 0 -s 8 -n $iters -p @PORT@" \
		"$tool -d rbsoft0 -x 0 -s 8 -n $iters -p @PORT@ 127.0.0.1" || { echo "bench-cm: $tool failed" >&2; exit 1; }
	pair "$tmp/$tool-cm" "$tool -R -d rbsoft0 -s 8 -n $iters -p @PORT@" \
		"$tool -R -d rbsoft0 -s 8 -n $iters -p @PORT@ 127.0.0.1" || { echo "bench-cm: $tool -R failed" >&2; exit 1; }
	a=$(bench_typical "$tmp/$tool-tcp"); b=$(bench_typical "$tmp/$tool-cm")
	rows="$rows$tool $a $b
"
done

{
	echo "connection manager (issue 13), $(date -u +%Y-%m-%dT%H:%M:%SZ)$([ -n "$quick" ] && echo ', --quick: figures mean nothing')"
	echo
	echo "cmtime -c $conns, full connects (create id .. connect), on one host, last round:"
	awk '/^[a-z ]+:/ { print "  " $0 }' "$out/cmtime.txt"
	printf '  median of %d rounds: %d connects in %s ms = %s/s; x%.2f the goal of 5,000/s; x%.2f rdma-core cmtime on NICs (1,000 in 0.89 s)\n' \
		"$rounds" "$conns" "$full_ms" "$rate" "$(awk -v r="$rate" 'BEGIN { print r / 5000 }')" \
		"$(awk -v r="$rate" 'BEGIN { print r / (1000 / 0.89) }')"
	printf '  paired, every step a round trip (RDMABROKER_CM_SYNC=1): %s ms = %s/s; asynchronous x%.2f; load average %s -> %s\n' \
		"$sync_ms" "$sync_rate" "$(awk -v a="$rate" -v b="$sync_rate" 'BEGIN { print (b > 0 ? a / b : 0) }')" \
		"$load0" "$load1"
	echo "  rounds (ms): asynchronous $(tr '\n' ' ' < "$tmp/async.ms")/ every step a round trip $(tr '\n' ' ' < "$tmp/sync.ms")"
	echo
	echo "8-byte latency (perftest t_typical, us): connected over TCP vs by rdma_cm (-R)"
	echo "$rows" | awk 'NF == 3 { printf "  %-12s %8s %8s   -R/TCP x%.2f\n", $1, $2, $3, ($2 > 0 ? $3 / $2 : 0) }'
	echo "  (one pair of runs each; with -R ib_read_lat's idle server spins on its CQ: make bench-cm-readlat, docs/cm.md)"
} | tee "$out/cm-summary.txt"
echo "$rows" | awk -v n="$conns" -v ms="$full_ms" -v r="$rate" -v sms="$sync_ms" -v sr="$sync_rate" '
	BEGIN { printf "{\"cmtime\":{\"connections\":%d,\"full_ms\":%s,\"per_s\":%s,\"sync_full_ms\":%s,\"sync_per_s\":%s},\"latency_8b_us\":{", n, ms, r, sms, sr; sep = "" }
	NF == 3 { printf "%s\"%s\":{\"tcp\":%s,\"cm\":%s}", sep, $1, $2, $3; sep = "," }
	END { print "}}" }' > "$out/cm.json"
