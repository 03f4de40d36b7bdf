#!/bin/sh
# Whether the engine keeps pace on a small, busy machine (`make bench-pace`,
# part of `make bench`; issue 17, docs/performance.md "Keeping pace"): on
# a private rdmabrokerd with the soft device, in paired rounds, each
# unmodified program right after the baseline it is judged against:
#   - the three-party shared-memory relay (bench/baseline relay) with its
#     best wait policy of the round (spin 200 us then sleep, or sleep at
#     once), then ibv_rc_pingpong -s 8 (usec/iter / 2), perftest
#     ib_send_lat -s 8 and ib_write_lat -s 8 (t_typical, the median; t_avg
#     beside it): one-way latency / relay, each statistic over its like.
#     ibv_rc_pingpong reports only a mean (its run's time over its
#     iterations), so it goes over the relay's mean one-way (the policy
#     with the lower mean), with its ratio to the relay's median printed
#     beside; perftest's median goes over the relay's median (the policy
#     with the lower median).  Quiet the two statistics of the relay are
#     close; beside a busy loop its mean holds the slices the loop takes
#     (a median of 23 us, a mean of 120-400), and a mean over a median
#     would set what a program loses to the loop against a floor that
#     leaves it out (docs/performance.md, "Means and medians").  So
#     ibv_rc_pingpong also runs as 9 short runs of 1,000 iterations,
#     against 9 relay runs of 1,000 round trips per wait policy: the
#     median of the runs' means over the same of the relay (the policy
#     with the lower), one statistic on both sides, where a run that
#     meets a slice of the loop is one run of nine, not a tenth of the
#     mean ("The baseline against itself");
#   - single-thread memcpy of 1 MiB and 8 MiB (bench/baseline memcpy),
#     then rdmab-perf --loopback write_bw and perftest ib_write_bw of that
#     size: bandwidth / memcpy.  Each program moves 4 GiB at either size
#     (4,096 WRITEs of 1 MiB, 512 of 8 MiB; --quick a tenth): the memcpy
#     times 50 ms at least, and 500 WRITEs of 1 MiB lasted 17 ms, of
#     which a few milliseconds of another task were a third.
# Right after each program its baseline runs again, and that run over
# the one before (the baseline against itself) is printed and kept
# beside the program's ratio: what a broker exactly as fast as its
# baseline would have scored in that round, so the reader sees how much
# of a ratio is the machine drifting between two runs (docs/performance.md,
# "The baseline against itself").
# Every pair is printed; per figure the median of the rounds' ratios and
# the worst round.  All of it twice: on the machine as it is ("quiet"),
# and beside one unrelated busy-loop process ("busy").  The load average
# is printed beside the figures: the machine may be shared.  Nothing is
# judged (the acceptance lines of issue 17 are printed beside the
# figures); the exit status says whether everything ran.  pace.json in
# the output directory holds every pair.
#
# The build is $RB_BUILDDIR (default ./_build); RB_RUN overrides the
# rdmab-run used (the test suite's, which preloads the sanitizer runtimes
# in a sanitizer build).
#
# Usage: scripts/bench-pace.sh [--quick] [--rounds N] [--out DIR]
set -u

quick=
rounds=5
out=./bench-results
while [ $# -gt 0 ]; do
	case $1 in
	-q|--quick) quick=1; rounds=1; shift ;;
	-r|--rounds) rounds=$2; shift 2 ;;
	-o|--out) out=$2; shift 2 ;;
	-h|--help)
		sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
		exit 0 ;;
	*) echo "bench-pace: unknown option $1" >&2; exit 2 ;;
	esac
done
case $rounds in ''|*[!0-9]*|0) echo "bench-pace: --rounds wants a number" >&2; exit 2 ;; esac

B=${RB_BUILDDIR:-./_build}
B=$(cd "$B" && pwd) || exit 1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tcp-port.sh"
DAEMON=$B/daemon/rdmabrokerd
CTL=$B/rdmactl/rdmactl
PERF=$B/bench/rdmab-perf
BASE=$B/bench/baseline
RUN=${RB_RUN:-$B/libclient/rdmab-run}
for f in "$DAEMON" "$CTL" "$PERF" "$BASE" "$RUN"; do
	[ -x "$f" ] || { echo "bench-pace: no $f (build first)" >&2; exit 1; }
