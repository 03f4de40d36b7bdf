#!/bin/sh
# The verbs pass-through driver, tested by nesting (drivers/verbs/): an
# outer rdmabrokerd with the soft device, and an inner one with
# [soft] enable = no and [verbs] enable = yes, run under
# rdmab-run -s OUTER.sock, so that the inner daemon's libibverbs is the
# outer broker's library and its device the outer's rbsoft0.
#
# Through the inner daemon: unmodified ibv_devinfo -v (the outer's device,
# its GUID and GID) and the RC, UC, UD and SRQ ping-pongs; the data-path
# suite (tests/integration/data-*) and the error cases whose status comes from
# the device (tests/integration/dataerr-*); a client of the inner daemon and one
# of the outer talk RC both ways with each other's rkeys, and another
# client's rkey and a foreign lkey are refused (tests/integration/verbs-nest-mixed).  Then
# SIGKILLed clients of the inner daemon leave nothing on either daemon
# (rdmactl -j res, the inner daemon's fds and mappings back where they
# were); and when the outer daemon stops, the inner daemon's clients of
# that device get IBV_EVENT_DEVICE_FATAL while its own soft device goes
# on serving.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/pingpong-lib.sh"
. "$top_srcdir/tests/lib/nest-lib.sh"

for p in ibv_devinfo ibv_rc_pingpong ibv_uc_pingpong ibv_ud_pingpong ibv_srq_pingpong; do
	command -v "$p" >/dev/null 2>&1 || rb_skip "$p not installed (Debian ibverbs-utils)"
done

nest_outer_start

nest_no_objects() {
	local res
	for _ in $(seq 1 100); do
		res=$("$RB_RDMACTL" -j res) || rb_fail "rdmactl -j res failed ($1)"
		[ "$res" = "[]" ] && return 0
		sleep 0.1
	done
	rb_fail "$1: objects left: $("$RB_RDMACTL" res)"
}

nest_conf "$RB_TMP/inner.conf" debug
nest_start inner "$RB_TMP/inner.conf"
INNER_PID=$NEST_PID
INNER_SOCK=$RB_TMP/inner.sock
nest_use inner "$INNER_PID"

# --- The outer's device, seen through the inner daemon.
"$RB_RUN" ibv_devinfo -v >"$RB_TMP/devinfo.inner" 2>&1 || rb_fail "ibv_devinfo -v via the inner daemon: $(cat "$RB_TMP/devinfo.inner")"
RDMABROKER_SOCKET=$OUTER_SOCK "$RB_RUN" ibv_devinfo -v >"$RB_TMP/devinfo.outer" 2>&1 ||
	rb_fail "ibv_devinfo -v via the outer daemon"
grep -q 'hca_id:[[:space:]]*rbsoft0' "$RB_TMP/devinfo.inner" || rb_fail "the inner daemon lists no rbsoft0: $(cat "$RB_TMP/devinfo.inner")"
for field in node_guid 'GID\[  0\]' link_layer active_mtu; do
	a=$(grep -m1 "$field" "$RB_TMP/devinfo.outer")
	b=$(grep -m1 "$field" "$RB_TMP/devinfo.inner")
	[ -n "$a" ] && [ "$a" = "$b" ] || rb_fail "$field differs: outer '$a', inner '$b'"
done
rb_log "ibv_devinfo -v: the inner daemon shows the outer's rbsoft0 ($(grep -m1 node_guid "$RB_TMP/devinfo.inner" | tr -s ' \t' ' '))"

# --- Unmodified ping-pongs through the inner daemon.
pp_run rc 500 ibv_rc_pingpong
pp_run rc-events 200 ibv_rc_pingpong -e
pp_run rc-size64k 200 ibv_rc_pingpong -s 65536
pp_run uc 500 ibv_uc_pingpong
pp_run ud 500 ibv_ud_pingpong
pp_run srq 500 ibv_srq_pingpong -q 4

