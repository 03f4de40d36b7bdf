#!/bin/sh
# Socket activation and sd_notify, outside systemd: systemd-socket-activate
# passes the socket, a python listener stands in for NOTIFY_SOCKET.
#   - activation on the first connection; READY=1 with STATUS=, STATUS=
#     follows the client count; WATCHDOG=1 repeats with WATCHDOG_USEC;
#     SIGHUP gives RELOADING=1 then READY=1; SIGTERM gives STOPPING=1 and
#     exit 0, and the socket file (systemd's) stays.
#   - an unusable passed fd (regular file, stream socket, two fds) makes
#     the daemon exit 1 with a clear log line and create no socket.
. "$top_srcdir/tests/lib/lib.sh"

PY=${PYTHON3:-python3}
command -v "$PY" >/dev/null 2>&1 || rb_skip "python3 not found"
[ -n "${SYSTEMD_SOCKET_ACTIVATE:-}" ] && [ -x "$SYSTEMD_SOCKET_ACTIVATE" ] ||
	rb_skip "systemd-socket-activate not found by configure"

NOTIFY_SOCK="$RB_TMP/notify.sock"
NOTIFY_LOG="$RB_TMP/notify.log"
HELPERS=

cleanup_helpers() {
	for p in $HELPERS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rb_cleanup
}
trap cleanup_helpers EXIT

fail() {
	if [ -s "$NOTIFY_LOG" ]; then
		echo "---- notifications ----" >&2
		cat "$NOTIFY_LOG" >&2
	fi
	rb_fail "$@"
}

# One line per datagram, its fields joined by ';'.
cat > "$RB_TMP/notify.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1] + ".tmp")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
with open(sys.argv[2], "a") as log:
    while True:
        msg = s.recv(65536).decode("utf-8", "replace")
        log.write(";".join(msg.strip("\n").split("\n")) + "\n")
        log.flush()
PY

# A client that stays connected until the daemon closes it or it is killed.
cat > "$RB_TMP/hold.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
while s.recv(65536):
    pass
PY

# Run the daemon with fd 3 (and 4) set up by python and LISTEN_PID right.
cat > "$RB_TMP/badfd.py" <<'PY'
import os, socket, sys
kind, path = sys.argv[1], sys.argv[2]
fds = []
if kind == "file":
    fds.append(os.open(path, os.O_RDONLY))
elif kind == "stream":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    fds.append(s.detach())
elif kind == "two":
    for i in range(2):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.bind(path + str(i))
        s.listen(8)
        fds.append(s.detach())
for i, fd in enumerate(fds):
    os.dup2(fd, 3 + i)
    os.set_inheritable(3 + i, True)
os.environ["LISTEN_FDS"] = str(len(fds))
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[3], sys.argv[3:])
PY

