#!/bin/sh
# scripts/bench-pace.sh (make bench-pace, issue 17) in --quick mode, quiet
# and beside its busy loop, on its own private daemon: pace.json parses
# and holds, per mode, every figure the installed programs allow, each
# with its ratio to the baseline run right before and the baseline run
# again right after (baseline_again: after over before); the ratios
# agree with the figures; the summary prints every line with the
# baseline's own ratio beside it, and its medians agree with pace.json;
# nothing is left behind, and the busy loop is gone; bad options exit 2.
# Speed is never asserted.
. "$top_srcdir/tests/lib/lib.sh"

PACE="$top_srcdir/scripts/bench-pace.sh"
[ -r "$PACE" ] || rb_fail "$PACE missing"
command -v python3 >/dev/null 2>&1 || rb_skip "python3 not installed"
export RB_BUILDDIR="$top_builddir"

for bad in "--bogus" "--rounds 0" "--rounds x"; do
	# shellcheck disable=SC2086
	sh "$PACE" $bad --out "$RB_TMP/bad" > /dev/null 2> "$RB_TMP/err"
	rc=$?
	[ "$rc" -eq 2 ] || rb_fail "bench-pace.sh $bad: exit $rc, want 2: $(cat "$RB_TMP/err")"
done
[ -e "$RB_TMP/bad/pace.json" ] && rb_fail "a usage error still wrote results"
sh "$PACE" --help | grep -q '^Usage: ' || rb_fail "--help prints no usage"

# Its busy loop would skew the tests that judge where threads ran.
rb_cpu_lock
mkdir "$RB_TMP/t" "$RB_TMP/out"
start=$(date +%s)
RB_RUN="$RB_RUN" TMPDIR="$RB_TMP/t" sh "$PACE" --quick --out "$RB_TMP/out" > "$RB_TMP/log" 2>&1
rc=$?
[ "$rc" -eq 0 ] || { cat "$RB_TMP/log" >&2; rb_fail "bench-pace.sh --quick exited $rc"; }
rb_log "bench-pace.sh --quick took $(( $(date +%s) - start )) s"
cat "$RB_TMP/log"
[ -z "$(ls -A "$RB_TMP/t")" ] || rb_fail "left behind: $(ls -A "$RB_TMP/t")"
# The busy loop is the script's child "sh -c 'while :; do :; done'".
pgrep -f 'while :; do :; done' >/dev/null 2>&1 && rb_fail "the busy loop outlived the script"

have() { command -v "$1" >/dev/null 2>&1 && echo 1 || echo 0; }
python3 - "$RB_TMP/out/pace.json" "$RB_TMP/log" "$(have ibv_rc_pingpong)" \
	"$(have ib_send_lat)" "$(have ib_write_bw)" <<'PY' || rb_fail "pace.json or the summary is wrong"
import json, re, sys

recs = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
pp, lat, bw = (sys.argv[i] == "1" for i in (3, 4, 5))
want = {"write_bw-1048576", "write_bw-8388608"}
if pp:
    want |= {"ibv_rc_pingpong", "ibv_rc_pingpong-over-median", "ibv_rc_pingpong-short"}
if lat:
    want |= {"ib_send_lat", "ib_write_lat"}
if bw:
    want |= {"ib_write_bw-1048576", "ib_write_bw-8388608"}
stat = {"ibv_rc_pingpong": "mean", "ibv_rc_pingpong-over-median": "median",
        "ibv_rc_pingpong-short": "short-run-means",
        "ib_send_lat": "median", "ib_write_lat": "median"}
keys = {"mode", "figure", "round", "broker", "baseline", "ratio",
        "baseline_after", "baseline_again"}
for mode in ("quiet", "busy"):
    got = [r for r in recs if r["mode"] == mode]
    figs = {r["figure"] for r in got}
    assert figs == want, (mode, figs ^ want)
    assert len(got) == len(want), (mode, len(got))
    for r in got:
        assert keys <= set(r), r
        assert r["round"] == 1, r
        for k in ("broker", "baseline", "baseline_after"):
            assert r[k] > 0, r
        assert abs(r["ratio"] - r["broker"] / r["baseline"]) < 0.006, r
        assert abs(r["baseline_again"] - r["baseline_after"] / r["baseline"]) < 0.006, r
        assert r.get("baseline_statistic") == stat.get(r["figure"]), r
    # The summary: one round, so each median is that round's ratio.
    part = log.split(mode + " summary", 1)[1].split(" summary", 1)[0]
    lines = {"write_bw-1048576": "rdmab-perf write_bw 1 MiB / memcpy",
             "write_bw-8388608": "rdmab-perf write_bw 8 MiB / memcpy",
             "ib_write_bw-1048576": "ib_write_bw 1 MiB / memcpy",
             "ib_write_bw-8388608": "ib_write_bw 8 MiB / memcpy",
             "ibv_rc_pingpong": "ibv_rc_pingpong -s 8 / relay mean",
             "ibv_rc_pingpong-over-median": "ibv_rc_pingpong / relay median",
             "ibv_rc_pingpong-short": "ibv_rc_pingpong / relay, short runs",
             "ib_send_lat": "ib_send_lat 8 B / relay",
             "ib_write_lat": "ib_write_lat 8 B / relay"}
    for r in got:
        m = re.search(re.escape(lines[r["figure"]]) +
                      r" +x([0-9.]+) \((?:worst|min) x([0-9.]+)\) .*"
                      r"baseline again: x([0-9.]+) \((?:worst|min) x([0-9.]+)\)", part)
        assert m, (mode, r["figure"], part)
        v = [float(x) for x in m.groups()]
        assert v[0] == v[1] == r["ratio"], (v, r)
        assert v[2] == v[3] == r["baseline_again"], (v, r)
PY
rb_pass
