#!/bin/sh
# Verbs features of the soft device (tests/integration/softfeat.c): completion
# timestamps, IBV_WR_ATOMIC_WRITE, IBV_WR_FLUSH, memory windows.  The daemon must
# survive it with no error in its log.  Then again with [limits] mws = 3:
# the fourth window is EDQUOT (with a log line), and `rdmactl res show mw`
# lists the three.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/softfeat" || rb_fail "softfeat reported failures"
rb_daemon_alive || rb_fail "the daemon died"
if grep -E -i '^<[0-3]>|error' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
rb_daemon_stop

printf '[daemon]\nlog_level = debug\n[limits]\nmws = 3\n' > "$RB_CONF"
: > "$RB_LOG"
rb_daemon_start
SOFTFEAT_MW_LIMIT=3 SOFTFEAT_RDMACTL="$RB_RDMACTL" \
	"$top_builddir/tests/integration/softfeat" || rb_fail "softfeat (mws = 3) reported failures"
grep -q 'mws limit 3 reached' "$RB_LOG" || rb_fail "no log line for the mws limit"
"$RB_RDMACTL" limits | grep -Eq '^ *mws limit 3 ' || rb_fail "rdmactl limits shows no mws: $("$RB_RDMACTL" limits)"
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
rb_daemon_alive || rb_fail "the daemon died"
rb_daemon_stop
rb_pass
