#!/bin/sh
# The standard benchmark set (`make bench`): rdmab-perf's tests on a
# private rdmabrokerd with the soft device, the baselines they are
# compared with (bench/baseline: three-party relay, two-party shared
# memory, memcpy, UNIX sockets) and the peer stacks that are installed
# (UCX's ucx_perftest and libfabric's fi_pingpong over shared memory,
# perftest's ib_send_lat, ib_write_lat, ib_write_bw and ib_read_bw on
# rbsoft0 under rdmab-run), all in the same run.  Writes bench.json, a summary, and latency and
# bandwidth plots (gnuplot, SVG) to the output directory.
#
# Each size's baselines run right after its broker tests, so a ratio
# compares figures taken seconds apart, not minutes.  For the figures
# the targets judge (8-byte send_lat against the relay, write_bw at
# 1 MiB and above against memcpy) the broker test and its baseline
# alternate for several rounds, and the report keeps every pair and the
# median of the per-round ratios: on a shared VM either figure alone
# moves by 15-25 % between runs seconds apart.
#
# Usage: scripts/bench.sh [--quick] [--rounds N] [--out DIR] [--sizes LIST]
#
# Builds nothing: it takes the binaries from the build directory
# $RB_BUILDDIR (default ./_build).  The exit status says whether every
# broker test and baseline ran, never whether the figures are good; a
# peer that cannot run is recorded as "unavailable: REASON".
set -u

quick=
out=
sizes=
rounds=-
timeout_s=${RB_BENCH_TIMEOUT:-600}
# The relay baseline must wait the way the daemon's engine does.
spin_us=200
# The small-message rate: 8-byte inline WRITEs, a window of 512 posted
# in chains of 128 (one doorbell each) of which only the last is signaled.
rate_depth=512

usage() {
	cat <<USAGE
Usage: $0 [--quick] [--rounds N] [--out DIR] [--sizes LIST]
Run rdmab-perf on a private rdmabrokerd with the soft device beside its
baselines and the installed peer stacks, and write bench.json, summary.txt,
latency.svg and bandwidth.svg.  Each size's baselines run right after its
broker tests; for the target figures (8 B send_lat vs the relay, write_bw
at 1 MiB and above vs memcpy) the broker test and its baseline alternate
N times and the ratio reported is the median of the N paired ratios.

Options:
  -q, --quick       a few sizes and tiny iteration counts (a smoke test;
                    the figures mean nothing)
  -r, --rounds N    paired rounds for the target figures, 1 .. 99
                    (default 5; --quick: 1)
  -o, --out DIR     where the results go (default ./bench-results)
  -s, --sizes LIST  message sizes, comma- or space-separated, with an
                    optional K or M suffix (default every power of two
                    from 1 B to 8 MiB; --quick: 8,4K,1M)
  -h, --help        show this help and exit

Environment: RB_BUILDDIR, the build directory (default ./_build);
RB_BENCH_TIMEOUT, seconds any one command may take (default 600);
RB_BENCH_UCX_TLS, the UCX transports tried first (default posix,cma,self,
then posix,self).
USAGE
}

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: [$(( $(date +%s) - ${start:-$(date +%s)} )) s] $*" >&2; }

# bytes WORD: WORD, digits with an optional K or M suffix, in bytes.
bytes() {
	case $1 in
	''|*[!0-9KkMm]*|[KkMm]*|*[KkMm]?*) return 1 ;;
	esac
	echo "$1" | awk '{ n = $0 + 0; if (/[Kk]$/) n *= 1024; if (/[Mm]$/) n *= 1048576
		if (length($0) > 12) n = -1; printf "%d\n", n }'
}

