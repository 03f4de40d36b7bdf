# Shared by the tests/ident-*.sh tests; source after tests/lib/lib.sh.
# They run programs as the unprivileged user nobody (and nogroup) with
# setpriv(1), so they need root; without it, or without the user, setpriv
# or a build tree nobody can reach, they skip.

command -v setpriv >/dev/null 2>&1 || rb_skip "setpriv (util-linux) not installed"
[ "$(id -u)" -eq 0 ] || rb_skip "needs root to run clients as another user"
NOBODY=$(id -u nobody 2>/dev/null) || rb_skip "no user 'nobody'"
NOGROUP=$(getent group nogroup | cut -d: -f3)
[ -n "$NOGROUP" ] || NOGROUP=$(id -g nobody)
[ "$NOBODY" -ne 0 ] || rb_skip "user 'nobody' is root here"

# $AS_NOBODY CMD...: CMD as nobody:nogroup with no supplementary groups
# (a command, not a function, so that `$AS_NOBODY CMD &` leaves in $! the
# pid of CMD itself); as_nobody likewise.
AS_NOBODY="setpriv --reuid=$NOBODY --regid=$NOGROUP --clear-groups"
as_nobody() { $AS_NOBODY "$@"; }

# as_nobody_in GID CMD...: likewise, with GID as the only supplementary group.
as_nobody_in() {
	_g=$1; shift
	setpriv --reuid="$NOBODY" --regid="$NOGROUP" --groups="$_g" "$@"
}

# nobody reaches the daemon's socket in $RB_TMP (socket_mode is 0666).
chmod 755 "$RB_TMP"
# The build tree may sit where nobody cannot go (e.g. under /root).
as_nobody test -x "$top_builddir/tests/lib/ident-client" ||
	rb_skip "user nobody cannot reach the build tree $top_builddir"
as_nobody test -x "$RB_RDMACTL" ||
	rb_skip "user nobody cannot run $RB_RDMACTL"

# Clients a test started in the background: killed on any exit.
IDENT_PIDS=
ident_bg() { IDENT_PIDS="$IDENT_PIDS $1"; }
ident_cleanup() {
	for p in $IDENT_PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	rb_cleanup
}
trap ident_cleanup EXIT