# Zero-copy: the inner daemon handed its clients' memfds to the outer one.
grep -q 'registered by its memfd' "$RB_TMP/inner.log" ||
	rb_fail "the inner daemon registered no MR by its memfd (zero-copy)"

# --- The data-path suite and the device's error statuses.
# ibv_wc does not say whether a message was solicited: through the verbs
# driver every receive counts as one (docs/verbs-driver.md).
for t in data-rc data-wr data-uc-ud data-srq data-cq data-threads data-wr-api; do
	RB_DATA_SOLICITED_EARLY=1 "$top_builddir/tests/integration/$t" >"$RB_TMP/$t.out" 2>&1 ||
		{ tail -n 60 "$RB_TMP/$t.out" >&2; rb_fail "$t through the inner daemon"; }
	nest_no_objects "$t"
done
for t in dataerr-status dataerr-retry dataerr-flush dataerr-procs; do
	RB_DATAERR_DEVICE_ONLY=1 "$top_builddir/tests/integration/$t" >"$RB_TMP/$t.out" 2>&1 ||
		{ tail -n 60 "$RB_TMP/$t.out" >&2; rb_fail "$t (device statuses) through the inner daemon"; }
	nest_no_objects "$t"
done

# --- rdmab-perf through the inner daemon: long runs that repost as soon
# as they poll (a slot must be free before its completion shows).
for t in send_lat send_bw write_bw; do
	timeout 120 "$top_builddir/bench/rdmab-perf" --loopback -n 20000 -s 8 "$t" \
		>"$RB_TMP/perf-$t.out" 2>&1 ||
		rb_fail "rdmab-perf $t through the inner daemon: $(tail -n 3 "$RB_TMP/perf-$t.out")"
done
rb_log "rdmab-perf through the inner daemon: $(tail -n 1 "$RB_TMP/perf-send_lat.out" | tr -s ' ')"
nest_no_objects "rdmab-perf"

# --- A client of each daemon, talking to each other.
INNER_SOCK=$INNER_SOCK OUTER_SOCK=$OUTER_SOCK "$top_builddir/tests/integration/verbs-nest-mixed" ||
	rb_fail "verbs-mixed"
nest_no_objects "verbs-mixed (inner)"
RDMABROKER_SOCKET=$OUTER_SOCK nest_no_objects "verbs-mixed (outer)"

# --- Hostile clients of the inner daemon (rings written by hand and at
# random, other clients' keys): stopped there, and nothing is left on
# either daemon.
"$top_builddir/tests/hostile/rings" >"$RB_TMP/hostile.out" 2>&1 ||
	{ tail -n 40 "$RB_TMP/hostile.out" >&2; rb_fail "client-hostile through the inner daemon"; }
kill -0 "$INNER_PID" || rb_fail "the inner daemon died under client-hostile"
nest_no_objects "client-hostile"
RB_SCRIBBLE_NO_CMA=1 "$top_builddir/tests/hostile/scribble" >"$RB_TMP/scribble.out" 2>&1 ||
	{ tail -n 40 "$RB_TMP/scribble.out" >&2; rb_fail "client-scribble through the inner daemon"; }
kill -0 "$INNER_PID" || rb_fail "the inner daemon died under client-scribble"
nest_no_objects "client-scribble"
grep -E 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error|SIGSEGV|SIGBUS' \
	"$RB_TMP/inner.log" "$OUTER_LOG" >&2 && rb_fail "a daemon reported a fault (above)"
RDMABROKER_SOCKET=$OUTER_SOCK nest_no_objects "hostile clients (outer)"

