#!/bin/sh
# bench-cm-readlat.sh [ROUNDS] [ITERS]: where ib_read_lat -R's extra
# latency comes from (docs/cm.md).  On a private daemon with this
# build's binaries (RB_BUILDDIR), in paired rounds, perftest's 8-byte
# ib_read_lat t_typical:
#   tcp       connected over TCP (-x 0): the idle server sleeps in read();
#   cm        connected by rdma_cm (-R): the idle server busy-polls its
#             out-of-band QP's CQ until the end of the test (perftest's
#             rdma_read_keys);
#   cm-stop   the same, with the server process stopped (SIGSTOP) while
#             the client measures and resumed for the closing handshake:
#             the same connection and QPs, no server polling.
# Also the server's CPU seconds in each unstopped run.  Prints every
# round and the medians; asserts nothing.  Exit 0, or 1 when a run fails.
set -u
rounds=${1:-8}
iters=${2:-200000}
BENCH_NAME=bench-cm-readlat
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
bench_build
command -v ib_read_lat >/dev/null 2>&1 || { echo "bench-cm-readlat: perftest not installed: skipped"; exit 0; }
sp=
bench_cleanup_hook() {
	[ -n "$sp" ] && { kill -CONT "$sp"; kill "$sp"; } 2>/dev/null
}
trap "exit 1" INT TERM
bench_daemon rl '[daemon]
log_level = notice'
ticks=$(getconf CLK_TCK)

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
# one MODE: prints "t_typical server_cpu_s"
one() {
	port=$((port + 1))
	args="-R"
	[ "$1" = tcp ] && args="-x 0"
	# The server itself (rdmab-run execs it, no timeout(1) between):
	# its pid is what is stopped and measured.
	# shellcheck disable=SC2086
	"$run" ib_read_lat $args -d rbsoft0 -s 8 -n "$iters" -p "$port" > "$tmp/s.out" 2>&1 &
	sp=$!
	sleep 0.7
	# shellcheck disable=SC2086
	timeout 120 "$run" ib_read_lat $args -d rbsoft0 -s 8 -n "$iters" -p "$port" 127.0.0.1 > "$tmp/c.out" 2>&1 &
	cp=$!
	c=0
	if [ "$1" = cm-stop ]; then
		# Connected and exchanged within 0.4 s; the loop then runs
		# iters x ~5 us; the client waits for the server's closing
		# message after it.
		sleep 0.4
		kill -STOP "$sp"
		sleep "$(awk -v n="$iters" 'BEGIN { print n * 12 / 1000000 + 0.5 }')"
		kill -CONT "$sp"
	else
		while kill -0 "$cp" 2>/dev/null; do
			v=$(cpu "$sp") && [ -n "$v" ] && c=$v
			sleep 0.05
		done
	fi
	wait "$cp"; crc=$?
	wait "$sp"; src=$?
	sp=
	[ "$crc" -eq 0 ] && [ "$src" -eq 0 ] || { echo "bench-cm-readlat: ib_read_lat $1 failed: $(tail -2 "$tmp/c.out")" >&2; return 1; }
	t=$(bench_typical "$tmp/c.out")
	echo "$t $(awk -v c="$c" -v k="$ticks" 'BEGIN { printf "%.2f", c / k }')"
}

echo "ib_read_lat 8 B t_typical (us), $rounds paired rounds of $iters iterations, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-6s %-20s %-20s %s\n' round "tcp (server cpu s)" "cm (server cpu s)" cm-stop
: > "$tmp/tcp"; : > "$tmp/cm"; : > "$tmp/stop"
for r in $(seq 1 "$rounds"); do
	a=$(one tcp) || exit 1
	b=$(one cm) || exit 1
	s=$(one cm-stop) || exit 1
	# A run whose table perftest did not print counts in no median.
	[ -n "${a% *}" ] && echo "${a% *}" >> "$tmp/tcp"
	[ -n "${b% *}" ] && echo "${b% *}" >> "$tmp/cm"
	[ -n "${s% *}" ] && echo "${s% *}" >> "$tmp/stop"
	printf '%-6s %-20s %-20s %s\n' "$r" "${a% *} (${a#* })" "${b% *} (${b#* })" "${s% *}"
done
mt=$(bench_median < "$tmp/tcp")
printf 'median  tcp %s  cm %s  cm-stop %s;  rounds over 1.2 x the tcp median: tcp %s, cm %s, cm-stop %s; load %s\n' \
	"$mt" "$(bench_median < "$tmp/cm")" "$(bench_median < "$tmp/stop")" \
	"$(awk -v m="$mt" '$1 > 1.2 * m' "$tmp/tcp" | wc -l)" \
	"$(awk -v m="$mt" '$1 > 1.2 * m' "$tmp/cm" | wc -l)" \
	"$(awk -v m="$mt" '$1 > 1.2 * m' "$tmp/stop" | wc -l)" \
	"$(cut -d' ' -f1 /proc/loadavg)"
