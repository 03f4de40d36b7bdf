#!/bin/sh
# The verbs driver shares its device between users as the soft engine
# does (drivers/verbs/verbs-sched.c), tested by nesting: an outer
# rdmabrokerd with the soft device, an inner one with only [verbs], run
# under rdmab-run -s OUTER.sock.  All from the inner daemon's own counters:
#   - uid 4242's ibv_rc_pingpong -n 100 -s 4096 through the inner daemon
#     is counted exactly in `rdmactl stat` (200 WRs and 819,200 bytes
#     each way, 400 completions, no error);
#   - two unprivileged users saturating it with 4 MiB WRITEs, weights 1
#     and 3, get 1:3 of the bytes within 10 % (rdmactl limits);
#   - a bandwidth cap of 100 MB/s and a message rate cap of 40/s, set at
#     run time, hold within 5 %, and the capped user's time held back is
#     counted (rdmactl limits, rdmactl stat); lifted, it is no longer held;
#   - a third user's 32 MiB of SENDs that never complete (the peer posts
#     no receive, RNR retried for ever) do not stop the two streams,
#     though they fill the driver's send window.
# Rates come from the daemon's counters and clock over windows of
# seconds, as in integration/sched-share.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/tenant-lib.sh"
. "$top_srcdir/tests/lib/pingpong-lib.sh"
. "$top_srcdir/tests/lib/nest-lib.sh"

command -v ibv_rc_pingpong >/dev/null 2>&1 || rb_skip "ibv_rc_pingpong (ibverbs-utils) not installed"
command -v setpriv >/dev/null 2>&1 || rb_skip "setpriv (util-linux) not installed"
command -v setsid >/dev/null 2>&1 || rb_skip "setsid (util-linux) not installed"
[ "$(id -u)" -eq 0 ] || rb_skip "needs root to run clients as other users"
PERF="$top_builddir/bench/rdmab-perf"
[ -x "$PERF" ] || rb_fail "no $PERF"
U1=64901
U3=64903
U5=64905
chmod 755 "$RB_TMP"
setpriv --reuid=$U1 --regid=$U1 --clear-groups test -x "$PERF" ||
	rb_skip "an unprivileged user cannot reach the build tree $top_builddir"

# The outer daemon: the soft device.
nest_outer_start

# The inner daemon: only the verbs driver, over the outer's rbsoft0.
INNER_SOCK=$RB_TMP/inner.sock
nest_conf "$RB_TMP/inner.conf"
cat >> "$RB_TMP/inner.conf" <<EOF
[limits $U3]
weight = 3
EOF
STREAMS=
# The streams go first at exit, before the daemons.
nest_exit_hook() {
	for p in $STREAMS; do
		kill -KILL "-$p" 2>/dev/null
	done
}
nest_start inner "$RB_TMP/inner.conf"
INNER_PID=$NEST_PID
# From here on, clients and rdmactl talk to the inner daemon.
nest_use inner "$INNER_PID"

# ---- exact counts of a known ping-pong, per user
cat > "$RB_TMP/as-other" <<EOS
#!/bin/sh
exec setpriv --reuid=4242 --regid=4242 --clear-groups "$RB_RUN" "\$@"
EOS
chmod 755 "$RB_TMP/as-other"
RB_RUN_SAVED=$RB_RUN
RB_RUN="$RB_TMP/as-other"
pp_run pp 100 ibv_rc_pingpong -s 4096
RB_RUN=$RB_RUN_SAVED

# Each side sends 100 WRs of 4096 bytes and receives 100.
for kv in wrs_sent=200 bytes_sent=819200 wrs_recv=200 bytes_recv=819200 completions=400 errors=0 throttled_ns=0; do
	v=$(stat_field user "${kv%%=*}" uid 4242)
	[ "$v" = "${kv#*=}" ] || rb_fail "user 4242 on the inner daemon: ${kv%%=*} is $v, want ${kv#*=}"
done
rb_log "ibv_rc_pingpong -n 100 -s 4096 of uid 4242 counted exactly: $("$RB_RDMACTL" stat user uid 4242 | tr -s ' \n' ' ')"

# ---- two users saturating the device
stream $U1
stream $U3
wait_moving $U1
wait_moving $U3
sleep 1

# ---- weights 1:3, both over the same seconds
weights_ratio $U1 $U3
r1=$ra r3=$rb
rb_log "weights 1:3 through the verbs driver: uid $U1 $r1 B/s, uid $U3 $r3 B/s, ratio $ratio"
within "$ratio" 3 0.10 || rb_fail "weights 1:3 gave 1:$ratio of the bytes ($r1 and $r3 B/s)"
set -- $(use $U1)
[ "$3" -eq 0 ] || rb_fail "uid $U1 counted as held back with no cap ($3 ns)"

