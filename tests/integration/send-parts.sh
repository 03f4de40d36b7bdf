#!/bin/sh
# A large SEND moves in parts (tests/integration/send-parts.c): beside
# one user's stream of 1 GiB SENDs (less when memory is short), another
# user's 8-byte ping-pong completes its round trips while the stream's
# SENDs are in flight; and, for a user whose bandwidth is capped so that
# a SEND is in flight for a second or more, whole SENDs land intact and a
# SEND cut short by a destroy or ERR of either side completes both sides
# once, its receive flushed and never handed to another QP of an SRQ.
. "$top_srcdir/tests/lib/lib.sh"

command -v setpriv >/dev/null 2>&1 || rb_skip "setpriv (util-linux) not installed"
[ "$(id -u)" -eq 0 ] || rb_skip "needs root to run clients as other users"
PROG="$top_builddir/tests/integration/send-parts"
BIG=64911
PP=64912
CASES=64913
chmod 755 "$RB_TMP"
setpriv --reuid=$BIG --regid=$BIG --clear-groups test -x "$PROG" ||
	rb_skip "an unprivileged user cannot reach the build tree $top_builddir"

# The stream needs two buffers of its SEND size; the cases three of 128 MiB.
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
if [ "$avail" -ge 4096 ]; then
	SIZE=$((1 << 30))
elif [ "$avail" -ge 1536 ]; then
	SIZE=$((256 << 20))
else
	rb_skip "only $avail MiB of memory available (1536 needed)"
fi
CSIZE=$((128 << 20))

# The cases' user moves 64 MB/s: a 128 MiB SEND is in flight for 2 s.
cat > "$RB_CONF" <<EOC
[daemon]
log_level = info
[limits $CASES]
bandwidth = 64M
EOC
rb_daemon_start

rb_log "stream of $SIZE-byte SENDs beside a ping-pong"
"$PROG" fair "$SIZE" "$BIG" "$PP" || rb_fail "the ping-pong beside big SENDs"
rb_log "SENDs of $CSIZE bytes cut short"
setpriv --reuid=$CASES --regid=$CASES --clear-groups "$PROG" cases "$CSIZE" ||
	rb_fail "send-parts cases"
rb_daemon_alive || rb_fail "the daemon died"
rb_pass
