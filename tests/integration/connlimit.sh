#!/bin/sh
# Per-user `connections` and global `max_clients` limits.
. "$top_srcdir/tests/lib/lib.sh"

EDQUOT=122
EUSERS=87

printf '[daemon]\nlog_level = debug\n[limits]\nconnections = 3\n' > "$RB_CONF"
rb_daemon_start
"$top_builddir/tests/integration/connlimit" 3 $EDQUOT || rb_fail "connections limit"
grep -q 'connections limit (3) reached' "$RB_LOG" || rb_fail "no log line for the limit"
rb_daemon_stop

rm -f "$RB_CONF"
printf '[daemon]\nmax_clients = 5\n[limits]\nconnections = 0\n' > "$RB_CONF"
rb_daemon_start
"$top_builddir/tests/integration/connlimit" 5 $EUSERS || rb_fail "max_clients"
grep -q 'max_clients (5) reached' "$RB_LOG" || rb_fail "no log line for max_clients"
rb_daemon_stop
rb_pass
