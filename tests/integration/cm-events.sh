#!/bin/sh
# The connection manager's events and failures (tests/integration/cm-events.c):
# the API's events and private-data sizes, REJECTED for a port nobody
# listens on (within a second), ADDR_ERROR, DISCONNECTED and TIMEWAIT_EXIT;
# a SIGKILLed peer's ids freed (rdmactl shows no CM object of it) and its
# peer told DISCONNECTED; DEVICE_REMOVAL on every id when the daemon stops.
. "$top_srcdir/tests/lib/lib.sh"

prog="$top_builddir/tests/integration/cm-events"
# No RoCEv2 wire: another host's address is then unreachable (ADDR_ERROR).
printf '[daemon]\nlog_level = debug\n[soft]\nroce = no\n' > "$RB_CONF"
rb_daemon_start

"$prog" api > "$RB_TMP/api" 2>&1 || { cat "$RB_TMP/api" >&2; rb_fail "api"; }
rb_log "$(grep REJECTED "$RB_TMP/api")"

"$prog" killed > "$RB_TMP/killed" 2>&1 || { cat "$RB_TMP/killed" >&2; rb_fail "killed"; }
child=$(sed -n 's/^child \([0-9]*\) connected$/\1/p' "$RB_TMP/killed")
[ -n "$child" ] || rb_fail "the child did not connect"
for _ in $(seq 1 50); do
	"$RB_RDMACTL" -s "$RB_SOCK" -j res show > "$RB_TMP/res" || rb_fail "rdmactl res"
	grep -q '"type":"cm_' "$RB_TMP/res" || break
	sleep 0.1
done
! grep -q '"type":"cm_' "$RB_TMP/res" || rb_fail "CM objects left: $(cat "$RB_TMP/res")"
[ "$("$RB_RDMACTL" -s "$RB_SOCK" -j res)" = "[]" ] ||
	rb_fail "objects left: $("$RB_RDMACTL" -s "$RB_SOCK" res)"

"$prog" removal > "$RB_TMP/removal" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	grep -q ready "$RB_TMP/removal" && break
	sleep 0.05
done
grep -q ready "$RB_TMP/removal" || rb_fail "removal: not ready: $(cat "$RB_TMP/removal")"
rb_daemon_stop
wait "$pid" || { cat "$RB_TMP/removal" >&2; rb_fail "removal"; }
rb_pass
