#!/bin/bash
# Nested over another rdmabrokerd, the verbs driver keeps its daemon off
# the core where the device's engine runs (drivers/verbs/verbs-post.c,
# keep_off_engine): that engine is a process on this machine, and the two
# daemons on one core cost a stream of 1 MiB WRITEs a quarter of its
# bandwidth (docs/verbs-driver.md, "Bandwidth and placement").
#
# The outer daemon is confined to one CPU (taskset -p), so its engine's
# core is known.  During a WRITE stream through the inner daemon, the
# inner daemon's affinity becomes the mask it started with less that CPU;
# it follows when the outer daemon is moved to another CPU; an inner
# daemon confined to one CPU keeps it; and when the outer daemon stops
# (the device is gone), the inner daemon gets its whole mask back.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/nest-lib.sh"

command -v taskset >/dev/null 2>&1 || rb_skip "taskset not installed (util-linux)"

# cpus LIST: the CPUs of a list such as 0-3,6, one per word.
cpus() {
	local IFS=, r out=
	for r in $1; do
		case $r in
		*-*) out="$out $(seq -s ' ' "${r%-*}" "${r#*-}")" ;;
		*) out="$out $r" ;;
		esac
	done
	echo "${out# }"
}

# allowed PID: the CPUs its main thread may run on.
allowed() { cpus "$(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/status")"; }

nest_outer_start
all=$(allowed "$OUTER_PID")
set -- $all
[ $# -ge 2 ] || rb_skip "one CPU: there is no other core to keep to"
first=$1 second=$2

nest_conf "$RB_TMP/inner.conf" debug
nest_start inner "$RB_TMP/inner.conf"
INNER_PID=$NEST_PID
nest_use inner "$INNER_PID"
[ "$(allowed "$INNER_PID")" = "$all" ] ||
	rb_fail "the inner daemon starts on $(allowed "$INNER_PID"), not $all"

# kept_off PID CPU: PID may run on some of $all, not on CPU.  (The
# daemon's loop may hold one core of its mask while busy, daemon/loop.c.)
kept_off() {
	local got x
	got=$(allowed "$1")
	[ -n "$got" ] || return 1
	for x in $got; do
		[ "$x" = "$2" ] && return 1
		case " $all " in *" $x "*) ;; *) return 1 ;; esac
	done
	return 0
}

# stream_off CPU WHAT: WRITEs through the inner daemon until it keeps off
# CPU (or the stream ends: fail, naming WHAT), and says so in its log.
stream_off() {
	local perf
	timeout 120 "$top_builddir/bench/rdmab-perf" --loopback -n 400000 -s 65536 write_bw \
		>"$RB_TMP/perf.out" 2>&1 &
	perf=$!
	for _ in $(seq 1 600); do
		kept_off "$INNER_PID" "$1" && break
		kill -0 "$perf" 2>/dev/null || break
		sleep 0.05
	done
	kill "$perf" 2>/dev/null
	wait "$perf" 2>/dev/null
	kept_off "$INNER_PID" "$1" ||
		rb_fail "$2: the inner daemon may run on '$(allowed "$INNER_PID")' ($(tail -n 2 "$RB_TMP/perf.out"))"
	grep -q "keeps off CPU $1," "$RB_TMP/inner.log" ||
		rb_fail "$2: the inner daemon did not log that it keeps off CPU $1"
}

taskset -pc "$first" "$OUTER_PID" >/dev/null || rb_fail "taskset -pc $first $OUTER_PID"
stream_off "$first" "the outer engine on CPU $first"
rb_log "outer engine on CPU $first: the inner daemon keeps to $(allowed "$INNER_PID")"

taskset -pc "$second" "$OUTER_PID" >/dev/null || rb_fail "taskset -pc $second $OUTER_PID"
stream_off "$second" "the outer engine moved to CPU $second"
rb_log "outer engine moved to CPU $second: the inner daemon follows, $(allowed "$INNER_PID")"

# An inner daemon confined to the engine's CPU has nowhere else to go.
nest_start inner1 "$RB_TMP/inner.conf"
INNER1_PID=$NEST_PID
taskset -pc "$second" "$INNER1_PID" >/dev/null || rb_fail "taskset -pc $second $INNER1_PID"
nest_use inner1 "$INNER1_PID"
timeout 120 "$top_builddir/bench/rdmab-perf" --loopback -n 20000 -s 65536 write_bw \
	>"$RB_TMP/perf1.out" 2>&1 || rb_fail "write_bw through inner1: $(tail -n 3 "$RB_TMP/perf1.out")"
[ "$(allowed "$INNER1_PID")" = "$second" ] ||
	rb_fail "inner1, confined to CPU $second, may now run on $(allowed "$INNER1_PID")"
rb_log "an inner daemon confined to the engine's CPU $second stays there"

# The device goes away: the whole mask again.
nest_use_outer
rb_daemon_stop
for _ in $(seq 1 100); do
	[ "$(allowed "$INNER_PID")" = "$all" ] && break
	sleep 0.1
done
[ "$(allowed "$INNER_PID")" = "$all" ] ||
	rb_fail "the outer daemon stopped, and the inner daemon still may run on $(allowed "$INNER_PID") only"
kill -0 "$INNER_PID" || rb_fail "the inner daemon died when the outer daemon stopped"
rb_log "the outer daemon stopped: the inner daemon may run on $all again"
grep -E '^<[0-3]>' "$RB_TMP/inner.log" | grep -v 'DEVICE_FATAL\|completion channel failed\|async event fd' >&2 &&
	rb_fail "the inner daemon logged errors (above)"
rb_pass
