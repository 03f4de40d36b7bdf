#!/bin/sh
# Clients that load the daemon (tests/hostile/ctl-load.c): a client that
# never reads, 1000 connections at once, and the daemon at its fd limit.
# After each: the daemon is alive, holds no object (rdmactl -j res is
# empty) and no more fds than before.
. "$top_srcdir/tests/lib/lib.sh"

HC="$top_builddir/tests/hostile/ctl-load"
STORM=${RB_STORM_CONNECTIONS:-1000}
export RB_LOG

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

"$HC" noread || rb_fail "ctl-load noread"
rb_settled noread "$fds0"
"$HC" storm "$STORM" || rb_fail "ctl-load storm $STORM"
rb_settled "storm of $STORM" "$fds0"
rb_daemon_stop

# The fd limit: a daemon allowed its baseline plus 24 fds; 80 clients.
if [ -n "$wrap" ]; then
	RB_DAEMON_WRAPPER="prlimit --nofile=40:40" rb_daemon_start
	export RB_DAEMON_PID
	fds0=$(rb_fd_count "$RB_DAEMON_PID")
	"$HC" emfile 80 || rb_fail "ctl-load emfile"
	grep -q 'accept: Too many open files; pausing' "$RB_LOG" ||
		rb_fail "the daemon never paused accepting"
	rb_settled "fd limit" "$fds0"
	rb_daemon_stop
else
	rb_log "no prlimit: fd limit case skipped"
fi
rb_pass
