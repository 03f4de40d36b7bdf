#!/bin/sh
# SCM_RIGHTS abuse on the control socket (tests/hostile/ctl-fds.c): too
# many fds, too few, wrong types, unsealed or read-only memfds, shrinking
# a registered memfd.  Afterwards the daemon is alive, holds no object and
# no more fds than before.
. "$top_srcdir/tests/lib/lib.sh"

export RB_LOG
printf '[daemon]\nlog_level = debug\n[limits]\nconnections = 0\n' > "$RB_CONF"
rb_daemon_start
export RB_DAEMON_PID
fds0=$(rb_fd_count "$RB_DAEMON_PID")
"$top_builddir/tests/hostile/ctl-fds" || rb_fail "ctl-fds"
rb_settled fds "$fds0"
grep -q 'disconnecting\|refused' "$RB_LOG" || rb_fail "no refusal logged"
rb_daemon_stop
rb_pass
