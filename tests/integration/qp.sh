#!/bin/sh
# Queue pairs (tests/integration/qp.c), then a client SIGKILLed while holding
# 100 QPs and 100 MRs with their PD and CQ: nothing left in the daemon
# (checked with rdmactl -j), rings and registered pages unmapped, fds back.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[limits]\nqps = 6\n' > "$RB_CONF"
rb_daemon_start
"$top_builddir/tests/integration/qp" || rb_fail "client-qp reported failures"
grep -q 'qps limit 6 reached' "$RB_LOG" || rb_fail "no log line for the qps limit"
grep -q 'QP 0x[0-9a-f]* (RC): no transition from state 0 to 3' "$RB_LOG" ||
	rb_fail "no log line for a refused transition"
rb_daemon_stop

printf '[daemon]\nlog_level = debug\n[limits]\nqps = 0\nmrs = 0\npinned_bytes = 0\n' > "$RB_CONF"
: > "$RB_LOG"
rb_daemon_start
fds0=$(rb_fd_count "$RB_DAEMON_PID")
ring_maps() { grep -c '/memfd:rdmabroker-ring' "/proc/$RB_DAEMON_PID/maps"; }
mr_maps() { grep -c '/memfd:rdmabroker-mr' "/proc/$RB_DAEMON_PID/maps"; }
maps0=$(ring_maps)
mrmaps0=$(mr_maps)
rb_holder_start "$top_builddir/tests/integration/qp" 100
n=$("$RB_RDMACTL" -j res show qp | python3 -c '
import json, sys
qps = json.load(sys.stdin)
assert all(q["qp_type"] == "RC" and q["state"] == "INIT" for q in qps), qps[:2]
assert len({q["qpn"] for q in qps}) == len(qps)
print(len(qps))')
[ "$n" = 100 ] || rb_fail "rdmactl res show qp lists '$n' QPs, want 100"
# The QP filters of rdmactl res show, like rdma res show qp.
count() { "$RB_RDMACTL" -j res show "$@" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
[ "$(count qp state INIT)" = 100 ] || rb_fail "state INIT: $(count qp state INIT)"
[ "$(count qp state rts)" = 0 ] || rb_fail "state rts: $(count qp state rts)"
[ "$(count qp-type UD)" = 0 ] || rb_fail "qp-type UD: $(count qp-type UD)"
[ "$(count qp-type RC pid "$RB_HOLDER")" = 100 ] || rb_fail "qp-type RC pid"
qpn=$("$RB_RDMACTL" -j res show qp | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["qpn"])')
[ "$(count qpn "$qpn")" = 1 ] || rb_fail "qpn $qpn: $(count qpn "$qpn")"
"$RB_RDMACTL" res show qpn x > /dev/null 2>&1; [ $? -eq 2 ] || rb_fail "qpn x: want exit 2"
[ "$(ring_maps)" -eq $((maps0 + 101)) ] || rb_fail "daemon ring maps $maps0 -> $(ring_maps)"
[ "$("$RB_RDMACTL" -j res show mr | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 100 ] ||
	rb_fail "rdmactl res show mr: $("$RB_RDMACTL" res)"
[ "$(mr_maps)" -gt "$mrmaps0" ] || rb_fail "the daemon does not map the registered pages"
rb_holder_kill_check 202 "$fds0"
[ "$(mr_maps)" -eq "$mrmaps0" ] || rb_fail "daemon MR maps $mrmaps0 -> $(mr_maps) after the kill"
[ "$(ring_maps)" -eq "$maps0" ] || rb_fail "daemon ring maps $maps0 -> $(ring_maps) after the kill"
rb_daemon_stop
rb_pass
