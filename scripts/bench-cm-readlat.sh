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
build=$(cd "${RB_BUILDDIR:-./_build}" 2>/dev/null && pwd) || { echo "bench-cm-readlat: no build dir" >&2; exit 1; }
run=$build/libclient/rdmab-run
command -v ib_read_lat >/dev/null 2>&1 || { echo "bench-cm-readlat: perftest not installed: skipped"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-bench-rl.XXXXXX") || exit 1
RDMABROKER_SOCKET=$tmp/sock RDMABROKER_LIBDIR=$build/libclient/compat
export RDMABROKER_SOCKET RDMABROKER_LIBDIR
printf '[daemon]\nlog_level = notice\n' > "$tmp/conf"
"$build/daemon/rdmabrokerd" -c "$tmp/conf" -s "$tmp/sock" > "$tmp/daemon.log" 2>&1 &
dpid=$!
sp=
cleanup() {
	[ -n "$sp" ] && { kill -CONT "$sp"; kill "$sp"; } 2>/dev/null
	kill -TERM "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM
for _ in $(seq 1 100); do [ -S "$tmp/sock" ] && break; sleep 0.05; done
port=$((30000 + $$ % 20000))
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
	t=$(awk '/^ *[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+/ { v = $5 } END { print v }' "$tmp/c.out")
	echo "$t $(awk -v c="$c" -v k="$ticks" 'BEGIN { printf "%.2f", c / k }')"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

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
mt=$(median < "$tmp/tcp")
printf 'median  tcp %s  cm %s  cm-stop %s;  rounds over 1.2 x the tcp median: tcp %s, cm %s, cm-stop %s; load %s\n' \
	"$mt" "$(median < "$tmp/cm")" "$(median < "$tmp/stop")" \
	"$(awk -v m="$mt" '$1 > 1.2 * m' "$tmp/tcp" | wc -l)" \
	"$(awk -v m="$mt" '$1 > 1.2 * m' "$tmp/cm" | wc -l)" \
	"$(awk -v m="$mt" '$1 > 1.2 * m' "$tmp/stop" | wc -l)" \
	"$(cut -d' ' -f1 /proc/loadavg)"