while [ $# -gt 0 ]; do
	case $1 in
	-q|--quick) quick=1; shift ;;
	-o|--out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift 2 ;;
	--out=*) out=${1#*=}; shift ;;
	-r|--rounds) [ $# -ge 2 ] || { usage >&2; exit 2; }; rounds=$2; shift 2 ;;
	--rounds=*) rounds=${1#*=}; shift ;;
	-s|--sizes) [ $# -ge 2 ] || { usage >&2; exit 2; }; sizes=$2; shift 2 ;;
	--sizes=*) sizes=${1#*=}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

case $rounds in
-) if [ -n "$quick" ]; then rounds=1; else rounds=5; fi ;;
''|*[!0-9]*|0|0?|???*)
	echo "bench: --rounds wants 1 .. 99, not '$rounds'" >&2
	usage >&2
	exit 2 ;;
esac
if [ -z "$sizes" ]; then
	if [ -n "$quick" ]; then
		sizes="8 4K 1M"
	else
		sizes=$(awk 'BEGIN { for (s = 1; s <= 8388608; s *= 2) print s }')
	fi
fi
list=
for w in $(echo "$sizes" | tr ',' ' '); do
	b=$(bytes "$w") || { echo "bench: bad size '$w'" >&2; usage >&2; exit 2; }
	if [ "$b" -lt 1 ] || [ "$b" -gt 8388608 ]; then
		echo "bench: size $w is not within 1 B .. 8 MiB" >&2
		exit 2
	fi
	list="$list $b"
done
sizes=$(for s in $list; do echo "$s"; done | sort -n -u | tr '\n' ' ')
[ -n "$sizes" ] || { usage >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
report=$here/bench-report.py
build=$(cd "${RB_BUILDDIR:-./_build}" 2>/dev/null && pwd) ||
	die "no build directory ${RB_BUILDDIR:-./_build} (set RB_BUILDDIR)"
daemon=$build/daemon/rdmabrokerd
rdmactl=$build/rdmactl/rdmactl
perf=$build/bench/rdmab-perf
scale=$build/bench/rdmab-scale
base=$build/bench/baseline
for f in "$daemon" "$rdmactl" "$perf" "$base"; do
	[ -x "$f" ] || die "$f not built (make -C $build)"
done
[ -r "$report" ] || die "$report missing"
command -v python3 >/dev/null 2>&1 || die "python3 not installed"

out=${out:-./bench-results}
mkdir -p "$out" || die "cannot make $out"
out=$(cd "$out" && pwd)
raw=$out/raw
rm -rf "$raw"
mkdir -p "$raw" || die "cannot make $raw"
rm -f "$out/bench.json" "$out/summary.txt" "$out/latency.svg" "$out/bandwidth.svg" "$out/nested.json"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-bench.XXXXXX") || exit 1
daemon_pid=
server_pid=
stop_server() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null
	fi
	[ -n "$server_pid" ] && wait "$server_pid" 2>/dev/null
	server_pid=
}
cleanup() {
	stop_server
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"; wait "$daemon_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	if [ -s "$tmp/daemon.log" ]; then
		echo "---- daemon.log ----" >&2
		tail -n 30 "$tmp/daemon.log" >&2
	fi
	die "$*"
}

# Iterations per size.  Latency: 10000 up to 64 KiB, then fewer so each
# size moves about 1 GiB; bandwidth: about 4 GiB or 200000 messages.
# Quick mode: just enough to prove every path runs.
lat_iters() {
	if [ -n "$quick" ]; then echo 20; return; fi
	awk -v s="$1" 'BEGIN { n = int(1073741824 / s); print (n > 10000 ? 10000 : (n < 100 ? 100 : n)) }'
}
bw_iters() {
	if [ -n "$quick" ]; then echo 50; return; fi
	awk -v s="$1" 'BEGIN { n = int(4294967296 / s); print (n > 200000 ? 200000 : (n < 256 ? 256 : n)) }'
}

# run OUTFILE CMD...: CMD's standard output to OUTFILE; fail if it fails.
run() {
	o=$1
	shift
	timeout "$timeout_s" "$@" >"$o" 2>"$o.err" ||
		fail "$* exited $?: $(tail -n 5 "$o.err")"
}

# ---- the machine ----------------------------------------------------
# Only the source tree's own repository; a tarball says its version.
git_desc=
[ -e "$here/../.git" ] &&
	git_desc=$(git -C "$here/.." describe --always --dirty 2>/dev/null)
