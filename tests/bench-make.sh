#!/bin/sh
# scripts/bench.sh (make bench) in --quick mode on its own private daemon:
# bench.json parses and has every section and figure, positive, with the
# ratios, the control-path and scale figures and the eight targets; the
# summary names them; the plots exist when gnuplot is installed; a peer is either measured or "unavailable:
# REASON"; nothing is left behind; bad options exit 2.  Speed is never
# asserted.
. "$top_srcdir/tests/lib.sh"

BENCH="$top_srcdir/scripts/bench.sh"
[ -r "$BENCH" ] || rb_fail "$BENCH missing"
command -v python3 >/dev/null 2>&1 || rb_skip "python3 not installed"
export RB_BUILDDIR="$top_builddir"

# Usage errors exit 2 before anything runs.
for bad in "--bogus" "--sizes 0" "--sizes 9M" "--sizes 8,x" "--out"; do
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
TMPDIR="$RB_TMP/t" sh "$BENCH" --quick --sizes 8,1M --out "$out" > "$RB_TMP/log" 2>&1 ||
	{ cat "$RB_TMP/log" >&2; rb_fail "bench.sh --quick exited $?"; }
rb_log "bench.sh --quick took $(( $(date +%s) - start )) s"
cat "$RB_TMP/log"
[ -z "$(ls "$RB_TMP/t")" ] || rb_fail "left behind in TMPDIR: $(ls "$RB_TMP/t")"

installed() { command -v "$1" >/dev/null 2>&1 && echo 1 || echo 0; }
python3 - "$out/bench.json" "$(installed ucx_perftest)" "$(installed fi_pingpong)" <<'PY' ||
import json, sys
doc = json.load(open(sys.argv[1]))
ucx_installed, fi_installed = sys.argv[2] == "1", sys.argv[3] == "1"
SIZES = [8, 1048576]

def pos(v, what):
    assert isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0, (what, v)

assert doc["schema"] == 1, doc["schema"]
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
for i, x in enumerate(b["send_lat"]):
    assert close(x["ratio"], x["lat_median_us"] / base["relay_lat"][i]["oneway_median_us"]), x
for i, x in enumerate(b["read_lat"]):
    assert close(x["ratio"], x["lat_median_us"] / base["relay_lat"][i]["rtt_median_us"]), x
for i, x in enumerate(b["write_bw"]):
    assert close(x["ratio"], x["bw_gbps"] / base["memcpy_bw"][i]["bw_gbps"]), x

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

c = doc["control"]
assert c["qp_rate"]["iters"] == 200 and c["qp_rate"]["cycles_per_s"] > 0, c["qp_rate"]
assert c["mr_rate"]["iters"] == 500 and c["mr_rate"]["pairs_per_s"] > 0, c["mr_rate"]
assert c["scale"]["clients"] == 20 and c["scale"]["qps"] == 200, c["scale"]
assert c["scale"]["bytes_per_idle_qp"] > 0 and c["scale"]["lat_ratio"] > 0, c["scale"]
fl = c["rpc_floor"]
assert close(fl["qp_cycles_per_s"], 1e6 / (5 * fl["unix_rtt_8b_us"])), fl
assert close(fl["mr_pairs_per_s"], 1e6 / (2 * fl["unix_rtt_8b_us"])), fl

t = doc["targets"]
assert len(t) == 8, t
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
	'fi_pingpong -p shm -e rdm: ' '^Control path and scale' '^  qp_rate: ' '^  mr_rate: ' \
	'^  scale: ' '^  floor: ' '^Targets'; do
	grep -q "$pat" "$out/summary.txt" || rb_fail "summary.txt lacks '$pat'"
done
[ "$(grep -c ' / measured .* / holds? ' "$out/summary.txt")" -eq 8 ] ||
	rb_fail "summary.txt: want 8 target lines"

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
