#!/bin/sh
# The resource registry through the raw protocol (tests/integration/registry.c):
# handles per connection, stale and foreign handles refused, the pds
# limit summed over a user's connections and logged; and the grammar of
# rdmactl res.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[limits]\npds = 8\n' > "$RB_CONF"
rb_daemon_start
"$top_builddir/tests/integration/registry" || rb_fail "registry reported failures"
grep -q 'pds limit 8 reached' "$RB_LOG" || rb_fail "no log line for the pds limit"

# rdmactl res: the grammar.
"$RB_RDMACTL" res show bogus >/dev/null 2>"$RB_TMP/err"; [ $? -eq 2 ] ||
	rb_fail "res show bogus: want exit 2"
grep -q 'unknown argument "bogus"' "$RB_TMP/err" || rb_fail "res show bogus: $(cat "$RB_TMP/err")"
"$RB_RDMACTL" res show pid x >/dev/null 2>&1; [ $? -eq 2 ] || rb_fail "res show pid x: want exit 2"
"$RB_RDMACTL" res help | grep -q '^Usage: rdmactl \[OPTIONS\] res' || rb_fail "res help"
rb_daemon_stop
rb_pass
