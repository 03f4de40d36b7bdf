#!/bin/sh
# Verbs not implemented yet fail cleanly with EOPNOTSUPP
# (tests/client-unsupported.c) and the daemon is unaffected.
. "$top_srcdir/tests/lib.sh"

rb_daemon_start
"$top_builddir/tests/client-unsupported" ||
	rb_fail "client-unsupported reported failures"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
