#!/bin/sh
# bench/baseline in a quick mode: every baseline runs, prints a table and
# -j JSON that parse, with positive figures; bad options exit 2.  Speed is
# never asserted; this VM's timing says nothing.
. "$top_srcdir/tests/lib/lib.sh"

BASE="$top_builddir/bench/baseline"
[ -x "$BASE" ] || rb_fail "$BASE not built"
command -v python3 >/dev/null 2>&1 || rb_skip "python3 not installed"
quick="-n 20 -s 8 -s 4K"

# run NAME ARGS...: run it, keep its output in $RB_TMP/NAME, fail on error.
run() {
	name=$1
	shift
	"$BASE" "$@" >"$RB_TMP/$name" 2>"$RB_TMP/$name.err" ||
		rb_fail "baseline $* exited $?: $(cat "$RB_TMP/$name.err")"
	[ -s "$RB_TMP/$name.err" ] && rb_fail "baseline $* wrote to stderr: $(cat "$RB_TMP/$name.err")"
	cat "$RB_TMP/$name"
}

# table NAME ROWS COLS: ROWS lines of COLS positive numbers, the first
# two (bytes, count) integers, the sizes 8 and 4096 in turn.
table() {
	awk -v rows="$2" -v cols="$3" '
		/^#/ { next }
		{
			n++
			if (NF != cols) { print "line " NR ": " NF " fields, want " cols; bad = 1 }
			want = (n % 2) ? 8 : 4096
			if ($1 != want) { print "line " NR ": size " $1 ", want " want; bad = 1 }
			if ($2 !~ /^[0-9]+$/ || $2 < 20) { print "line " NR ": count " $2; bad = 1 }
			for (i = 3; i <= NF; i++)
				if ($i !~ /^[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$/ || $i + 0 <= 0) {
					print "line " NR ": field " i " is " $i; bad = 1
				}
		}
		END {
			if (n != rows) { print n " rows, want " rows; bad = 1 }
			exit bad
		}' "$RB_TMP/$1" || rb_fail "$1: bad table"
}

# json NAME TEST...: a JSON array of one object per size for each TEST.
json() {
	name=$1
	shift
	python3 - "$RB_TMP/$name" "$@" <<'PY' || rb_fail "$name: bad JSON"
import json, sys
rows = json.load(open(sys.argv[1]))
want = [(t, s) for t in sys.argv[2:] for s in (8, 4096)]
got = [(r["test"], r["size"]) for r in rows]
assert got == want, f"rows {got}, want {want}"
for r in rows:
    if r["test"].endswith("_lat"):
        assert r["iters"] == 20, r
        for k in ("rtt_us", "oneway_us"):
            d = r[k]
            assert 0 < d["min"] <= d["median"] <= d["p99"] <= d["p99_9"], r
            # The mean (what ibv_rc_pingpong reports) lies between the
            # extremes (of 20, the 99.9th percentile is the largest), six
            # digits of rounding aside.
            assert d["min"] * (1 - 1e-5) <= d["avg"] <= d["p99_9"] * (1 + 1e-5), r
        # Both are printed rounded (to 0.01, and to 6 significant digits
        # past 10 ms): the one-way median is half the round trip's up to
        # that rounding, never more.
        rtt = r["rtt_us"]["median"]
        assert abs(r["oneway_us"]["median"] * 2 - rtt) <= max(0.02, rtt * 1e-5), r
        if r["test"] in ("relay_lat", "chain_lat"):
            assert r["spin_us"] in (0, 200), r
        if r["test"] == "unix_poll_lat":
            assert r["spin_us"] == 100, r
    else:
        assert r["msgs"] >= 20 and r["seconds"] > 0, r
        assert r["gb_per_s"] > 0 and r["mmsg_per_s"] > 0, r
PY
}

run relay relay $quick
table relay 2 8
run relay.json relay -j $quick
json relay.json relay_lat

# No spin: the relay sleeps after every message and each one needs a
# doorbell; a lost wake-up would stall and fail here.
run relay0.json relay -j --spin-us 0 -n 20 -s 8 -s 4096
json relay0.json relay_lat

# Two relays in a chain (the floor of a daemon nested over another):
# every message crosses four hand-offs, each a lost wake-up away from a
# stall when the relays sleep after every message.
run chain relay --chain $quick
table chain 2 8
run chain.json relay --chain -j $quick
json chain.json chain_lat
run chain0.json relay --chain -j --spin-us 0 -n 20 -s 8 -s 4096
json chain0.json chain_lat

run shm relay --two-party $quick
table shm 2 8
run shm.json relay --two-party -j $quick
json shm.json shm_lat

run memcpy memcpy --min-ms 2 $quick
table memcpy 2 5
run memcpy.json memcpy -j --min-ms 2 $quick
json memcpy.json memcpy_bw

run unix unix --min-ms 2 $quick
# Two tables: latency, then stream.
awk '/^#/ { next } NF == 8 { l++ } NF == 5 { b++ } END { exit !(l == 2 && b == 2) }' \
	"$RB_TMP/unix" || rb_fail "unix: want 2 latency and 2 stream lines"
grep '^ ' "$RB_TMP/unix" | head -2 > "$RB_TMP/unix.lat"
grep '^ ' "$RB_TMP/unix" | tail -2 > "$RB_TMP/unix.bw"
table unix.lat 2 8
table unix.bw 2 5
run unix.json unix -j --min-ms 2 $quick
json unix.json unix_lat unix_bw
# Polled receives: the latency alone, under its own name.
run unixpoll.json unix -j --spin-us 100 $quick
json unixpoll.json unix_poll_lat

# The control verbs' system calls: two rows, each a positive median.
run ctlwork.json ctlwork -j -n 20
python3 - "$RB_TMP/ctlwork.json" <<'PY' || rb_fail "ctlwork: bad JSON"
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["test"] for r in rows] == ["qp_work", "mr_work"], rows
for r in rows:
    assert r["iters"] == 20 and 0 < r["us"]["min"] <= r["us"]["median"] <= r["us"]["p99"], r
PY

# Help names every command; misuse exits 2 before anything runs.
"$BASE" --help > "$RB_TMP/help" || rb_fail "--help failed"
for c in relay memcpy unix ctlwork; do
	grep -q "^  $c " "$RB_TMP/help" || rb_fail "--help does not name $c"
done
"$BASE" relay -h > /dev/null || rb_fail "relay -h failed"
bad() {
	"$BASE" "$@" >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] || rb_fail "baseline $*: exit $rc, want 2"
}
bad
bad nosuch
bad relay --nosuch
bad relay -n 0
bad relay -n x
bad relay -s 0
bad relay -s 65M
bad relay -s 8 -a
bad relay extra
bad relay --spin-us -1
bad memcpy --spin-us 5
bad memcpy --two-party
bad memcpy --chain
bad relay --chain --two-party
bad unix --two-party
bad ctlwork --spin-us 5
bad unix --spin-us 1000001
bad relay --min-ms 5
bad memcpy --min-ms 0
rb_pass