# --- SIGKILLed clients leave nothing behind on either daemon.
sleep 0.5
fds0=$(rb_fd_count "$INNER_PID")
maps0=$(wc -l < "/proc/$INNER_PID/maps")
for round in 1 2 3; do
	for i in 1 2 3 4; do
		"$top_builddir/tests/integration/verbs-nest-holder" rbsoft0 >"$RB_TMP/holder$i.out" 2>&1 &
		eval "h$i=\$!"
	done
	for i in 1 2 3 4; do
		for _ in $(seq 1 100); do
			grep -q ready "$RB_TMP/holder$i.out" && break
			sleep 0.1
		done
		grep -q ready "$RB_TMP/holder$i.out" || rb_fail "holder $i: $(cat "$RB_TMP/holder$i.out")"
	done
	[ "$("$RB_RDMACTL" -j res)" != "[]" ] || rb_fail "the holders hold nothing?"
	for i in 1 2 3 4; do
		eval "kill -KILL \$h$i; wait \$h$i 2>/dev/null"
	done
	nest_no_objects "SIGKILLed holders, round $round (inner)"
	RDMABROKER_SOCKET=$OUTER_SOCK nest_no_objects "SIGKILLed holders, round $round (outer)"
done
for _ in $(seq 1 50); do
	[ "$(rb_fd_count "$INNER_PID")" -le "$fds0" ] &&
		[ "$(wc -l < "/proc/$INNER_PID/maps")" -le "$maps0" ] && break
	sleep 0.1
done
[ "$(rb_fd_count "$INNER_PID")" -le "$fds0" ] ||
	rb_fail "the inner daemon holds $(rb_fd_count "$INNER_PID") fds, $fds0 before the holders"
[ "$(wc -l < "/proc/$INNER_PID/maps")" -le "$maps0" ] ||
	rb_fail "the inner daemon has $(wc -l < "/proc/$INNER_PID/maps") mappings, $maps0 before the holders"
rb_log "SIGKILLed holders: nothing left on either daemon, inner fds $fds0 and maps $maps0 as before"

# --- The outer daemon stops: DEVICE_FATAL for the inner's clients of its
# device; the inner daemon's own soft device goes on.
cat > "$RB_TMP/inner2.conf" <<EOF
[daemon]
log_level = debug
[soft]
name = rbinner0
[verbs]
enable = yes
name_prefix = up-
EOF
nest_start inner2 "$RB_TMP/inner2.conf"
INNER2_PID=$NEST_PID
nest_use inner2 "$INNER2_PID"
"$RB_RUN" ibv_devices >"$RB_TMP/devices.inner2" 2>&1 || rb_fail "ibv_devices via inner2"
grep -q rbinner0 "$RB_TMP/devices.inner2" && grep -q up-rbsoft0 "$RB_TMP/devices.inner2" ||
	rb_fail "inner2 should list rbinner0 and up-rbsoft0: $(cat "$RB_TMP/devices.inner2")"
"$top_builddir/tests/integration/verbs-nest-holder" up-rbsoft0 >"$RB_TMP/fatal.out" 2>&1 &
fatal_pid=$!
for _ in $(seq 1 100); do
	grep -q ready "$RB_TMP/fatal.out" && break
	sleep 0.1
done
grep -q ready "$RB_TMP/fatal.out" || rb_fail "the fatal holder: $(cat "$RB_TMP/fatal.out")"
nest_use_outer
rb_daemon_stop
wait "$fatal_pid" || rb_fail "no IBV_EVENT_DEVICE_FATAL for a client of up-rbsoft0: $(cat "$RB_TMP/fatal.out")"
nest_use inner2 "$INNER2_PID"
kill -0 "$INNER2_PID" || rb_fail "inner2 died when the outer daemon stopped"
"$RB_RUN" ibv_devinfo -d rbinner0 >/dev/null 2>&1 || rb_fail "inner2's rbinner0 no longer answers"
PP_DEVICE=rbinner0
# The holder exited without destroying what it held on up-rbsoft0.
PP_LEFT=$(grep -c 'object(s) it left behind' "$RB_LOG")
pp_run inner-soft 200 ibv_rc_pingpong
unset PP_DEVICE
rb_log "the outer daemon stopped: DEVICE_FATAL reached the inner's client; rbinner0 still serves"
grep -E '^<[0-3]>' "$RB_TMP/inner.log" | grep -v 'DEVICE_FATAL\|completion channel failed\|async event fd' >&2 &&
	rb_fail "the inner daemon logged errors (above)"
rb_pass
