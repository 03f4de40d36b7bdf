#!/bin/sh
# The engine's fairness between users (`make bench-fair`, part of
# `make bench`; issue 14, rdmabrokerd.conf(5) WEIGHTS AND CAPS): on a
# private rdmabrokerd with the soft device, another user's stream of large
# RDMA WRITEs (1 GiB, two queued, waiting on completion events) runs,
# stopped (SIGSTOP, its queue drained) and going in turn, and each round
# measures beside it and alone:
#   - ibv_rc_pingpong -s 8 (unmodified, under rdmab-run): usec/iter;
#   - a QP create/INIT/RTR/RTS/destroy cycle (rdmab-scale qp_rate): the
#     median cycle.
# The ratio of a round is beside / alone, the figure the median of the
# rounds' ratios: on a shared 2-vCPU VM either figure alone moves a lot
# between runs seconds apart.  Then two users with weights 1 and 3 and a
# capped user (100 MB/s) stream 4 MiB WRITEs; their rates come from the
# daemon's own counters (rdmactl -j limits).  Nothing here is judged: the
# exit status says whether everything ran; the figures and ratios are
# printed and written to fair.json.
#
# Usage: scripts/bench-fair.sh [--quick] [--rounds N] [--out DIR]
# The other users run as uids 64931..64933 through setpriv(1) when root;
# otherwise as the caller (the figures are then of one user's two
# programs, and say so).
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
	*) echo "bench-fair: unknown option $1" >&2; exit 2 ;;
	esac
done
case $rounds in ''|*[!0-9]*) echo "bench-fair: --rounds wants a number" >&2; exit 2 ;; esac

B=${RB_BUILDDIR:-./_build}
B=$(cd "$B" && pwd) || exit 1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tcp-port.sh"
DAEMON=$B/daemon/rdmabrokerd
CTL=$B/rdmactl/rdmactl
PERF=$B/bench/rdmab-perf
SCALE=$B/bench/rdmab-scale
RUN=$B/libclient/rdmab-run
for f in "$DAEMON" "$CTL" "$PERF" "$SCALE" "$RUN"; do
	[ -x "$f" ] || { echo "bench-fair: no $f (build first)" >&2; exit 1; }
done
command -v ps >/dev/null 2>&1 || { echo "bench-fair: no ps (procps)" >&2; exit 1; }
command -v ibv_rc_pingpong >/dev/null 2>&1 || { echo "bench-fair: no ibv_rc_pingpong (ibverbs-utils)" >&2; exit 1; }

if [ -n "$quick" ]; then
	big=67108864; ppn=2000; qpn=200; win=2
else
	big=1073741824; ppn=20000; qpn=2000; win=4
fi
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-fair.XXXXXX") || exit 1
chmod 755 "$T"
export RDMABROKER_SOCKET=$T/sock RDMABROKER_LIBDIR=$B/libclient/compat
unset NOTIFY_SOCKET LISTEN_FDS LISTEN_PID

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
   setpriv --reuid=64931 --regid=64931 --clear-groups test -x "$PERF"; then
	as() { _u=$1; shift; setpriv --reuid="$_u" --regid="$_u" --clear-groups "$@"; }
	U=64931; U1=64932; U3=64933; users=other
else
	as() { shift; "$@"; }
	U=$(id -u); U1=$U; U3=$U; users=same
fi