done
note() { echo "bench-pace: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

if [ -n "$quick" ]; then
	nlat=500; ppn=2000; bwmib=400; nshort=3; shortn=500
else
	nlat=5000; ppn=20000; bwmib=4096; nshort=9; shortn=1000
fi
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-pace.XXXXXX") || exit 1
export RDMABROKER_SOCKET=$T/sock RDMABROKER_LIBDIR=$B/libclient/compat
unset NOTIFY_SOCKET LISTEN_FDS LISTEN_PID

cat > "$T/conf" <<EOC
[daemon]
log_level = notice
[limits]
pinned_bytes = 16G
EOC
"$DAEMON" -c "$T/conf" -s "$RDMABROKER_SOCKET" >"$T/log" 2>&1 &
dpid=$!
busy=
cleanup() {
	[ -n "$busy" ] && kill "$busy" 2>/dev/null
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for _ in $(seq 1 100); do
	"$CTL" status >/dev/null 2>&1 && break
	sleep 0.1
done
"$CTL" status >/dev/null 2>&1 || { note "the daemon did not start: $(cat "$T/log")"; exit 1; }

# json FILE EXPR: a value of the first object of a JSON array (a tuple's,
# separated by spaces).
json() {
	python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))[0]
v = eval(sys.argv[2])
print(*v) if isinstance(v, tuple) else print(v)' "$1" "$2"
}

# relay: the lower median one-way (us) of the two wait policies and which,
# then the lower mean one-way and which.
relay() {
	"$BASE" relay -j -n "$nlat" -s 8 --spin-us 200 >"$T/r1" || return 1
	"$BASE" relay -j -n "$nlat" -s 8 --spin-us 0 >"$T/r2" || return 1
	set -- $(json "$T/r1" 'j["oneway_us"]["median"], j["oneway_us"]["avg"]') \
		$(json "$T/r2" 'j["oneway_us"]["median"], j["oneway_us"]["avg"]')
	[ $# -eq 4 ] || return 1
	awk -v a="$1" -v c="$2" -v b="$3" -v d="$4" 'BEGIN {
		if (a <= b) printf "%s spin200 ", a; else printf "%s sleep ", b
		if (c <= d) print c, "spin200"; else print d, "sleep" }'
}

# relay_short: of NSHORT relay runs of SHORTN round trips per wait policy,
# the median of the runs' mean one-way (us), the lower of the two
# policies, and which.
relay_short() {
	rm -f "$T/rsm"
	for p in 200 0; do
		vals=
		for _ in $(seq 1 "$nshort"); do
			"$BASE" relay -j -n "$shortn" -s 8 --spin-us "$p" >"$T/rs" || return 1
			vals="$vals $(json "$T/rs" 'j["oneway_us"]["avg"]')" || return 1
		done
		echo "$(echo $vals | median) $p" >>"$T/rsm"
	done
	sort -g "$T/rsm" | head -n 1 | awk '{ print $1, ($2 == 200 ? "spin200" : "sleep") }'
	rm -f "$T/rsm"
}

# server_client OUT CMD...: CMD as a server on a free port, then as its
# client (the port and "localhost" appended); the client's output in OUT.
server_client() {
	o=$1; shift
	for _ in 1 2 3 4 5; do
		port=$(tcp_free_port)
		timeout 300 "$RUN" "$@" -p "$port" >"$T/srv" 2>&1 </dev/null &
		sp=$!
		for _ in $(seq 1 100); do
			tcp_listening "$port" && break
			kill -0 "$sp" 2>/dev/null || break
			sleep 0.05
		done
		if tcp_listening "$port" &&
		   timeout 300 "$RUN" "$@" -p "$port" localhost >"$o" 2>&1 </dev/null; then
			wait "$sp" && return 0
		fi
		kill "$sp" 2>/dev/null
		wait "$sp" 2>/dev/null
	done
	note "$* failed: $(tail -n 3 "$o" 2>/dev/null) $(tail -n 3 "$T/srv")"
	return 1
}

