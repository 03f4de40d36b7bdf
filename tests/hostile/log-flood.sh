#!/bin/sh
# Per-client log rate limiting (issue 14): an unprivileged client sends
# 20,000 requests the daemon refuses (each logged before); the daemon
# logs at most a burst plus a steady rate of them, and a summary line of
# how many it dropped.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"

TENANT="$top_builddir/tests/lib/tenant"
printf '[daemon]\nlog_level = info\n' > "$RB_CONF"
rb_daemon_start
t0=$(date +%s)
$AS_NOBODY "$TENANT" spam 20000 || rb_fail "the refused requests were not refused"
t1=$(date +%s)
rb_daemon_stop
n=$(grep -c 'needs admin' "$RB_LOG")
# Burst 50, 10 a second (LOG_LIMIT_BURST, LOG_LIMIT_RATE in daemon/log.h).
max=$((50 + 10 * (t1 - t0 + 1)))
rb_log "$n of 20000 refusals logged in $((t1 - t0 + 1)) s (at most $max allowed); $(wc -c < "$RB_LOG") bytes of log"
[ "$n" -le "$max" ] || rb_fail "$n refusal lines logged, more than $max"
[ "$n" -ge 10 ] || rb_fail "only $n refusal lines logged: the first ones must show"
grep -E 'client [0-9]+ \(pid [0-9]+ uid [0-9]+\): [0-9]+ log lines suppressed' "$RB_LOG" >&2 ||
	rb_fail "no summary of the suppressed lines"
sup=$(grep -Eo '[0-9]+ log lines suppressed' "$RB_LOG" | awk '{ s += $1 } END { print s }')
[ $((sup + n)) -ge 20000 ] || rb_fail "$n logged and $sup suppressed: some lines are unaccounted for"
rb_pass
