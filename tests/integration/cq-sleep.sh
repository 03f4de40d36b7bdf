#!/bin/sh
# A thread that polls an empty CQ while the engine works for it sleeps on
# the CQ's ring until the engine wakes it; one that waits for its peer
# spins (librdmabroker(7) RDMABROKER_POLL_SLEEP_US; libclient/cq.c
# rbc_cq_wait, daemon/cq.c cq_wake), through tests/integration/cq-sleep.c
# and the daemon's poller_wakeups counter (`rdmactl -j stat user`):
#  - 200 WRITEs of 4 MiB, each waited for on the send CQ, polled with
#    ibv_poll_cq and with the extended API, RDMABROKER_POLL_SLEEP_US=1
#    (so that a fast machine's WRITE is still long enough to sleep in,
#    and a sanitizer build's short enough to end within the 8 sleeps a
#    wait may miss):
#    each completes once, in order, the bytes arrive; the poller slept
#    (voluntary context switches), was woken by completions (the counter
#    grew by at least a quarter of the WRITEs) and used less than 60 % of
#    a core while it waited;
#  - unset (the default), 0, or not a number (ignored): it never sleeps,
#    nothing is woken;
#  - a thread that polls two CQs in turn never sleeps on either;
#  - 200 SENDs 1 ms apart polled on the receiving CQ (a wait for the
#    peer): all arrive, in order and intact, and the poller never sleeps;
#  - the daemon logs no error.
. "$top_srcdir/tests/lib/lib.sh"

prog=$top_builddir/tests/integration/cq-sleep
command -v taskset >/dev/null 2>&1 || rb_skip "no taskset"
[ "$(nproc)" -ge 2 ] || rb_skip "one CPU: the poller would always share it with the engine"
rb_daemon_start
# The engine on CPU 0, the program on CPU 1: a poller that shares the
# engine's CPU hands it over with its yields, and the WRITE may be done
# before it ever sleeps.  Apart, what it does while it waits shows.
taskset -a -p -c 0 "$RB_DAEMON_PID" >/dev/null || rb_fail "cannot pin the daemon"

# wakeups: poller_wakeups of this user, clients gone included.
wakeups() {
	"$RB_RDMACTL" -j stat user | python3 -c '
import json, sys
print(sum(e.get("poller_wakeups", 0) for e in json.load(sys.stdin) if e["kind"] == "user"))' ||
		rb_fail "rdmactl -j stat user failed"
}
# run ARGS...: the program; $line its figures, $woken the wake-ups it added.
run() {
	w0=$(wakeups)
	line=$(taskset -c 1 "$prog" "$@") || rb_fail "cq-sleep $* failed"
	woken=$(( $(wakeups) - w0 ))
	rb_log "cq-sleep $* (RDMABROKER_POLL_SLEEP_US=${RDMABROKER_POLL_SLEEP_US-unset}): $line, woken $woken"
	set -- $line
	[ "$2" = 200 ] || rb_fail "completions: $2"
	cpu=$4 wall=$6 nvcsw=$8
}
# sleeps: the poller slept and was woken, and mostly off the core.
sleeps() {
	[ "$nvcsw" -ge 50 ] || rb_fail "the poller slept $nvcsw times for 200 WRITEs"
	[ "$woken" -ge 50 ] || rb_fail "the engine woke the poller $woken times for 200 WRITEs"
	awk -v c="$cpu" -v w="$wall" 'BEGIN { exit !(c < 0.6 * w) }' ||
		rb_fail "the sleeping poller used $cpu ms of CPU in $wall ms"
}
# spins: the poller did not sleep (nor, unless "$1" is "alone", anyone:
# in recv the sender's own wait for its SEND is for the engine, and may).
spins() {
	[ "$nvcsw" -le 10 ] || rb_fail "a poller that never sleeps switched out voluntarily $nvcsw times"
	[ "${1-}" = alone ] || [ "$woken" = 0 ] ||
		rb_fail "the engine woke $woken pollers of a client that never sleeps"
}

W=4194304
export RDMABROKER_POLL_SLEEP_US=1
run write 200 $W
sleeps
run -x write 200 $W
sleeps
run -a write 200 $W
spins
run recv 200 1000
spins alone
run -x recv 200 1000
spins alone

unset RDMABROKER_POLL_SLEEP_US
run write 200 $W
spins
export RDMABROKER_POLL_SLEEP_US=0
run -x write 200 $W
spins
export RDMABROKER_POLL_SLEEP_US=soon
run write 200 $W
spins
unset RDMABROKER_POLL_SLEEP_US

rb_daemon_finish
rb_pass
