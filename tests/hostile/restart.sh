#!/bin/sh
# The daemon SIGKILLed under load and restarted, RB_SOAK_RESTARTS times
# (default 10), then stopped with SIGTERM under load (tests/hostile/restart.c):
# clients get IBV_EVENT_DEVICE_FATAL and errors from every verb, never a
# hang or a crash, destroys succeed, and a restarted daemon serves again;
# SIGTERM gives STOPPING=1 and exit 0.  RB_CRASH_SEED sets the seed of
# the kill delays (default: the time, printed).
. "$top_srcdir/tests/lib/lib.sh"

ROUNDS=${RB_SOAK_RESTARTS:-10}
SEED=${RB_CRASH_SEED:-$(date +%s)}
export RDMABROKER_QUIET=1
printf '[daemon]\nlog_level = info\n' > "$RB_CONF"
export RDMABROKER_SOCKET="$RB_SOCK"

t0=$(date +%s)
"$top_builddir/tests/hostile/restart" "$ROUNDS" "$SEED" "$RB_LOG" -- \
	"$RB_DAEMON" -c "$RB_CONF" -s "$RB_SOCK"; rc=$?
rb_log "restart ran $(( $(date +%s) - t0 )) s, exit $rc (seed $SEED: RB_CRASH_SEED=$SEED reruns it)"
[ "$rc" -eq 0 ] || rb_fail "restart reported failures (exit $rc)"
# The sanitizers write to the daemon's stderr, which is the log.
grep -q 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$RB_LOG" &&
	rb_fail "the daemon's sanitizers: $(grep -A20 'ERROR\|runtime error' "$RB_LOG" | head -40)"
rb_pass
