#!/bin/sh
# scripts/bench.sh (make bench) in --quick mode on its own private daemon:
# bench.json parses and has every section and figure, positive, with the
# ratios, the control-path and scale figures and the eight targets; the
# summary names them; the plots exist when gnuplot is installed; a peer is either measured or "unavailable:
# REASON"; nothing is left behind; bad options exit 2.  With --rounds 3,
# the two target figures (8 B send_lat vs the relay, 1 MiB write_bw vs
# memcpy) ran as three alternating pairs, each size's baselines ran
# before the next size's tests, and the median paired ratios, the
# medians and the median rounds agree with the raw files.  Speed is
# never asserted.
. "$top_srcdir/tests/lib/lib.sh"

BENCH="$top_srcdir/scripts/bench.sh"
[ -r "$BENCH" ] || rb_fail "$BENCH missing"
command -v python3 >/dev/null 2>&1 || rb_skip "python3 not installed"
export RB_BUILDDIR="$top_builddir"

# Usage errors exit 2 before anything runs.
for bad in "--bogus" "--sizes 0" "--sizes 9M" "--sizes 8,x" "--out" "--rounds 0" \
	"--rounds x" "--rounds 100" "--rounds=" "--rounds"; do
	# shellcheck disable=SC2086
	sh "$BENCH" $bad --out "$RB_TMP/bad" > /dev/null 2> "$RB_TMP/err"
	rc=$?
	[ "$rc" -eq 2 ] || rb_fail "bench.sh $bad: exit $rc, want 2: $(cat "$RB_TMP/err")"
done
[ -e "$RB_TMP/bad/bench.json" ] && rb_fail "a usage error still wrote results"
sh "$BENCH" --help | grep -q '^Usage: ' || rb_fail "--help prints no usage"
RB_BUILDDIR="$RB_TMP/nobuild" sh "$BENCH" --quick --out "$RB_TMP/bad" > /dev/null 2>&1
rc=$?
[ "$rc" -eq 1 ] || rb_fail "no build directory: exit $rc, want 1"

# The run; its temporary directory must be gone afterwards.
mkdir "$RB_TMP/t" "$RB_TMP/out"
out="$RB_TMP/out"
start=$(date +%s)
TMPDIR="$RB_TMP/t" sh "$BENCH" --quick --rounds 3 --sizes 8,1M --out "$out" > "$RB_TMP/log" 2>&1 ||
	{ cat "$RB_TMP/log" >&2; rb_fail "bench.sh --quick exited $?"; }
rb_log "bench.sh --quick took $(( $(date +%s) - start )) s"
cat "$RB_TMP/log"
[ -z "$(ls "$RB_TMP/t")" ] || rb_fail "left behind in TMPDIR: $(ls "$RB_TMP/t")"

installed() { command -v "$1" >/dev/null 2>&1 && echo 1 || echo 0; }
python3 - "$out/bench.json" "$(installed ucx_perftest)" "$(installed fi_pingpong)" "$(installed ib_send_lat)" <<'PY' ||
import glob, json, os, statistics, sys
doc = json.load(open(sys.argv[1]))
raw = os.path.join(os.path.dirname(sys.argv[1]), "raw")
ucx_installed, fi_installed = sys.argv[2] == "1", sys.argv[3] == "1"
pt_installed = sys.argv[4] == "1"
SIZES = [8, 1048576]
ROUNDS = 3

def pos(v, what):
    assert isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0, (what, v)

assert doc["schema"] == 2, doc["schema"]
m = doc["machine"]
pos(m["nproc"], "nproc")
for k in ("model", "kernel", "date", "git"):
    assert isinstance(m[k], str), (k, m)
for k in ("kernel", "date", "git"):
    assert m[k], (k, m)
r = doc["run"]
assert r["quick"] is True and r["sizes"] == SIZES, r
pos(r["spin_us"], "spin_us")
pos(r["rate_tx_depth"], "rate_tx_depth")
assert r["rounds"] == ROUNDS, r

def rows(lst, keys, sizes, what):
    assert [x["size"] for x in lst] == sizes, (what, [x["size"] for x in lst])
    for x in lst:
        for k in keys:
            pos(x[k], f"{what} {x['size']} {k}")

