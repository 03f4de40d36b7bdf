#!/bin/sh
# Hostile clients on the control socket (tests/hostile/ctl.c): out-of-range
# values, SCM_RIGHTS abuse, a client that never reads, 1000 connections at
# once, and the daemon at its fd limit.  After each: the daemon is alive,
# holds no object (rdmactl -j res is empty) and no more fds than before.
. "$top_srcdir/tests/lib/lib.sh"

HC="$top_builddir/tests/hostile/ctl"
STORM=${RB_STORM_CONNECTIONS:-1000}
export RB_LOG

# rb_settled PHASE FDS0: nothing left behind by PHASE.
rb_settled() {
	rb_daemon_alive || rb_fail "daemon died during $1"
	rb_wait_daemon_fds_le "$2" ||
		rb_fail "$1: daemon fds $2 -> $(rb_fd_count "$RB_DAEMON_PID")"
	res=$("$RB_RDMACTL" -j res) || rb_fail "$1: rdmactl res failed"
	[ "$res" = "[]" ] || rb_fail "$1: objects left: $res"
	rb_log "$1: settled (daemon fds $(rb_fd_count "$RB_DAEMON_PID"), no objects)"
}

# 1000 connections need fds on both ends (up to the hard limit, which
# only root may raise); the daemon may serve 2000.
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=4096
[ "$hard" -gt 4096 ] && hard=4096
wrap=
if command -v prlimit >/dev/null 2>&1; then
	wrap="prlimit --nofile=$hard:$hard"
else
	hard=$(ulimit -n)
fi
[ "$STORM" -gt $(( hard - 100 )) ] && STORM=$(( hard - 100 ))
printf '[daemon]\nlog_level = debug\nmax_clients = 2000\n[limits]\nconnections = 0\n' > "$RB_CONF"
RB_DAEMON_WRAPPER=$wrap rb_daemon_start
export RB_DAEMON_PID
fds0=$(rb_fd_count "$RB_DAEMON_PID")

for phase in values fds noread; do
	"$HC" $phase || rb_fail "hostile-ctl $phase"
	rb_settled $phase "$fds0"
done
"$HC" storm "$STORM" || rb_fail "hostile-ctl storm $STORM"
rb_settled "storm of $STORM" "$fds0"
grep -q 'disconnecting\|refused' "$RB_LOG" || rb_fail "no refusal logged"
rb_daemon_stop

# The fd limit: a daemon allowed its baseline plus 24 fds; 80 clients.
if [ -n "$wrap" ]; then
	RB_DAEMON_WRAPPER="prlimit --nofile=40:40" rb_daemon_start
	export RB_DAEMON_PID
	fds0=$(rb_fd_count "$RB_DAEMON_PID")
	"$HC" emfile 80 || rb_fail "hostile-ctl emfile"
	grep -q 'accept: Too many open files; pausing' "$RB_LOG" ||
		rb_fail "the daemon never paused accepting"
	rb_settled "fd limit" "$fds0"
	rb_daemon_stop
else
	rb_log "no prlimit: fd limit case skipped"
fi
rb_pass