# ---- a bandwidth cap, set at run time
"$RB_RDMACTL" limits set uid $U3 bandwidth 100000000 || rb_fail "limits set bandwidth"
sleep 1
r=$(rate $U3 4 | cut -d' ' -f1)
rb_log "bandwidth cap 100000000 B/s: uid $U3 moved $r B/s"
within "$r" 100000000 0.05 || rb_fail "a cap of 100 MB/s gave $r B/s"
set -- $(use $U3)
[ "$3" -gt 0 ] || rb_fail "uid $U3 capped but never counted as held back"
[ "$5" -gt 0 ] || rb_fail "the capped client never counted as held back"
"$RB_RDMACTL" -j stat > "$RB_TMP/stat.json" || rb_fail "rdmactl -j stat"
python3 -c '
import json, sys
ok = any(e.get("uid") == int(sys.argv[2]) and e.get("throttled_ns", 0) > 0
         for e in json.load(open(sys.argv[1])))
sys.exit(0 if ok else 1)' "$RB_TMP/stat.json" $U3 ||
	rb_fail "rdmactl stat shows no time held back for uid $U3"
r1=$(rate $U1 2 | cut -d' ' -f1)
rb_log "beside it, uid $U1 moved $r1 B/s"

# ---- a message rate cap instead
"$RB_RDMACTL" limits set uid $U3 bandwidth 0 || rb_fail "limits set bandwidth 0"
"$RB_RDMACTL" limits set uid $U3 message_rate 40 || rb_fail "limits set message_rate"
sleep 1
m=$(rate $U3 5 | cut -d' ' -f2)
rb_log "message rate cap 40/s: uid $U3 posted $m WRs/s"
within "$m" 40 0.05 || rb_fail "a cap of 40 WRs/s gave $m WRs/s"

# ---- lifted: the user is served again at once
"$RB_RDMACTL" limits set uid $U3 message_rate 0 || rb_fail "limits set message_rate 0"
sleep 1
set -- $(use $U3)
t0=$3
sleep 1
set -- $(use $U3)
[ "$3" -eq "$t0" ] || rb_fail "uid $U3 still held back with no cap ($t0 -> $3 ns)"

# ---- a user whose sends never complete
# Beside the streams (each at least a quarter of what it moved before):
# without the driver forgetting a window that stays full, the streams'
# 4 MiB WRITEs would wait for room for ever.
b1=$(rate $U1 2 | cut -d' ' -f1)
b3=$(rate $U3 2 | cut -d' ' -f1)
setsid setpriv --reuid=$U5 --regid=$U5 --clear-groups \
	"$top_builddir/tests/integration/verbs-sched-stuck" 8 4194304 \
	>"$RB_TMP/stuck.out" 2>&1 &
STREAMS="$STREAMS $!"
for _ in $(seq 1 100); do
	grep -q stuck "$RB_TMP/stuck.out" && break
	sleep 0.1
done
grep -q stuck "$RB_TMP/stuck.out" || rb_fail "verbs-sched-stuck: $(cat "$RB_TMP/stuck.out")"
sleep 1
s1=$(rate $U1 3 | cut -d' ' -f1)
s3=$(rate $U3 3 | cut -d' ' -f1)
rb_log "beside 32 MiB of sends that never complete: uid $U1 $s1 B/s (before $b1), uid $U3 $s3 B/s (before $b3)"
awk -v s="$s1" -v b="$b1" 'BEGIN { exit !(s >= b / 4) }' ||
	rb_fail "uid $U1 slowed from $b1 to $s1 B/s beside another user's stuck sends"
awk -v s="$s3" -v b="$b3" 'BEGIN { exit !(s >= b / 4) }' ||
	rb_fail "uid $U3 slowed from $b3 to $s3 B/s beside another user's stuck sends"
# ... and they did fill the window: all 8 went to the device.
set -- $(use $U5)
[ "$1" -ge $((8 * 4194304)) ] || rb_fail "the stuck user's 8 SENDs were not all posted ($1 bytes)"

for p in $STREAMS; do
	kill -TERM "-$p" 2>/dev/null
done
STREAMS=
kill -0 "$INNER_PID" 2>/dev/null || rb_fail "the inner daemon died"
kill -0 "$OUTER_PID" 2>/dev/null || rb_fail "the outer daemon died"
if grep -E '^<[0-3]>' "$RB_TMP/inner.log" >&2; then
	rb_fail "the inner daemon logged errors (above)"
fi
rb_daemon_stop
RB_DAEMON_PID=$OUTER_PID
rb_daemon_stop
rb_pass