b = doc["broker"]
lat = ("iters", "lat_min_us", "lat_median_us", "lat_p99_us", "lat_p999_us", "ratio")
for t in ("send_lat", "write_lat", "read_lat"):
    rows(b[t], lat, SIZES, t)
    for x in b[t]:
        assert x["transport"] == "RC", x
        assert x["lat_min_us"] <= x["lat_median_us"] <= x["lat_p99_us"] <= x["lat_p999_us"], x
        assert x["vs"] == ("relay_rtt" if t == "read_lat" else "relay_oneway"), x
rows(b["ud_send_lat"], lat, [8], "ud_send_lat")
assert b["ud_send_lat"][0]["transport"] == "UD", b["ud_send_lat"]
rows(b["atomic_lat"], lat, [8], "atomic_lat")
assert b["atomic_lat"][0]["vs"] == "relay_rtt", b["atomic_lat"]
for t in ("write_bw", "read_bw", "send_bw"):
    rows(b[t], ("iters", "bw_gbps", "msg_rate_mpps", "ratio"), SIZES, t)
    assert all(x["vs"] == "memcpy" for x in b[t]), b[t]
mr = b["msg_rate"]
assert mr["size"] == 8 and mr["unsignaled"] is True and mr["inline"] is True, mr
for k in ("iters", "msg_rate_mpps", "bw_gbps", "ratio"):
    pos(mr[k], "msg_rate " + k)

base = doc["baselines"]
for t in ("relay_lat", "shm_lat", "unix_lat"):
    rows(base[t], ("iters", "oneway_median_us", "oneway_min_us", "oneway_p99_us", "rtt_median_us"),
         SIZES, t)
for t in ("memcpy_bw", "unix_bw"):
    rows(base[t], ("msgs", "bw_gbps", "msg_rate_mpps"), SIZES, t)

# The ratios are what they say they are.
def close(a, b):
    return abs(a - b) <= 1e-3 * max(abs(a), abs(b)) + 1e-4
# (A paired row's ratio is the median paired ratio: checked below.)
for i, x in enumerate(b["send_lat"]):
    if "paired" not in x:
        assert close(x["ratio"], x["lat_median_us"] / base["relay_lat"][i]["oneway_median_us"]), x
for i, x in enumerate(b["read_lat"]):
    assert close(x["ratio"], x["lat_median_us"] / base["relay_lat"][i]["rtt_median_us"]), x
for i, x in enumerate(b["write_bw"]):
    if "paired" not in x:
        assert close(x["ratio"], x["bw_gbps"] / base["memcpy_bw"][i]["bw_gbps"]), x

# The paired rounds, recomputed from the raw files: exactly send_lat at
# 8 B and write_bw at 1 MiB ran in rounds, nothing else.
def raw1(name):
    rows = json.load(open(os.path.join(raw, name)))
    assert isinstance(rows, list) and len(rows) == 1, (name, rows)
    return rows[0]
PAIRED = {("send_lat", 8): ("relay", lambda r: r["lat_median_us"], lambda r: r["oneway_us"]["median"],
                            "relay_lat", "oneway_median_us", "lat_median_us"),
          ("write_bw", 1048576): ("memcpy", lambda r: r["bw_gbps"], lambda r: r["gb_per_s"],
                                  "memcpy_bw", "bw_gbps", "bw_gbps")}
for t in ("send_lat", "write_lat", "read_lat", "ud_send_lat", "atomic_lat",
          "write_bw", "read_bw", "send_bw"):
    for x in b[t]:
        if (t, x["size"]) not in PAIRED:
            assert "paired" not in x and "rounds" not in x, (t, x)
