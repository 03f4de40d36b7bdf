#!/bin/sh
# Shrinking or punching the memfd behind registered memory
# (tests/hostile/mr.c): the daemon must not fault, and must end with no
# object left and its log free of errors.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/hostile/mr" || rb_fail "hostile-mr reported failures"
rb_daemon_alive || rb_fail "the daemon died"
rb_wait_for_log "disconnected" || true
res=$("$RB_RDMACTL" -j res) || rb_fail "rdmactl res failed"
[ "$res" = "[]" ] || rb_fail "objects left: $res"
if grep -E -i '^<[0-3]>|error' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
rb_daemon_stop
rb_pass