[ -n "$git_desc" ] || git_desc=$("$perf" -V 2>/dev/null | awk '{ print $NF }')
{
	echo "nproc=$(nproc 2>/dev/null || echo 0)"
	echo "model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
	echo "kernel=$(uname -sr)"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "git=$git_desc"
	echo "quick=${quick:-0}"
	echo "sizes=$sizes"
	echo "spin_us=$spin_us"
	echo "rate_depth=$rate_depth"
	echo "rounds=$rounds"
	echo "build=$build"
} > "$raw/machine.txt"

start=$(date +%s)

# ---- a private daemon with the soft device ---------------------------
sock=$tmp/rdmabrokerd.sock
# No per-user limits and no client cap: the scale phase holds 1,000
# clients and 10,000 QPs.
printf '[daemon]\nlog_level = warning\nmax_clients = 0\n[limits]\nconnections = 0\npds = 0\ncqs = 0\nqps = 0\n[soft]\nspin_us = %s\n' \
	"$spin_us" > "$tmp/rdmabrokerd.conf"
"$daemon" -c "$tmp/rdmabrokerd.conf" -s "$sock" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
RDMABROKER_SOCKET=$sock
export RDMABROKER_SOCKET
for _ in $(seq 1 300); do
	"$rdmactl" status >/dev/null 2>&1 && break
	kill -0 "$daemon_pid" 2>/dev/null || fail "rdmabrokerd exited at start"
	sleep 0.1
done
"$rdmactl" status >/dev/null 2>&1 || fail "rdmabrokerd did not answer within 30 s"

# ---- running a server/client pair ---------------------------------------
# shellcheck source=scripts/tcp-port.sh
. "$here/tcp-port.sh"

# pair OUTFILE SERVERCMD -- CLIENTCMD: start SERVERCMD (its port is
# @PORT@ in both), wait until it listens, run CLIENTCMD into OUTFILE.
# Returns the client's status; the server must exit too.
pair() {
	o=$1
	shift
	scmd=
	while [ "$1" != -- ]; do scmd="$scmd $1"; shift; done
	shift
	for try in 1 2 3; do
		port=$(tcp_free_port)
		# shellcheck disable=SC2046
		timeout "$timeout_s" $(echo "$scmd" | sed "s/@PORT@/$port/g") >"$o.server" 2>&1 &
		server_pid=$!
		for _ in $(seq 1 100); do
			tcp_listening "$port" && break
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.05
		done
		tcp_listening "$port" && break
		stop_server
		[ "$try" -lt 3 ] || { echo "the server did not listen: $(tail -n 2 "$o.server")" >"$o.err"; return 1; }
	done
	ccmd=$(echo "$*" | sed "s/@PORT@/$port/g")
	# shellcheck disable=SC2086
	timeout "$timeout_s" $ccmd >"$o" 2>"$o.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		stop_server
		return $rc
	fi
	wait "$server_pid"
	rc=$?
	server_pid=
	[ $rc -eq 0 ] || echo "the server exited $rc: $(tail -n 2 "$o.server")" >>"$o.err"
	return $rc
}

# reason FILE: the last line of FILE's error output, for "unavailable".
reason() {
	r=$(grep -v '^[[:space:]]*$' "$1.err" 2>/dev/null | tail -n 1 | tr -d '\r' | cut -c1-200)
	echo "${r:-exit status $2}"
}

# ---- perftest on the broker ---------------------------------------------
# Debian's perftest, unmodified, under rdmab-run on rbsoft0: the figures
# users quote, taken beside rdmab-perf's (same sizes, same iterations; in
# the paired rounds of the targets, right after the broker test).  A
# peer: if it cannot run, raw/perftest.status says why and the rest goes on.
rdmab_run=$build/libclient/rdmab-run
RDMABROKER_LIBDIR=$build/libclient/compat
export RDMABROKER_LIBDIR
pt_ok=1
if ! command -v ib_send_lat >/dev/null 2>&1; then
	pt_ok=0
	echo "unavailable: perftest not installed (Debian perftest)" > "$raw/perftest.status"
