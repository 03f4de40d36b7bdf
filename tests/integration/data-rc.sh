#!/bin/sh
# The RC opcodes of the soft device (tests/integration/data-rc.c) against
# librdmabroker(7) (THE DATA PATH).
# The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/data-rc" || rb_fail "data-rc reported failures"
rb_daemon_alive || rb_fail "the daemon died"
# Severity err or worse (<0>..<3>), or the word anywhere (sanitizers).
if grep -E -i '^<[0-3]>|error' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
rb_daemon_stop
rb_pass
