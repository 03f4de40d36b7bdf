#!/bin/sh
# Hostile clients of the connection manager (tests/hostile/cm.c): wrong
# addresses, foreign and stale handles, wrong states, oversized private
# data, 4,000 random CM requests; the daemon answers each, logs no fault,
# still serves, and holds nothing of them afterwards.
. "$top_srcdir/tests/lib/lib.sh"

# No RoCEv2 wire: random addresses must never leave the host.
printf '[daemon]\nlog_level = debug\n[soft]\nroce = no\n' > "$RB_CONF"
rb_daemon_start
"$top_builddir/tests/hostile/cm" > "$RB_TMP/out" 2>&1 || { cat "$RB_TMP/out" >&2; rb_fail "hostile-cm"; }
rb_log "$(tail -n 1 "$RB_TMP/out")"
rb_daemon_alive || rb_fail "daemon died"
! grep -qi 'assert\|sanitizer\|runtime error' "$RB_LOG" || rb_fail "a fault in the daemon's log"
for _ in $(seq 1 50); do
	[ "$("$RB_RDMACTL" -j res)" = "[]" ] && break
	sleep 0.1
done
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res -d)"
rb_daemon_stop
rb_pass
