# What the tests of per-user shares read (integration/sched-share,
# verbs-sched, tenant-stat): streams of WRITEs as other users, and the
# daemon's per-user counters (rdmactl -j limits, rdmactl -j stat).
# Source after tests/lib/lib.sh; stream needs PERF (bench/rdmab-perf)
# and adds its process groups to STREAMS.

# stream UID: a loopback write_bw of UID in a process group of its own,
# 4 MiB WRITEs, 6144 to 8192 queued (24-32 GiB: seconds of work, so a
# client the machine does not run for a while still has work queued).
stream() {
	setsid setpriv --reuid="$1" --regid="$1" --clear-groups \
		"$PERF" --loopback -e -s 4194304 -t 8192 -D 600 write_bw \
		>"$RB_TMP/stream.$1" 2>&1 &
	STREAMS="$STREAMS $!"
}

# raw UID FILE: rdmactl -j limits of UID into FILE.  Readings are taken
# raw, one right after another, and parsed afterwards: a tool run between
# two readings takes CPU from the engine on a 2-CPU machine, so a window
# that holds it sees a slower engine than one that does not.
raw() { "$RB_RDMACTL" -j limits uid "$1" > "$2" || rb_fail "rdmactl -j limits uid $1"; }

# parse FILE: "bytes wrs throttled_ns now_ns client_throttled_ns" (the
# last: the most any of the user's clients was held back).
parse() {
	python3 -c '
import json, sys
e = json.load(open(sys.argv[1])).get("engine")
if not e:
    print("0 0 0 0 0")
else:
    print(e["bytes"], e["wrs"], e["throttled_ns"], e["now_ns"],
          max([c["throttled_ns"] for c in e["clients"]] + [0]))' "$1"
}

# use UID: parse of a reading of UID now.
use() { raw "$1" "$RB_TMP/use.json"; parse "$RB_TMP/use.json"; }

# wait_moving UID: until the engine moves bytes for UID.
wait_moving() {
	for _ in $(seq 1 600); do
		set -- "$1" $(use "$1")
		[ "$2" -gt 0 ] && return 0
		sleep 0.1
	done
	cat "$RB_TMP/stream.$1" >&2
	rb_fail "uid $1: no bytes moved within 60 s"
}

# rate UID SECS: bytes/s and WRs/s of UID over SECS, by the daemon's clock.
rate() {
	raw "$1" "$RB_TMP/a.json"
	sleep "$2"
	raw "$1" "$RB_TMP/b.json"
	echo "$(parse "$RB_TMP/a.json") $(parse "$RB_TMP/b.json")" | awk '{ dt = ($9 - $4) / 1e9; if (dt <= 0) dt = 1e-9
		printf "%.0f %.3f\n", ($6 - $1) / dt, ($7 - $2) / dt }'
}

# within V WANT TOL: |V / WANT - 1| <= TOL
within() {
	awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN { r = v / w; exit !(r >= 1 - t && r <= 1 + t) }'
}

# weights_ratio UA UB: bytes/s of UA and UB over the same 5 s (UB's
# window inside UA's and centred on it: the machine's load moves both
# alike) into ra and rb, and rb / ra into ratio.
weights_ratio() {
	raw "$1" "$RB_TMP/wa.json"; raw "$2" "$RB_TMP/wb.json"
	sleep 5
	raw "$2" "$RB_TMP/wb2.json"; raw "$1" "$RB_TMP/wa2.json"
	ra=$(echo "$(parse "$RB_TMP/wa.json") $(parse "$RB_TMP/wa2.json")" |
		awk '{ printf "%.0f\n", ($6 - $1) / (($9 - $4) / 1e9) }')
	rb=$(echo "$(parse "$RB_TMP/wb.json") $(parse "$RB_TMP/wb2.json")" |
		awk '{ printf "%.0f\n", ($6 - $1) / (($9 - $4) / 1e9) }')
	ratio=$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%.3f", b / a }')
}

# stat_field KIND KEY [uid UID]: KEY of the first KIND entry of
# rdmactl -j stat ("none" if there is none).
stat_field() {
	"$RB_RDMACTL" -j stat $3 $4 | python3 -c '
import json, sys
kind, key = sys.argv[1], sys.argv[2]
for e in json.load(sys.stdin):
    if e["kind"] == kind:
        print(e.get(key, "none")); break
else:
    print("none")' "$1" "$2"
}
