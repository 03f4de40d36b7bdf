#!/bin/sh
# scripts/bench-roce.sh (make bench-roce) in --quick mode: it runs to the
# end, every round has its UDP, ib_send_lat, ib_write_lat, iperf3 and
# ib_write_bw figures, roce.json parses with the ratios, and bad options
# exit 2.  Without root it must say "unavailable" and measure nothing.
# Speed is never asserted.
. "$top_srcdir/tests/lib/lib.sh"

command -v python3 >/dev/null 2>&1 || rb_skip "python3 not installed"
S="$top_srcdir/scripts/bench-roce.sh"
for bad in "--bogus" "--rounds 0" "--rounds x"; do
	# shellcheck disable=SC2086
	RB_BUILDDIR="$top_builddir" sh "$S" $bad --out "$RB_TMP/bad" > /dev/null 2>&1
	[ $? -eq 2 ] || rb_fail "bench-roce.sh $bad: want exit 2"
done
RB_BUILDDIR="$top_builddir" RB_RUN="$RB_RUN" TMPDIR="$RB_TMP" sh "$S" --quick --out "$RB_TMP/out" > "$RB_TMP/log" 2>&1 ||
	{ cat "$RB_TMP/log" >&2; rb_fail "bench-roce.sh --quick exited $?"; }
cat "$RB_TMP/log"
if [ "$(id -u)" != 0 ]; then
	grep -q unavailable "$RB_TMP/out/roce.json" || rb_fail "not root, yet no 'unavailable'"
	rb_skip "network namespaces need root: bench-roce.sh said so"
fi
grep -q '"unavailable"' "$RB_TMP/out/roce.json" &&
	rb_skip "bench-roce.sh: $(cat "$RB_TMP/out/roce.json")"
python3 - "$RB_TMP/out/roce.json" <<'PY' || rb_fail "roce.json lacks figures: $(cat "$RB_TMP/out/roce.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["latency"]) == 1 and len(d["bandwidth"]) == 1
assert len(d["bandwidth_ipv6"]) == 1, "no IPv6 pair (GSO/GRO)"
for k in ("send_ratio_median", "write_ratio_median", "ratio_64k_median", "ratio_1m_median"):
    assert d[k] > 0, k
PY
[ -z "$(ls "$RB_TMP" | grep bench-roce)" ] || rb_fail "bench-roce.sh left its directory behind"
rb_pass
