# Shared helpers for the shell tests; source with
#   . "$top_srcdir/tests/lib/lib.sh"
# The test harness exports top_srcdir and top_builddir (absolute).
# Exit codes follow Automake: 0 pass, 1 fail, 77 skip, 99 hard error.

set -u

: "${top_srcdir:?run from make check (top_srcdir unset)}"
: "${top_builddir:?run from make check (top_builddir unset)}"

RB_DAEMON="$top_builddir/daemon/rdmabrokerd"
RB_RDMACTL="$top_builddir/rdmactl/rdmactl"
RB_RUN="$top_builddir/libclient/rdmab-run"
# rdmab-run finds the build tree's libibverbs.so.1 here.
RDMABROKER_LIBDIR="$top_builddir/libclient/compat"
export RDMABROKER_LIBDIR
# Tests never talk to a system daemon by accident.
unset RDMABROKER_SOCKET NOTIFY_SOCKET LISTEN_FDS LISTEN_PID WATCHDOG_USEC

RB_TEST_NAME=$(basename "$0")
RB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rbtest.XXXXXX") || exit 99

# In an ASan/UBSan build, unmodified programs (ibv_devinfo, ...) load our
# instrumented library, so the sanitizer runtimes must be preloaded, and
# their own leaks are not ours to report.
if [ "${RB_SANITIZERS:-no}" = yes ]; then
	rb_san_preload="$(${CC:-cc} -print-file-name=libasan.so) $(${CC:-cc} -print-file-name=libubsan.so)"
	cat > "$RB_TMP/rdmab-run" <<EOS
#!/bin/sh
LD_PRELOAD="$rb_san_preload\${LD_PRELOAD:+ \$LD_PRELOAD}" ASAN_OPTIONS="detect_leaks=0\${ASAN_OPTIONS:+:\$ASAN_OPTIONS}" exec "$RB_RUN" "\$@"
EOS
	chmod +x "$RB_TMP/rdmab-run"
	RB_RUN="$RB_TMP/rdmab-run"
fi
RB_SOCK="$RB_TMP/rdmabrokerd.sock"
RB_CONF="$RB_TMP/rdmabrokerd.conf"
RB_LOG="$RB_TMP/daemon.log"
RB_DAEMON_PID=
RB_HOLDER=

rb_log() { printf '%s: %s\n' "$RB_TEST_NAME" "$*" >&2; }

# rb_uncalibrated FILE...: 0 when perftest wrote in one of FILEs that it
# could not calibrate its clock.  perftest times itself with the CPU's
# cycle counter and gives up ("Can't produce a report") when its
# calibration against gettimeofday() is noisy (r^2 < 0.9), which happens
# on a loaded machine: a fault of the measurement, not of the broker, so
# the tests run such a pair again.
rb_uncalibrated() {
	grep -q "Can't produce a report" "$@" && grep -q 'Correlation coefficient r^2' "$@"
}

rb_cleanup() {
	# A holder left behind by a failing test must not outlive it.
	if [ -n "${RB_HOLDER:-}" ] && kill -0 "$RB_HOLDER" 2>/dev/null; then
		kill -KILL "$RB_HOLDER" 2>/dev/null
		wait "$RB_HOLDER" 2>/dev/null
	fi
	if [ -n "$RB_DAEMON_PID" ] && kill -0 "$RB_DAEMON_PID" 2>/dev/null; then
		kill -TERM "$RB_DAEMON_PID" 2>/dev/null
		# A hung daemon must fail the test now, not at the suite's timeout.
		for _ in $(seq 1 100); do
			kill -0 "$RB_DAEMON_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$RB_DAEMON_PID" 2>/dev/null
		wait "$RB_DAEMON_PID" 2>/dev/null
	fi
	# RB_KEEP_TMP=1 keeps the daemons' logs and the programs' output.
	if [ -n "${RB_KEEP_TMP:-}" ]; then
		rb_log "kept $RB_TMP"
	else
		rm -rf "$RB_TMP"
	fi
}
trap rb_cleanup EXIT

