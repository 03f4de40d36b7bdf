#!/bin/sh
# A thread that polls an empty CQ while the engine works for it sleeps on
# the CQ's ring until the engine wakes it; one that waits for its peer
# spins (librdmabroker(7) RDMABROKER_POLL_SLEEP_US; libclient/cq.c
# rbc_cq_wait, daemon/cq.c cq_wake), through tests/integration/cq-sleep.c
# and the daemon's poller_wakeups counter (`rdmactl -j stat user`):
#  - 200 WRITEs of 16 MiB, each waited for on the send CQ, polled with
#    ibv_poll_cq and with the extended API, RDMABROKER_POLL_SLEEP_US=50:
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
rb_daemon_start

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
	line=$("$prog" "$@") || rb_fail "cq-sleep $* failed"
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
# spins: no sleep, nothing woken.
spins() {
	[ "$woken" = 0 ] || rb_fail "the engine woke $woken pollers of a client that never sleeps"
	[ "$nvcsw" -le 10 ] || rb_fail "a poller that never sleeps switched out voluntarily $nvcsw times"
}

W=16777216
export RDMABROKER_POLL_SLEEP_US=50
run write 200 $W
sleeps
run -x write 200 $W
sleeps
run -a write 200 $W
spins
run recv 200 1000
spins
run -x recv 200 1000
spins

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

rb_daemon_alive || rb_fail "the daemon died"
if grep -E -i '^<[0-3]>|error' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
rb_daemon_stop
rb_pass