elif [ ! -x "$rdmab_run" ] || [ ! -e "$RDMABROKER_LIBDIR/libibverbs.so.1" ]; then
	pt_ok=0
	echo "unavailable: rdmab-run or its libibverbs.so.1 not built in $build" > "$raw/perftest.status"
else
	echo "ok rbsoft0" > "$raw/perftest.status"
fi
# pt OUTFILE TOOL SIZE ITERS: one perftest server/client pair.  The
# latency tools run at most 1000 iterations: ib_write_lat, which waits by
# polling memory, takes milliseconds per iteration on the soft device
# today (the engine's scheduling), and 10,000 at every size would take
# the better part of an hour.
pt() {
	[ "$pt_ok" = 1 ] || return 0
	pt_n=$4
	case $2 in *_lat) [ "$pt_n" -le 1000 ] || pt_n=1000 ;; esac
	pair "$1" "$rdmab_run" "$2" -d rbsoft0 -x 0 -F -s "$3" -n "$pt_n" -p @PORT@ -- \
		"$rdmab_run" "$2" -d rbsoft0 -x 0 -F -s "$3" -n "$pt_n" -p @PORT@ 127.0.0.1 ||
		{ pt_ok=0; echo "unavailable: $2 -s $3: $(reason "$1" $?)" > "$raw/perftest.status"; }
}

# ---- rdmab-perf on the broker, each size beside its baselines ----------
# Per size: the latency tests, then the relay and two-party baselines;
# the bandwidth tests, then memcpy; then the UNIX-socket baseline.  A
# target figure runs first in its group as $rounds paired rounds: the
# broker test, then its baseline, into raw/perf-TEST-SIZE-rK.json and
# raw/base-NAME-SIZE-rK.json (K = 1 .. $rounds).
if [ -n "$quick" ]; then min_ms=2; else min_ms=200; fi
# base_relay FILE SIZE, base_memcpy FILE SIZE: one baseline run.
base_relay() {
	run "$1" "$base" relay -j --spin-us "$spin_us" -n "$(lat_iters "$2")" -s "$2"
}
base_memcpy() {
	run "$1" "$base" memcpy -j --min-ms "$min_ms" -n 20 -s "$2"
}
# pair_rounds TEST SIZE ITERS NAME: TEST, perftest's ib_TEST, then
# base_NAME, $rounds times.
pair_rounds() {
	k=1
	while [ "$k" -le "$rounds" ]; do
		run "$raw/perf-$1-$2-r$k.json" "$perf" --loopback -j -n "$3" -s "$2" "$1"
		pt "$raw/pt-ib_$1-$2-r$k.txt" "ib_$1" "$2" "$3"
		"base_$4" "$raw/base-$4-$2-r$k.json" "$2"
		k=$(( k + 1 ))
	done
}
note "broker and baselines, size by size: $sizes(paired rounds: $rounds)"
for s in $sizes; do
	nl=$(lat_iters "$s")
	nb=$(bw_iters "$s")
	# The 8-byte send latency target: send_lat against the relay.
	if [ "$s" -eq 8 ]; then
		pair_rounds send_lat "$s" "$nl" relay
		tests="write_lat read_lat"
	else
		tests="send_lat write_lat read_lat"
	fi
	for t in $tests; do
		run "$raw/perf-$t-$s.json" "$perf" --loopback -j -n "$nl" -s "$s" "$t"
	done
	[ "$s" -eq 8 ] || pt "$raw/pt-ib_send_lat-$s.txt" ib_send_lat "$s" "$nl"
	pt "$raw/pt-ib_write_lat-$s.txt" ib_write_lat "$s" "$nl"
	# A UD message is at most 4096 bytes.
	if [ "$s" -le 4096 ]; then
		run "$raw/perf-ud_send_lat-$s.json" "$perf" --loopback -j -c ud -n "$nl" -s "$s" send_lat
	fi
	if [ "$s" -eq 8 ]; then
		run "$raw/perf-atomic_lat-8.json" "$perf" --loopback -j -n "$nl" atomic_lat
	else
		base_relay "$raw/base-relay-$s.json" "$s"
	fi
	run "$raw/base-shm-$s.json" "$base" relay --two-party -j -n "$nl" -s "$s"
	# The WRITE bandwidth target, at 1 MiB and above: write_bw against memcpy.
	if [ "$s" -ge 1048576 ]; then
		pair_rounds write_bw "$s" "$nb" memcpy
		tests="read_bw send_bw"
	else
		tests="write_bw read_bw send_bw"
	fi
	for t in $tests; do
		run "$raw/perf-$t-$s.json" "$perf" --loopback -j -n "$nb" -s "$s" "$t"
	done
	[ "$s" -ge 1048576 ] || pt "$raw/pt-ib_write_bw-$s.txt" ib_write_bw "$s" "$nb"
	pt "$raw/pt-ib_read_bw-$s.txt" ib_read_bw "$s" "$nb"
	[ "$s" -ge 1048576 ] || base_memcpy "$raw/base-memcpy-$s.json" "$s"
	run "$raw/base-unix-$s.json" "$base" unix -j --min-ms "$min_ms" -n "$nl" -s "$s"
