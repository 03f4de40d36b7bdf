# Helpers for the tests that run librdmacm programs (rdmacm-utils,
# perftest -R, ...) under rdmab-run; source after tests/lib.sh.
#
#   cm_pair NAME 'SERVER COMMAND' 'CLIENT COMMAND' [PORT]
#
# runs the server in the background, waits until the broker lists its
# CM id LISTENing on the port (rdmactl res cm_id: a CM server has no TCP
# socket to wait for), runs the client, and fails the test unless both
# exit 0.  @PORT@ in a command becomes a free port; PORT is the one a
# program without a port option listens on (udaddy: 7174).  Outputs are
# $RB_TMP/NAME.server and $RB_TMP/NAME.client.

CM_TIMEOUT=${CM_TIMEOUT:-120}
cm_next_port=${cm_next_port:-$((20000 + $$ % 20000))}

cm_fail() {
	{
		echo "---- $1 server: $(cat "$RB_TMP/$1.scmd" 2>/dev/null) ----"
		tail -n 30 "$RB_TMP/$1.server" 2>/dev/null
		echo "---- $1 client: $(cat "$RB_TMP/$1.ccmd" 2>/dev/null) ----"
		tail -n 30 "$RB_TMP/$1.client" 2>/dev/null
	} >&2
	rb_fail "$1: $2"
}

# cm_listening PORT [SOCK]: does some CM id of the daemon on SOCK
# (default $RB_SOCK) listen on PORT?
cm_listening() {
	"$RB_RDMACTL" -s "${2:-$RB_SOCK}" -j res cm_id state LISTEN 2>/dev/null |
		grep -q "\"src\":\"[^\"]*:$1\""
}