rb_dump_log() {
	if [ -s "$RB_LOG" ]; then
		echo "---- daemon log ($RB_LOG) ----" >&2
		tail -n 50 "$RB_LOG" >&2
		echo "----" >&2
	fi
}

rb_fail() { rb_log "FAIL: $*"; rb_dump_log; exit 1; }
rb_skip() { rb_log "SKIP: $*"; exit 77; }
rb_pass() { rb_log "PASS"; exit 0; }

# Built without cmocka (configure says so; RB_HAVE_CMOCKA=no), the tests'
# cmocka programs only say so and exit 77 (tests/lib/nocmocka/cmocka.h):
# a runner that names one of them (tests/KIND/NAME, outside comments)
# skips before it starts anything.
if [ "${RB_HAVE_CMOCKA:-yes}" = no ]; then
	for _p in $(grep -v '^[[:space:]]*#' "$0" |
		    grep -oE '(unit|integration|hostile|fuzz|peers|bench|lib)/[A-Za-z0-9_-]+' | sort -u); do
		# A program linked with a libtool library is a wrapper script
		# in front of .libs/NAME.
		[ -f "$top_builddir/tests/$_p" ] &&
			grep -q rdmabroker-test-built-without-cmocka "$top_builddir/tests/$_p" \
				"$top_builddir/tests/${_p%/*}/.libs/${_p##*/}" 2>/dev/null &&
			rb_skip "tests/$_p needs cmocka, which configure did not find (apt-get install libcmocka-dev, then configure again)"
	done
fi

# rb_cpu_lock: tests that place threads on CPUs and judge where they ran
# (poll-yield, poll-move, stream-share), or read what the engine says of
# its sleep (engine-signs), run one at a time, not beside each other's
# busy loop; held until the test exits.
rb_cpu_lock() {
	command -v flock >/dev/null 2>&1 || return 0
	exec 9>"$top_builddir/tests/.cpu-lock"
	flock 9
}

# rb_connect_check SOCKET: does a daemon accept on SOCKET?
rb_connect_check() {
	python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(1)
s.connect(sys.argv[1])
PY
}

# rb_daemon_start [daemon args...]: a private daemon on $RB_SOCK with
# $RB_CONF (written with defaults if the test did not write one), logging
# at debug level to $RB_LOG.  Waits until it accepts connections.
rb_daemon_start() {
	if [ ! -e "$RB_CONF" ]; then
		printf '[daemon]\nlog_level = debug\n' > "$RB_CONF"
	fi
	# RB_DAEMON_WRAPPER runs the daemon under a tool, e.g.
	# "valgrind --error-exitcode=99 --leak-check=full".
	${RB_DAEMON_WRAPPER:-} "$RB_DAEMON" -c "$RB_CONF" -s "$RB_SOCK" "$@" >>"$RB_LOG" 2>&1 &
	RB_DAEMON_PID=$!
	export RDMABROKER_SOCKET="$RB_SOCK"
	for _ in $(seq 1 300); do
		if [ -S "$RB_SOCK" ] && rb_connect_check "$RB_SOCK"; then
			return 0
		fi
		kill -0 "$RB_DAEMON_PID" 2>/dev/null || {
			wait "$RB_DAEMON_PID"
			rb_fail "daemon exited with status $? at start"
		}
		sleep 0.1
	done
	rb_fail "daemon did not start listening on $RB_SOCK within 30 s"
}

# rb_daemon_stop: SIGTERM, and the daemon must exit 0 within 10 s.
rb_daemon_stop() {
	local rc
	[ -n "$RB_DAEMON_PID" ] || return 0
	kill -TERM "$RB_DAEMON_PID" || rb_fail "daemon not running at stop"
	for _ in $(seq 1 100); do
		kill -0 "$RB_DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$RB_DAEMON_PID" 2>/dev/null && rb_fail "daemon ignored SIGTERM for 10 s"
	wait "$RB_DAEMON_PID"; rc=$?
	RB_DAEMON_PID=
	[ "$rc" -eq 0 ] || rb_fail "daemon exited $rc after SIGTERM"
}

