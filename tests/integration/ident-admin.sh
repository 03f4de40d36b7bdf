#!/bin/sh
# Admin requests as an unprivileged user: nobody may not set limits, kill
# clients or read another user's limits (exit 1, "permission denied ..." or
# "only an administrator ..."), sees only its own uid's clients and objects,
# and only the total number of clients of other users.  Made a member of
# admin_group (a supplementary group, as SO_PEERGROUPS reports it), nobody
# may do all of that.  Root's holder must survive everything nobody tried.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"

# An existing group that is neither nobody's nor root's primary one.
ADMGRP=
for g in rdmabroker adm users staff daemon; do
	gid=$(getent group "$g" | cut -d: -f3)
	if [ -n "$gid" ] && [ "$gid" -ne 0 ] && [ "$gid" -ne "$NOGROUP" ]; then
		ADMGRP=$g ADMGID=$gid
		break
	fi
done
[ -n "$ADMGRP" ] || rb_skip "no group to use as admin_group"
printf '[daemon]\nlog_level = debug\nadmin_group = %s\n' "$ADMGRP" > "$RB_CONF"
rb_daemon_start
ctl() { "$RB_RDMACTL" "$@"; }
json_len() { python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }

# Root holds a client with 2 PDs; nobody holds one with 1.
rb_holder_start "$top_builddir/tests/integration/pd" 2
ROOT_HOLDER=$RB_HOLDER
ident_bg "$ROOT_HOLDER"
rm -f "$RB_TMP/n.out"; mkfifo "$RB_TMP/n.out"
$AS_NOBODY "$top_builddir/tests/integration/pd" hold 1 > "$RB_TMP/n.out" &
NOBODY_HOLDER=$!
ident_bg "$NOBODY_HOLDER"
read -r l < "$RB_TMP/n.out"
[ "$l" = ready ] || rb_fail "nobody's holder did not get ready"

# ---- nobody, not in admin_group
nb() { as_nobody "$RB_RDMACTL" "$@"; }
# refused RC MESSAGE ARGS...: nobody's rdmactl ARGS exits RC saying MESSAGE.
refused() {
	want_rc=$1 msg=$2; shift 2
	nb "$@" > "$RB_TMP/out" 2> "$RB_TMP/err"; rc=$?
	[ "$rc" -eq "$want_rc" ] || rb_fail "nobody: rdmactl $*: exit $rc, want $want_rc ($(cat "$RB_TMP/err"))"
	grep -q -- "$msg" "$RB_TMP/err" || rb_fail "nobody: rdmactl $*: said $(cat "$RB_TMP/err")"
	echo "ok: nobody: rdmactl $*: $(cat "$RB_TMP/err")"
}
refused 1 'limits_set: permission denied (needs root or the admin group)' \
	limits set uid "$NOBODY" pds 100000
refused 1 'limits_set: permission denied (needs root or the admin group)' \
	limits set uid 0 pds 1
refused 1 'client_kill: permission denied (needs root or the admin group)' \
	client kill "$ROOT_HOLDER"
refused 1 'client_kill: permission denied (needs root or the admin group)' \
	client kill "$NOBODY_HOLDER"
refused 1 "only an administrator sees another user's limits" limits uid 0
grep -q 'limits_set needs admin, refused' "$RB_LOG" || rb_fail "refusal not logged"
kill -0 "$ROOT_HOLDER" || rb_fail "root's holder died"
[ "$(ctl -j res show pid "$ROOT_HOLDER" | json_len)" = 2 ] ||
	rb_fail "root's holder lost objects"
# What nobody may see: its own.
nb -j status | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["admin"] is False, s
assert s["clients"] == 3, s		# a count of everyone is all it gets' ||
	rb_fail "nobody: status: $(nb -j status)"
nb -j client | python3 -c "
import json, sys
c = json.load(sys.stdin)
assert c and all(x['uid'] == $NOBODY for x in c), c
assert $ROOT_HOLDER not in [x['pid'] for x in c], c" ||
	rb_fail "nobody sees other users' clients: $(nb -j client)"
[ "$(nb -j client show pid "$ROOT_HOLDER")" = "[]" ] ||
	rb_fail "nobody sees root's holder: $(nb client show pid "$ROOT_HOLDER")"
nb -j res show | python3 -c "
import json, sys
r = json.load(sys.stdin)
assert len(r) == 1 and r[0]['uid'] == $NOBODY and r[0]['pid'] == $NOBODY_HOLDER, r" ||
	rb_fail "nobody: res: $(nb -j res show)"
[ "$(nb -j res show pid "$ROOT_HOLDER")" = "[]" ] || rb_fail "nobody sees root's objects"
nb -j limits | python3 -c "
import json, sys
d = json.load(sys.stdin)
rows = {r['name']: r for r in d['limits']}
assert d['uid'] == $NOBODY and rows['pds']['used'] == 1, d" ||
	rb_fail "nobody: own limits: $(nb -j limits)"
echo "ok: nobody sees its own clients, objects and limits only"

# ---- nobody in admin_group (supplementary)
ad() { as_nobody_in "$ADMGID" "$RB_RDMACTL" "$@"; }
[ "$(ad -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["admin"])')" = True ] ||
	rb_fail "a member of $ADMGRP is not admin: $(ad status)"
[ "$(ad -j res show | json_len)" = 3 ] || rb_fail "admin: res: $(ad res)"
ad -j client show pid "$ROOT_HOLDER" | python3 -c '
import json, sys
c, = json.load(sys.stdin)
assert c["uid"] == 0 and c["objects"]["pd"] == 2, c' ||
	rb_fail "admin: client show pid: $(ad -j client show pid "$ROOT_HOLDER")"
ad limits uid 0 > /dev/null || rb_fail "admin cannot read root's limits"
ad limits set uid "$NOBODY" pds 1 || rb_fail "admin cannot set a limit"
[ "$(nb -j limits | python3 -c 'import json,sys; print({r["name"]: r for r in json.load(sys.stdin)["limits"]}["pds"]["limit"])')" = 1 ] ||
	rb_fail "the limit the admin set is not in force"
grep -q "set pds of uid $NOBODY to 1 until restart" "$RB_LOG" || rb_fail "limits set not logged"
out=$(ad client kill "$ROOT_HOLDER") || rb_fail "admin cannot kill root's client"
[ "$out" = "disconnected 1 connection(s) of pid $ROOT_HOLDER" ] || rb_fail "kill said: $out"
rb_wait_for_log "disconnected by uid $NOBODY" || rb_fail "kill not logged"
[ "$(ctl -j res show pid "$ROOT_HOLDER" | json_len)" = 0 ] ||
	rb_fail "root's holder's objects outlived the kill"
echo "ok: a member of $ADMGRP sees all, sets limits and kills clients"

kill "$ROOT_HOLDER" "$NOBODY_HOLDER" 2>/dev/null
wait "$ROOT_HOLDER" "$NOBODY_HOLDER" 2>/dev/null
RB_HOLDER=
rb_daemon_stop
rb_pass
