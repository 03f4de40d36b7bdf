#!/bin/sh
# The capabilities rdmabrokerd needs (see SECURITY in rdmabrokerd(8)):
# run as root with CAP_SYS_PTRACE alone in its bounding set (as
# rdmabrokerd.service does), and as a dedicated unprivileged user with
# CAP_SYS_PTRACE as an ambient capability (User= and AmbientCapabilities=),
# it serves clients of root and of nobody, moving data in and out of
# memory it reaches only with process_vm_readv/writev (a stack buffer);
# as that user without the capability it must refuse to register other
# users' such memory.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ident-lib.sh"

DUSER=daemon
DUID=$(id -u "$DUSER" 2>/dev/null) || rb_skip "no user '$DUSER' to run the daemon as"
DGID=$(id -g "$DUSER")
CLIENT="$top_builddir/tests/ident-client"
"$CLIENT" > /dev/null 2>&1	# a libtool wrapper's first run, as root
setpriv --help 2>&1 | grep -q -- --ambient-caps || rb_skip "setpriv has no --ambient-caps"
as_nobody true || rb_skip "setpriv cannot switch to nobody"

# The daemon's socket in a directory its user owns (without
# CAP_DAC_OVERRIDE, even root writes only where it may).
mkdir "$RB_TMP/run"
RB_SOCK="$RB_TMP/run/rdmabrokerd.sock"

# clients WANT: root's and nobody's CMA client get WANT ("cma" or "cma-refused").
clients() {
	"$CLIENT" cma || rb_fail "root's client ($1): $(tail -1 "$RB_LOG")"
	as_nobody "$CLIENT" "$2" || rb_fail "nobody's client ($1)"
	echo "ok: $1: root's client cma, nobody's $2"
}

# 1. root, bounding set = CAP_SYS_PTRACE (the systemd unit's).
RB_DAEMON_WRAPPER="setpriv --bounding-set=-all,+sys_ptrace --inh-caps=-all"
rb_daemon_start
[ "$(grep '^CapBnd' "/proc/$RB_DAEMON_PID/status" | awk '{print $2}')" = 0000000000080000 ] ||
	rb_fail "the daemon's bounding set: $(grep ^Cap "/proc/$RB_DAEMON_PID/status")"
clients "root with CAP_SYS_PTRACE only" cma
rb_daemon_stop

# 2. a dedicated user with CAP_SYS_PTRACE as ambient capability.
chown "$DUID:$DGID" "$RB_TMP/run"
RB_DAEMON_WRAPPER="setpriv --reuid=$DUID --regid=$DGID --clear-groups --inh-caps=-all,+sys_ptrace --ambient-caps=-all,+sys_ptrace"
rb_daemon_start
[ "$(stat -c %u "$RB_SOCK")" = "$DUID" ] || rb_fail "the socket is not $DUSER's"
as_nobody "$CLIENT" pds || rb_fail "nobody's client on the dedicated user's daemon"
clients "user $DUSER with CAP_SYS_PTRACE" cma
rb_daemon_stop

# 3. the same user without it: other users' CMA memory is out of reach.
: > "$RB_LOG"
RB_DAEMON_WRAPPER="setpriv --reuid=$DUID --regid=$DGID --clear-groups --inh-caps=-all"
rb_daemon_start
"$CLIENT" cma-refused || rb_fail "root's CMA registration was not refused"
as_nobody "$CLIENT" cma-refused || rb_fail "nobody's CMA registration was not refused"
grep -q 'cannot reach' "$RB_LOG" || rb_fail "the refusal does not say why"
echo "ok: without CAP_SYS_PTRACE, other users' CMA memory is refused"
rb_daemon_stop
rb_pass
