#!/bin/sh
# Error semantics of the data path (tests/integration/dataerr.c) through a real
# daemon: error completions, flushes, QP states, async events, RNR, lost
# and killed peers, CQ overrun, atomics from two processes.  Afterwards,
# whatever the cases reported, the daemon is alive, holds no objects and
# stops cleanly.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
start=$(date +%s)
"$top_builddir/tests/integration/dataerr"; rc=$?
rb_log "client-dataerr ran $(( $(date +%s) - start )) s, exit $rc"
rb_daemon_alive || rb_fail "the daemon died"
# Clients that exited (or were killed) may not be cleaned up yet.
for _ in $(seq 1 50); do
	left=$("$RB_RDMACTL" -j res) || rb_fail "rdmactl -j res failed"
	[ "$left" = "[]" ] && break
	sleep 0.1
done
[ "$left" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
rb_daemon_stop
[ "$rc" -eq 0 ] || rb_fail "client-dataerr reported failures"
rb_pass
