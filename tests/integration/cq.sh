#!/bin/sh
# Completion channels and CQs (tests/integration/cq.c), then a client killed
# while holding CQs and channels: nothing left in the daemon.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[limits]\ncqs = 6\ncqes = 10000\n' > "$RB_CONF"
rb_daemon_start
export RB_DAEMON_PID
"$top_builddir/tests/integration/cq" || rb_fail "client-cq reported failures"
grep -q 'cqs limit 6 reached' "$RB_LOG" || rb_fail "no log line for the cqs limit"
grep -q 'cqes limit 10000 reached' "$RB_LOG" || rb_fail "no log line for the cqes limit"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop

# SIGKILL while holding 100 CQs on 100 channels: no object, mapping or fd
# of it stays in the daemon.
printf '[daemon]\nlog_level = debug\n[limits]\ncqs = 0\ncqes = 0\n' > "$RB_CONF"
: > "$RB_LOG"
rb_daemon_start
fds0=$(rb_fd_count "$RB_DAEMON_PID")
ring_maps() { grep -c '/memfd:rdmabroker-ring' "/proc/$RB_DAEMON_PID/maps"; }
maps0=$(ring_maps)
rb_holder_start "$top_builddir/tests/integration/cq" 100
"$RB_RDMACTL" res | grep -q " pd 0 mr 0 cq 100 qp 0 srq 0 ah 0 mw 0 xrcd 0 channel 100\$" || rb_fail "rdmactl res: $("$RB_RDMACTL" res)"
maps1=$(ring_maps)
[ "$maps1" -eq $((maps0 + 100)) ] || rb_fail "daemon ring maps $maps0 -> $maps1 with 100 CQ rings"
rb_holder_kill_check 200 "$fds0"
maps=$(ring_maps)
[ "$maps" -eq "$maps0" ] || rb_fail "daemon ring maps $maps0 -> $maps after the kill"
rb_daemon_stop
rb_pass