cat > "$T/conf" <<EOC
[daemon]
log_level = notice
[limits]
pinned_bytes = 16G
[limits $U3]
weight = 3
EOC
[ "$users" = same ] && sed -i '/^\[limits [0-9]*\]$/,$d' "$T/conf"
"$DAEMON" -c "$T/conf" -s "$RDMABROKER_SOCKET" >"$T/log" 2>&1 &
dpid=$!
groups=
cleanup() {
	for g in $groups; do
		signal CONT "$g"
		signal KILL "$g"
	done
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
note() { echo "bench-fair: $*" >&2; }

# parse FILE: "bytes wrs throttled_ns now_ns" of an rdmactl -j limits.
parse() {
	python3 -c '
import json, sys
e = json.load(open(sys.argv[1])).get("engine") or {}
print(e.get("bytes", 0), e.get("wrs", 0), e.get("throttled_ns", 0), e.get("now_ns", 0))' "$1"
}
# use UID: those of UID now.
use() { "$CTL" -j limits uid "$1" >"$T/use"; parse "$T/use"; }
bytes_of() { use "$1" | cut -d' ' -f1; }

# stream UID SIZE DEPTH: a loopback write_bw (a process and the server
# it forks), its pid left in $sp (not a command substitution: that would
# wait for the stream).
stream() {
	as "$1" "$PERF" --loopback -e -s "$2" -t "$3" -D 86400 write_bw \
		>"$T/stream.$1" 2>&1 </dev/null &
	sp=$!
	groups="$groups $sp"
}
# signal SIG PID: PID and its children.
signal() { kill "-$1" "$2" $(ps -o pid= --ppid "$2") 2>/dev/null; }
# moving UID: wait until the engine moves bytes for UID (setup of a 1 GiB
# region takes a while).
moving() {
	a=$(bytes_of "$1")
	for _ in $(seq 1 1200); do
		sleep 0.1
		b=$(bytes_of "$1")
		[ "$b" -gt "$a" ] && return 0
	done
	note "uid $1 moves nothing: $(cat "$T/stream.$1")"
	exit 1
}
# still UID: wait until its queue drained (nothing moved in 0.3 s).
still() {
	a=$(bytes_of "$1")
	for _ in $(seq 1 600); do
		sleep 0.3
		b=$(bytes_of "$1")
		[ "$b" -eq "$a" ] && return 0
		a=$b
	done
	note "uid $1 never stopped"
	exit 1
}

pp() {
	for _ in 1 2 3 4 5; do
		port=$(tcp_free_port)
		"$RUN" ibv_rc_pingpong -d rbsoft0 -g 0 -p "$port" -s 8 -n "$ppn" >"$T/pps" 2>&1 </dev/null &
		spp=$!
		for _ in $(seq 1 100); do
			tcp_listening "$port" && break
			kill -0 "$spp" 2>/dev/null || break
			sleep 0.05
		done
		if tcp_listening "$port"; then
			r=$("$RUN" ibv_rc_pingpong -d rbsoft0 -g 0 -p "$port" -s 8 -n "$ppn" localhost 2>&1 |
				sed -n 's/.* \([0-9.]*\) usec\/iter$/\1/p')
			wait "$spp"
			[ -n "$r" ] && { echo "$r"; return 0; }
		fi
		kill "$spp" 2>/dev/null
		wait "$spp" 2>/dev/null
	done
	note "ibv_rc_pingpong failed: $(cat "$T/pps")"
	exit 1
}
qpc() {
	"$SCALE" -n "$qpn" -j qp_rate | python3 -c 'import json,sys; print(json.load(sys.stdin)["cycle_median_us"])' ||
		{ note "rdmab-scale qp_rate failed"; exit 1; }
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

note "users: $users; stream of $big-byte WRITEs as uid $U; $rounds round(s)"
stream "$U" "$big" 2
sg=$sp
moving "$U"
pp_r= qp_r= rows=
for r in $(seq 1 "$rounds"); do
	signal STOP "$sg"
	still "$U"
	pa=$(pp); qa=$(qpc)
	signal CONT "$sg"
	moving "$U"
	"$CTL" -j limits uid "$U" >"$T/u0"
	pb=$(pp); qb=$(qpc)
	"$CTL" -j limits uid "$U" >"$T/u1"
	u0=$(parse "$T/u0"); u1=$(parse "$T/u1")
	gbs=$(echo "$u0 $u1" | awk '{ printf "%.2f", ($5 - $1) / ($8 - $4) }')
	rp=$(ratio "$pa" "$pb"); rq=$(ratio "$qa" "$qb")
	pp_r="$pp_r $rp"; qp_r="$qp_r $rq"
	echo "round $r: ibv_rc_pingpong -s 8 alone $pa us/iter, beside $pb (stream $gbs GB/s): x$rp;" \
		"QP cycle alone $qa us, beside $qb: x$rq"
	rows="$rows${rows:+,}{\"round\":$r,\"pingpong_alone_us\":$pa,\"pingpong_beside_us\":$pb,\"pingpong_ratio\":$rp,\"qp_cycle_alone_us\":$qa,\"qp_cycle_beside_us\":$qb,\"qp_cycle_ratio\":$rq,\"stream_gbps\":$gbs}"
done
signal KILL "$sg"
mp=$(echo "$pp_r" | median); mq=$(echo "$qp_r" | median)
echo "median ratio: ibv_rc_pingpong beside a stream of $big-byte WRITEs x$mp (target <= 3), QP cycle x$mq (target <= 3)"

# Shares by weight and a cap, from the daemon's counters.
stream "$U1" 4194304 8192; s1=$sp
stream "$U3" 4194304 8192; s3=$sp
moving "$U1"; moving "$U3"
sleep 1
# Raw readings one right after another, the second window inside the
# first and centred on it; parsed afterwards (a tool run inside one window
# only would slow the engine in that window only).
"$CTL" -j limits uid "$U1" >"$T/a1"; "$CTL" -j limits uid "$U3" >"$T/a3"
sleep "$win"
"$CTL" -j limits uid "$U3" >"$T/b3"; "$CTL" -j limits uid "$U1" >"$T/b1"
a1=$(parse "$T/a1"); a3=$(parse "$T/a3"); b1=$(parse "$T/b1"); b3=$(parse "$T/b3")
r1=$(echo "$a1 $b1" | awk '{ printf "%.0f", ($5 - $1) / (($8 - $4) / 1e9) }')
r3=$(echo "$a3 $b3" | awk '{ printf "%.0f", ($5 - $1) / (($8 - $4) / 1e9) }')
share=$(ratio "$r1" "$r3")
echo "weights 1:3: $r1 and $r3 B/s, 1:$share (target 1:3 +-10 %)"
"$CTL" limits set uid "$U3" bandwidth 100000000 >/dev/null 2>&1 || note "limits set failed (not an administrator?)"
sleep 1
"$CTL" -j limits uid "$U3" >"$T/a3"; sleep "$win"; "$CTL" -j limits uid "$U3" >"$T/b3"
a3=$(parse "$T/a3"); b3=$(parse "$T/b3")
cap=$(echo "$a3 $b3" | awk '{ printf "%.0f", ($5 - $1) / (($8 - $4) / 1e9) }')
held=$(echo "$a3 $b3" | awk '{ printf "%.2f", ($7 - $3) / ($8 - $4) }')
echo "bandwidth cap 100000000 B/s: $cap B/s, $(ratio 100000000 "$cap")x the cap, held back $held of the time (target within 5 %)"
signal KILL "$s1"; signal KILL "$s3"

cat > "$out/fair.json" <<EOJ
{"users":"$users","stream_bytes":$big,"rounds":[$rows],
 "pingpong_median_ratio":$mp,"qp_cycle_median_ratio":$mq,
 "weights_1_3":{"low_Bps":$r1,"high_Bps":$r3,"ratio":$share},
 "cap_100MBps":{"Bps":$cap,"held_fraction":$held}}
EOJ
note "wrote $out/fair.json"
