#!/bin/sh
# A poller whose yields hand its core to something that keeps it spins
# through its empty polls instead, unless the engine shares that core
# (librdmabroker(7), "The fast path"; libclient/cq.c rbc_poll_yield,
# daemon/cq.c cq_push's producer_cpu), through tests/integration/cq-sleep.c
# recv (a thread polls the receiving CQ while the main thread sends 100
# 8-byte SENDs 2 ms apart), the program pinned to CPU 1 beside a busy loop
# pinned there too:
#  - the daemon on CPU 0: after the first completion tells where the
#    engine runs, each yield comes back a slice late and the poller stops
#    yielding: it holds its core at least a fifth of the time it polls
#    (a poller that yields every 64th empty poll held it 0.7 %: the busy
#    loop takes a slice at each yield);
#  - the daemon on CPU 1, the poller's core: it keeps yielding, under a
#    tenth of the time;
# both with ibv_poll_cq and with the extended API; every SEND arrives,
# in order and intact (cq-sleep checks); the daemon logs no error.
. "$top_srcdir/tests/lib/lib.sh"

prog=$top_builddir/tests/integration/cq-sleep
command -v taskset >/dev/null 2>&1 || rb_skip "no taskset"
[ "$(nproc)" -ge 2 ] || rb_skip "one CPU: the engine is always on the poller's core"
unset RDMABROKER_POLL_SLEEP_US RDMABROKER_POLL_MOVE
rb_cpu_lock
rb_daemon_start
taskset -c 1 sh -c 'while :; do :; done' &
busy=$!
trap 'kill "$busy" 2>/dev/null; rb_cleanup' EXIT

# run DAEMON_CPU [-x]: $share, the poller's CPU time / the time it polled.
run() {
	taskset -a -p -c "$1" "$RB_DAEMON_PID" >/dev/null || rb_fail "cannot pin the daemon"
	shift
	line=$(taskset -c 1 "$prog" "$@" recv 100 2000) || rb_fail "cq-sleep $* recv failed"
	set -- $line
	[ "$2" = 100 ] || rb_fail "completions: $2"
	share=$(awk -v c="$4" -v w="$6" 'BEGIN { printf "%.3f", c / w }')
	rb_log "$line: share $share"
}
for x in "" -x; do
	run 0 $x
	awk -v s="$share" 'BEGIN { exit !(s >= 0.2) }' ||
		rb_fail "beside a busy loop, the engine elsewhere: the poller ${x:+(-x) }held its core $share of the time (it yielded on)"
	run 1 $x
	awk -v s="$share" 'BEGIN { exit !(s < 0.1) }' ||
		rb_fail "beside the engine: the poller ${x:+(-x) }held its core $share of the time (it stopped yielding to the engine)"
done

rb_daemon_finish
rb_pass
