#!/bin/sh
# Verbs features of the soft device (tests/softfeat.c): completion
# timestamps, IBV_WR_ATOMIC_WRITE.  The daemon must survive it with no
# error in its log.
. "$top_srcdir/tests/lib.sh"

rb_daemon_start
"$top_builddir/tests/softfeat" || rb_fail "softfeat reported failures"
rb_daemon_alive || rb_fail "the daemon died"
if grep -E -i '^<[0-3]>|error' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
rb_daemon_stop
rb_pass
