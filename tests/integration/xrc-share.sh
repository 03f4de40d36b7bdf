#!/bin/sh
# XRC domains shared between processes by file, and ibv_open_qp
# (tests/integration/xrc-share.c): a creator, an opener and a sender share
# an XRC_RECV QP and an XRC SRQ through a domain opened by file, traffic
# flows before and after the creator is SIGKILLed, and after the opener is
# SIGKILLed too nothing is left (`rdmactl -j res`, and the domain is gone:
# EAGAIN without O_CREAT).  The kernel's errnos for O_EXCL, no O_CREAT,
# O_PATH fds, no such QP; another user cannot name a root-only file's
# domain (run as nobody, when root); with [limits] qps = 1 an opened QP
# counts against the limit (EDQUOT).
. "$top_srcdir/tests/lib/lib.sh"

PROG="$top_builddir/tests/integration/xrc-share"
FILE="$RB_TMP/xrc-domain"

rb_daemon_start
"$PROG" share "$FILE" || rb_fail "share"
# What the killed processes held goes with their connections.
for _ in $(seq 1 50); do
	[ "$("$RB_RDMACTL" -j res)" = "[]" ] && break
	sleep 0.1
done
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
"$PROG" gone "$FILE" || rb_fail "the shared domain outlived every holder"
"$PROG" rules "$FILE" || rb_fail "rules"
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"

# Another user's file (mode 0600, root's): nobody cannot open it, and the
# O_PATH fd it can get names no domain, while root holds that domain.
nobody=$(id -u nobody 2>/dev/null) || nobody=
if [ "$(id -u)" -eq 0 ] && [ -n "$nobody" ] && [ "$nobody" -ne 0 ] &&
   command -v setpriv >/dev/null 2>&1 &&
   setpriv --reuid="$nobody" --regid="$(id -g nobody)" --clear-groups \
	test -x "$PROG"; then
	chmod 755 "$RB_TMP"
	rm -f "$FILE"
	mkfifo "$RB_TMP/hold.in"
	"$PROG" hold "$FILE" < "$RB_TMP/hold.in" > "$RB_TMP/hold.out" 2>&1 &
	hpid=$!
	exec 3> "$RB_TMP/hold.in"
	for _ in $(seq 1 100); do
		grep -q holding "$RB_TMP/hold.out" && break
		sleep 0.1
	done
	grep -q holding "$RB_TMP/hold.out" || rb_fail "holder: $(cat "$RB_TMP/hold.out")"
	chmod 600 "$FILE"
	setpriv --reuid="$nobody" --regid="$(id -g nobody)" --clear-groups \
		"$PROG" foreign "$FILE" || rc=1
	exec 3>&-
	wait "$hpid" || rb_fail "holder: $(cat "$RB_TMP/hold.out")"
	[ "${rc:-0}" -eq 0 ] || rb_fail "foreign: another user named root's domain"
else
	rb_log "not root, or no user nobody/setpriv: the other-user case is skipped"
fi
rb_daemon_alive || rb_fail "the daemon died"
rb_daemon_stop

printf '[daemon]\nlog_level = debug\n[limits]\nqps = 1\n' > "$RB_CONF"
rb_daemon_start
"$PROG" limit "$FILE" || rb_fail "limit"
grep -q 'qps limit 1 reached' "$RB_LOG" || rb_fail "no log line for the qps limit"
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
rb_daemon_stop
if grep -E -i '^<[0-3]>|shared object\(s\) left' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors or leaks (above)"
fi
rb_pass
