#!/bin/sh
# The daemon's life outside systemd: command line, -t, its own socket
# (mode, group, stale, busy, not a socket), SIGHUP good and bad, SIGTERM.
. "$top_srcdir/tests/lib/lib.sh"

PY=${PYTHON3:-python3}
command -v "$PY" >/dev/null 2>&1 || rb_skip "python3 not found"

# ---- command line
out=$("$RB_DAEMON" --help) || rb_fail "--help exited $?"
case "$out" in Usage:\ rdmabrokerd*) ;; *) rb_fail "--help printed: $out" ;; esac
"$RB_DAEMON" --no-such-option >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || rb_fail "unknown option exited $rc, want 2"
"$RB_DAEMON" -x >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || rb_fail "unknown short option exited $rc, want 2"
"$RB_DAEMON" extra-argument >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || rb_fail "extra argument exited $rc, want 2"
"$RB_DAEMON" -l loud -t >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || rb_fail "unknown log level exited $rc, want 2"
"$RB_DAEMON" -s relative.sock -t >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || rb_fail "relative --socket exited $rc, want 2"
out=$("$RB_DAEMON" --version) || rb_fail "--version exited $?"
[ "$out" = "rdmabrokerd (rdmabroker) ${PACKAGE_VERSION:?}" ] ||
	rb_fail "--version printed '$out', want version $PACKAGE_VERSION"
echo "ok: --help, --version, usage errors"

# ---- -t: good file 0, bad file 1 with FILE:LINE
printf '[daemon]\nlog_level = debug\nsocket_mode = 0640\n\n[limits]\nqps = 8\n' > "$RB_CONF"
out=$("$RB_DAEMON" -t -c "$RB_CONF") || rb_fail "-t refused a good file: $out"
[ "$out" = "$RB_CONF: OK" ] || rb_fail "-t printed '$out'"
printf '[daemon]\nlog_level = debug\n[limits]\nqps = many\n' > "$RB_TMP/bad.conf"
out=$("$RB_DAEMON" -t -c "$RB_TMP/bad.conf" 2>&1); rc=$?
[ "$rc" -eq 1 ] || rb_fail "-t exited $rc on a bad file, want 1"
case "$out" in
*"$RB_TMP/bad.conf:4: qps: 'many' is not a count"*) ;;
*) rb_fail "-t error has no FILE:LINE: $out" ;;
esac
out=$("$RB_DAEMON" -t -c "$RB_TMP/missing.conf" 2>&1); rc=$?
[ "$rc" -eq 1 ] || rb_fail "-t exited $rc on a missing -c file, want 1"
# A bad file stops a real start too, before any socket exists.
"$RB_DAEMON" -c "$RB_TMP/bad.conf" -s "$RB_SOCK" >>"$RB_LOG" 2>&1; rc=$?
[ "$rc" -eq 1 ] || rb_fail "start with a bad file exited $rc, want 1"
[ -e "$RB_SOCK" ] && rb_fail "socket created despite a bad config"
echo "ok: -t and bad configs"

# ---- socket_mode and socket_group
if [ "$(id -u)" -eq 0 ]; then
	group=$(getent group nogroup | cut -d: -f1)
	[ -n "$group" ] || group=$(getent group | awk -F: '$3 != 0 { print $1; exit }')
else
	# Any group of ours will do for chown.
	group=$(id -Gn | tr ' ' '\n' | tail -n 1)
fi
[ -n "$group" ] || rb_fail "no group to test socket_group with"
printf '[daemon]\nlog_level = debug\nsocket_mode = 0640\nsocket_group = %s\n' "$group" > "$RB_CONF"
rb_daemon_start
mode=$(stat -c '%a %G' "$RB_SOCK")
[ "$mode" = "640 $group" ] || rb_fail "socket is '$mode', want '640 $group'"
echo "ok: socket_mode and socket_group applied"

# ---- SIGHUP with a good file: applied
printf '[daemon]\nlog_level = debug\nsocket_mode = 0604\nsocket_group = %s\n' "$group" > "$RB_CONF"
kill -HUP "$RB_DAEMON_PID"
rb_wait_for_log "configuration reloaded from $RB_CONF" 30 || rb_fail "good reload not logged"
mode=$(stat -c '%a' "$RB_SOCK")
[ "$mode" = 604 ] || rb_fail "reload did not apply socket_mode: $mode"
echo "ok: SIGHUP applies a good file"

# ---- SIGHUP with a broken file: refused with FILE:LINE, still serving
printf '[daemon]\nsocket_mode = 0666\nno_such_key = 1\n' > "$RB_CONF"
kill -HUP "$RB_DAEMON_PID"
rb_wait_for_log "$RB_CONF:3: unknown key 'no_such_key' in \[daemon\]; keeping the previous configuration" 30 ||
	rb_fail "broken reload not refused with FILE:LINE"
