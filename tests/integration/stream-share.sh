#!/bin/sh
# An engine in a stream that shares its core moves to its poller's core
# (daemon/loop.c, loop_shared; docs/performance.md, "A stream that shares
# its core"):
#  - the engine pinned to CPU 0 beside a busy loop pinned there, a stream
#    of 8 MiB WRITEs (rdmab-perf --loopback write_bw, pinned to CPU 1)
#    makes it log that it had less than its core in a stream, and it
#    stays in its mask: no move is logged;
#  - its mask widened again in the middle of such a stream (it runs on
#    CPU 0 then, and never sleeps), it moves to its poller's CPU
#    ("a stranger keeps CPU 0, to a poller's CPU 1"), in one of up to
#    five runs (the balancer may move it first); its mask stays as wide;
#  - every stream completes (rdmab-perf exits 0); the daemon logs no
#    error.
. "$top_srcdir/tests/lib/lib.sh"

PERF=$top_builddir/bench/rdmab-perf
command -v taskset >/dev/null 2>&1 || rb_skip "no taskset"
[ "$(nproc)" -ge 2 ] || rb_skip "one CPU: no other core to move to"
taskset -p -c 0,1 $$ >/dev/null 2>&1 || rb_skip "CPUs 0 and 1 are not both ours"
unset RDMABROKER_POLL_SLEEP_US RDMABROKER_POLL_MOVE
rb_cpu_lock
rb_daemon_start
mask0=$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$RB_DAEMON_PID/status")

taskset -c 0 sh -c 'while :; do :; done' &
loop=$!
trap 'kill "$loop" 2>/dev/null; rb_cleanup' EXIT

# stream N: 8 MiB WRITEs from CPU 1, in the background ($sp).
stream() {
	taskset -c 1 timeout 120 "$PERF" --loopback -s 8388608 -n "$1" write_bw \
		>"$RB_TMP/perf.out" 2>&1 &
	sp=$!
}
moves() { grep -c "to a poller's CPU" "$RB_LOG"; }
shared() { grep -c "us on its core in a stream" "$RB_LOG"; }

# Pinned: it sees the loop, and stays.
taskset -p -c 0 "$RB_DAEMON_PID" >/dev/null || rb_fail "cannot pin the engine"
stream 200
wait "$sp" || rb_fail "rdmab-perf failed: $(cat "$RB_TMP/perf.out")"
rb_log "pinned beside the loop: $(tail -n 1 "$RB_TMP/perf.out"); $(shared) windows shared, $(moves) moves"
[ "$(shared)" -ge 1 ] || rb_fail "the engine beside a busy loop on its one CPU never said it shared its core"
[ "$(moves)" = 0 ] || rb_fail "the engine moved out of its mask: $(grep "to a poller's CPU" "$RB_LOG")"

# Widened mid-stream: it moves to CPU 1, where its poller is.
moved=0
for try in 1 2 3 4 5; do
	taskset -p -c 0 "$RB_DAEMON_PID" >/dev/null || rb_fail "cannot pin the engine"
	stream 400
	sleep 0.2
	taskset -p -c "$mask0" "$RB_DAEMON_PID" >/dev/null || rb_fail "cannot unpin the engine"
	wait "$sp" || rb_fail "rdmab-perf failed: $(cat "$RB_TMP/perf.out")"
	rb_log "run $try, unpinned mid-stream: $(tail -n 1 "$RB_TMP/perf.out"); $(moves) moves so far"
	if grep -q "a stranger keeps CPU 0, to a poller's CPU 1" "$RB_LOG"; then
		moved=1
		break
	fi
done
[ "$moved" = 1 ] || rb_fail "the engine never moved to its poller's CPU in five streams: $(grep "engine:" "$RB_LOG" | tail -n 5)"
m=$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$RB_DAEMON_PID/status")
[ "$m" = "$mask0" ] || rb_fail "the engine's mask is $m after its move, not $mask0"

kill "$loop"
wait "$loop" 2>/dev/null
rb_daemon_finish
rb_pass
