#!/bin/sh
# Issue 12: rkeys a client of a nested broker may not use are stopped by
# that broker before anything reaches the device, where the responder is
# a QP of the same device (drivers/verbs/verbs-obj.c, verbs_rkey_check):
# an outer rdmabrokerd with the soft device, an inner one with only
# [verbs] under rdmab-run -s OUTER.sock, and tests/hostile/verbs-rkey as
# two clients of the inner one (another client's rkey, memory without
# remote write, a READ past an MR, a misaligned atomic: each with the
# device's status and the responder's async event, the victim's memory
# unchanged).  The outer daemon, the device here, must have completed
# none of those WRs: its counters for the inner daemon show no
# REM_ACCESS_ERR or REM_INV_REQ_ERR (before the check, all four went to
# the device, which answered them).
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/nest-lib.sh"

nest_outer_start
nest_conf "$RB_TMP/inner.conf"
nest_start inner "$RB_TMP/inner.conf"
INNER_PID=$NEST_PID
INNER_SOCK=$RB_TMP/inner.sock

RDMABROKER_SOCKET=$INNER_SOCK "$top_builddir/tests/hostile/verbs-rkey" >"$RB_TMP/rkey.out" 2>&1 ||
	{ cat "$RB_TMP/rkey.out" >&2; rb_fail "verbs-rkey through the inner daemon"; }
kill -0 "$INNER_PID" || rb_fail "the inner daemon died"

# The outer's view of its client, the inner daemon.
RDMABROKER_SOCKET=$OUTER_SOCK "$RB_RDMACTL" -j stat >"$RB_TMP/outer-stat.json" ||
	rb_fail "rdmactl -j stat on the outer daemon"
got=$(python3 -c '
import json, sys
pid = int(sys.argv[2])
n, seen = 0, False
for e in json.load(open(sys.argv[1])):
    if e.get("kind") == "client" and e.get("pid") == pid:
        seen = True
        errs = e.get("errors_by_status", {})
        n += errs.get("rem_access_err", 0) + errs.get("rem_inv_req_err", 0)
print(n if seen else "none")' "$RB_TMP/outer-stat.json" "$INNER_PID") ||
	rb_fail "cannot read the outer daemon's counters"
[ "$got" != none ] || rb_fail "the outer daemon has no counters for the inner daemon (pid $INNER_PID): $(cat "$RB_TMP/outer-stat.json")"
[ "$got" -eq 0 ] ||
	rb_fail "$got of the refused WRs reached the device (the outer daemon completed them with a remote error)"
rb_log "verbs-rkey: 4 WRs refused by the inner daemon, none reached the device"
exit 0