for (t, size), (bn, fig, bfig, brows, bkey, key) in PAIRED.items():
    seq = []
    for k in range(1, ROUNDS + 1):
        seq += [os.path.join(raw, f"perf-{t}-{size}-r{k}.json"), os.path.join(raw, f"base-{bn}-{size}-r{k}.json")]
    assert not glob.glob(os.path.join(raw, f"*-{t}-{size}-r{ROUNDS + 1}.json")), (t, size)
    assert not os.path.exists(os.path.join(raw, f"perf-{t}-{size}.json")), (t, size)
    assert not os.path.exists(os.path.join(raw, f"base-{bn}-{size}.json")), (bn, size)
    mine = [fig(raw1(p)) for p in seq[0::2]]
    theirs = [bfig(raw1(p)) for p in seq[1::2]]
    # Each round ran the broker test, then its baseline: the files were
    # finished in that order.
    mt = [os.stat(p).st_mtime_ns for p in seq]
    assert mt == sorted(mt), (t, size, list(zip(seq, mt)))
    x = next(x for x in b[t] if x["size"] == size)
    pr = x["paired"]
    assert pr["baseline"] == brows and pr["key"] == key and pr["base_key"] == bkey, pr
    assert [r["round"] for r in pr["rounds"]] == list(range(1, ROUNDS + 1)), pr
    for r, m, o in zip(pr["rounds"], mine, theirs):
        assert r["broker"] == m and r["base"] == o and close(r["ratio"], m / o), (r, m, o)
    assert close(pr["broker_median"], statistics.median(mine)), (pr, mine)
    assert close(pr["base_median"], statistics.median(theirs)), (pr, theirs)
    med = statistics.median(m / o for m, o in zip(mine, theirs))
    assert close(pr["ratio_median"], med) and x["ratio"] == pr["ratio_median"], (pr, med)
    # The row's figures are its median round's; so are the baseline's.
    assert x["rounds"] == ROUNDS and x[key] == sorted(mine)[(ROUNDS - 1) // 2] == mine[x["round"] - 1], x
    y = next(y for y in base[brows] if y["size"] == size)
    assert y["rounds"] == ROUNDS and y[bkey] == sorted(theirs)[(ROUNDS - 1) // 2] == theirs[y["round"] - 1], y

# Each size's tests and baselines ran together: every 8-byte file (but
# the message rate's and the control path's two round trips, taken after
# the sizes) was finished before any 1 MiB file.
def done(pat):
    return [os.stat(p).st_mtime_ns for p in glob.glob(os.path.join(raw, pat))
            if not os.path.basename(p).startswith(("perf-msg_rate", "base-unixctl", "base-unixpoll"))]
small = done("perf-*-8.json") + done("perf-*-8-r*.json") + done("base-*-8.json") + done("base-*-8-r*.json")
big = done("perf-*-1048576*.json") + done("base-*-1048576*.json")
assert len(small) == 10 + 2 * ROUNDS and len(big) == 8 + 2 * ROUNDS, (len(small), len(big))
assert max(small) <= min(big), "the 8-byte baselines did not run beside the 8-byte tests"

p = doc["peers"]
for name, installed, series in (("ucx", ucx_installed, {"tag_lat": "lat_median_us", "tag_bw": "bw_gbps"}),
                                ("fi", fi_installed, {"pingpong_lat": "lat_oneway_us"})):
    st = p[name]["status"]
    if st == "ok":
        assert installed, (name, "measured but not installed")
        for s, k in series.items():
            rows(p[name][s], (k,), SIZES, f"{name} {s}")
    else:
        assert st.startswith("unavailable: ") and len(st) > len("unavailable: "), (name, st)
        if not installed:
            assert "not installed" in st, (name, st)
        print(f"peer {name}: {st}")

# perftest on rbsoft0 beside rdmab-perf, in the paired rounds of the two
# targets (ib_send_lat 8 B, ib_write_bw 1 MiB).
pt = p["perftest"]
if pt["status"] == "ok":
    assert pt_installed, "perftest measured but not installed"
    for tool, k in (("ib_send_lat", "lat_typical_us"), ("ib_write_lat", "lat_typical_us"),
                    ("ib_write_bw", "bw_gbps"), ("ib_read_bw", "bw_gbps")):
        rows(pt[tool], (k, "iters", "rdmab_perf_ratio"), SIZES, f"perftest {tool}")
    assert next(x for x in pt["ib_send_lat"] if x["size"] == 8)["rounds"] == ROUNDS, pt["ib_send_lat"]
    assert next(x for x in pt["ib_write_bw"] if x["size"] == 1048576)["rounds"] == ROUNDS, pt["ib_write_bw"]
else:
    assert pt["status"].startswith("unavailable: "), pt
    if not pt_installed:
        assert "not installed" in pt["status"], pt
    print(f"peer perftest: {pt['status']}")

c = doc["control"]
assert c["qp_rate"]["iters"] == 200 and c["qp_rate"]["cycles_per_s"] > 0, c["qp_rate"]
assert c["qp_rate_cache"]["iters"] == 200 and c["qp_rate_cache"]["cycles_per_s"] > 0, c["qp_rate_cache"]
assert c["mr_rate"]["iters"] == 500 and c["mr_rate"]["pairs_per_s"] > 0, c["mr_rate"]
assert c["scale"]["clients"] == 20 and c["scale"]["qps"] == 200, c["scale"]
assert c["scale"]["bytes_per_idle_qp"] > 0 and c["scale"]["lat_ratio"] > 0, c["scale"]
fl = c["rpc_floor"]
assert close(fl["qp_cycles_per_s"], 1e6 / (5 * fl["unix_rtt_8b_us"])), fl
assert close(fl["mr_pairs_per_s"], 1e6 / (2 * fl["unix_rtt_8b_us"])), fl
# Both floors come from the round trips taken beside the control path.
ctl, poll = base["unix_ctl_lat"], base["unix_poll_lat"]
assert [x["size"] for x in ctl] == [8] and [x["size"] for x in poll] == [8], (ctl, poll)
assert poll[0]["spin_us"] == 100, poll
assert fl["unix_rtt_8b_us"] == ctl[0]["rtt_median_us"], (fl, ctl)
assert fl["unix_poll_rtt_8b_us"] == poll[0]["rtt_median_us"], (fl, poll)
assert close(fl["poll_qp_cycles_per_s"], 1e6 / (5 * fl["unix_poll_rtt_8b_us"])), fl
assert close(fl["poll_mr_pairs_per_s"], 1e6 / (2 * fl["unix_poll_rtt_8b_us"])), fl
cw = base["ctl_work"]
assert set(cw) == {"qp_work", "mr_work"}, cw
for k in cw:
    assert cw[k]["iters"] == 200 and 0 < cw[k]["min_us"] <= cw[k]["median_us"], cw
assert fl["qp_work_us"] == cw["qp_work"]["median_us"] and fl["mr_work_us"] == cw["mr_work"]["median_us"], fl
assert close(fl["work_qp_cycles_per_s"], 1e6 / (5 * fl["unix_poll_rtt_8b_us"] + fl["qp_work_us"])), fl
assert close(fl["work_mr_pairs_per_s"], 1e6 / (2 * fl["unix_poll_rtt_8b_us"] + fl["mr_work_us"])), fl

t = doc["targets"]
assert len(t) == 8, t
# The two data-path targets are judged by the median paired ratios.
lat8 = next(x for x in b["send_lat"] if x["size"] == 8)
bw1m = next(x for x in b["write_bw"] if x["size"] == 1048576)
assert t[0]["measured"] == lat8["paired"]["ratio_median"] and t[0]["rounds"] == ROUNDS, t[0]
assert t[1]["measured"] == bw1m["paired"]["ratio_median"] and t[1]["rounds"] == ROUNDS, t[1]
for x in t:
    for k in ("name", "target", "measured", "holds"):
        assert k in x, (k, x)
    # Idle CPU may well measure 0.
    assert isinstance(x["measured"], (int, float)) and x["measured"] >= 0, x
    if x["name"].startswith("clients and idle QPs"):
        assert x["holds"] is None, x	# quick mode holds fewer: not judged
    else:
        assert isinstance(x["holds"], bool), x
PY
	rb_fail "bad bench.json: $(head -c 2000 "$out/bench.json")"

# The summary: both tables, the peers, the control path and the eight target lines.
for pat in '^Latency, median usec' '^Bandwidth, GB/s' '^message rate: ' '^peers: ucx_perftest: ' \
	'fi_pingpong -p shm -e rdm: ' 'perftest on rbsoft0 (rdmab-run): ' '^Control path and scale' '^  qp_rate: ' '^  mr_rate: ' \
	'^  scale: ' '^  floor: ' '^Paired rounds: ' '^  send_lat     8      relay median ' \
	'^  write_bw    1M     memcpy median ' '^Targets'; do
	grep -q "$pat" "$out/summary.txt" || rb_fail "summary.txt lacks '$pat'"
done
[ "$(grep -c ' / measured .* / holds? ' "$out/summary.txt")" -eq 8 ] ||
	rb_fail "summary.txt: want 8 target lines"
[ "$(grep -Ec '^  (send_lat     8      relay|write_bw    1M     memcpy)      [123] ' "$out/summary.txt")" -eq 6 ] ||
	rb_fail "summary.txt: want 3 paired rounds each for send_lat 8 B and write_bw 1 MiB"

if command -v gnuplot >/dev/null 2>&1; then
	for f in latency.svg bandwidth.svg; do
		[ -s "$out/$f" ] || rb_fail "$f missing or empty"
		grep -q '<svg' "$out/$f" || rb_fail "$f is not SVG"
	done
else
	rb_log "gnuplot not installed: the plots are not checked"
	grep -q 'gnuplot not installed' "$out/summary.txt" || rb_fail "no plots and no word why"
fi
rb_pass