rb_daemon_alive || rb_fail "daemon died on a broken reload"
rb_connect_check "$RB_SOCK" || rb_fail "daemon does not accept after a broken reload"
mode=$(stat -c '%a' "$RB_SOCK")
[ "$mode" = 604 ] || rb_fail "a refused reload changed socket_mode to $mode"
[ "$(grep -c 'configuration reloaded' "$RB_LOG")" -eq 1 ] ||
	rb_fail "a refused reload was reported as done"
echo "ok: SIGHUP refuses a broken file and keeps serving"

# ---- a second daemon on the same socket: refused, the first unharmed
ino=$(stat -c '%i' "$RB_SOCK")
printf '[daemon]\nlog_level = debug\n' > "$RB_TMP/second.conf"
# In the background: if it wrongly took over, it would not exit.
"$RB_DAEMON" -c "$RB_TMP/second.conf" -s "$RB_SOCK" > "$RB_TMP/second.log" 2>&1 &
second=$!
for _ in $(seq 1 300); do
	kill -0 "$second" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$second" 2>/dev/null; then
	kill -TERM "$second"; wait "$second"
	rb_fail "second daemon on the same socket did not exit"
fi
wait "$second"; rc=$?
[ "$rc" -eq 1 ] || rb_fail "second daemon exited $rc, want 1"
grep -q "another rdmabrokerd is already listening on $RB_SOCK" "$RB_TMP/second.log" ||
	{ cat "$RB_TMP/second.log" >&2; rb_fail "second daemon did not say why it refused"; }
[ "$(stat -c '%i' "$RB_SOCK")" = "$ino" ] || rb_fail "second daemon replaced the socket"
rb_daemon_alive || rb_fail "first daemon died"
rb_connect_check "$RB_SOCK" || rb_fail "first daemon stopped serving"
echo "ok: second daemon refused, first keeps serving"

# ---- a socket another user may not connect to is not "stale": a second
# daemon run as nobody must not unlink it and take over (EACCES on connect
# proves nothing), even where it could unlink it.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
   NOBODY=$(id -u nobody 2>/dev/null) &&
   NOGROUP=$(getent group nogroup | cut -d: -f3) && [ -n "$NOGROUP" ]; then
	chmod 600 "$RB_SOCK"
	chmod 777 "$RB_TMP"
	cp "$RB_DAEMON" "$RB_TMP/rdmabrokerd-copy"
	chmod 644 "$RB_TMP/second.conf"
	setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups \
		"$RB_TMP/rdmabrokerd-copy" -c "$RB_TMP/second.conf" -s "$RB_SOCK" \
		> "$RB_TMP/third.log" 2>&1 & third=$!
	for _ in $(seq 1 100); do
		kill -0 "$third" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$third" 2>/dev/null && { kill -TERM "$third"; wait "$third"; rb_fail "nobody's daemon took over the socket"; }
	wait "$third"; rc=$?
	chmod 700 "$RB_TMP"
	[ "$rc" -eq 1 ] || { cat "$RB_TMP/third.log" >&2; rb_fail "nobody's daemon exited $rc, want 1"; }
	grep -q "cannot tell whether a daemon listens there (Permission denied); refusing to replace it" "$RB_TMP/third.log" ||
		{ cat "$RB_TMP/third.log" >&2; rb_fail "no reason logged for refusing"; }
	[ "$(stat -c '%i' "$RB_SOCK")" = "$ino" ] || rb_fail "nobody's daemon replaced the socket"
	rb_connect_check "$RB_SOCK" || rb_fail "first daemon stopped serving"
	echo "ok: an unreachable live socket is not taken for stale"
else
	echo "skip: the other-user case needs root, setpriv, nobody and nogroup"
fi

# ---- SIGTERM: exit 0, socket removed
rb_daemon_stop
[ -e "$RB_SOCK" ] && rb_fail "socket file left after SIGTERM"
echo "ok: SIGTERM exits 0 and removes the socket"

# ---- a stale socket (nobody listening) is replaced
"$PY" - "$RB_SOCK" <<'PY' || rb_fail "cannot make a stale socket"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1])
s.close()
PY
[ -S "$RB_SOCK" ] || rb_fail "stale socket not made"
rb_connect_check "$RB_SOCK" && rb_fail "stale socket accepts connections"
printf '[daemon]\nlog_level = debug\n' > "$RB_CONF"
: > "$RB_LOG"
rb_daemon_start
grep -q "removing stale socket $RB_SOCK" "$RB_LOG" || rb_fail "stale socket removal not logged"
rb_daemon_stop
echo "ok: stale socket replaced"

# ---- a regular file at the socket path is refused and kept
echo precious > "$RB_SOCK"
: > "$RB_LOG"
"$RB_DAEMON" -c "$RB_CONF" -s "$RB_SOCK" >>"$RB_LOG" 2>&1; rc=$?
[ "$rc" -eq 1 ] || rb_fail "daemon exited $rc with a file at the socket path, want 1"
grep -q "$RB_SOCK exists and is not a socket; refusing to replace it" "$RB_LOG" ||
	rb_fail "refusal not logged"
[ "$(cat "$RB_SOCK")" = precious ] || rb_fail "the file at the socket path was changed"
echo "ok: regular file at the socket path refused and kept"
rb_pass