# rb_fd_count PID: open fds of PID.
rb_fd_count() { ls "/proc/$1/fd" | wc -l; }

# rb_daemon_alive: the daemon is still running.
rb_daemon_alive() { kill -0 "$RB_DAEMON_PID" 2>/dev/null; }

# rb_daemon_finish: the test's daemon is still alive and logged no error
# (severity err or worse, <0>..<3>, or the word anywhere: sanitizers),
# then it stops (rb_daemon_stop).
rb_daemon_finish() {
	rb_daemon_alive || rb_fail "the daemon died"
	if grep -E -i '^<[0-3]>|error' "$RB_LOG" >&2; then
		rb_fail "the daemon logged errors (above)"
	fi
	rb_daemon_stop
}

# rb_wait_for_log PATTERN [SECONDS]: wait until the daemon log matches.
rb_wait_for_log() {
	local n=$(( ${2:-5} * 10 ))
	for _ in $(seq 1 "$n"); do
		grep -q -- "$1" "$RB_LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# rb_wait_daemon_fds_le N: wait (up to 10 s) until the daemon holds at most
# N fds; a client that just exited may not have been reaped yet.
rb_wait_daemon_fds_le() {
	for _ in $(seq 1 100); do
		[ "$(rb_fd_count "$RB_DAEMON_PID")" -le "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# rb_holder_start PROGRAM N: run `PROGRAM hold N` (a test client that
# makes N sets of objects, prints "ready" and waits); RB_HOLDER is its pid.
rb_holder_start() {
	rm -f "$RB_TMP/holder.out"
	mkfifo "$RB_TMP/holder.out"
	"$1" hold "$2" > "$RB_TMP/holder.out" &
	RB_HOLDER=$!
	read -r _line < "$RB_TMP/holder.out"
	[ "$_line" = ready ] || rb_fail "$(basename "$1") hold $2 did not get ready"
}

# rb_settled WHAT FDS0: nothing left behind by WHAT: the daemon is alive,
# holds no more than FDS0 fds (it may take a moment) and lists no object.
rb_settled() {
	rb_daemon_alive || rb_fail "daemon died during $1"
	rb_wait_daemon_fds_le "$2" ||
		rb_fail "$1: daemon fds $2 -> $(rb_fd_count "$RB_DAEMON_PID")"
	_res=$("$RB_RDMACTL" -j res) || rb_fail "$1: rdmactl res failed"
	[ "$_res" = "[]" ] || rb_fail "$1: objects left: $_res"
	rb_log "$1: settled (daemon fds $(rb_fd_count "$RB_DAEMON_PID"), no objects)"
}

# rb_run_released PROG: run tests/integration/PROG against the running
# daemon; whatever it reports, the daemon must still be alive and, once
# the exits of its clients are handled (it may take a moment), list no
# object; then the daemon is stopped, and PROG's failures fail the test.
rb_run_released() {
	_start=$(date +%s)
	"$top_builddir/tests/integration/$1"; _rc=$?
	rb_log "$1 ran $(( $(date +%s) - _start )) s, exit $_rc"
	rb_daemon_alive || rb_fail "the daemon died"
	for _ in $(seq 1 50); do
		_left=$("$RB_RDMACTL" -j res) || rb_fail "rdmactl -j res failed"
		[ "$_left" = "[]" ] && break
		sleep 0.1
	done
	[ "$_left" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
	rb_daemon_stop
	[ "$_rc" -eq 0 ] || rb_fail "$1 reported failures"
}

# rb_holder_kill_check NOBJECTS FDS0: SIGKILL the holder; the daemon must
# free exactly NOBJECTS objects, list none, and hold no more than FDS0 fds.
rb_holder_kill_check() {
	kill -KILL "$RB_HOLDER"; wait "$RB_HOLDER" 2>/dev/null
	rb_wait_for_log "freed $1 object(s) it left behind" ||
		rb_fail "cleanup of $1 objects not logged"
	[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
	rb_wait_daemon_fds_le "$2" ||
		rb_fail "daemon fds $2 -> $(rb_fd_count "$RB_DAEMON_PID") after the kill"
}
