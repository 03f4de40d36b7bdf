#!/bin/sh
# What the verbs pass-through driver costs (drivers/verbs/), measured by
# nesting: an outer rdmabrokerd with the soft device and an inner one
# with only the verbs driver, run under rdmab-run over the outer, so the
# inner's device is the outer's rbsoft0.  In paired rounds, each round
# taken back to back:
#   - 8-byte RC send latency (rdmab-perf --loopback send_lat) through the
#     outer daemon, through the inner one, and the three-party relay
#     baseline (bench/baseline relay); the figure is
#     (inner - outer) / relay, one-way: the relay hops the inner path
#     adds (target: at most 1.25);
#   - beside it, the floor of that figure on this machine: the same
#     ping-pong through two raw relays in a chain, as two daemons nested
#     (bench/baseline relay --chain: A -> inner -> outer -> inner -> B),
#     (chain - relay) / relay.  Four polling processes where the relay
#     has three: on a machine with fewer cores than that, each added
#     hand-off may wait for a core.  On 2 vCPUs the chain alone added
#     about 1 relay hop when the relay ran in its slow mode (10-11 us one
#     way) and 2.7 in its fast one (5.9 us).  Also printed: the inner
#     path's one way over the chain's (docs/verbs-driver.md, "The floor
#     of two relays");
#   - WRITE bandwidth (write_bw) at 1 MiB and 8 MiB through each; the
#     figure is inner / outer (target: at least 0.80).
# Each target is judged by the median of its paired ratios.  The machine's
# load average (1 min) at the start and the end goes beside them: on a
# shared machine the outer path alone varies most with it.
#
# Beside each inner send_lat round go both daemons' scheduler figures
# over it (/proc/PID/schedstat and status): times each was put on a core
# and time it waited runnable, per round trip, and how often the inner
# one slept.  They tell where the four polling processes (two clients,
# two daemons) sat: in the slow mode the two daemons share a core with a
# client and hand it to each other, each put on the core 8-19 times per
# round trip against 2-8 in the fast mode (docs/verbs-driver.md,
# "Latency, measured 2026-12-04").  With --quick the setup of the run
# weighs in them too.
#
# Usage: scripts/bench-nest.sh [--quick] [--rounds N] [--out DIR]
# RB_BUILDDIR names the build directory (default ./_build).  Writes
# DIR/nested.json and prints a summary; scripts/bench.sh runs it as part
# of make bench.
set -u

quick=
rounds=5
out=./bench-results
while [ $# -gt 0 ]; do
	case $1 in
	-q|--quick) quick=1; shift ;;
	-r|--rounds) rounds=$2; shift 2 ;;
	-o|--out) out=$2; shift 2 ;;
	-h|--help)
		sed -n '2,41p' "$0" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	*) echo "bench-nest: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case $rounds in
''|*[!0-9]*) echo "bench-nest: --rounds wants a number" >&2; exit 2 ;;
esac
[ "$rounds" -ge 1 ] || { echo "bench-nest: --rounds wants 1 or more" >&2; exit 2; }

build=$(cd "${RB_BUILDDIR:-./_build}" 2>/dev/null && pwd) ||
	{ echo "bench-nest: no build directory ${RB_BUILDDIR:-./_build}" >&2; exit 1; }
daemon=$build/daemon/rdmabrokerd
perf=$build/bench/rdmab-perf
base=$build/bench/baseline
run=$build/libclient/rdmab-run
rdmactl=$build/rdmactl/rdmactl
for f in "$daemon" "$perf" "$base" "$run" "$rdmactl"; do
	[ -x "$f" ] || { echo "bench-nest: $f not built" >&2; exit 1; }
