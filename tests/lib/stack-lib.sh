# Helpers for the tests that run the RDMA software stack's own programs
# (perftest, UCX, libfabric) under rdmab-run; source after tests/lib/lib.sh.
#
#   sp_pair NAME 'SERVER COMMAND' 'CLIENT COMMAND'
#
# runs the server in the background, waits until it listens on its TCP
# port, runs the client, and fails the test unless both exit 0.  Each
# command is split on blanks and @PORT@ in it becomes a free port; both
# run under rdmab-run ($SP_RUN_FLAGS, e.g. -D, passed to it) and
# `timeout $SP_TIMEOUT` (default 120 s).  The outputs are
# $RB_TMP/NAME.server and $RB_TMP/NAME.client; sp_fail shows them.
# A pair whose perftest could not calibrate its clock (rb_uncalibrated,
# lib.sh) runs again, 3 tries in all, and so does a failed pair for
# which the function named by $SP_RETRY_IF, given NAME, returns 0 (a
# failure of the program's own that the test knows; $SP_RETRY_WHY says
# which in the log).

. "$top_srcdir/scripts/tcp-port.sh"

SP_TIMEOUT=${SP_TIMEOUT:-120}
SP_RUN_FLAGS=${SP_RUN_FLAGS:-}

sp_fail() {
	{
		echo "---- $1 server: $(cat "$RB_TMP/$1.scmd" 2>/dev/null) ----"
		tail -n 30 "$RB_TMP/$1.server" 2>/dev/null
		echo "---- $1 client: $(cat "$RB_TMP/$1.ccmd" 2>/dev/null) ----"
		tail -n 30 "$RB_TMP/$1.client" 2>/dev/null
	} >&2
	rb_fail "$1: $2"
}

# sp_pair NAME SERVER CLIENT: 0, or the test fails.
sp_pair() {
	local try
	for try in 1 2 3; do
		sp_pair_once "$@" && return 0
		rb_log "$1: $SP_WHY (try $try); again"
	done
	sp_fail "$1" "$SP_WHY in 3 tries"
}

# sp_pair_once NAME SERVER CLIENT: 0; 1 (with $SP_WHY) when perftest could
# not calibrate its clock or $SP_RETRY_IF says to run again; otherwise the
# test fails.
sp_pair_once() {
	local name="$1" port scmd ccmd spid src crc
	port=$(tcp_free_port)
	scmd=$(echo "$2" | sed "s/@PORT@/$port/g")
	ccmd=$(echo "$3" | sed "s/@PORT@/$port/g")
	echo "$scmd" > "$RB_TMP/$name.scmd"
	echo "$ccmd" > "$RB_TMP/$name.ccmd"
	# shellcheck disable=SC2086
	timeout "$SP_TIMEOUT" "$RB_RUN" $SP_RUN_FLAGS $scmd > "$RB_TMP/$name.server" 2>&1 &
	spid=$!
	for _ in $(seq 1 200); do
		tcp_listening "$port" && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	tcp_listening "$port" || { wait "$spid"; sp_fail "$name" "server did not listen on $port (exit $?)"; }
	# shellcheck disable=SC2086
	timeout "$SP_TIMEOUT" "$RB_RUN" $SP_RUN_FLAGS $ccmd > "$RB_TMP/$name.client" 2>&1
	crc=$?
	wait "$spid"; src=$?
	if [ "$src" -ne 0 ] || [ "$crc" -ne 0 ]; then
		SP_WHY="perftest could not calibrate its clock"
		rb_uncalibrated "$RB_TMP/$name.server" "$RB_TMP/$name.client" && return 1
		SP_WHY="${SP_RETRY_WHY:-} (server exit $src, client exit $crc)"
		[ -n "${SP_RETRY_IF:-}" ] && "$SP_RETRY_IF" "$name" && return 1
		sp_fail "$name" "server exit $src, client exit $crc"
	fi
	! grep -qi 'assert' "$RB_TMP/$name.server" "$RB_TMP/$name.client" ||
		sp_fail "$name" "an assertion was reported"
}