done
# atomic_lat is 8 bytes, a round trip set against the relay's at 8 bytes.
if [ ! -e "$raw/perf-atomic_lat-8.json" ]; then
	run "$raw/perf-atomic_lat-8.json" "$perf" --loopback -j -n "$(lat_iters 8)" atomic_lat
	base_relay "$raw/base-relay-8.json" 8
fi
if [ -n "$quick" ]; then nr=2000; else nr=2000000; fi
run "$raw/perf-msg_rate-8.json" "$perf" --loopback -j -I -t "$rate_depth" -n "$nr" -s 8 write_bw
kill -0 "$daemon_pid" 2>/dev/null || fail "rdmabrokerd died during the run"

# ---- the control path and scale (bench/rdmab-scale) ---------------------
if [ -n "$quick" ]; then
	nq=200 nm=500 sc="-c 20 -q 200 -l 200"
else
	nq=10000 nm=10000 sc="-c 1000 -q 10000 -l 10000"
fi
note "control path: rdmab-scale qp_rate -n $nq, mr_rate -n $nm; scale $sc"
# The floors of the control path, taken right before it: an 8-byte UNIX
# round trip where each side sleeps, and one where each side polls first
# as the library and the daemon do (RDMABROKER_SPIN_US, control_spin_us).
run "$raw/base-unixctl-8.json" "$base" unix -j --min-ms "$min_ms" -n "$(lat_iters 8)" -s 8
run "$raw/base-unixpoll-8.json" "$base" unix -j --spin-us 100 -n "$(lat_iters 8)" -s 8
# What a QP cycle and an MR pair cost in system calls besides their
# round trips, both sides in one process: with the polled round trip, a
# lower bound for the control path on this machine.
if [ -n "$quick" ]; then nw=200; else nw=5000; fi
run "$raw/base-ctlwork.json" "$base" ctlwork -j -n "$nw"
run "$raw/scale-qp_rate.json" "$scale" -j -n "$nq" qp_rate
# The same with kept rings, which a program turns on (librdmabroker(7)).
run "$raw/scale-qp_rate_cache.json" env RDMABROKER_QP_RING_CACHE=16 "$scale" -j -n "$nq" qp_rate
run "$raw/scale-mr_rate.json" "$scale" -j -n "$nm" mr_rate
# shellcheck disable=SC2086
run "$raw/scale-scale.json" "$scale" -j -p "$daemon_pid" $sc scale
kill -0 "$daemon_pid" 2>/dev/null || fail "rdmabrokerd died during the scale phase"

# ---- the verbs driver, nested over a soft device ------------------------
# Its own pair of daemons (scripts/bench-nest.sh); out/nested.json.
note "nested: the verbs driver over the soft device ($rounds paired rounds)"
RB_BUILDDIR=$build "$here/bench-nest.sh" ${quick:+--quick} --rounds "$rounds" --out "$out" \
	>"$tmp/nested.txt" 2>&1 || fail "bench-nest.sh failed: $(tail -n 5 "$tmp/nested.txt")"

