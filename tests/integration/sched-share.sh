#!/bin/sh
# The engine's fairness, measured by its own counters (rdmactl limits:
# bytes and work requests per user, with the daemon's clock): two
# unprivileged users saturating the engine with 4 MiB WRITEs, weights 1
# and 3, get 1:3 of the bytes within 10 %; a bandwidth cap of 100 MB/s and
# a message rate cap set at run time hold within 5 %, and the time the
# capped user was held back is counted, for it and for its client.
# Each stream keeps 24 GiB or more of WRITEs queued, so a client the
# machine does not run for a while still has work queued; the rates come
# from the daemon's counters over windows of seconds, never from a wall
# clock.
. "$top_srcdir/tests/lib/lib.sh"

command -v setpriv >/dev/null 2>&1 || rb_skip "setpriv (util-linux) not installed"
command -v setsid >/dev/null 2>&1 || rb_skip "setsid (util-linux) not installed"
[ "$(id -u)" -eq 0 ] || rb_skip "needs root to run clients as other users"
PERF="$top_builddir/bench/rdmab-perf"
[ -x "$PERF" ] || rb_fail "no $PERF"
# Two users that need no passwd entry.
U1=64901
U3=64903
chmod 755 "$RB_TMP"
setpriv --reuid=$U1 --regid=$U1 --clear-groups test -x "$PERF" ||
	rb_skip "an unprivileged user cannot reach the build tree $top_builddir"

cat > "$RB_CONF" <<EOC
[daemon]
log_level = info
[limits $U3]
weight = 3
EOC
rb_daemon_start

STREAMS=
sched_cleanup() {
	for p in $STREAMS; do
		kill -KILL "-$p" 2>/dev/null
	done
	rb_cleanup
}
trap sched_cleanup EXIT

# stream UID: a loopback write_bw of UID in a process group of its own,
# 4 MiB WRITEs, 6144 to 8192 queued (24-32 GiB: seconds of work, so a
# client the machine does not run for a while still has work queued).
stream() {
	setsid setpriv --reuid="$1" --regid="$1" --clear-groups \
		"$PERF" --loopback -e -s 4194304 -t 8192 -D 600 write_bw \
		>"$RB_TMP/stream.$1" 2>&1 &
	STREAMS="$STREAMS $!"
}

# raw UID FILE: rdmactl -j limits of UID into FILE.  Readings are taken
# raw, one right after another, and parsed afterwards: a tool run between
# two readings takes CPU from the engine on a 2-CPU machine, so a window
# that holds it sees a slower engine than one that does not.
raw() { "$RB_RDMACTL" -j limits uid "$1" > "$2" || rb_fail "rdmactl -j limits uid $1"; }

# parse FILE: "bytes wrs throttled_ns now_ns client_throttled_ns" (the
# last: the most any of the user's clients was held back).
parse() {
	python3 -c '
import json, sys
e = json.load(open(sys.argv[1])).get("engine")
if not e:
    print("0 0 0 0 0")
else:
    print(e["bytes"], e["wrs"], e["throttled_ns"], e["now_ns"],
          max([c["throttled_ns"] for c in e["clients"]] + [0]))' "$1"
}

# use UID: parse of a reading of UID now.
use() { raw "$1" "$RB_TMP/use.json"; parse "$RB_TMP/use.json"; }

# wait_moving UID: until the engine moves bytes for UID.
wait_moving() {
	for _ in $(seq 1 600); do
		set -- "$1" $(use "$1")
		[ "$2" -gt 0 ] && return 0
		sleep 0.1
	done
	cat "$RB_TMP/stream.$1" >&2
	rb_fail "uid $1: no bytes moved within 60 s"
}

# rate UID SECS: bytes/s and WRs/s of UID over SECS, by the daemon's clock.
rate() {
	raw "$1" "$RB_TMP/a.json"
	sleep "$2"
	raw "$1" "$RB_TMP/b.json"
	echo "$(parse "$RB_TMP/a.json") $(parse "$RB_TMP/b.json")" | awk '{ dt = ($9 - $4) / 1e9; if (dt <= 0) dt = 1e-9
		printf "%.0f %.3f\n", ($6 - $1) / dt, ($7 - $2) / dt }'
}

# within V WANT TOL: |V / WANT - 1| <= TOL
within() {
	awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN { r = v / w; exit !(r >= 1 - t && r <= 1 + t) }'
}

