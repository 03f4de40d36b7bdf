#!/bin/sh
# SRQs and AHs (tests/integration/srq-ah.c), then a client SIGKILLed holding 50
# of each: nothing left behind.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[soft]\ngid_address = 192.0.2.7\n[limits]\nsrqs = 3\nahs = 5\n' > "$RB_CONF"
rb_daemon_start
"$top_builddir/tests/integration/srq-ah" || rb_fail "client-srq-ah reported failures"
grep -q 'srqs limit 3 reached' "$RB_LOG" || rb_fail "no log line for the srqs limit"
grep -q 'ahs limit 5 reached' "$RB_LOG" || rb_fail "no log line for the ahs limit"
rb_daemon_stop

printf '[daemon]\nlog_level = debug\n[limits]\nsrqs = 0\nahs = 0\n' > "$RB_CONF"
: > "$RB_LOG"
rb_daemon_start
fds0=$(rb_fd_count "$RB_DAEMON_PID")
ring_maps() { grep -c '/memfd:rdmabroker-ring' "/proc/$RB_DAEMON_PID/maps"; }
maps0=$(ring_maps)
rb_holder_start "$top_builddir/tests/integration/srq-ah" 50
"$RB_RDMACTL" res | grep -q " srq 50 ah 50 " || rb_fail "rdmactl res: $("$RB_RDMACTL" res)"
rb_holder_kill_check 102 "$fds0"
[ "$(ring_maps)" -eq "$maps0" ] || rb_fail "daemon ring maps $maps0 -> $(ring_maps) after the kill"
rb_daemon_stop
rb_pass
