#!/bin/sh
# Polling for control replies and requests (proto/rpc.c, daemon/loop.c):
# with RDMABROKER_SPIN_US and [daemon] control_spin_us at their maximum,
# the library polls its socket (recvmsg with MSG_DONTWAIT) and the daemon
# polls libevent (epoll_wait with a zero timeout) between requests; at 0
# neither does, and the verbs give the same answers either way.  A bad
# RDMABROKER_SPIN_US is ignored.
. "$top_srcdir/tests/lib/lib.sh"

command -v ibv_devinfo >/dev/null 2>&1 || rb_skip "ibv_devinfo not installed (Debian ibverbs-utils)"
command -v strace >/dev/null 2>&1 || rb_skip "strace not installed"
[ "$(nproc)" -ge 2 ] || rb_skip "one CPU: neither side polls there, by design"

# run SPIN_US CONTROL_SPIN_US: ibv_devinfo under strace against a daemon
# with that control_spin_us, itself traced; sets $client_polls and
# $daemon_polls to the counts of polling calls seen.
run() {
	printf '[daemon]\nlog_level = debug\ncontrol_spin_us = %s\n' "$2" > "$RB_CONF"
	rb_daemon_start
	strace -q -f -e trace=epoll_wait -o "$RB_TMP/daemon.trace" -p "$RB_DAEMON_PID" &
	st=$!
	# strace is attached once the daemon shows as traced.
	for _ in $(seq 1 100); do
		grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$RB_DAEMON_PID/status" && break
		sleep 0.1
	done
	RDMABROKER_SPIN_US=$1 strace -q -f -e trace=recvmsg -o "$RB_TMP/client.trace" \
		"$RB_RUN" ibv_devinfo -v > "$RB_TMP/out.$1" 2>"$RB_TMP/err" ||
		rb_fail "ibv_devinfo with RDMABROKER_SPIN_US=$1 failed: $(cat "$RB_TMP/err")"
	kill "$st"; wait "$st" 2>/dev/null
	rb_daemon_stop
	client_polls=$(grep -c 'MSG_DONTWAIT' "$RB_TMP/client.trace")
	daemon_polls=$(grep -Ec 'epoll_wait\([0-9]+, .*, [0-9]+, 0\)' "$RB_TMP/daemon.trace")
	rb_log "RDMABROKER_SPIN_US=$1 control_spin_us=$2: $client_polls client polls, $daemon_polls daemon polls"
}

run 1000000 1000000
[ "$client_polls" -gt 0 ] || rb_fail "the library never polled for a reply with RDMABROKER_SPIN_US=1000000"
[ "$daemon_polls" -gt 0 ] || rb_fail "the daemon never polled for a request with control_spin_us = 1000000"
grep -q 'hca_id:	rbsoft0' "$RB_TMP/out.1000000" || rb_fail "ibv_devinfo saw no rbsoft0 while polling"

run 0 0
[ "$client_polls" -eq 0 ] || rb_fail "the library polled $client_polls times with RDMABROKER_SPIN_US=0"
[ "$daemon_polls" -eq 0 ] || rb_fail "the daemon polled $daemon_polls times with control_spin_us = 0 and no QP"
cmp -s "$RB_TMP/out.1000000" "$RB_TMP/out.0" || rb_fail "ibv_devinfo -v differs between polling and sleeping"

run bogus 0
[ "$client_polls" -gt 0 ] || rb_fail "a bad RDMABROKER_SPIN_US was not ignored (no polling at the default)"
cmp -s "$RB_TMP/out.0" "$RB_TMP/out.bogus" || rb_fail "ibv_devinfo -v differs with a bad RDMABROKER_SPIN_US"

rb_pass
