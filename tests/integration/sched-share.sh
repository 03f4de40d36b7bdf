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
. "$top_srcdir/tests/lib/tenant-lib.sh"

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

stream $U1
stream $U3
wait_moving $U1
wait_moving $U3
sleep 1

# ---- weights 1:3
weights_ratio $U1 $U3
r1=$ra r3=$rb
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
