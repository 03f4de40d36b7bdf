#!/bin/sh
# The engine and its pollers keep off each other's core (librdmabroker(7),
# "The fast path"; daemon/loop.c loop_hold, libclient/cq.c rbc_poll_move):
#  - while its device is busy the engine keeps to one core (its affinity
#    is that core alone, seen in /proc/PID/status at least once while
#    tests/integration/cq-sleep write posts 4000 WRITEs of 1 MiB one at a
#    time, in up to five runs), and
#    once the daemon is idle again its affinity is the mask it was started
#    with;
#  - with the daemon pinned to CPU 0, a thread that polls an empty CQ and
#    starts on CPU 0 (cq-sleep -c 0 recv: 100 SENDs 2 ms apart) moves off
#    the engine's core with RDMABROKER_POLL_MOVE=1 (the move without the
#    load check and without the move back: this suite runs tests side by
#    side): it has at most half of its completions on CPU 0 (in one of up
#    to five runs), and its
#    affinity mask is as wide as it was; with RDMABROKER_POLL_MOVE=0 the
#    figure is printed beside it (all 100 on CPU 0 when measured);
#  - every SEND and WRITE completes in order and intact (cq-sleep checks);
#    the daemon logs no error.
. "$top_srcdir/tests/lib/lib.sh"

prog=$top_builddir/tests/integration/cq-sleep
command -v taskset >/dev/null 2>&1 || rb_skip "no taskset"
ncpu=$(nproc)
[ "$ncpu" -ge 2 ] || rb_skip "one CPU: nothing to keep off"
unset RDMABROKER_POLL_SLEEP_US RDMABROKER_POLL_MOVE
rb_cpu_lock
rb_daemon_start
mask0=$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$RB_DAEMON_PID/status")

# The hold: sample the engine's affinity while it works (up to 5 runs).
held=0 samples=0
for _ in 1 2 3 4 5; do
	"$prog" write 4000 1048576 > "$RB_TMP/write.out" &
	w=$!
	while kill -0 "$w" 2>/dev/null; do
		m=$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$RB_DAEMON_PID/status")
		samples=$((samples + 1))
		case $m in *[,-]*) ;; *) held=$((held + 1)) ;; esac
		sleep 0.01
	done
	wait "$w" || rb_fail "cq-sleep write failed"
	rb_log "cq-sleep write 4000 1048576: $(cat "$RB_TMP/write.out"); engine on one core in $held of $samples samples so far (mask $mask0)"
	[ "$held" -ge 1 ] && break
done
[ "$held" -ge 1 ] || rb_fail "the busy engine never kept to one core ($samples samples)"
m=
for _ in $(seq 1 100); do
	m=$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$RB_DAEMON_PID/status")
	[ "$m" = "$mask0" ] && break
	sleep 0.05
done
[ "$m" = "$mask0" ] || rb_fail "the idle engine's affinity is $m, not $mask0 as started"

# The move: the poller starts on the engine's core.
taskset -a -p -c 0 "$RB_DAEMON_PID" >/dev/null || rb_fail "cannot pin the daemon"
# run MOVE [-x]: $on0, the completions the poller had on CPU 0.
run() {
	mv=$1
	shift
	line=$(RDMABROKER_POLL_MOVE=$mv "$prog" -c 0 "$@" recv 100 2000) ||
		rb_fail "cq-sleep -c 0 $* recv failed"
	rb_log "RDMABROKER_POLL_MOVE=$mv cq-sleep -c 0 $* recv 100 2000: $line"
	set -- $line
	[ "$2" = 100 ] || rb_fail "completions: $2"
	on0=${14}
	[ "${16}" = "$ncpu" ] || rb_fail "the poller's mask holds ${16} CPUs at the end, not $ncpu"
}
for x in "" -x; do
	# Up to five runs: beside other tests the balancer may move the
	# thread back onto the engine's core (it moves off again 10 ms on).
	for try in 1 2 3 4 5; do
		run 1 $x
		[ "$on0" -le 50 ] && break
		[ "$try" = 5 ] &&
			rb_fail "the poller ${x:+(-x) }had $on0 of 100 completions on the engine's core in five runs: it did not move"
	done
	run 0 $x
done

rb_daemon_finish
rb_pass