# cm_wait_listen PORT PID [SOCK [TRIES]]: until PORT listens on SOCK's
# daemon (or PID exits), polling every 50 ms TRIES times (default 400);
# 0 if it does.
cm_wait_listen() {
	for _ in $(seq 1 "${4:-400}"); do
		cm_listening "$1" "${3:-$RB_SOCK}" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# cm_wait_output FILE PATTERN PID [TRIES]: until a line of FILE matches
# PATTERN (grep's), or PID exits, polling every 50 ms TRIES times
# (default 200); 0 if one does.
cm_wait_output() {
	for _ in $(seq 1 "${4:-200}"); do
		grep -qs -- "$2" "$1" && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.05
	done
	grep -qs -- "$2" "$1"
}

# cm_in_ns NS SOCKNAME CMD...: CMD under rdmab-run in network namespace
# NS, through the daemon on $RB_TMP/SOCKNAME.sock (roce_start_daemon's),
# within $CM_TIMEOUT seconds.
cm_in_ns() {
	local ns="$1" sock="$2"
	shift 2
	RDMABROKER_SOCKET="$RB_TMP/$sock.sock" ip netns exec "$ns" timeout "$CM_TIMEOUT" "$RB_RUN" "$@"
}

# cm_pair NAME SERVER CLIENT [PORT]: 0, or the test fails.  A pair whose
# perftest could not calibrate its clock (rb_uncalibrated) runs again.
cm_pair() {
	local try
	for try in 1 2 3; do
		cm_pair_once "$@" && return 0
		rb_log "$1: perftest could not calibrate its clock (try $try); again"
	done
	cm_fail "$1" "perftest could not calibrate its clock in 3 tries"
}

cm_pair_once() {
	local name="$1" port scmd ccmd spid src crc
	cm_next_port=$((cm_next_port + 1))
	port=${4:-$cm_next_port}
	scmd=$(echo "$2" | sed "s/@PORT@/$port/g")
	ccmd=$(echo "$3" | sed "s/@PORT@/$port/g")
	echo "$scmd" > "$RB_TMP/$name.scmd"
	echo "$ccmd" > "$RB_TMP/$name.ccmd"
	# shellcheck disable=SC2086
	timeout "$CM_TIMEOUT" "$RB_RUN" $scmd > "$RB_TMP/$name.server" 2>&1 &
	spid=$!
	cm_wait_listen "$port" "$spid" ||
		{ wait "$spid"; cm_fail "$name" "server did not listen on $port (exit $?)"; }
	# shellcheck disable=SC2086
	timeout "$CM_TIMEOUT" "$RB_RUN" $ccmd > "$RB_TMP/$name.client" 2>&1
	crc=$?
	wait "$spid"; src=$?
	if [ "$src" -ne 0 ] || [ "$crc" -ne 0 ]; then
		rb_uncalibrated "$RB_TMP/$name.server" "$RB_TMP/$name.client" && return 1
		cm_fail "$name" "server exit $src, client exit $crc"
	fi
}

# cm_no_ids [SOCKET]: the broker on SOCKET (default $RB_SOCK) lists no
# CM id and no CM channel any more (within 5 s); else prints what it has.
cm_no_ids() {
	local sock="${1:-$RB_SOCK}"
	for _ in $(seq 1 100); do
		[ "$("$RB_RDMACTL" -s "$sock" -j res show 2>/dev/null | grep -c '"type":"cm_')" -eq 0 ] &&
			return 0
		sleep 0.05
	done
	"$RB_RDMACTL" -s "$sock" res show >&2
	return 1
}

# cm_two_hosts NS_A NS_B: the cross-host CM tests' bed (source
# roce-lib.sh first): roce_two_hosts with the daemons logging at debug
# ($RB_TMP/a.sock in NS_A, b.sock in NS_B, both on UDP 4791).  A server
# the test keeps in $SPID is SIGKILLed at exit.
cm_two_hosts() {
	SPID=
	roce_cleanup_hook() {
		[ -z "$SPID" ] || kill -KILL "$SPID" 2>/dev/null
	}
	roce_two_hosts "$1" "$2" debug
}

# cm_ns_server NAME PORT SERVER...: SERVER under rdmab-run in namespace
# $A on daemon a (cm_two_hosts), output in $RB_TMP/NAME.server, its pid
# in SPID; 0 once a CM id of daemon a listens on PORT, 1 if the server
# exits first or 200 polls (10 s) pass.
cm_ns_server() {
	local name="$1" port="$2"
	shift 2
	cm_in_ns "$A" a "$@" > "$RB_TMP/$name.server" 2>&1 &
	SPID=$!
	cm_wait_listen "$port" "$SPID" "$RB_TMP/a.sock" 200
}

# cm_ns_connect NAME PORT 'SERVER' 'CLIENT' [POLLS]: a connection for
# the test to act on while it stands: cm_ns_server NAME PORT SERVER, then
# CLIENT in $B on daemon b in the background (CPID, output NAME.client),
# until both have printed a line "connected..." (each within POLLS
# polls, default 300, 15 s, or until it exits).  Commands are split on
# blanks.  1 if the server did not listen; what came of the rest the
# caller checks.
cm_ns_connect() {
	# shellcheck disable=SC2086
	cm_ns_server "$1" "$2" $3 || return 1
	# shellcheck disable=SC2086
	cm_in_ns "$B" b $4 > "$RB_TMP/$1.client" 2>&1 &
	CPID=$!
	cm_wait_output "$RB_TMP/$1.server" '^connected' "$SPID" "${5:-300}"
	cm_wait_output "$RB_TMP/$1.client" '^connected' "$CPID" "${5:-300}"
	return 0
}

# cm_ns_kill_server NAME: SIGKILL cm_ns_connect's server, the peer
# process itself by the "pid N" it printed (the wrappers around it exec
# or wait), and wait for it; then for the client, whose exit status is
# returned.
cm_ns_kill_server() {
	kill -KILL "$(sed -n 's/^pid //p' "$RB_TMP/$1.server")" || rb_fail "no server pid to kill"
	wait "$SPID" 2>/dev/null
	SPID=
	wait "$CPID"
}