stream $U1
stream $U3
wait_moving $U1
wait_moving $U3
sleep 1

# ---- weights 1:3
# Both over the same seconds, the second window inside the first and
# centred on it: the machine's load moves both alike.
raw $U1 "$RB_TMP/a1.json"; raw $U3 "$RB_TMP/a3.json"
sleep 5
raw $U3 "$RB_TMP/b3.json"; raw $U1 "$RB_TMP/b1.json"
a1=$(parse "$RB_TMP/a1.json"); b1=$(parse "$RB_TMP/b1.json")
a3=$(parse "$RB_TMP/a3.json"); b3=$(parse "$RB_TMP/b3.json")
r1=$(echo "$a1 $b1" | awk '{ printf "%.0f\n", ($6 - $1) / (($9 - $4) / 1e9) }')
r3=$(echo "$a3 $b3" | awk '{ printf "%.0f\n", ($6 - $1) / (($9 - $4) / 1e9) }')
ratio=$(awk -v a="$r1" -v b="$r3" 'BEGIN { printf "%.3f", b / a }')
rb_log "weights 1:3: uid $U1 $r1 B/s, uid $U3 $r3 B/s, ratio $ratio"
within "$ratio" 3 0.10 || rb_fail "weights 1:3 gave 1:$ratio of the bytes ($r1 and $r3 B/s)"
set -- $(use $U1)
[ "$3" -eq 0 ] || rb_fail "uid $U1 counted as held back with no cap ($3 ns)"

# ---- a bandwidth cap, set at run time
"$RB_RDMACTL" limits set uid $U3 bandwidth 100000000 || rb_fail "limits set bandwidth"
"$RB_RDMACTL" limits uid $U3 | grep -Eq 'bandwidth limit 100000000' ||
	rb_fail "rdmactl limits does not show the bandwidth set"
sleep 1
r=$(rate $U3 4 | cut -d' ' -f1)
rb_log "bandwidth cap 100000000 B/s: uid $U3 moved $r B/s"
within "$r" 100000000 0.05 || rb_fail "a cap of 100 MB/s gave $r B/s"
set -- $(use $U3)
[ "$3" -gt 0 ] || rb_fail "uid $U3 capped but never counted as held back"
[ "$5" -gt 0 ] || rb_fail "the capped client never counted as held back"
# rdmactl stat (the per-tenant metrics) has it too, for the user's clients.
"$RB_RDMACTL" -j stat > "$RB_TMP/stat.json" || rb_fail "rdmactl -j stat"
python3 -c '
import json, sys
def walk(o):
    if isinstance(o, dict):
        yield o
        for v in o.values():
            yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)
ok = any(o.get("uid") == int(sys.argv[2]) and o.get("throttled_ns", 0) > 0
         for o in walk(json.load(open(sys.argv[1]))))
sys.exit(0 if ok else 1)' "$RB_TMP/stat.json" $U3 ||
	rb_fail "rdmactl stat shows no time held back for uid $U3: $(cat "$RB_TMP/stat.json")"
r1=$(rate $U1 2 | cut -d' ' -f1)
rb_log "beside it, uid $U1 moved $r1 B/s"

# ---- a message rate cap instead
"$RB_RDMACTL" limits set uid $U3 bandwidth 0 || rb_fail "limits set bandwidth 0"
"$RB_RDMACTL" limits set uid $U3 message_rate 40 || rb_fail "limits set message_rate"
sleep 1
m=$(rate $U3 5 | cut -d' ' -f2)
rb_log "message rate cap 40/s: uid $U3 started $m WRs/s"
within "$m" 40 0.05 || rb_fail "a cap of 40 WRs/s gave $m WRs/s"

# ---- lifted: the user is served again at once
"$RB_RDMACTL" limits set uid $U3 message_rate 0 || rb_fail "limits set message_rate 0"
sleep 1
set -- $(use $U3)
t0=$3
sleep 1
set -- $(use $U3)
[ "$3" -eq "$t0" ] || rb_fail "uid $U3 still held back with no cap ($t0 -> $3 ns)"

for p in $STREAMS; do
	kill -TERM "-$p" 2>/dev/null
done
STREAMS=
rb_daemon_alive || rb_fail "the daemon died"
if grep -E '^<[0-3]>' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
rb_daemon_stop
rb_pass
