#!/bin/sh
# The data-path integration tests (integration/data, integration/dataerr
# and hostile/rings) against one daemon running under valgrind (memcheck,
# full leak check): no invalid access, no use of uninitialised data, no
# leak, an exit 0 on SIGTERM, and no object left behind.  The clients
# run natively; only the daemon is checked.  This is the run issue 6
# asks for: the integration tests once with the daemon under valgrind.
. "$top_srcdir/tests/lib/lib.sh"

[ "${RB_SANITIZERS:-no}" = yes ] && rb_skip "valgrind cannot run an ASan build"
command -v valgrind >/dev/null 2>&1 || rb_skip "valgrind not installed"

RB_DAEMON_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --quiet"
rb_daemon_start
case $(readlink "/proc/$RB_DAEMON_PID/exe") in
*memcheck*) ;;
*) rb_fail "the daemon does not run under valgrind: $(readlink "/proc/$RB_DAEMON_PID/exe")" ;;
esac

for t in integration/data integration/dataerr hostile/rings; do
	out=$RB_TMP/$(basename "$t").out
	"$top_builddir/tests/$t" >"$out" 2>&1 || {
		tail -n 60 "$out" >&2
		rb_fail "$t failed with the daemon under valgrind"
	}
	rb_log "$t: $(grep -c '^\[       OK \]' "$out") cases passed"
	rb_daemon_alive || rb_fail "the daemon died during $t"
done

left=$("$RB_RDMACTL" -j res 2>&1) || rb_fail "rdmactl res failed: $left"
[ "$left" = "[]" ] || rb_fail "objects left behind: $left"

rb_daemon_stop
grep -q '== Invalid\|== Conditional jump\|== Syscall param\|definitely lost\|indirectly lost' "$RB_LOG" &&
	rb_fail "valgrind reports: $(grep '^==' "$RB_LOG" | head -40)"
rb_pass
