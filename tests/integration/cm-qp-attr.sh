#!/bin/sh
# rdma_create_qp's QPs (tests/integration/cm-qp-attr.c): the daemon
# creating the QP in INIT (a UD one in RTS) in one request
# (RB_PROTO_FEAT_QP_CREATE_MODIFY) leaves every attribute ibv_query_qp
# shows, before and after the connection, as the library's one request
# a state does (RDMABROKER_CM_SYNC=1); and it does take one request.
. "$top_srcdir/tests/lib/lib.sh"

prog="$top_builddir/tests/integration/cm-qp-attr"
printf '[daemon]\nlog_level = debug\n' > "$RB_CONF"
rb_daemon_start
port=$((20000 + $$ % 20000))
# QP modify requests (not creates) that moved a QP out of RESET.
to_init() {
	awk '/: qp_modify$/ { m = 1; next } m && /RESET -> INIT/ { n++ } { m = 0 }
	     END { print n + 0 }' "$RB_LOG"
}

"$prog" "$port" > "$RB_TMP/moved" 2>&1 || { cat "$RB_TMP/moved" >&2; rb_fail "created moved"; }
# That run's four QPs (and one refused) reached INIT (UD: RTS) within their creation, and
# the CM moved the connection's two on: no QP modify request but the
# move to ERR of rdma_disconnect.
creates=$(grep -c ': qp_create$' "$RB_LOG")
modifies=$(to_init)
RDMABROKER_CM_SYNC=1 "$prog" $((port + 1)) > "$RB_TMP/sync" 2>&1 ||
	{ cat "$RB_TMP/sync" >&2; rb_fail "created, then modified"; }
diff -u "$RB_TMP/sync" "$RB_TMP/moved" >&2 ||
	rb_fail "the QPs differ between the two paths"
grep -q '^ok$' "$RB_TMP/moved" || rb_fail "no ok: $(cat "$RB_TMP/moved")"
[ "$creates" -eq 5 ] && [ "$modifies" -eq 0 ] ||
	rb_fail "first run: $creates QP creates (not 4 and a refused one), $modifies QP modifies to INIT (not 0)"
grep -q 'qp_create refused' "$RB_LOG" || rb_fail "no refused QP create logged"
# The library's path does modify (so the count above can fail).
[ "$(to_init)" -gt 0 ] ||
	rb_fail "RDMABROKER_CM_SYNC=1 sent no QP modify"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
