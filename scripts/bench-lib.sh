# What scripts/bench-cm.sh and bench-cm-readlat.sh share; sourced.  A
# script names itself in BENCH_NAME (the prefix of its messages) first.
# shellcheck shell=sh disable=SC2034 # run, port: for the script

# bench_build: this build's tree (RB_BUILDDIR, default ./_build) in
# $build and its rdmab-run in $run; exits 1 without it.
bench_build() {
	build=$(cd "${RB_BUILDDIR:-./_build}" 2>/dev/null && pwd) ||
		{ echo "$BENCH_NAME: no build dir" >&2; exit 1; }
	run=$build/libclient/rdmab-run
}

# bench_daemon TAG CONF: a private daemon of this build ($dpid) in a
# fresh directory $tmp (rb-bench-TAG.*), configured by the text CONF, on
# $tmp/sock (exported as RDMABROKER_SOCKET, with RDMABROKER_LIBDIR, for
# every client the script starts), logging to $tmp/daemon.log; and a
# first port, $port, for the script to count up from.  At exit the
# script's bench_cleanup_hook (if it defines one) runs, then the daemon
# is stopped and $tmp removed.
bench_daemon() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-bench-$1.XXXXXX") || exit 1
	RDMABROKER_SOCKET=$tmp/sock RDMABROKER_LIBDIR=$build/libclient/compat
	export RDMABROKER_SOCKET RDMABROKER_LIBDIR
	printf '%s\n' "$2" > "$tmp/conf"
	"$build/daemon/rdmabrokerd" -c "$tmp/conf" -s "$tmp/sock" > "$tmp/daemon.log" 2>&1 &
	dpid=$!
	trap bench_cleanup EXIT
	for _ in $(seq 1 100); do [ -S "$tmp/sock" ] && break; sleep 0.05; done
	port=$((30000 + $$ % 20000))
}

bench_cleanup() {
	command -v bench_cleanup_hook >/dev/null 2>&1 && bench_cleanup_hook
	kill -TERM "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}

# bench_median: the median of the numbers on stdin, one a line.
bench_median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# bench_typical FILE: t_typical of perftest's latency table in FILE.
bench_typical() {
	awk '/^ *[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+/ { v = $5 } END { print v }' "$1"
}
