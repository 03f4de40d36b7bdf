#!/bin/sh
# Verbs not implemented yet fail cleanly with EOPNOTSUPP
# (tests/integration/unsupported.c) and the daemon is unaffected.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/unsupported" ||
	rb_fail "client-unsupported reported failures"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
