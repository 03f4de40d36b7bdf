#!/bin/sh
# rdmactl limits (show, set), client show pid (objects and limits) and
# client kill, through a private daemon; admin-only parts refused to nobody.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[limits]\npds = 50\n' > "$RB_CONF"
rb_daemon_start
ctl() { "$RB_RDMACTL" "$@"; }

# show: our own by default; JSON agrees with the config.
ctl limits | grep -q '^    pds limit 50 used 0$' || rb_fail "limits: $(ctl limits)"
ctl -j limits | python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = {r["name"]: r for r in d["limits"]}
assert d["uid"] == 0 and rows["pds"]["limit"] == 50 and not rows["pds"]["set"], d
assert rows["connections"]["used"] >= 1, d' || rb_fail "limits -j"

# set: the new limit applies at once, and is shown as set.
ctl limits set uid 0 pds 3 || rb_fail "limits set"
ctl limits set pinned_bytes 2G || rb_fail "limits set with a size"
ctl -j limits | python3 -c '
import json, sys
rows = {r["name"]: r for r in json.load(sys.stdin)["limits"]}
assert rows["pds"]["limit"] == 3 and rows["pds"]["set"], rows["pds"]
assert rows["pinned_bytes"]["limit"] == 2 << 30, rows["pinned_bytes"]' || rb_fail "limits after set"
"$top_builddir/tests/integration/pd" hold 5 > /dev/null 2> "$RB_TMP/err" && rb_fail "5 PDs under a limit of 3"
grep -q 'PD 3: Disk quota exceeded' "$RB_TMP/err" || rb_fail "client-pd: $(cat "$RB_TMP/err")"
ctl limits set pds x >/dev/null 2>&1; [ $? -eq 2 ] || rb_fail "limits set pds x: want exit 2"
ctl limits set bogus 1 >/dev/null 2>&1; [ $? -eq 2 ] || rb_fail "limits set bogus: want exit 2"
ctl limits set pds 0 || rb_fail "limits set pds 0"

# client show pid: the process's objects and its user's limits.
rb_holder_start "$top_builddir/tests/integration/pd" 2
holder=$RB_HOLDER
ctl -j client show pid "$holder" | python3 -c '
import json, sys
c, = json.load(sys.stdin)
assert c["objects"]["pd"] == 2 and c["objects"]["qp"] == 0, c
assert c["limits"]["pds"] == 0 and c["limits"]["pinned_bytes"] == 2 << 30, c' ||
	rb_fail "client show pid: $(ctl -j client show pid "$holder")"

# As nobody: no setting limits, no killing, no looking at root's limits.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
   NOBODY=$(id -u nobody 2>/dev/null) && NOGROUP=$(getent group nogroup | cut -d: -f3); then
	cp "$RB_RDMACTL" "$RB_TMP/rdmactl"
	chmod 755 "$RB_TMP"
	as_nobody() { setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups "$@"; }
	as_nobody "$RB_TMP/rdmactl" -s "$RB_SOCK" limits set uid "$NOBODY" pds 1000 \
		> /dev/null 2> "$RB_TMP/err" && rb_fail "nobody set a limit"
	grep -q 'needs root or the admin group' "$RB_TMP/err" || rb_fail "nobody's refusal: $(cat "$RB_TMP/err")"
	as_nobody "$RB_TMP/rdmactl" -s "$RB_SOCK" client kill "$holder" \
		> /dev/null 2> "$RB_TMP/err" && rb_fail "nobody killed a client"
	as_nobody "$RB_TMP/rdmactl" -s "$RB_SOCK" limits uid 0 \
		> /dev/null 2> "$RB_TMP/err" && rb_fail "nobody saw root's limits"
	as_nobody "$RB_TMP/rdmactl" -s "$RB_SOCK" limits > /dev/null ||
		rb_fail "nobody cannot see their own limits"
	chmod 700 "$RB_TMP"
else
	rb_log "skipping the nobody part (needs root, setpriv, nobody, nogroup)"
fi

# client kill: the connections go, and everything they held.
out=$(ctl client kill "$holder") || rb_fail "client kill"
[ "$out" = "disconnected 1 connection(s) of pid $holder" ] || rb_fail "client kill said: $out"
rb_wait_for_log "disconnected by uid 0" || rb_fail "kill not logged"
[ "$(ctl -j res)" = "[]" ] || rb_fail "objects left after client kill: $(ctl res)"
kill "$holder"; wait "$holder" 2>/dev/null
ctl client kill "$holder" > /dev/null 2>&1 && rb_fail "killing a gone pid succeeded"
rb_daemon_stop
rb_pass
