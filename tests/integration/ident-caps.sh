#!/bin/sh
# rdmabrokerd needs no privilege (see SECURITY in rdmabrokerd(8)): run as
# root with an empty capability bounding set (as rdmabrokerd.service
# does), and as a dedicated unprivileged user with no capability at all,
# it serves clients of root and of nobody, moving data out of and into
# memory it reaches only through the /proc/self/mem each client sends
# (a stack buffer, CMA); CMA registrations without that file, or with
# another one, are refused; and a client that executes another program
# under its pid does not lead the daemon into that program's memory.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"

DUSER=daemon
DUID=$(id -u "$DUSER" 2>/dev/null) || rb_skip "no user '$DUSER' to run the daemon as"
DGID=$(id -g "$DUSER")
[ "$DUID" -ne 0 ] || rb_skip "user '$DUSER' is root here"
CLIENT="$top_builddir/tests/lib/ident-client"
"$CLIENT" > /dev/null 2>&1	# a libtool wrapper's first run, as root

# The daemon's socket in a directory of its user (without
# CAP_DAC_OVERRIDE, even root writes only where it may).
mkdir "$RB_TMP/run"
RB_SOCK="$RB_TMP/run/rdmabrokerd.sock"

# clients WHAT: root's and nobody's clients run `ident-client cma`.
clients() {
	"$CLIENT" cma || rb_fail "root's client, daemon $1"
	as_nobody "$CLIENT" cma || rb_fail "nobody's client, daemon $1"
	echo "ok: daemon $1: root's and nobody's stacks read and written"
}
capeff() { grep "^$1:" "/proc/$RB_DAEMON_PID/status" | awk '{print $2}'; }

# 1. root with no capability (the systemd unit's CapabilityBoundingSet=).
RB_DAEMON_WRAPPER="setpriv --bounding-set=-all --inh-caps=-all"
rb_daemon_start
[ "$(capeff CapEff)" = 0000000000000000 ] && [ "$(capeff CapBnd)" = 0000000000000000 ] ||
	rb_fail "the daemon has capabilities: $(grep ^Cap "/proc/$RB_DAEMON_PID/status")"
clients "as root without capabilities"
"$CLIENT" cma-hostile || rb_fail "a CMA registration with a wrong file was accepted"
grep -q "comes with the client's /proc/self/mem" "$RB_LOG" || rb_fail "refusal not logged"
# A client that executes another program (a set-user-ID one, in an attack)
# under the pid it connected with: its CMA region must not reach the new
# program, though it has memory at the same addresses (ASLR off).
if command -v setarch >/dev/null 2>&1; then
	out=$(as_nobody setarch "$(uname -m)" -R "$CLIENT" exec 2>&1)
	echo "$out"
	echo "$out" | grep -q "exec: the new program's memory was out of reach" ||
		rb_fail "after exec, the daemon reached the new program's memory"
else
	rb_log "setarch missing: skipping the exec case"
fi
rb_daemon_stop

# 2. a dedicated user, no capability (User= in a drop-in).
chown "$DUID:$DGID" "$RB_TMP/run"
RB_DAEMON_WRAPPER="setpriv --reuid=$DUID --regid=$DGID --clear-groups --inh-caps=-all"
rb_daemon_start
[ "$(stat -c %u "$RB_SOCK")" = "$DUID" ] || rb_fail "the socket is not $DUSER's"
[ "$(capeff CapEff)" = 0000000000000000 ] || rb_fail "the daemon has capabilities"
as_nobody "$CLIENT" pds || rb_fail "nobody's client on the dedicated user's daemon"
clients "as user $DUSER"
rb_daemon_stop
rb_pass
