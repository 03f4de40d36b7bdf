#!/bin/sh
# Bounded memory (issue 14): an unprivileged user creates CQs of 4096
# entries and QPs of 4096 send and receive slots until a create fails.
# With [limits] memory = 96M it must fail with EDQUOT on the memory limit
# (named in the log and in `rdmactl limits`), long before its qps or cqs
# limit, and the daemon's RSS must stay under the limit plus the constant
# docs/SECURITY.md gives (64 MiB: the daemon itself, its buffers).  Before,
# nothing counted ring bytes and 150 QPs took 2.88 GB.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"

LIMIT_MB=96
CONST_MB=64
printf '[daemon]\nlog_level = info\n[limits]\nmemory = %dM\n' "$LIMIT_MB" > "$RB_CONF"
rb_daemon_start
rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$RB_DAEMON_PID/status"; }
rss0=$(rss)

mkfifo "$RB_TMP/hold"
$AS_NOBODY "$top_builddir/tests/hostile/mem-limit" 4096 4096 <"$RB_TMP/hold" >"$RB_TMP/out" 2>&1 &
HOLDER=$!
ident_bg $HOLDER
exec 7>"$RB_TMP/hold"
for _ in $(seq 1 300); do
	grep -q '^created' "$RB_TMP/out" && break
	sleep 0.1
done
grep -q '^created' "$RB_TMP/out" || rb_fail "mem-limit did not finish: $(cat "$RB_TMP/out")"
rss1=$(rss)
cat "$RB_TMP/out" >&2
"$RB_RDMACTL" limits uid "$NOBODY" >&2
used=$("$RB_RDMACTL" -j limits uid "$NOBODY" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([l["used"] for l in d["limits"] if l["name"] == "memory"][0])')
rb_log "daemon RSS ${rss0} MiB at start, ${rss1} MiB holding the user's objects; memory used $((used >> 20)) MiB of ${LIMIT_MB} MiB"
grep -q 'failed: EDQUOT' "$RB_TMP/out" || rb_fail "the create past the limit did not fail with EDQUOT"
grep -q 'memory limit' "$RB_LOG" || rb_fail "the refusal does not name the memory limit"
[ "$used" -gt $(( (LIMIT_MB - 8) << 20 )) ] && [ "$used" -le $((LIMIT_MB << 20)) ] ||
	rb_fail "rdmactl limits shows $used bytes of memory used, not close under $LIMIT_MB MiB"
[ "$rss1" -le $((LIMIT_MB + CONST_MB)) ] ||
	rb_fail "daemon RSS $rss1 MiB is over the user's memory limit $LIMIT_MB MiB plus $CONST_MB MiB"
exec 7>&-
wait $HOLDER
# Everything charged is uncharged when it goes.
for _ in $(seq 1 50); do
	used=$("$RB_RDMACTL" -j limits uid "$NOBODY" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([l["used"] for l in d["limits"] if l["name"] == "memory"][0])')
	[ "$used" -eq 0 ] && break
	sleep 0.1
done
[ "$used" -eq 0 ] || rb_fail "$used bytes of memory still charged after the user left"
rb_daemon_stop
rb_pass
