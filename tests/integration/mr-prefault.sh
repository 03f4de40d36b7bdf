#!/bin/sh
# The soft device's registrations are touched ahead of its first copy
# (drivers/prefault.h, daemon/mr.c), through tests/integration/mr-prefault.c
# and `rdmactl -j status` (prefault_pending_bytes, prefault_done_bytes):
#  - a 16 KiB region is touched before the reply, on the serving thread;
#  - a 32 MiB region: when ibv_reg_mr returns, every page is touched
#    (nothing pending) unless the reply was held its whole 250 ms; in the
#    end the daemon counts all of it touched;
#  - regions deregistered right after the reply, and a client SIGKILLed
#    holding 256 MiB while the thread may still be touching it: the
#    daemon lives, lets go of every page and fd, and nothing stays
#    pending; it never counts more touched than was registered;
#  - then the idle daemon sleeps: the wait's 10 ms tick stopped (it made
#    some 130 wake-ups a second once).
. "$top_srcdir/tests/lib/lib.sh"

MIB=1048576
prog=$top_builddir/tests/integration/mr-prefault

printf '[daemon]\nlog_level = debug\n[limits]\nmrs = 0\npinned_bytes = 0\n' > "$RB_CONF"
rb_daemon_start
fds0=$(rb_fd_count "$RB_DAEMON_PID")
mr_maps() { grep -c '/memfd:rdmabroker-mr' "/proc/$RB_DAEMON_PID/maps"; }
maps0=$(mr_maps)

# status FIELD: a number from rdmactl -j status.
status() {
	"$RB_RDMACTL" -j status | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" ||
		rb_fail "rdmactl -j status has no $1"
}
# settle_pending: wait (up to 30 s) until nothing is pending.
settle_pending() {
	for _ in $(seq 1 300); do
		[ "$(status prefault_pending_bytes)" = 0 ] && return 0
		sleep 0.1
	done
	rb_fail "prefault_pending_bytes still $(status prefault_pending_bytes) after 30 s"
}
# start MODE ARGS...: run the program in the background; $client its pid,
# $reg_ms the longest ibv_reg_mr it saw.
start() {
	rm -f "$RB_TMP/pf.out"
	mkfifo "$RB_TMP/pf.out"
	"$prog" "$@" > "$RB_TMP/pf.out" &
	client=$!
	read -r word reg_ms < "$RB_TMP/pf.out"
	[ "$word" = ready ] || rb_fail "mr-prefault $* did not get ready"
}
stop() {
	kill -"$1" "$client"; wait "$client" 2>/dev/null
}

[ "$(status prefault_done_bytes)" = 0 ] || rb_fail "a fresh daemon counts pages touched"

# 0. A small region: touched at once, before the reply.
start hold 16384
[ "$(status prefault_done_bytes)" = 16384 ] ||
	rb_fail "prefault_done_bytes $(status prefault_done_bytes) after a 16 KiB region, want 16384"
[ "$(status prefault_pending_bytes)" = 0 ] || rb_fail "a 16 KiB region left pending"
stop TERM

# 1. The reply waits for the pages, up to 250 ms.
start hold $((32 * MIB))
pending=$(status prefault_pending_bytes)
rb_log "32 MiB: ibv_reg_mr took $reg_ms ms, $pending bytes pending after it"
[ "$pending" = 0 ] || [ "$reg_ms" -ge 240 ] ||
	rb_fail "ibv_reg_mr returned after $reg_ms ms with $pending bytes untouched"
settle_pending
done1=$(status prefault_done_bytes)
[ "$done1" -ge $((32 * MIB)) ] || rb_fail "prefault_done_bytes $done1 after a 32 MiB region"
[ "$(mr_maps)" -gt "$maps0" ] || rb_fail "the daemon does not map the region"
stop TERM
rb_wait_daemon_fds_le "$fds0" || rb_fail "daemon fds $fds0 -> $(rb_fd_count "$RB_DAEMON_PID")"

# 2. Deregistered right after the reply, again and again.
start cycle $((64 * MIB)) 6
rb_log "6 x 64 MiB reg+dereg: the longest ibv_reg_mr $reg_ms ms"
stop TERM
settle_pending

# 3. Killed while the thread may still be touching 256 MiB.
start hold $((256 * MIB))
rb_log "256 MiB: ibv_reg_mr took $reg_ms ms, $(status prefault_pending_bytes) bytes pending, then SIGKILL"
stop KILL
rb_wait_for_log "freed 2 object(s) it left behind" || rb_fail "the cleanup of the killed client is not logged"
settle_pending
rb_daemon_alive || rb_fail "the daemon died"
rb_wait_daemon_fds_le "$fds0" || rb_fail "daemon fds $fds0 -> $(rb_fd_count "$RB_DAEMON_PID") after the kill"
[ "$(mr_maps)" -eq "$maps0" ] || rb_fail "daemon MR maps $maps0 -> $(mr_maps)"
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
done_all=$(status prefault_done_bytes)
[ "$done_all" -le $(((32 + 6 * 64 + 256) * MIB + 16384)) ] ||
	rb_fail "prefault_done_bytes $done_all is more than was registered"
rb_log "touched $done_all bytes in all"
# switches: voluntary context switches of the daemon's serving thread.
switches() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$RB_DAEMON_PID/status"; }
sleep 0.5
sw0=$(switches)
sleep 2
sw1=$(switches)
rb_log "idle: $((sw1 - sw0)) wake-ups of the daemon in 2 s"
[ $((sw1 - sw0)) -lt 20 ] || rb_fail "the idle daemon woke $((sw1 - sw0)) times in 2 s"
if grep -E '^<[0-3]>' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
rb_daemon_stop
rb_pass
