#!/bin/sh
# The control socket under a mutation fuzzer (tests/hostile/ctl.c fuzz):
# valid requests of every type, mutated; the daemon must survive them all,
# keep serving a full verbs round after every batch, and end with no
# object and no fd more than it started with.
#   RB_FUZZ_DATAGRAMS=N   datagrams after the truncations (default 20000)
#   RB_SOAK=1             a long soak: 1000000 unless RB_FUZZ_DATAGRAMS is set
#   RB_FUZZ_SEED=S        another deterministic sequence (default 0x5eed)
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = info\n[limits]\nconnections = 0\n' > "$RB_CONF"
rb_daemon_start
export RB_DAEMON_PID
fds0=$(rb_fd_count "$RB_DAEMON_PID")
# As root the fuzzer drops to nobody (admin requests must stay refused):
# it needs to reach the socket.
chmod 755 "$RB_TMP"
"$top_builddir/tests/hostile/ctl" fuzz || rb_fail "hostile-ctl fuzz"
rb_daemon_alive || rb_fail "daemon died"
rb_wait_daemon_fds_le "$fds0" ||
	rb_fail "daemon fds $fds0 -> $(rb_fd_count "$RB_DAEMON_PID") after fuzzing"
res=$("$RB_RDMACTL" -j res) || rb_fail "rdmactl res failed"
[ "$res" = "[]" ] || rb_fail "objects left: $res"
grep -q 'refused' "$RB_LOG" || rb_fail "no refusal logged"
rb_daemon_stop
rb_pass