# One-way latencies (us) of the unmodified programs.
pp() {
	server_client "$T/pp" ibv_rc_pingpong -d rbsoft0 -g 0 -s 8 -n "$ppn" || return 1
	sed -n 's/.* \([0-9.]*\) usec\/iter$/\1/p' "$T/pp" | awk '{ print $1 / 2 }'
}
# pp_short: of NSHORT runs of SHORTN iterations, the median one-way mean.
pp_short() {
	vals=
	for _ in $(seq 1 "$nshort"); do
		server_client "$T/pp" ibv_rc_pingpong -d rbsoft0 -g 0 -s 8 -n "$shortn" || return 1
		v=$(sed -n 's/.* \([0-9.]*\) usec\/iter$/\1/p' "$T/pp" | awk '{ print $1 / 2 }')
		[ -n "$v" ] || { note "no usec/iter from ibv_rc_pingpong: $(tail -n 3 "$T/pp")"; return 1; }
		vals="$vals $v"
	done
	echo $vals | median
}
# perftest TEST: "t_typical t_avg" of its 8-byte line.
perftest_lat() {
	server_client "$T/pt" "$1" -d rbsoft0 -x 0 -s 8 -n "$nlat" || return 1
	awk '$1 == 8 && NF >= 6 { print $5, $6 }' "$T/pt"
}
# Bandwidths (GB/s) of SIZE.
memcpy_bw() {
	"$BASE" memcpy -j -s "$1" >"$T/m" && json "$T/m" 'j["gb_per_s"]'
}
# bw_n SIZE: the WRITEs of a bandwidth run, bwmib MiB of them in all.
bw_n() { echo $(( bwmib * 1048576 / $1 )); }
perf_bw() {
	"$PERF" --loopback -j -s "$1" -n "$(bw_n "$1")" write_bw >"$T/w" && json "$T/w" 'j["bw_gbps"]'
}
perftest_bw() {
	server_client "$T/bw" ib_write_bw -d rbsoft0 -x 0 -s "$1" -n "$(bw_n "$1")" || return 1
	# BW average in MB/s (perftest's MB is 2^20 bytes): GB/s.
	awk -v s="$1" '$1 == s && NF >= 4 { printf "%.3f\n", $4 * 1048576 / 1e9 }' "$T/bw"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
worst_hi() { tr ' ' '\n' | grep . | sort -g | tail -n 1; }
worst_lo() { tr ' ' '\n' | grep . | sort -g | head -n 1; }

have ib_write_lat || note "perftest not installed: its lines are left out"
have ibv_rc_pingpong || note "ibverbs-utils not installed: ibv_rc_pingpong is left out"
printf '[\n' >"$out/pace.json"
sep=
# record MODE FIGURE ROUND BROKER BASE RATIO BASE_AFTER AGAIN [STATISTIC]
record() {
	printf '%s{"mode":"%s","figure":"%s","round":%s,"broker":%s,"baseline":%s,"ratio":%s,"baseline_after":%s,"baseline_again":%s%s}\n' \
		"$sep" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "${9:+,\"baseline_statistic\":\"$9\"}" >>"$out/pace.json"
	sep=,
}
# bw_pair PROGRAM FIGURE FN SIZE: memcpy of SIZE, FN SIZE, memcpy again;
# printed and recorded as FIGURE of round $r; the ratios in q and qa.
bw_pair() {
	m=$(memcpy_bw "$4") || exit 1
	w=$("$3" "$4") || exit 1
	ma=$(memcpy_bw "$4") || exit 1
	q=$(ratio "$w" "$m"); qa=$(ratio "$ma" "$m")
	echo "$mode round $r: memcpy $4 $m GB/s, $1 $w GB/s: x$q; memcpy again $ma GB/s (x$qa)"
	record "$mode" "$2" "$r" "$w" "$m" "$q" "$ma" "$qa"
}
# line NAME RATIOS AGAIN WANT: a summary line; WANT "le" (latency: the
# median and the worst, the highest) or "ge" (bandwidth: the lowest).
line() {
	if [ "$4" = le ]; then
		printf '  %-34s x%s (worst x%s)   want <= 1.25;  baseline again: x%s (worst x%s)\n' "$1" \
			"$(echo $2 | median)" "$(echo $2 | worst_hi)" "$(echo $3 | median)" "$(echo $3 | worst_hi)"
	else
		printf '  %-34s x%s (min x%s)   want >= 0.9, min >= 0.75;  baseline again: x%s (min x%s)\n' "$1" \
			"$(echo $2 | median)" "$(echo $2 | worst_lo)" "$(echo $3 | median)" "$(echo $3 | worst_lo)"
	fi
}

for mode in ${RB_PACE_MODES:-quiet busy}; do
	if [ "$mode" = busy ]; then
		sh -c 'while :; do :; done' &
		busy=$!
	fi
	note "$mode: $(uptime | sed 's/.*load/load/'); $rounds round(s)"
	lat_pp= lat_ppm= lat_sl= lat_wl= bw1p= bw8p= bw1t= bw8t=
	# The baseline again right after each program, over the one before.
	aa_pp= aa_ppm= aa_sl= aa_wl= aa1p= aa8p= aa1t= aa8t=
	lat_pps= aa_pps=
	for r in $(seq 1 "$rounds"); do
		if have ibv_rc_pingpong; then
			v=$(relay) || exit 1
			x=$(pp) || exit 1
			a=$(relay) || exit 1
			set -- $v $a
			q=$(ratio "$x" "$3"); lat_pp="$lat_pp $q"
			m=$(ratio "$x" "$1"); lat_ppm="$lat_ppm $m"
			qa=$(ratio "$7" "$3"); aa_pp="$aa_pp $qa"
			ma=$(ratio "$5" "$1"); aa_ppm="$aa_ppm $ma"
			echo "$mode round $r: relay mean $3 us ($4), ibv_rc_pingpong -s 8 $x us one-way (mean): x$q; relay median $1 us ($2): x$m; relay again: mean $7 us (x$qa), median $5 us (x$ma)"
			record "$mode" ibv_rc_pingpong "$r" "$x" "$3" "$q" "$7" "$qa" mean
			record "$mode" ibv_rc_pingpong-over-median "$r" "$x" "$1" "$m" "$5" "$ma" median
			v=$(relay_short) || exit 1
			x=$(pp_short) || exit 1
			a=$(relay_short) || exit 1
			set -- $v $a
			q=$(ratio "$x" "$1"); lat_pps="$lat_pps $q"
			qa=$(ratio "$3" "$1"); aa_pps="$aa_pps $qa"
			echo "$mode round $r: $nshort short runs (-n $shortn), medians of their means: relay $1 us ($2), ibv_rc_pingpong $x us one-way: x$q; relay again $3 us (x$qa)"
			record "$mode" ibv_rc_pingpong-short "$r" "$x" "$1" "$q" "$3" "$qa" short-run-means
		fi
		if have ib_send_lat; then
			v=$(relay) || exit 1
			w=$(perftest_lat ib_send_lat) || exit 1
			a=$(relay) || exit 1
			set -- $v $w $a
			q=$(ratio "$5" "$1"); lat_sl="$lat_sl $q"
			qa=$(ratio "$7" "$1"); aa_sl="$aa_sl $qa"
			echo "$mode round $r: relay $1 us ($2), ib_send_lat typical $5 us (avg $6): x$q; relay again $7 us (x$qa)"
			record "$mode" ib_send_lat "$r" "$5" "$1" "$q" "$7" "$qa" median
		fi
		if have ib_write_lat; then
			v=$(relay) || exit 1
			w=$(perftest_lat ib_write_lat) || exit 1
			a=$(relay) || exit 1
			set -- $v $w $a
			q=$(ratio "$5" "$1"); lat_wl="$lat_wl $q"
			qa=$(ratio "$7" "$1"); aa_wl="$aa_wl $qa"
			echo "$mode round $r: relay $1 us ($2), ib_write_lat typical $5 us (avg $6): x$q; relay again $7 us (x$qa)"
			record "$mode" ib_write_lat "$r" "$5" "$1" "$q" "$7" "$qa" median
		fi
		for s in 1048576 8388608; do
			bw_pair "rdmab-perf write_bw" "write_bw-$s" perf_bw "$s"
			if [ "$s" = 1048576 ]; then
				bw1p="$bw1p $q"; aa1p="$aa1p $qa"
			else
				bw8p="$bw8p $q"; aa8p="$aa8p $qa"
			fi
			if have ib_write_bw; then
				bw_pair ib_write_bw "ib_write_bw-$s" perftest_bw "$s"
				if [ "$s" = 1048576 ]; then
					bw1t="$bw1t $q"; aa1t="$aa1t $qa"
				else
					bw8t="$bw8t $q"; aa8t="$aa8t $qa"
				fi
			fi
		done
	done
	echo "$mode summary ($(uptime | sed 's/.*load/load/')): median of paired ratios, worst round;"
	echo "  beside each, the same of the baseline run again right after the program"
	[ -n "$lat_pp" ] && line "ibv_rc_pingpong -s 8 / relay mean" "$lat_pp" "$aa_pp" le
	[ -n "$lat_ppm" ] && line "ibv_rc_pingpong / relay median" "$lat_ppm" "$aa_ppm" le
	[ -n "$lat_pps" ] && line "ibv_rc_pingpong / relay, short runs" "$lat_pps" "$aa_pps" le
	[ -n "$lat_sl" ] && line "ib_send_lat 8 B / relay" "$lat_sl" "$aa_sl" le
	[ -n "$lat_wl" ] && line "ib_write_lat 8 B / relay" "$lat_wl" "$aa_wl" le
	line "rdmab-perf write_bw 1 MiB / memcpy" "$bw1p" "$aa1p" ge
	line "rdmab-perf write_bw 8 MiB / memcpy" "$bw8p" "$aa8p" ge
	[ -n "$bw1t" ] && line "ib_write_bw 1 MiB / memcpy" "$bw1t" "$aa1t" ge
	[ -n "$bw8t" ] && line "ib_write_bw 8 MiB / memcpy" "$bw8t" "$aa8t" ge
	if [ -n "$busy" ]; then
		kill "$busy" 2>/dev/null
		wait "$busy" 2>/dev/null
		busy=
	fi
done
printf ']\n' >>"$out/pace.json"
