#!/bin/sh
# The short benchmark: latency of an unmodified ibv_rc_pingpong on a
# private rdmabrokerd, beside the raw shared-memory ping-pong
# (bench/shm-pingpong) with the same iterations and message size, in the
# same run, and their ratio.
#
# Usage: scripts/bench-quick.sh [--iters N] [--size B]
#
# Builds nothing: it takes the binaries from the build directory
# $RB_BUILDDIR (default ./_build).  RB_RUN overrides the rdmab-run used
# (the test suite passes one that preloads the sanitizer runtimes).
# Needs Debian's ibverbs-utils.
set -u

iters=1000
size=8
timeout_s=${RB_BENCH_TIMEOUT:-300}

usage() {
	cat <<USAGE
Usage: $0 [--iters N] [--size B]
Compare ibv_rc_pingpong through rdmabrokerd with a raw shared-memory
ping-pong, both round trips in usec/iter.

Options:
  -n, --iters N   exchanges in each run (default $iters)
  -s, --size B    message size in bytes (default $size)
  -h, --help      show this help and exit

Environment: RB_BUILDDIR, the build directory (default ./_build);
RB_RUN, the rdmab-run to use (default the build's).
USAGE
}

die() { echo "bench-quick: $*" >&2; exit 1; }

number() {
	case $2 in
	''|*[!0-9]*) echo "bench-quick: $1 needs a positive number, not '$2'" >&2; exit 2 ;;
	esac
	[ "$2" -gt 0 ] || { echo "bench-quick: $1 must be positive" >&2; exit 2; }
}

while [ $# -gt 0 ]; do
	case $1 in
	-n|--iters) [ $# -ge 2 ] || { usage >&2; exit 2; }; number "$1" "$2"; iters=$2; shift 2 ;;
	--iters=*) number --iters "${1#*=}"; iters=${1#*=}; shift ;;
	-s|--size) [ $# -ge 2 ] || { usage >&2; exit 2; }; number "$1" "$2"; size=$2; shift 2 ;;
	--size=*) number --size "${1#*=}"; size=${1#*=}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

build=$(cd "${RB_BUILDDIR:-./_build}" 2>/dev/null && pwd) ||
	die "no build directory ${RB_BUILDDIR:-./_build} (set RB_BUILDDIR)"
daemon=$build/daemon/rdmabrokerd
rdmactl=$build/rdmactl/rdmactl
shm=$build/bench/shm-pingpong
run=${RB_RUN:-$build/libclient/rdmab-run}
for f in "$daemon" "$rdmactl" "$shm" "$run"; do
	[ -x "$f" ] || die "$f not built (make -C $build)"
done
command -v ibv_rc_pingpong >/dev/null 2>&1 || die "ibv_rc_pingpong not installed (Debian ibverbs-utils)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-bench.XXXXXX") || exit 1
daemon_pid=
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null
	fi
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"; wait "$daemon_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	for f in "$tmp"/*.out "$tmp/daemon.log"; do
		[ -s "$f" ] || continue
		echo "---- $(basename "$f") ----" >&2
		tail -n 30 "$f" >&2
	done
	die "$*"
}

# A private daemon: its own socket and configuration, nothing shared with
# a system daemon.
sock=$tmp/rdmabrokerd.sock
printf '[daemon]\nlog_level = info\n' > "$tmp/rdmabrokerd.conf"
"$daemon" -c "$tmp/rdmabrokerd.conf" -s "$sock" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
RDMABROKER_SOCKET=$sock
RDMABROKER_LIBDIR=${RDMABROKER_LIBDIR:-$build/libclient/compat}
export RDMABROKER_SOCKET RDMABROKER_LIBDIR
for _ in $(seq 1 300); do
	"$rdmactl" status >/dev/null 2>&1 && break
	kill -0 "$daemon_pid" 2>/dev/null || fail "rdmabrokerd exited at start"
	sleep 0.1
done
"$rdmactl" status >/dev/null 2>&1 || fail "rdmabrokerd did not answer within 30 s"

# shellcheck source=scripts/tcp-port.sh
. "$(dirname "$0")/tcp-port.sh"

# usec/iter from a pingpong's "N iters in S seconds = U usec/iter" line.
usec_per_iter() {
	sed -n 's/^[0-9]* iters in [0-9.]* seconds = \([0-9.]*\) usec\/iter$/\1/p' "$1"
}

# Another program may take the port between our look and the server's
# bind; then the server says so and we try another.
for try in 1 2 3 4 5; do
	port=$(tcp_free_port)
	pp="ibv_rc_pingpong -d rbsoft0 -g 0 -p $port -s $size -n $iters"
	# shellcheck disable=SC2086
	timeout "$timeout_s" "$run" $pp >"$tmp/server.out" 2>&1 &
	server_pid=$!
	for _ in $(seq 1 300); do
		tcp_listening "$port" && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	tcp_listening "$port" && break
	kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null
	server_pid=
	grep -q "Couldn't listen to port" "$tmp/server.out" && [ "$try" -lt 5 ] && continue
	fail "ibv_rc_pingpong server did not listen on port $port"
done
# shellcheck disable=SC2086
timeout "$timeout_s" "$run" $pp localhost >"$tmp/client.out" 2>&1 ||
	fail "ibv_rc_pingpong client failed: $pp localhost"
wait "$server_pid" || { server_pid=; fail "ibv_rc_pingpong server failed: $pp"; }
server_pid=
broker=$(usec_per_iter "$tmp/client.out")
[ -n "$broker" ] || fail "no usec/iter line from ibv_rc_pingpong"

timeout "$timeout_s" "$shm" -n "$iters" -s "$size" >"$tmp/shm.out" 2>&1 ||
	fail "shm-pingpong failed"
raw=$(usec_per_iter "$tmp/shm.out")
[ -n "$raw" ] || fail "no usec/iter line from shm-pingpong"

# Round trips, as ibv_rc_pingpong counts them: one iteration is one
# message each way.
awk -v n="$iters" -v s="$size" -v b="$broker" -v r="$raw" 'BEGIN {
	printf "%-30s %8s %8s %12s\n", "round trip", "size", "iters", "usec/iter"
	printf "%-30s %8d %8d %12.3f\n", "ibv_rc_pingpong via broker", s, n, b
	printf "%-30s %8d %8d %12.3f\n", "shm-pingpong (raw)", s, n, r
	if (r > 0)
		printf "%-30s %30.1f\n", "ratio broker/raw", b / r
	else
		printf "%-30s %30s\n", "ratio broker/raw", "inf"
}'
