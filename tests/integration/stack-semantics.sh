#!/bin/sh
# Verbs semantics the RDMA software stack relies on (tests/integration/stack-semantics.c):
# AV masks, CQ cleaning on RESET, resize never losing a completion, a CQ
# of max_cqe charged max_cqe.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
max=$("$RB_RUN" ibv_devinfo -v | awk '$1 == "max_cqe:" { print $2 }')
rb_daemon_stop
[ -n "$max" ] || rb_fail "no max_cqe from ibv_devinfo -v"
printf '[daemon]\nlog_level = debug\n[limits]\ncqes = %s\n' $((max + 100)) > "$RB_CONF"
: > "$RB_LOG"
rb_daemon_start
"$top_builddir/tests/integration/stack-semantics" || rb_fail "client-stack reported failures"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
