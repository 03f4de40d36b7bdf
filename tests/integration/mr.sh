#!/bin/sh
# Memory registration (tests/integration/mr.c), then a client SIGKILLed while
# holding 100 MRs: the daemon unmaps every page of it.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[limits]\nmrs = 80\npinned_bytes = 1M\n' > "$RB_CONF"
rb_daemon_start
export RB_DAEMON_PID
"$top_builddir/tests/integration/mr" || rb_fail "client-mr reported failures"
grep -q 'pinned_bytes limit 1048576 reached' "$RB_LOG" || rb_fail "no log line for the pinned_bytes limit"
rb_daemon_stop

printf '[daemon]\nlog_level = debug\n[limits]\nmrs = 0\npinned_bytes = 0\n' > "$RB_CONF"
: > "$RB_LOG"
rb_daemon_start
fds0=$(rb_fd_count "$RB_DAEMON_PID")
mr_maps() { grep -c '/memfd:rdmabroker-mr' "/proc/$RB_DAEMON_PID/maps"; }
maps0=$(mr_maps)
rb_holder_start "$top_builddir/tests/integration/mr" 100
n=$("$RB_RDMACTL" -j res show mr | python3 -c '
import json, sys
mrs = json.load(sys.stdin)
assert all(m["length"] == 8192 and m["mode"] == "memfd" for m in mrs), mrs[:2]
assert len({m["lkey"] for m in mrs}) == len(mrs)
print(len(mrs))')
[ "$n" = 100 ] || rb_fail "rdmactl res show mr lists '$n' MRs, want 100"
[ "$(mr_maps)" -gt "$maps0" ] || rb_fail "the daemon does not map the registered pages"
rb_holder_kill_check 101 "$fds0"
[ "$(mr_maps)" -eq "$maps0" ] || rb_fail "daemon MR maps $maps0 -> $(mr_maps) after the kill"
rb_daemon_stop
rb_pass
