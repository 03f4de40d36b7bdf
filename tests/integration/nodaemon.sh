#!/bin/sh
# No daemon, a silent daemon, a daemon that goes away under an open context
# (tests/integration/nodaemon.c): empty lists, clear errno, EIO; never a hang.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
export RB_SOCK RB_DAEMON_PID
"$top_builddir/tests/integration/nodaemon" 2> "$RB_TMP/stderr" || {
	cat "$RB_TMP/stderr" >&2
	rb_fail "client-nodaemon reported failures"
}
cat "$RB_TMP/stderr" >&2
# The program stopped the daemon with SIGTERM: it must have exited 0.
wait "$RB_DAEMON_PID"; rc=$?
RB_DAEMON_PID=
[ "$rc" -eq 0 ] || rb_fail "daemon exited $rc after SIGTERM with a client connected"
# One warning per process, naming the socket, however often it is asked.
n=$(grep -c '^librdmabroker: no RDMA devices: cannot connect to rdmabrokerd at .*none.sock' "$RB_TMP/stderr")
[ "$n" -eq 1 ] || rb_fail "expected one 'no RDMA devices' warning, got $n"
rb_pass
