#!/bin/sh
# The data path of the soft device (tests/integration/data.c) against
# librdmabroker(7) (THE DATA PATH): every opcode on RC, UC and UD, ordering, SGE
# lists, inline, FENCE, SRQ, completion channels, threads, extended CQ.
# The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/data" || rb_fail "client-data reported failures"
rb_daemon_alive || rb_fail "the daemon died"
# Severity err or worse (<0>..<3>), or the word anywhere (sanitizers).
if grep -E -i '^<[0-3]>|error' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
rb_daemon_stop
rb_pass
