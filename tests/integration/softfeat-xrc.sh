#!/bin/sh
# XRC on the soft device (tests/integration/softfeat-xrc.c).  The daemon
# must survive it with no error in its log and no object left.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/softfeat-xrc" || rb_fail "softfeat-xrc reported failures"
rb_daemon_alive || rb_fail "the daemon died"
if grep -E -i '^<[0-3]>|error' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
rb_daemon_stop
rb_pass
