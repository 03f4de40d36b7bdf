#!/bin/sh
# Non-admin users see only their own clients; root and admin_group see all.
. "$top_srcdir/tests/lib/lib.sh"

command -v setpriv >/dev/null || rb_skip "setpriv (util-linux) not installed"
[ "$(id -u)" -eq 0 ] || rb_skip "needs root to switch users"
NOBODY=$(id -u nobody 2>/dev/null) || rb_skip "no user 'nobody'"
NOGROUP=$(getent group nogroup | cut -d: -f3)
[ -n "$NOGROUP" ] || rb_skip "no group 'nogroup'"
# The build tree may sit where nobody cannot reach (e.g. under /root):
# run a copy from our temp dir, which nobody may enter for the socket too.
cp "$top_builddir/tests/integration/admin" "$RB_TMP/daemon-admin"
ADMIN="$RB_TMP/daemon-admin"
chmod 755 "$RB_TMP"
as_nobody() {
	setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups "$@"
}

run_case() {
	rb_daemon_start
	"$ADMIN" hold 30 & holder=$!
	# wait until the holder is connected
	for _ in $(seq 50); do
		"$ADMIN" list | grep -q "uids=.*0,0" && break
		sleep 0.1
	done
}

printf '[daemon]\nlog_level = debug\n' > "$RB_CONF"
run_case
out=$(as_nobody "$ADMIN" list) || rb_fail "nobody could not list: $out"
echo "nobody: $out"
[ "$out" = "admin=0 clients=1 uids=$NOBODY" ] ||
	rb_fail "nobody saw other users' clients: $out"
out=$("$ADMIN" list)
echo "root: $out"
case "$out" in
admin=1\ clients=2\ uids=0,0) ;;
*) rb_fail "root should see both of its clients: $out" ;;
esac
kill "$holder"; wait "$holder" 2>/dev/null
rb_daemon_stop

# Members of admin_group see everyone.
printf '[daemon]\nadmin_group = nogroup\n' > "$RB_CONF"
run_case
out=$(as_nobody "$ADMIN" list) || rb_fail "nobody could not list: $out"
echo "nobody in admin_group: $out"
case "$out" in
admin=1\ clients=2\ uids=0,$NOBODY) ;;
*) rb_fail "admin_group member should see root's client: $out" ;;
esac
kill "$holder"; wait "$holder" 2>/dev/null
rb_daemon_stop
rb_pass
