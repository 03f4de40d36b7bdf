#!/bin/sh
# rdmab-perf runs every test in --loopback against a private daemon, in
# text and JSON, and its figures are positive; bad options exit 2 and a
# missing daemon exits 1.  Quick mode: it proves the tool works and
# asserts nothing about speed.
. "$top_srcdir/tests/lib/lib.sh"

PERF="$top_builddir/bench/rdmab-perf"
[ -x "$PERF" ] || rb_fail "$PERF not built"
command -v python3 >/dev/null || rb_skip "python3 not found"

# No daemon: a clear reason and exit 1, before anything else.
RDMABROKER_SOCKET="$RB_TMP/none.sock" RDMABROKER_QUIET=1 \
	"$PERF" --loopback -n 5 send_lat > "$RB_TMP/out" 2> "$RB_TMP/err"
rc=$?
[ "$rc" -eq 1 ] || rb_fail "no daemon: exit $rc, want 1"
grep -q 'no RDMA devices' "$RB_TMP/err" || rb_fail "no daemon: $(cat "$RB_TMP/err")"

# Usage errors exit 2 and say why; -h and -V exit 0.
for bad in "" "bogus_lat" "-c xx send_lat" "-c ud write_lat" "-s 0 send_lat" \
	"-s 4k send_lat" "-n 5 -D 1 send_lat" "-s 16 atomic_lat" "-S 64 send_lat" \
	"--no-such-option send_lat" "-e write_lat" "--loopback send_lat host" \
	"-c ud -s 8192 send_lat" "send_lat host extra"; do
	# shellcheck disable=SC2086
	"$PERF" $bad > /dev/null 2> "$RB_TMP/err"
	rc=$?
	[ "$rc" -eq 2 ] || rb_fail "rdmab-perf $bad: exit $rc, want 2"
	grep -q 'Usage' "$RB_TMP/err" || rb_fail "rdmab-perf $bad: no usage on stderr"
done
"$PERF" --help | grep -q '^Usage: ' || rb_fail "--help prints no usage"
"$PERF" -V | grep -q '^rdmab-perf ' || rb_fail "-V prints no version"

rb_daemon_start

# check_json FILE TEST NSIZES: a JSON array of NSIZES objects of TEST
# whose figures are all positive.
check_json() {
	python3 - "$@" <<'PY' || rb_fail "bad JSON from $2: $(cat "$1")"
import json, sys
rows = json.load(open(sys.argv[1]))
test, n = sys.argv[2], int(sys.argv[3])
assert isinstance(rows, list) and len(rows) == n, rows
figs = ("lat_min_us", "lat_median_us", "lat_p99_us", "lat_p999_us") \
    if test.endswith("_lat") else ("bw_gbps", "msg_rate_mpps")
for r in rows:
    assert r["test"] == test and r["transport"] in ("RC", "UD"), r
    assert r["size"] > 0 and r["iters"] > 0, r
    for f in figs:
        assert r[f] > 0, (f, r)
    if test.endswith("_lat"):
        assert r["lat_min_us"] <= r["lat_median_us"] <= r["lat_p99_us"] <= r["lat_p999_us"], r
PY
}

# check_text FILE NSIZES: NSIZES table rows, every figure positive.
check_text() {
	awk -v want="$2" '
		/^#/ || /^ *#bytes/ { next }
		{ rows++; for (i = 1; i <= NF; i++) if ($i + 0 <= 0) bad = 1 }
		END { exit !(rows == want && !bad) }' "$1" ||
		rb_fail "bad table: $(cat "$1")"
}

# run NAME NSIZES ARGS...: text and JSON, each must exit 0.
run() {
	name=$1 nsizes=$2
	shift 2
	"$PERF" --loopback "$@" > "$RB_TMP/out" 2> "$RB_TMP/err" ||
		rb_fail "rdmab-perf --loopback $*: exit $?: $(cat "$RB_TMP/err")"
	check_text "$RB_TMP/out" "$nsizes"
	cat "$RB_TMP/out"
	"$PERF" --loopback -j "$@" > "$RB_TMP/out.json" 2> "$RB_TMP/err" ||
		rb_fail "rdmab-perf --loopback -j $*: exit $?: $(cat "$RB_TMP/err")"
	check_json "$RB_TMP/out.json" "$name" "$nsizes"
	echo "ok: $name $*"
}

for t in send_lat write_lat read_lat send_bw write_bw read_bw; do
	run "$t" 3 -n 50 -a -S 4 "$t"
done
run atomic_lat 1 -n 50 atomic_lat
# The other paths: UD, inline, completion events, a larger size, -D.
run send_lat 1 -n 50 -c ud -s 64 send_lat
run send_bw 1 -n 50 -c ud -s 4096 -t 16 send_bw
run send_lat 1 -n 50 -I -e -s 32 send_lat
run send_bw 1 -n 200 -e -t 8 -s 65536 send_bw
run write_bw 1 -n 50 -I -s 64 write_bw
run read_lat 1 -n 50 -e -s 1048576 read_lat
run write_bw 1 -D 1 -s 1024 write_bw

# The client and the server in two processes over TCP.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PERF" -p "$port" write_lat 2> "$RB_TMP/server.err" &
server=$!
ok=
for _ in $(seq 1 50); do
	if "$PERF" -p "$port" -n 50 -s 8 write_lat 127.0.0.1 > "$RB_TMP/out" 2> "$RB_TMP/err"; then
		ok=1
		break
	fi
	sleep 0.1
done
if [ -z "$ok" ]; then
	kill "$server" 2>/dev/null
	wait "$server"
	rb_fail "client over TCP failed: $(cat "$RB_TMP/err")"
fi
wait "$server" || rb_fail "server exited $?: $(cat "$RB_TMP/server.err")"
check_text "$RB_TMP/out" 1

rb_daemon_alive || rb_fail "the daemon died"
rb_pass