# wait_notify PATTERN [COUNT]: until COUNT (1) datagrams match PATTERN.
wait_notify() {
	for _ in $(seq 1 300); do
		[ "$(grep -c -- "$1" "$NOTIFY_LOG" 2>/dev/null)" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	fail "no notification matching '$1' (x${2:-1}) within 30 s"
}
# line_of PATTERN [AFTER]: number of the first datagram holding PATTERN
# after line AFTER (0); empty if none.
line_of() {
	awk -v pat="$1" -v after="${2:-0}" \
		'NR > after && index($0, pat) { print NR; exit }' "$NOTIFY_LOG"
}
# wait_after PATTERN AFTER: until a datagram after line AFTER holds
# PATTERN; prints its line number.
wait_after() {
	for _ in $(seq 1 300); do
		n=$(line_of "$1" "$2")
		[ -n "$n" ] && { echo "$n"; return 0; }
		sleep 0.1
	done
	fail "no notification holding '$1' after datagram $2 within 30 s"
}

"$PY" "$RB_TMP/notify.py" "$NOTIFY_SOCK" "$NOTIFY_LOG" & HELPERS="$HELPERS $!"
for _ in $(seq 1 300); do
	[ -S "$NOTIFY_SOCK" ] && break
	sleep 0.1
done
[ -S "$NOTIFY_SOCK" ] || fail "notify listener did not start"

printf '[daemon]\nlog_level = debug\n' > "$RB_CONF"
# systemd-socket-activate passes only the environment it is told to.
san_env=
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	eval "[ -n \"\${$v+set}\" ]" && san_env="$san_env -E $v"
done
# shellcheck disable=SC2086
"$SYSTEMD_SOCKET_ACTIVATE" --seqpacket -l "$RB_SOCK" \
	-E NOTIFY_SOCKET="$NOTIFY_SOCK" -E WATCHDOG_USEC=1000000 $san_env \
	"$RB_DAEMON" -c "$RB_CONF" >>"$RB_LOG" 2>&1 &
RB_DAEMON_PID=$!
for _ in $(seq 1 300); do
	[ -S "$RB_SOCK" ] && break
	kill -0 "$RB_DAEMON_PID" 2>/dev/null || fail "systemd-socket-activate exited"
	sleep 0.1
done
[ -S "$RB_SOCK" ] || fail "systemd-socket-activate did not create $RB_SOCK"
[ -s "$NOTIFY_LOG" ] && fail "notifications before any client connected"

# The first connection starts the daemon (same pid: it execs).
"$PY" "$RB_TMP/hold.py" "$RB_SOCK" & holder=$!
HELPERS="$HELPERS $holder"
wait_notify 'READY=1'
rb_wait_for_log "listening on the socket passed by systemd" ||
	fail "daemon did not say it uses the passed socket"
wait_notify 'STATUS=1 clients'
ready=$(line_of 'READY=1')
one=$(line_of 'STATUS=1 clients')
[ "$ready" -lt "$one" ] || fail "client counted before READY=1"
sed -n "${ready}p" "$NOTIFY_LOG" | grep -q '^READY=1;STATUS=0 clients, [0-9]* device' ||
	fail "READY=1 without STATUS="
echo "ok: activation, READY=1, STATUS= with the client count"

# Pings at half of WATCHDOG_USEC: the first at start, then more.
wait_notify '^WATCHDOG=1$' 3
rb_wait_for_log "watchdog: pinging every 500 ms" || fail "watchdog interval not logged"
echo "ok: WATCHDOG=1"

kill -HUP "$RB_DAEMON_PID"
reloading=$(wait_after 'RELOADING=1' "$one") || exit 1
wait_after 'READY=1' "$reloading" >/dev/null || exit 1
rb_wait_for_log "configuration reloaded from $RB_CONF" || fail "reload not logged"
echo "ok: SIGHUP gives RELOADING=1 then READY=1"

kill "$holder"; wait "$holder" 2>/dev/null
wait_after 'STATUS=0 clients' "$one" >/dev/null || exit 1
echo "ok: STATUS= follows the disconnect"

kill -TERM "$RB_DAEMON_PID"
for _ in $(seq 1 100); do
	kill -0 "$RB_DAEMON_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$RB_DAEMON_PID" 2>/dev/null && fail "daemon ignored SIGTERM for 10 s"
wait "$RB_DAEMON_PID"; rc=$?
RB_DAEMON_PID=
[ "$rc" -eq 0 ] || fail "daemon exited $rc after SIGTERM"
wait_notify 'STOPPING=1'
[ -S "$RB_SOCK" ] || fail "the daemon removed the socket systemd owns"
echo "ok: SIGTERM gives STOPPING=1, exit 0, socket file kept"

# ---- unusable sockets from "systemd"
# bad_fds KIND MESSAGE
bad_fds() {
	: > "$RB_LOG"
	"$PY" "$RB_TMP/badfd.py" "$1" "$RB_TMP/bad-$1" "$RB_DAEMON" \
		-c "$RB_CONF" -s "$RB_TMP/own.sock" >>"$RB_LOG" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || fail "passed $1: daemon exited $rc, want 1"
	grep -q -- "$2" "$RB_LOG" || fail "passed $1: no log line '$2'"
	[ -e "$RB_TMP/own.sock" ] && fail "passed $1: daemon made its own socket"
	echo "ok: passed $1 refused"
}
: > "$RB_TMP/bad-file"
bad_fds file "socket from systemd (fd 3) is not a listening AF_UNIX SOCK_SEQPACKET socket"
bad_fds stream "socket from systemd (fd 3) is not a listening AF_UNIX SOCK_SEQPACKET socket"
bad_fds two "systemd passed 2 sockets; rdmabrokerd takes exactly one"
rb_pass
