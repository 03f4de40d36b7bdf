# One broker nested in another, the test bed of the verbs pass-through
# driver (issue 12; integration/verbs-nest, integration/verbs-sched,
# hostile/verbs-rkey): an outer rdmabrokerd with the soft device, and
# inner ones started under rdmab-run -s OUTER.sock, so that their
# libibverbs is the outer broker's library.  Source after
# tests/lib/lib.sh.
#
#   nest_outer_start      the outer daemon (rb_daemon_start): OUTER_SOCK,
#                         OUTER_LOG, OUTER_PID; at exit every inner
#                         daemon is killed, then the outer stopped
#   nest_conf FILE [LEVEL] an inner daemon's config: log_level LEVEL
#                         (default info), the soft device off, the verbs
#                         driver on; a test appends its own sections
#   nest_start NAME CONF  an inner daemon with CONF on $RB_TMP/NAME.sock,
#                         logging to $RB_TMP/NAME.log; its pid (the one
#                         the outer daemon sees as its client) in NEST_PID
#   nest_use NAME PID     rdmactl, the pingpong helpers and clients talk
#                         to that inner daemon; nest_use_outer: back
#   nest_exit_hook        a test may define it: run first at exit (its own
#                         processes, before the daemons go)

NEST_INNER_PIDS=

nest_cleanup() {
	local pid
	if command -v nest_exit_hook >/dev/null 2>&1; then
		nest_exit_hook
	fi
	for pid in $NEST_INNER_PIDS; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	RB_DAEMON_PID=$OUTER_PID
	rb_cleanup
}

nest_outer_start() {
	rb_daemon_start
	OUTER_SOCK=$RB_SOCK
	OUTER_LOG=$RB_LOG
	OUTER_PID=$RB_DAEMON_PID
	trap nest_cleanup EXIT
}

nest_conf() {
	printf '[daemon]\nlog_level = %s\n[soft]\nenable = no\n[verbs]\nenable = yes\n' \
		"${2:-info}" > "$1"
}

nest_start() {
	local sock="$RB_TMP/$1.sock" pid
	RDMABROKER_SOCKET= "$RB_RUN" -s "$OUTER_SOCK" "$RB_DAEMON" -c "$2" -s "$sock" \
		>>"$RB_TMP/$1.log" 2>&1 &
	pid=$!
	NEST_PID=$pid
	NEST_INNER_PIDS="$NEST_INNER_PIDS $pid"
	for _ in $(seq 1 300); do
		[ -S "$sock" ] && rb_connect_check "$sock" && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$RB_TMP/$1.log" >&2; rb_fail "inner daemon $1 exited at start"; }
		sleep 0.1
	done
	rb_fail "inner daemon $1 did not listen within 30 s"
}

nest_use() {
	export RDMABROKER_SOCKET="$RB_TMP/$1.sock"
	RB_LOG="$RB_TMP/$1.log"
	RB_DAEMON_PID=$2
}

nest_use_outer() {
	export RDMABROKER_SOCKET="$OUTER_SOCK"
	RB_LOG="$OUTER_LOG"
	RB_DAEMON_PID=$OUTER_PID
}