# ---- peers --------------------------------------------------------------
# UCX: tag-matching ping-pong and stream over shared memory, both ends on
# this host; the first transport set that runs is kept.
if command -v ucx_perftest >/dev/null 2>&1; then
	note "peer: ucx_perftest"
	tls_ok=
	why=
	for tls in "${RB_BENCH_UCX_TLS:-posix,cma,self}" posix,self; do
		UCX_TLS=$tls
		export UCX_TLS
		pair "$raw/ucx-probe" ucx_perftest -p @PORT@ -- \
			ucx_perftest 127.0.0.1 -p @PORT@ -t tag_lat -s 8 -n 10 -w 2 -f -v &&
			{ tls_ok=$tls; break; }
		why=$(reason "$raw/ucx-probe" $?)
	done
	if [ -n "$tls_ok" ]; then
		UCX_TLS=$tls_ok
		echo "ok $tls_ok" > "$raw/ucx.status"
		for s in $sizes; do
			nl=$(lat_iters "$s")
			nb=$(bw_iters "$s")
			for t in tag_lat:"$nl" tag_bw:"$nb"; do
				n=${t#*:}
				w=$(( n / 10 > 0 ? (n / 10 > 1000 ? 1000 : n / 10) : 1 ))
				pair "$raw/ucx-${t%%:*}-$s.csv" ucx_perftest -p @PORT@ -- \
					ucx_perftest 127.0.0.1 -p @PORT@ -t "${t%%:*}" -s "$s" -n "$n" -w "$w" -f -v ||
					{ why=$(reason "$raw/ucx-${t%%:*}-$s.csv" $?); echo "unavailable: ucx_perftest ${t%%:*} -s $s: $why" > "$raw/ucx.status"; break 2; }
			done
		done
	else
		echo "unavailable: ucx_perftest over shared memory failed: $why" > "$raw/ucx.status"
	fi
else
	echo "unavailable: ucx_perftest not installed (Debian ucx-utils)" > "$raw/ucx.status"
fi

# libfabric: fi_pingpong on the shm provider, which offers only reliable
# datagram endpoints (-e rdm; the default dgram finds no provider).
if command -v fi_pingpong >/dev/null 2>&1; then
	note "peer: fi_pingpong -p shm -e rdm"
	echo "ok shm rdm" > "$raw/fi.status"
	for s in $sizes; do
		# fi_pingpong is slow to wake on a busy machine: at most 1000.
		n=$(lat_iters "$s")
		[ "$n" -le 1000 ] || n=1000
		pair "$raw/fi-$s.txt" fi_pingpong -p shm -e rdm -S "$s" -I "$n" -B @PORT@ -- \
			fi_pingpong -p shm -e rdm -S "$s" -I "$n" -P @PORT@ 127.0.0.1 ||
			{ why=$(reason "$raw/fi-$s.txt" $?); echo "unavailable: fi_pingpong -p shm -e rdm -S $s: $why" > "$raw/fi.status"; break; }
	done
else
	echo "unavailable: fi_pingpong not installed (Debian libfabric-bin)" > "$raw/fi.status"
fi

note "done; stopping the daemon"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || note "rdmabrokerd exited $? at the end"
daemon_pid=
echo "wall_s=$(( $(date +%s) - start ))" >> "$raw/machine.txt"

# ---- the report -----------------------------------------------------------
python3 "$report" "$raw" "$out" > "$out/summary.txt" || die "$report failed"
plots=", latency.svg, bandwidth.svg"
if command -v gnuplot >/dev/null 2>&1; then
	(cd "$out" && gnuplot plots.gp) 2>"$tmp/gnuplot.err" ||
		die "gnuplot failed: $(cat "$tmp/gnuplot.err")"
else
	echo "bench: gnuplot not installed: no plots" >> "$out/summary.txt"
	plots=
fi
cat "$tmp/nested.txt" >> "$out/summary.txt"
cat "$out/summary.txt"
echo "bench: results in $out (bench.json, summary.txt$plots)"
