#!/bin/sh
# Connections that never handshake (issue 14): one unprivileged user opens
# 10,000 of them.  They count against its connections limit from accept
# (the rest are closed at once) and go at the handshake deadline, so the
# daemon's descriptors stay bounded, and root and another user still
# connect and run ibv_rc_pingpong meanwhile.  Before, the daemon kept
# every one of them and ran out of descriptors.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"
. "$top_srcdir/tests/lib/pingpong-lib.sh"

command -v ibv_rc_pingpong >/dev/null || rb_skip "ibv_rc_pingpong (ibverbs-utils) not installed"
TENANT="$top_builddir/tests/lib/tenant"
N=10000
( ulimit -n $((N + 100)) ) 2>/dev/null || rb_skip "cannot raise the open files limit to $((N + 100))"
printf '[daemon]\nlog_level = info\nhandshake_timeout_ms = 3000\n' > "$RB_CONF"
rb_daemon_start
fd0=$(rb_fd_count "$RB_DAEMON_PID")

mkfifo "$RB_TMP/hold"
(ulimit -n $((N + 100)) && exec $AS_NOBODY "$TENANT" flood $N) <"$RB_TMP/hold" >"$RB_TMP/flood.out" 2>&1 &
ident_bg $!
FLOOD=$!
exec 7>"$RB_TMP/hold"
for _ in $(seq 1 900); do
	grep -q '^opened' "$RB_TMP/flood.out" && break
	sleep 0.1
done
grep -q "^opened $N\$" "$RB_TMP/flood.out" || rb_fail "the flood did not open $N connections: $(cat "$RB_TMP/flood.out")"
fd1=$(rb_fd_count "$RB_DAEMON_PID")
rb_log "daemon fds: $fd0 before, $fd1 with $N connections of nobody open"
# 64 connections (the default limit) and the one told why, and a margin.
[ "$fd1" -le $((fd0 + 100)) ] || rb_fail "the daemon holds $fd1 fds with the flood open ($fd0 before)"

# Root and another user are served meanwhile.
timeout 10 "$RB_RDMACTL" status >/dev/null || rb_fail "root's rdmactl failed during the flood"
PP_TIMEOUT=60
pp_run root 100 ibv_rc_pingpong -s 8
cat > "$RB_TMP/as-other" <<EOS
#!/bin/sh
exec setpriv --reuid=4242 --regid=4242 --clear-groups "$RB_RUN" "\$@"
EOS
chmod 755 "$RB_TMP/as-other"
RB_RUN_SAVED=$RB_RUN
RB_RUN="$RB_TMP/as-other"
pp_run other 100 ibv_rc_pingpong -s 8
RB_RUN=$RB_RUN_SAVED
fd2=$(rb_fd_count "$RB_DAEMON_PID")
[ "$fd2" -le $((fd0 + 100)) ] || rb_fail "the daemon holds $fd2 fds after the ping-pongs"

# The held ones go at the handshake deadline.
sleep 3.5
rb_wait_daemon_fds_le "$fd0" || rb_fail "the daemon still holds $(rb_fd_count "$RB_DAEMON_PID") fds past the handshake deadline ($fd0 before)"
grep -q "no handshake within 3000 ms" "$RB_LOG" || rb_fail "no log line for the handshake deadline"
exec 7>&-
wait "$FLOOD"
cat "$RB_TMP/flood.out" >&2
rb_daemon_stop
rb_pass
