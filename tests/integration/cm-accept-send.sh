#!/bin/sh
# A SEND posted as rdma_accept returns arrives (tests/integration/
# cm-accept-send.c), on 50 connections, with the accept sent without
# waiting for the daemon (the default) and waited for
# (RDMABROKER_CM_SYNC=1).
. "$top_srcdir/tests/lib/lib.sh"

prog="$top_builddir/tests/integration/cm-accept-send"
printf '[daemon]\nlog_level = debug\n' > "$RB_CONF"
rb_daemon_start
port=$((20000 + $$ % 20000))
"$prog" "$port" 50 > "$RB_TMP/async" 2>&1 || { cat "$RB_TMP/async" >&2; rb_fail "accept not waited for"; }
rb_log "$(cat "$RB_TMP/async")"
RDMABROKER_CM_SYNC=1 "$prog" $((port + 1)) 50 > "$RB_TMP/sync" 2>&1 ||
	{ cat "$RB_TMP/sync" >&2; rb_fail "accept waited for"; }
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
