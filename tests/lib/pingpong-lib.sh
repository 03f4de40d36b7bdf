# Helpers for the tests that run rdma-core's pingpong examples (Debian
# ibverbs-utils) on the broker; source after tests/lib/lib.sh and after
# rb_daemon_start.
#
#   pp_run NAME ITERS PROGRAM [ARGUMENT...]
#
# runs PROGRAM as a server and as a client, both under rdmab-run on
# rbsoft0 with GID index 0, -c (check the received data), -n ITERS and a
# free TCP port of their own, and fails the test unless both exit 0 and
# print their "bytes in" and "ITERS iters in ... usec/iter" lines without
# an "invalid data" line.  pp_start (same arguments) starts a pair and
# pp_finish NAME waits for it and checks it, so that pairs can run at the
# same time.  PP_TIMEOUT (seconds, default 120) bounds each side;
# PP_DEVICE (default rbsoft0) names the device.

PP_TIMEOUT=${PP_TIMEOUT:-120}
PP_PIDS=
# Servers that could not bind exited without destroying their objects.
PP_LEFT=0

pp_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

. "$top_srcdir/scripts/tcp-port.sh"

# pp_fail NAME MESSAGE: both sides' output, then rb_fail (daemon log).
# Pairs still running are stopped: nothing outlives the test.
pp_fail() {
	local pid
	for pid in $PP_PIDS; do
		kill "$pid" 2>/dev/null
	done
	{
		echo "---- $1 server: $(cat "$RB_TMP/$1.cmd" 2>/dev/null) ----"
		cat "$RB_TMP/$1.server" 2>/dev/null
		echo "---- $1 client: $(cat "$RB_TMP/$1.cmd" 2>/dev/null) localhost ----"
		cat "$RB_TMP/$1.client" 2>/dev/null
	} >&2
	rb_fail "$1: $2"
}

# pp_check_output NAME SIDE ITERS: the side's output has the summary lines.
pp_check_output() {
	local f="$RB_TMP/$1.$2"
	grep -Eq '^  remote address: ' "$f" ||
		pp_fail "$1" "$2 printed no remote address"
	grep -Eq '^[0-9]+ bytes in [0-9.]+ seconds = [0-9.]+ Mbit/sec$' "$f" ||
		pp_fail "$1" "$2 printed no 'bytes in ... Mbit/sec' line"
	grep -Eq "^$3 iters in [0-9.]+ seconds = [0-9.]+ usec/iter\$" "$f" ||
		pp_fail "$1" "$2 printed no '$3 iters in ... usec/iter' line"
	! grep -q 'invalid data' "$f" ||
		pp_fail "$1" "$2 received wrong data"
}

# pp_wait_no_objects WHEN: once its clients have gone, the daemon holds
# nothing.
pp_wait_no_objects() {
	local res
	for _ in $(seq 1 100); do
		res=$("$RB_RDMACTL" -j res) || rb_fail "rdmactl -j res failed after $1"
		[ "$res" = "[]" ] && return 0
		sleep 0.1
	done
	rb_fail "objects left after $1: $("$RB_RDMACTL" res)"
}

# pp_start NAME ITERS PROGRAM [ARGUMENT...]: start the server, wait until
# it listens, start the client; both in the background.
pp_start() {
	local name="$1" iters="$2" prog="$3" port spid cmd try rc
	shift 3
	rm -f "$RB_TMP/$name".*
	echo "$iters" > "$RB_TMP/$name.iters"
	pp_now_ms > "$RB_TMP/$name.t0"
	# Another program may take the port between our look and the server's
	# bind; then the server says so and we try another.
	for try in 1 2 3 4 5; do
		port=$(tcp_free_port)
		cmd="$prog -d ${PP_DEVICE:-rbsoft0} -g 0 -p $port -c -n $iters${*:+ $*}"
		echo "$cmd" > "$RB_TMP/$name.cmd"
		# shellcheck disable=SC2086
		timeout "$PP_TIMEOUT" "$RB_RUN" $cmd >"$RB_TMP/$name.server" 2>&1 &
		spid=$!
		# The server listens once its QP exists; then the client may connect.
		for _ in $(seq 1 300); do
			tcp_listening "$port" && break
			kill -0 "$spid" 2>/dev/null || break
			sleep 0.1
		done
		tcp_listening "$port" && break
		kill "$spid" 2>/dev/null
		wait "$spid"
		rc=$?
		if grep -q "Couldn't listen to port" "$RB_TMP/$name.server" && [ "$try" -lt 5 ]; then
			PP_LEFT=$((PP_LEFT + 1))
			continue
		fi
		pp_fail "$name" "the server did not listen on port $port (exit $rc)"
	done
	PP_PIDS="$PP_PIDS $spid"
	echo "$spid" > "$RB_TMP/$name.spid"
	# shellcheck disable=SC2086
	timeout "$PP_TIMEOUT" "$RB_RUN" $cmd localhost >"$RB_TMP/$name.client" 2>&1 &
	PP_PIDS="$PP_PIDS $!"
	echo $! > "$RB_TMP/$name.cpid"
}

# pp_finish NAME: wait for both sides of a pair and check them.
pp_finish() {
	local name="$1" spid cpid src crc t0 t1 iters
	spid=$(cat "$RB_TMP/$name.spid")
	cpid=$(cat "$RB_TMP/$name.cpid")
	iters=$(cat "$RB_TMP/$name.iters")
	t0=$(cat "$RB_TMP/$name.t0")
	wait "$cpid"
	crc=$?
	if [ "$crc" -ne 0 ]; then
		# A failed client may leave the server waiting for ever.
		sleep 1
		kill "$spid" 2>/dev/null
	fi
	wait "$spid"
	src=$?
	t1=$(pp_now_ms)
	if [ "$crc" -ne 0 ] || [ "$src" -ne 0 ]; then
		pp_fail "$name" "client exited $crc, server exited $src (124: timed out after $PP_TIMEOUT s)"
	fi
	pp_check_output "$name" server "$iters"
	pp_check_output "$name" client "$iters"
	rb_daemon_alive || pp_fail "$name" "the daemon died"
	rb_log "$name: ok in $((t1 - t0)) ms:" \
		"$(grep -Eo '[0-9.]+ usec/iter' "$RB_TMP/$name.client")"
}

# pp_check_clean WHEN: every pair so far has finished; the daemon holds no
# object, and it had nothing to clean up after them, since both programs
# destroy everything they made before they exit 0.
pp_check_clean() {
	pp_wait_no_objects "$1"
	[ "$(grep -c 'object(s) it left behind' "$RB_LOG")" -eq "$PP_LEFT" ] ||
		rb_fail "after $1 the daemon freed objects a program left: $(grep 'left behind' "$RB_LOG")"
}

pp_run() {
	pp_start "$@"
	pp_finish "$1"
	pp_check_clean "$1"
}
