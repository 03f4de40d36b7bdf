#!/bin/sh
# An idle broker costs no CPU: with a client holding a connected RC pair
# after 1000 round trips (`client-dataerr hold idle`), the daemon's user +
# system time over 3 s stays below 2% of one core.  The same with no client.
. "$top_srcdir/tests/lib/lib.sh"

hz=$(getconf CLK_TCK) || rb_fail "getconf CLK_TCK"

# cpu_ticks: utime + stime of the daemon (fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name).
cpu_ticks() {
	sed 's/^.*) //' "/proc/$RB_DAEMON_PID/stat" | awk '{ print $12 + $13 }'
}

# measure WHAT: the daemon's CPU use over 3 s, in hundredths of a percent
# of one core; fails at 2% or more.
measure() {
	t0=$(cpu_ticks)
	sleep 3
	t1=$(cpu_ticks)
	# ticks / (hz * 3 s) * 100%, in hundredths of a percent
	pct100=$(( (t1 - t0) * 10000 / (hz * 3) ))
	rb_log "$1: daemon CPU $((t1 - t0)) ticks in 3 s (CLK_TCK $hz) = $((pct100 / 100)).$(printf %02d $((pct100 % 100)))% of one core"
	[ "$pct100" -lt 200 ] || rb_fail "$1: the daemon used $((pct100 / 100)).$(printf %02d $((pct100 % 100)))% of a core, want < 2%"
}

rb_daemon_start
measure "no client"
rb_holder_start "$top_builddir/tests/integration/dataerr" idle
measure "connected pair, idle after 1000 round trips"
rb_daemon_alive || rb_fail "the daemon died"
kill -KILL "$RB_HOLDER"; wait "$RB_HOLDER" 2>/dev/null
RB_HOLDER=
for _ in $(seq 1 50); do
	[ "$("$RB_RDMACTL" -j res)" = "[]" ] && break
	sleep 0.1
done
[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
rb_daemon_stop
rb_pass
