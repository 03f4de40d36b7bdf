#!/bin/sh
# rdma-core examples that need what the soft device's engine gained in
# issue 16 part 4, unmodified (Debian ibverbs-utils) under rdmab-run:
# - ibv_rc_pingpong -t (completion timestamps) must run as a pair
#   (tests/pingpong-lib.sh: both exit 0, data checked with -c) and print
#   its receive-completion clock figures, every one a number, min <= max;
# - ibv_xsrq_pingpong (XRC) runs for real; while the device refuses XRC
#   in the documented way the test skips naming it; once a run succeeds
#   it passes; any other failure fails.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/stack-lib.sh"
. "$top_srcdir/tests/pingpong-lib.sh"

command -v ibv_rc_pingpong >/dev/null 2>&1 || rb_skip "ibverbs-utils not installed"
rb_daemon_start
missing=

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

# try NAME EXPECTED-REFUSAL 'SERVER' 'CLIENT'
try() {
	local name="$1" refusal="$2" port
	port=$(tcp_free_port)
	# shellcheck disable=SC2086
	timeout 60 "$RB_RUN" $(echo "$3" | sed "s/@PORT@/$port/g") > "$RB_TMP/$name.server" 2>&1 &
	spid=$!
	for _ in $(seq 1 100); do
		tcp_listening "$port" && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	if ! kill -0 "$spid" 2>/dev/null; then
		wait "$spid"
		grep -q "$refusal" "$RB_TMP/$name.server" ||
			rb_fail "$name server: $(cat "$RB_TMP/$name.server")"
		missing="$missing $name ($refusal)"
		return 0
	fi
	# shellcheck disable=SC2086
	timeout 60 "$RB_RUN" $(echo "$4" | sed "s/@PORT@/$port/g") > "$RB_TMP/$name.client" 2>&1 ||
		{ kill "$spid" 2>/dev/null; rb_fail "$name client: $(cat "$RB_TMP/$name.client")"; }
	wait "$spid" || rb_fail "$name server: $(cat "$RB_TMP/$name.server")"
}

try xsrq_pingpong "Couldn't Open the XRC Domain" \
	"ibv_xsrq_pingpong -d rbsoft0 -g 0 -n 10 -p @PORT@" \
	"ibv_xsrq_pingpong -d rbsoft0 -g 0 -n 10 -p @PORT@ 127.0.0.1"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
[ -z "$missing" ] || rb_skip "the soft device lacks:$missing"
rb_pass
