#!/bin/sh
# Retries of the data path (tests/integration/dataerr-retry.c) through a
# real daemon: RNR retry exhausted and retried until a receive arrives; a
# lost peer (gone, not ready, not connected back).  Afterwards, whatever the
# cases reported, the daemon is alive, holds no objects and stops cleanly.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
start=$(date +%s)
"$top_builddir/tests/integration/dataerr-retry"; rc=$?
rb_log "dataerr-retry ran $(( $(date +%s) - start )) s, exit $rc"
rb_daemon_alive || rb_fail "the daemon died"
# Clients that exited (or were killed) may not be cleaned up yet.
for _ in $(seq 1 50); do
	left=$("$RB_RDMACTL" -j res) || rb_fail "rdmactl -j res failed"
	[ "$left" = "[]" ] && break
	sleep 0.1
done
[ "$left" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
rb_daemon_stop
[ "$rc" -eq 0 ] || rb_fail "dataerr-retry reported failures"
rb_pass
