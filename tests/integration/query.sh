#!/bin/sh
# The device verbs through librdmabroker and a real daemon
# (tests/integration/query.c, linked with -lrdmabroker).
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[soft]\ngid_address = 192.0.2.7\nnode_guid = 0x0002c9fffe001234\n' > "$RB_CONF"
rb_daemon_start
base=$(rb_fd_count "$RB_DAEMON_PID")
"$top_builddir/tests/integration/query" || rb_fail "client-query reported failures"
rb_daemon_alive || rb_fail "daemon died"
grep -q 'opened rbsoft0' "$RB_LOG" || rb_fail "no log line for the opened device"
# Every context's connection is gone once the program has exited.
for _ in $(seq 1 50); do
	[ "$(rb_fd_count "$RB_DAEMON_PID")" -le "$base" ] && break
	sleep 0.1
done
now=$(rb_fd_count "$RB_DAEMON_PID")
[ "$now" -le "$base" ] || rb_fail "daemon holds $now fds, $base before the client"
rb_daemon_stop
rb_pass
