#!/bin/sh
# Protection domains and the resource registry: the protocol
# (tests/integration/registry), the verbs (tests/integration/pd), rdmactl res, and a client
# killed with SIGKILL while holding 100 PDs leaving nothing behind.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[limits]\npds = 8\n' > "$RB_CONF"
rb_daemon_start
base=$(rb_fd_count "$RB_DAEMON_PID")
"$top_builddir/tests/integration/registry" || rb_fail "daemon-res reported failures"
"$top_builddir/tests/integration/pd" || rb_fail "client-pd reported failures"
grep -q 'pds limit 8 reached' "$RB_LOG" || rb_fail "no log line for the pds limit"

# rdmactl res: the grammar.
"$RB_RDMACTL" res show bogus >/dev/null 2>"$RB_TMP/err"; [ $? -eq 2 ] ||
	rb_fail "res show bogus: want exit 2"
grep -q 'unknown argument "bogus"' "$RB_TMP/err" || rb_fail "res show bogus: $(cat "$RB_TMP/err")"
"$RB_RDMACTL" res show pid x >/dev/null 2>&1; [ $? -eq 2 ] || rb_fail "res show pid x: want exit 2"
"$RB_RDMACTL" res help | grep -q '^Usage: rdmactl \[OPTIONS\] res' || rb_fail "res help"
rb_daemon_stop

# SIGKILL with 100 PDs held: rdmactl shows them, then nothing; fds return.
printf '[daemon]\nlog_level = debug\n[limits]\npds = 0\n' > "$RB_CONF"
: > "$RB_LOG"
rb_daemon_start
base=$(rb_fd_count "$RB_DAEMON_PID")
rb_holder_start "$top_builddir/tests/integration/pd" 100
n=$("$RB_RDMACTL" -j res show pd | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" -eq 100 ] || rb_fail "rdmactl res show pd lists $n PDs, want 100"
"$RB_RDMACTL" res | grep -q "comm pd dev rbsoft0 pd 100 mr 0 cq 0 qp 0 srq 0 ah 0 mw 0 xrcd 0 channel 0\$" ||
	rb_fail "rdmactl res summary: $("$RB_RDMACTL" res)"
rb_holder_kill_check 100 "$base"
rb_daemon_stop
rb_pass
