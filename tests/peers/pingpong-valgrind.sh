#!/bin/sh
# The daemon under valgrind (memcheck, full leak check) serves short RC,
# UD and SRQ pingpongs of unmodified rdma-core examples and exits 0 on
# SIGTERM: no invalid access, no use of uninitialised data, no leak.
# The clients run natively; only the daemon is checked.
. "$top_srcdir/tests/lib/lib.sh"

[ "${RB_SANITIZERS:-no}" = yes ] && rb_skip "valgrind cannot run an ASan build"
command -v valgrind >/dev/null 2>&1 || rb_skip "valgrind not installed"
for p in ibv_rc_pingpong ibv_ud_pingpong ibv_srq_pingpong; do
	command -v "$p" >/dev/null 2>&1 || rb_skip "$p not installed (Debian ibverbs-utils)"
done
. "$top_srcdir/tests/lib/pingpong-lib.sh"

RB_DAEMON_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --quiet"
rb_daemon_start
case $(readlink "/proc/$RB_DAEMON_PID/exe") in
*memcheck*) ;;
*) rb_fail "the daemon does not run under valgrind: $(readlink "/proc/$RB_DAEMON_PID/exe")" ;;
esac

pp_run rc 1000 ibv_rc_pingpong
pp_run ud 1000 ibv_ud_pingpong
pp_run srq 1000 ibv_srq_pingpong -q 4

rb_daemon_stop
grep -q '== Invalid\|== Conditional jump\|definitely lost' "$RB_LOG" &&
	rb_fail "valgrind reports: $(grep '^==' "$RB_LOG" | head -40)"
rb_pass
