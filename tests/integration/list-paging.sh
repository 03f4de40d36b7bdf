#!/bin/sh
# Listings page (tests/integration/list-paging.c): one client holding
# 10,000 PDs among 1,000 connections; paged walks under churn list every
# one exactly once, and rdmactl res, res show and client (text and JSON),
# which follow the daemon's cursors, show them all with exact counts.
. "$top_srcdir/tests/lib/lib.sh"

NCLIENTS=1000
NPDS=10000
command -v python3 >/dev/null || rb_skip "python3 not installed"
# The daemon and the holder each need an fd per connection.
[ "$(ulimit -n)" -ge 4096 ] || ulimit -n 4096 2>/dev/null ||
	rb_skip "cannot raise the open files limit to 4096 (hard limit $(ulimit -Hn))"

printf '[daemon]\nmax_clients = 2000\n[limits]\nconnections = 0\npds = 0\n' > "$RB_CONF"
rb_daemon_start
mkfifo "$RB_TMP/hold"
"$top_builddir/tests/integration/list-paging" $NCLIENTS $NPDS \
	< "$RB_TMP/hold" > "$RB_TMP/out" 2>&1 &
RB_HOLDER=$!
exec 3> "$RB_TMP/hold"
for _ in $(seq 1 1200); do
	grep -q '^ready$' "$RB_TMP/out" && break
	kill -0 "$RB_HOLDER" 2>/dev/null || break
	sleep 0.1
done
cat "$RB_TMP/out" >&2
if ! grep -q '^ready$' "$RB_TMP/out"; then
	wait "$RB_HOLDER"
	rc=$?
	[ $rc -eq 77 ] && rb_skip "the holder cannot open $NCLIENTS connections"
	rb_fail "the holder failed ($rc)"
fi

"$RB_RDMACTL" -j res show pd > "$RB_TMP/pd.json" || rb_fail "rdmactl -j res show pd"
"$RB_RDMACTL" res show pd > "$RB_TMP/pd.txt" || rb_fail "rdmactl res show pd"
"$RB_RDMACTL" -j res > "$RB_TMP/sum.json" || rb_fail "rdmactl -j res"
"$RB_RDMACTL" res > "$RB_TMP/sum.txt" || rb_fail "rdmactl res"
"$RB_RDMACTL" -j client > "$RB_TMP/client.json" || rb_fail "rdmactl -j client"
"$RB_RDMACTL" client > "$RB_TMP/client.txt" || rb_fail "rdmactl client"
grep -q truncated "$RB_TMP/pd.txt" && rb_fail "rdmactl res show said truncated"

python3 - "$RB_TMP" "$RB_HOLDER" $NCLIENTS $NPDS <<'PY' || rb_fail "listings are not exact"
import json, sys
tmp, pid, nclients, npds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ok = True
def check(cond, what):
    global ok
    if not cond:
        print("list-paging.sh: " + what)
        ok = False

pds = [e for e in json.load(open(tmp + "/pd.json")) if e["pid"] == pid]
keys = {(e["client"], e["handle"]) for e in pds}
check(len(pds) == npds, "res show pd: %d PDs of the holder, not %d" % (len(pds), npds))
check(len(keys) == len(pds), "res show pd: %d listed twice" % (len(pds) - len(keys)))
holder = {e["client"] for e in pds}
check(len(holder) == 1, "res show pd: PDs of %d clients" % len(holder))

rows = [r for r in json.load(open(tmp + "/sum.json")) if r["pid"] == pid]
check(len(rows) == 1 and rows[0]["pd"] == npds and rows[0]["client"] in holder,
      "res: %s" % rows)

clients = [c for c in json.load(open(tmp + "/client.json")) if c["pid"] == pid]
ids = {c["id"] for c in clients}
check(len(clients) == nclients, "client: %d of the holder, not %d" % (len(clients), nclients))
check(len(ids) == len(clients), "client: %d listed twice" % (len(clients) - len(ids)))

# The text output lists the same: one line per object or client.
txt = [l for l in open(tmp + "/pd.txt") if " %d " % pid in l]
check(len(txt) == npds, "res show pd (text): %d lines of the holder" % len(txt))
txt = [l for l in open(tmp + "/client.txt") if " %d " % pid in l]
check(len(txt) == nclients, "client (text): %d lines of the holder" % len(txt))
txt = [l for l in open(tmp + "/sum.txt") if " %d " % pid in l]
check(len(txt) == 1 and " %d " % npds in txt[0], "res (text): %s" % txt)
sys.exit(0 if ok else 1)
PY

exec 3>&-
wait "$RB_HOLDER" || rb_fail "the holder failed at exit: $(tail -20 "$RB_TMP/out")"
RB_HOLDER=
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
