#!/bin/sh
# rdma-core examples that need what the soft device's engine gained in
# issue 16 part 4, unmodified (Debian ibverbs-utils) under rdmab-run:
# - ibv_rc_pingpong -t (completion timestamps) must run as a pair
#   (tests/lib/pingpong-lib.sh: both exit 0, data checked with -c) and print
#   its receive-completion clock figures, every one a number, min <= max;
# - ibv_xsrq_pingpong (XRC) runs as a pair, 100 messages.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/stack-lib.sh"
. "$top_srcdir/tests/lib/pingpong-lib.sh"

command -v ibv_rc_pingpong >/dev/null 2>&1 || rb_skip "ibverbs-utils not installed"
rb_daemon_start

pp_run rc-ts 200 ibv_rc_pingpong -t
for side in server client; do
	f="$RB_TMP/rc-ts.$side"
	max=$(sed -n 's/^Max receive completion clock cycles = \([0-9]*\)$/\1/p' "$f")
	min=$(sed -n 's/^Min receive completion clock cycles = \([0-9]*\)$/\1/p' "$f")
	grep -Eq '^Average receive completion clock cycles = [0-9.]+$' "$f" ||
		pp_fail rc-ts "$side printed no average completion clock cycles"
	[ -n "$max" ] && [ -n "$min" ] && [ "$min" -le "$max" ] && [ "$max" -gt 0 ] ||
		pp_fail rc-ts "$side: completion clock cycles min '$min' max '$max'"
done

# ibv_xsrq_pingpong: XRC domains, XRC SRQs, XRC_SEND and XRC_RECV QPs;
# both sides exit 0 having printed both ends, with no completion error.
port=$(tcp_free_port)
timeout 60 "$RB_RUN" ibv_xsrq_pingpong -d rbsoft0 -g 0 -n 100 -p "$port" \
	> "$RB_TMP/xsrq.server" 2>&1 &
spid=$!
for _ in $(seq 1 100); do
	tcp_listening "$port" && break
	kill -0 "$spid" 2>/dev/null || break
	sleep 0.05
done
timeout 60 "$RB_RUN" ibv_xsrq_pingpong -d rbsoft0 -g 0 -n 100 -p "$port" 127.0.0.1 \
	> "$RB_TMP/xsrq.client" 2>&1 ||
	{ kill "$spid" 2>/dev/null; rb_fail "xsrq_pingpong client: $(cat "$RB_TMP/xsrq.client")"; }
wait "$spid" || rb_fail "xsrq_pingpong server: $(cat "$RB_TMP/xsrq.server")"
for side in server client; do
	grep -q '^  remote: LID' "$RB_TMP/xsrq.$side" ||
		rb_fail "xsrq_pingpong $side printed no remote end: $(cat "$RB_TMP/xsrq.$side")"
	! grep -qi 'error' "$RB_TMP/xsrq.$side" ||
		rb_fail "xsrq_pingpong $side: $(cat "$RB_TMP/xsrq.$side")"
done
pp_wait_no_objects "ibv_xsrq_pingpong"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
