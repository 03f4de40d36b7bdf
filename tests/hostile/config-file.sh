#!/bin/sh
# The configuration must be a regular file of bounded size (issue 14):
# -c /dev/zero read without end, and a FIFO as the config blocked the
# daemon's only thread on SIGHUP.  Both are refused with "FILE: reason".
. "$top_srcdir/tests/lib/lib.sh"

out=$(timeout 10 "$RB_DAEMON" -t -c /dev/zero 2>&1); rc=$?
[ "$rc" -eq 1 ] || rb_fail "-c /dev/zero: exit $rc (124: still reading after 10 s): $out"
echo "$out" | grep -q '/dev/zero: not a regular file' || rb_fail "-c /dev/zero said: $out"

head -c 2000000 /dev/zero | tr '\0' '#' > "$RB_TMP/big.conf"
out=$(timeout 10 "$RB_DAEMON" -t -c "$RB_TMP/big.conf" 2>&1); rc=$?
[ "$rc" -eq 1 ] || rb_fail "a 2 MB config: exit $rc: $out"
echo "$out" | grep -q "big.conf: larger than 1 MiB" || rb_fail "a 2 MB config said: $out"

mkfifo "$RB_TMP/fifo.conf"
out=$(timeout 10 "$RB_DAEMON" -t -c "$RB_TMP/fifo.conf" 2>&1); rc=$?
[ "$rc" -eq 1 ] || rb_fail "a FIFO config: exit $rc (124: blocked): $out"
echo "$out" | grep -q 'fifo.conf: not a regular file' || rb_fail "a FIFO config said: $out"

# A FIFO put in the config's place, then SIGHUP: refused, the old
# configuration kept, the daemon still answers.
rb_daemon_start
rm -f "$RB_CONF" && mkfifo "$RB_CONF"
kill -HUP "$RB_DAEMON_PID"
rb_wait_for_log "not a regular file; keeping the previous configuration" ||
	rb_fail "the reload of a FIFO was not refused"
timeout 5 "$RB_RDMACTL" status >/dev/null || rb_fail "the daemon does not answer after the reload of a FIFO"
rb_daemon_stop
rb_pass
