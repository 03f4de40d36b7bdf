#!/bin/sh
# Ordering, SGE lists, inline data, selective signaling and FENCE on the
# soft device (tests/integration/data-wr.c) against librdmabroker(7).
# The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/data-wr" || rb_fail "data-wr reported failures"
rb_daemon_alive || rb_fail "the daemon died"
# Severity err or worse (<0>..<3>), or the word anywhere (sanitizers).
if grep -E -i '^<[0-3]>|error' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
rb_daemon_stop
rb_pass