done
RDMABROKER_LIBDIR=$build/libclient/compat
export RDMABROKER_LIBDIR
mkdir -p "$out/raw" || exit 1
out=$(cd "$out" && pwd)
raw=$out/raw

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-nest.XXXXXX") || exit 1
outer_pid= inner_pid=
cleanup() {
	for p in $inner_pid $outer_pid; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { echo "bench-nest: $*" >&2; for l in "$tmp"/*.log; do [ -s "$l" ] && tail -n 20 "$l" >&2; done; exit 1; }

# wait_sock SOCK PID: until the daemon answers.
wait_sock() {
	for _ in $(seq 1 300); do
		RDMABROKER_SOCKET=$1 "$rdmactl" status >/dev/null 2>&1 && return 0
		kill -0 "$2" 2>/dev/null || die "a daemon exited at start"
		sleep 0.1
	done
	die "a daemon did not answer within 30 s"
}

printf '[daemon]\nlog_level = warning\n' > "$tmp/outer.conf"
"$daemon" -c "$tmp/outer.conf" -s "$tmp/outer.sock" >"$tmp/outer.log" 2>&1 &
outer_pid=$!
wait_sock "$tmp/outer.sock" "$outer_pid"
printf '[daemon]\nlog_level = warning\n[soft]\nenable = no\n[verbs]\nenable = yes\n' > "$tmp/inner.conf"
"$run" -s "$tmp/outer.sock" "$daemon" -c "$tmp/inner.conf" -s "$tmp/inner.sock" >"$tmp/inner.log" 2>&1 &
inner_pid=$!
wait_sock "$tmp/inner.sock" "$inner_pid"

if [ -n "$quick" ]; then nl=200; nb=50; else nl=10000; nb=2000; fi

# one FILE SOCK ARGS...: rdmab-perf through SOCK.
one() {
	one_f=$1 one_sock=$2
	shift 2
	RDMABROKER_SOCKET=$one_sock timeout 300 "$perf" --loopback -j "$@" >"$one_f" 2>"$one_f.err" ||
		die "rdmab-perf $* via $one_sock: $(tail -n 3 "$one_f.err")"
}

# sched PID: its schedstat (run ns, run-queue wait ns, times run) and its
# voluntary context switches (sleeps; a yield is not one), on one line.
sched() {
	printf '%s %s\n' "$(cat "/proc/$1/schedstat" 2>/dev/null || echo 0 0 0)" \
		"$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)"
}

load0=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null)
k=1
while [ "$k" -le "$rounds" ]; do
	one "$raw/nest-outer-send_lat-8-r$k.json" "$tmp/outer.sock" -n "$nl" -s 8 send_lat
	{ sched "$inner_pid"; sched "$outer_pid"; } >"$raw/nest-sched-r$k.txt"
	one "$raw/nest-inner-send_lat-8-r$k.json" "$tmp/inner.sock" -n "$nl" -s 8 send_lat
	{ sched "$inner_pid"; sched "$outer_pid"; } >>"$raw/nest-sched-r$k.txt"
	timeout 300 "$base" relay -j -n "$nl" -s 8 >"$raw/nest-relay-8-r$k.json" 2>/dev/null ||
		die "baseline relay failed"
	timeout 300 "$base" relay --chain -j -n "$nl" -s 8 >"$raw/nest-chain-8-r$k.json" 2>/dev/null ||
		die "baseline relay --chain failed"
	for s in 1048576 8388608; do
		one "$raw/nest-outer-write_bw-$s-r$k.json" "$tmp/outer.sock" -n "$nb" -s "$s" write_bw
		one "$raw/nest-inner-write_bw-$s-r$k.json" "$tmp/inner.sock" -n "$nb" -s "$s" write_bw
	done
	k=$((k + 1))
done
kill -0 "$inner_pid" 2>/dev/null || die "the inner daemon died"
load1=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null)

python3 - "$raw" "$rounds" "$out/nested.json" "$load0" "$load1" "$nl" <<'PY'
import json, statistics, sys

raw, rounds, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
loadavg = [None if x == "null" else float(x) for x in sys.argv[4:6]]
nl = int(sys.argv[6])


def load(name):
    # Each tool writes a list of one result.
    with open(f"{raw}/{name}") as f:
        doc = json.load(f)
    return doc[0] if isinstance(doc, list) else doc


def median_low(v):
    return statistics.median_low(v)


def sched(k):
    # Before and after the inner send_lat: inner, outer; per round trip.
    with open(f"{raw}/nest-sched-r{k}.txt") as f:
        rows = [[int(x) for x in line.split()] for line in f if line.strip()]
    if len(rows) != 4:
        return None
    out = {}
    for name, a, b in (("inner", rows[0], rows[2]), ("outer", rows[1], rows[3])):
        out[name] = {"switches_per_rt": (b[2] - a[2]) / nl,
                     "wait_us_per_rt": (b[1] - a[1]) / 1000 / nl,
                     "run_us_per_rt": (b[0] - a[0]) / 1000 / nl}
    out["inner"]["sleeps"] = rows[2][3] - rows[0][3]
    return out


lat = []
for k in range(1, rounds + 1):
    o = load(f"nest-outer-send_lat-8-r{k}.json")["lat_median_us"]
    i = load(f"nest-inner-send_lat-8-r{k}.json")["lat_median_us"]
    r = load(f"nest-relay-8-r{k}.json")["oneway_us"]["median"]
    c = load(f"nest-chain-8-r{k}.json")["oneway_us"]["median"]
    lat.append({"round": k, "outer_us": o, "inner_us": i, "relay_us": r,
                "chain_us": c,
                "added_relay_hops": (i - o) / r if r else None,
                "floor_relay_hops": (c - r) / r if r else None,
                "inner_per_chain": i / c if c else None,
                "inner_run_sched": sched(k)})
bw = {}
for s in (1048576, 8388608):
    rows = []
    for k in range(1, rounds + 1):
        o = load(f"nest-outer-write_bw-{s}-r{k}.json")["bw_gbps"]
        i = load(f"nest-inner-write_bw-{s}-r{k}.json")["bw_gbps"]
        rows.append({"round": k, "outer_gbps": o, "inner_gbps": i,
                     "ratio": i / o if o else None})
    bw[str(s)] = rows

hops = median_low([x["added_relay_hops"] for x in lat])
floor = median_low([x["floor_relay_hops"] for x in lat])
per_chain = median_low([x["inner_per_chain"] for x in lat])
worst_bw = min(median_low([x["ratio"] for x in rows]) for rows in bw.values())
doc = {"load_avg_1min": {"start": loadavg[0], "end": loadavg[1]},
       "send_lat_8": lat, "write_bw": bw,
       "floor": {"name": "the same added by two raw relays in a chain, in relay hops",
                 "measured": floor, "meets_target": floor <= 1.25,
                 "inner_per_chain": per_chain},
       "targets": [
           {"name": "8 B send latency added by the verbs driver, in relay hops",
            "target": "<= 1.25", "measured": hops, "holds": hops <= 1.25},
           {"name": "WRITE bandwidth >= 1 MiB through the verbs driver / outer alone",
            "target": ">= 0.80", "measured": worst_bw, "holds": worst_bw >= 0.80}]}
with open(dest, "w") as f:
    json.dump(doc, f, indent=1)

print(f"Nested (verbs driver over the soft device), {rounds} paired round(s), "
      f"load average {loadavg[0]} to {loadavg[1]}:")
print("  round  outer us  inner us  relay us  added hops  chain us  floor hops"
      "  (inner run, per round trip: daemons on a core inner/outer, inner waited us, inner sleeps)")
for x in lat:
    sc = x["inner_run_sched"]
    extra = (f"  {sc['inner']['switches_per_rt']:5.1f}/{sc['outer']['switches_per_rt']:<5.1f}"
             f" {sc['inner']['wait_us_per_rt']:6.2f} {sc['inner']['sleeps']:6d}") if sc else ""
    print(f"  {x['round']:>5}  {x['outer_us']:8.3f}  {x['inner_us']:8.3f}  {x['relay_us']:8.3f}"
          f"  {x['added_relay_hops']:10.3f}  {x['chain_us']:8.3f}  {x['floor_relay_hops']:10.3f}{extra}")
for s, rows in bw.items():
    print(f"  write_bw {int(s) >> 20} MiB: inner/outer " +
          ", ".join(f"{x['inner_gbps']:.2f}/{x['outer_gbps']:.2f}={x['ratio']:.3f}" for x in rows))
for t in doc["targets"]:
    print(f"  {t['name']}: {t['measured']:.3f} (target {t['target']}): "
          f"{'holds' if t['holds'] else 'MISSED'}")
print(f"  {doc['floor']['name']}: {floor:.3f}" +
      ("" if floor <= 1.25 else ", itself above the target on this machine"))
print(f"  8 B one way through the inner daemon / through two raw relays: {per_chain:.3f}")
PY
