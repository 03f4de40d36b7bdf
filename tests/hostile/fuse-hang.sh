#!/bin/sh
# Memory that never answers (issue 14, part 1).  An unprivileged user
# mounts a FUSE filesystem whose reads never return and registers a
# mapping of one of its files (a CMA region: the daemon reaches it through
# the client's /proc/PID/mem).  The daemon must fail that within its
# memory_timeout_ms and go on serving: another client's control verbs and
# an 8-byte ibv_rc_pingpong work while the read hangs.  Then the same with
# memory registered while it was plain memory, the file mapped over it
# afterwards, and an RDMA WRITE into it (no check at registration can
# catch that one).  SIGTERM stops the daemon promptly, the filesystem
# still hanging.  Before the fix the registration put the daemon's only
# thread to sleep for good.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"
. "$top_srcdir/tests/lib/pingpong-lib.sh"

HANG="$top_builddir/tests/hostile/fuse-hang"
[ -x "$HANG" ] || rb_skip "built without libfuse3 (apt-get install libfuse3-dev)"
[ -c /dev/fuse ] || rb_skip "no /dev/fuse on this machine"
command -v fusermount3 >/dev/null || rb_skip "fusermount3 (fuse3) not installed"
command -v ibv_rc_pingpong >/dev/null || rb_skip "ibv_rc_pingpong (ibverbs-utils) not installed"

MNT="$RB_TMP/mnt"
mkdir "$MNT" && chown "$NOBODY:$NOGROUP" "$MNT" || rb_fail "cannot make $MNT"
hang_cleanup() {
	[ -n "${REG_PID:-}" ] && kill -KILL "$REG_PID" 2>/dev/null
	[ -n "${FS_PID:-}" ] && kill -KILL "$FS_PID" 2>/dev/null
	fusermount3 -u -z "$MNT" 2>/dev/null
	ident_cleanup
}
trap hang_cleanup EXIT

printf '[daemon]\nlog_level = debug\nmemory_timeout_ms = 300\n' > "$RB_CONF"
rb_daemon_start

# The attacker mounts its filesystem as itself, through fusermount3.
hang_mount() {
	$AS_NOBODY "$HANG" fs "$MNT" 2>"$RB_TMP/fs.err" &
	FS_PID=$!
	for _ in $(seq 1 50); do
		grep -q " $MNT fuse" /proc/mounts && break
		sleep 0.1
	done
	grep -q " $MNT fuse" /proc/mounts ||
		rb_skip "an unprivileged user cannot mount FUSE here: $(cat "$RB_TMP/fs.err")"
}
# Everyone else is served, and promptly.
others_served() {
	t0=$(pp_now_ms)
	timeout 10 "$RB_RDMACTL" status >/dev/null || rb_fail "rdmactl status did not answer while the FUSE read hangs ($1)"
	timeout 10 "$RB_RUN" ibv_devinfo >/dev/null || rb_fail "ibv_devinfo failed while the FUSE read hangs ($1)"
	PP_TIMEOUT=30
	pp_start "pp$1" 200 ibv_rc_pingpong -s 8
	pp_finish "pp$1"
	rb_log "$1: control verbs and 200 8-byte round trips in $(( $(pp_now_ms) - t0 )) ms beside the hanging read"
}
hang_mount

# ... and registers a mapping of the file that never answers.
mkfifo "$RB_TMP/hold"
$AS_NOBODY "$HANG" reg "$MNT/file" <"$RB_TMP/hold" >"$RB_TMP/reg.out" 2>&1 &
REG_PID=$!
exec 7>"$RB_TMP/hold"
for _ in $(seq 1 100); do
	[ "$(grep -c '^reg_mr' "$RB_TMP/reg.out")" -ge 2 ] && break
	sleep 0.1
done
cat "$RB_TMP/reg.out" >&2

others_served registration
grep -q '^reg_mr 0: registered' "$RB_TMP/reg.out" &&
	rb_fail "a region the daemon cannot read was registered"
# The attacker may hang itself: the worker stuck in its page fault holds
# its mmap_lock, and its next mmap (an ASan build's allocator) waits.
grep -q '^reg_mr 1:' "$RB_TMP/reg.out" ||
	rb_log "the attacker did not come back from its own memory (allowed)"
grep -q 'did not answer' "$RB_LOG" || rb_fail "no log line about the memory that did not answer"

# The filesystem goes (its requests fail): the stuck worker comes back and
# the user's memory is used again.
exec 7>&-
kill -KILL "$REG_PID" "$FS_PID" 2>/dev/null
wait "$REG_PID" "$FS_PID" 2>/dev/null
fusermount3 -u -z "$MNT" 2>/dev/null
REG_PID= FS_PID=
rb_wait_for_log "answered after all" 10 || rb_fail "the abandoned worker did not come back when the filesystem went"

# Memory that was fine at registration, a hanging file afterwards.
hang_mount
mkfifo "$RB_TMP/hold2"
$AS_NOBODY "$HANG" write "$MNT/file" <"$RB_TMP/hold2" >"$RB_TMP/write.out" 2>&1 &
REG_PID=$!
exec 7>"$RB_TMP/hold2"
for _ in $(seq 1 150); do
	grep -q '^write' "$RB_TMP/write.out" && break
	sleep 0.1
done
cat "$RB_TMP/write.out" >&2
grep -q '^registered' "$RB_TMP/write.out" || rb_fail "plain shared memory was not registered"
grep -q '^write: success' "$RB_TMP/write.out" && rb_fail "the WRITE into a file that never answers succeeded"
grep -q '^write: .* after ' "$RB_TMP/write.out" ||
	rb_log "the attacker did not come back from its own memory (allowed)"
others_served write
[ "$(grep -c 'did not answer' "$RB_LOG")" -ge 2 ] ||
	rb_fail "no log line about the WRITE's memory: the daemon did not give up on it"

# SIGTERM stops the daemon while the filesystem still hangs.
kill -0 "$FS_PID" || rb_fail "the FUSE server is gone already"
t0=$(pp_now_ms)
kill -TERM "$RB_DAEMON_PID"
for _ in $(seq 1 50); do
	kill -0 "$RB_DAEMON_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$RB_DAEMON_PID" 2>/dev/null && rb_fail "the daemon did not stop within 5 s of SIGTERM"
wait "$RB_DAEMON_PID"; rc=$?
RB_DAEMON_PID=
[ "$rc" -eq 0 ] || rb_fail "the daemon exited $rc after SIGTERM"
rb_log "stopped $(( $(pp_now_ms) - t0 )) ms after SIGTERM"
exec 7>&-
rb_pass
