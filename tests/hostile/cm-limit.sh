#!/bin/sh
# Per-user limits of rdma_cm ids and event channels (issue 13):
# [limits USER] cm_ids = 6, cm_channels = 3 for the user running the test
# (beside a larger [limits]); tests/hostile/cm-limit makes 3 channels and
# 6 ids, and the next of each fails with EDQUOT; a connection request
# that needs a 7th id on the listening side is REJECTED.  The log names
# the limit, `rdmactl limits` shows it used in full, and all is uncharged
# when the program leaves.
. "$top_srcdir/tests/lib/lib.sh"

IDS=6
CHS=3
printf '[daemon]\nlog_level = info\n[limits]\ncm_ids = 1000\ncm_channels = 100\n[limits %s]\ncm_ids = %d\ncm_channels = %d\n' \
	"$(id -un)" "$IDS" "$CHS" > "$RB_CONF"
rb_daemon_start

used_of() {
	"$RB_RDMACTL" -s "$RB_SOCK" -j limits | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = {l["name"]: l for l in d["limits"]}
print(r[sys.argv[1]]["limit"], r[sys.argv[1]]["used"])' "$1"
}

mkfifo "$RB_TMP/hold"
"$top_builddir/tests/hostile/cm-limit" "$IDS" "$CHS" <"$RB_TMP/hold" >"$RB_TMP/out" 2>&1 &
pid=$!
exec 7>"$RB_TMP/hold"
for _ in $(seq 1 100); do
	grep -q '^holding' "$RB_TMP/out" && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
cat "$RB_TMP/out" >&2
grep -q '^holding' "$RB_TMP/out" || { exec 7>&-; wait $pid; rb_fail "cm-limit failed"; }
[ "$(used_of cm_ids)" = "$IDS $IDS" ] || rb_fail "rdmactl limits: cm_ids $(used_of cm_ids), not $IDS of $IDS"
[ "$(used_of cm_channels)" = "$CHS $CHS" ] || rb_fail "rdmactl limits: cm_channels $(used_of cm_channels), not $CHS of $CHS"
"$RB_RDMACTL" -s "$RB_SOCK" limits >&2
exec 7>&-
wait $pid || rb_fail "cm-limit failed: $(cat "$RB_TMP/out")"

grep -q "cm_ids limit $IDS reached" "$RB_LOG" || rb_fail "the log does not name the cm_ids limit"
grep -q "cm_channels limit $CHS reached" "$RB_LOG" || rb_fail "the log does not name the cm_channels limit"
grep 'limit .* reached' "$RB_LOG" >&2
for _ in $(seq 1 50); do
	[ "$(used_of cm_ids)" = "$IDS 0" ] && [ "$(used_of cm_channels)" = "$CHS 0" ] && break
	sleep 0.1
done
[ "$(used_of cm_ids)" = "$IDS 0" ] || rb_fail "cm ids still charged: $(used_of cm_ids)"
[ "$(used_of cm_channels)" = "$CHS 0" ] || rb_fail "cm channels still charged: $(used_of cm_channels)"
rb_daemon_stop
rb_pass
