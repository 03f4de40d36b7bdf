#!/bin/sh
# Random writes over a client's shared rings, round after round, in
# children beside an honest pair (tests/hostile/scribble.c); and memory
# unmapped after registration.  The daemon stays up, logs no fault,
# serves the honest pair every round, and holds nothing afterwards, with
# its fd count back where it started.  RB_SCRIBBLE_ROUNDS=N soaks longer.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
fds0=$(rb_fd_count "$RB_DAEMON_PID")
"$top_builddir/tests/hostile/scribble" || rb_fail "client-scribble reported failures"
rb_daemon_alive || rb_fail "the daemon died"
rb_log "$(grep -c ') disconnected: ' "$RB_LOG") clients disconnected by the daemon for what they wrote"
# Sanitizer reports and fatal signals show up in the daemon's log.
if grep -E 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error|SIGSEGV|SIGBUS' "$RB_LOG" >&2; then
	rb_fail "the daemon reported a fault (above)"
fi
left=$("$RB_RDMACTL" -j res show | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$left" = 0 ] || rb_fail "the daemon still holds $left objects"
rb_wait_daemon_fds_le "$fds0" || rb_fail "daemon fds: $fds0 before, $(rb_fd_count "$RB_DAEMON_PID") after"
rb_daemon_stop
rb_pass
