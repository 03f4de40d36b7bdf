#!/bin/sh
# rdmactl client and status: a long-lived client shows up with its pid,
# comm and name, text and JSON; rdmactl sees itself; the pid filter; the
# client count and admin flag of `status`; and (as root) user nobody sees
# only its own clients and is not admin.
. "$top_srcdir/tests/lib/lib.sh"

command -v python3 >/dev/null || rb_skip "python3 not installed"
HOLDER="$top_builddir/tests/lib/rdmactl-holder"
ME=$(id -u)

rb_daemon_start

# The holder prints "connected ID PID" once handshaken and stays connected
# until its stdin (fd 3 here) closes, or the daemon goes away.
mkfifo "$RB_TMP/hold.in" "$RB_TMP/hold.out" || rb_fail "mkfifo"
"$HOLDER" < "$RB_TMP/hold.in" > "$RB_TMP/hold.out" &
holder=$!
exec 3> "$RB_TMP/hold.in"
read -r word hid hpid < "$RB_TMP/hold.out"
[ "$word" = connected ] && [ "$hpid" = "$holder" ] ||
	rb_fail "holder did not connect ('$word $hid $hpid')"

out=$("$RB_RDMACTL" client) || rb_fail "rdmactl client failed"
echo "$out"
echo "$out" | grep -q "^client $hid pid $hpid uid $ME .*comm rdmactl-holder since [0-9-]*T[0-9:]*[+-][0-9:]* age [0-9]*s name rdmactl-holder version " ||
	rb_fail "holder not listed as expected"
echo "$out" | grep -q "^client [0-9]* pid [0-9]* uid $ME .*comm rdmactl .* name rdmactl " ||
	rb_fail "rdmactl does not list itself"
[ "$(echo "$out" | wc -l)" -eq 2 ] || rb_fail "expected exactly two clients"

"$RB_RDMACTL" -j client > "$RB_TMP/clients.json" || rb_fail "rdmactl -j client failed"
python3 - "$RB_TMP/clients.json" "$hid" "$hpid" "$ME" <<'PY' || rb_fail "JSON check failed"
import json, re, sys
doc = json.load(open(sys.argv[1]))
hid, hpid, me = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
assert isinstance(doc, list) and len(doc) == 2, doc
h = [c for c in doc if c["pid"] == hpid]
assert len(h) == 1, doc
h = h[0]
assert h["id"] == hid and h["uid"] == me, h
assert h["comm"] == "rdmactl-holder" and h["client_name"] == "rdmactl-holder", h
assert "client_version" in h and isinstance(h["gid"], int), h
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", h["connected_since"]), h
assert isinstance(h["age_sec"], int) and h["age_sec"] >= 0, h
if me == 0:
    assert h["user"] == "root", h
me_ctl = [c for c in doc if c["comm"] == "rdmactl"]
assert len(me_ctl) == 1 and me_ctl[0]["client_name"] == "rdmactl", doc
print("JSON ok")
PY

# Only the holder, by pid; a pid with no client gives an empty list.
out=$("$RB_RDMACTL" -j client show pid "$hpid") || rb_fail "client show pid failed"
python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert [c["pid"] for c in d] == [int(sys.argv[2])], d' \
	"$out" "$hpid" || rb_fail "pid filter: $out"
out=$("$RB_RDMACTL" client show pid 999999999) || rb_fail "client show pid (none) failed"
[ -z "$out" ] || rb_fail "clients listed for a pid without clients: $out"

# status: the holder and rdmactl itself are connected.
out=$("$RB_RDMACTL" status) || rb_fail "rdmactl status failed"
echo "$out"
echo "$out" | grep -qx 'clients    2' || rb_fail "status does not count 2 clients"
echo "$out" | grep -qx 'devices    1' || rb_fail "status does not count 1 device"
echo "$out" | grep -qx "pid        $RB_DAEMON_PID" || rb_fail "status has the wrong pid"
if [ "$ME" -eq 0 ]; then
	echo "$out" | grep -qx 'admin      yes' || rb_fail "root is not admin"
fi
out=$("$RB_RDMACTL" -j status) || rb_fail "rdmactl -j status failed"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["clients"] == 2 and d["devices"] == 1 and d["pid"] == int(sys.argv[2]), d
assert d["admin"] is (sys.argv[3] == "0"), d
assert d["socket"] == sys.argv[4] and isinstance(d["uptime_sec"], int), d
assert d["proto_version"] == 2 and d["reloads"] == 0, d
' "$out" "$RB_DAEMON_PID" "$ME" "$RB_SOCK" || rb_fail "status JSON: $out"

# Another user sees only its own clients (the daemon filters).
nobody_ok=yes
[ "$ME" -eq 0 ] || nobody_ok="not root"
command -v setpriv >/dev/null || nobody_ok="setpriv (util-linux) not installed"
NOBODY=$(id -u nobody 2>/dev/null) || nobody_ok="no user nobody"
NOGROUP=$(getent group nogroup | cut -d: -f3)
[ -n "$NOGROUP" ] || nobody_ok="no group nogroup"
if [ "$nobody_ok" = yes ]; then
	# The build tree may sit where nobody cannot reach (e.g. under /root).
	cp "$RB_RDMACTL" "$RB_TMP/rdmactl"
	chmod 755 "$RB_TMP"
	as_nobody() {
		setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups "$@"
	}
	out=$(as_nobody "$RB_TMP/rdmactl" -j client) || rb_fail "nobody: rdmactl -j client failed: $out"
	echo "nobody: $out"
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert len(d) == 1 and d[0]["uid"] == int(sys.argv[2]) and d[0]["comm"] == "rdmactl", d
' "$out" "$NOBODY" || rb_fail "nobody saw other users' clients: $out"
	out=$(as_nobody "$RB_TMP/rdmactl" client show pid "$hpid") || rb_fail "nobody: client show pid failed"
	[ -z "$out" ] || rb_fail "nobody saw root's holder: $out"
	out=$(as_nobody "$RB_TMP/rdmactl" status) || rb_fail "nobody: status failed"
	echo "$out" | grep -qx 'admin      no' || rb_fail "nobody is admin: $out"
else
	rb_log "not checking another user's view: $nobody_ok"
fi

exec 3>&-
wait "$holder" || rb_fail "holder exited $?"
rb_daemon_stop
rb_pass
