#!/bin/sh
# bench/rdmab-scale in a quick mode against a private daemon whose limits
# allow it: qp_rate, mr_rate and scale with small counts.  It proves the
# tool works and cleans up (JSON parses, the counts are the ones asked
# for, the daemon holds nothing afterwards and is still alive); it
# asserts nothing about speed.
. "$top_srcdir/tests/lib/lib.sh"

SCALE="$top_builddir/bench/rdmab-scale"
[ -x "$SCALE" ] || rb_fail "no $SCALE"

cat > "$RB_CONF" <<EOC
[daemon]
log_level = notice
max_clients = 0
[limits]
connections = 0
qps = 0
cqs = 0
pds = 0
EOC
rb_daemon_start

"$SCALE" --help | grep -q '^usage: rdmab-scale' || rb_fail "--help"
"$SCALE" >/dev/null 2>&1; [ $? -eq 2 ] || rb_fail "no command: want exit 2"
"$SCALE" bogus >/dev/null 2>&1; [ $? -eq 2 ] || rb_fail "bogus command: want exit 2"
"$SCALE" -n x qp_rate >/dev/null 2>&1; [ $? -eq 2 ] || rb_fail "-n x: want exit 2"

# check_json FILE PYTHON-EXPRESSION...: each expression over the object j
# must be true.
check_json() {
	f=$1; shift
	python3 - "$f" "$@" <<'PY' || rb_fail "$(cat "$f")"
import json, sys
j = json.load(open(sys.argv[1]))
for e in sys.argv[2:]:
    if not eval(e):
        sys.exit("false: " + e)
PY
}

# res_empty: the daemon lists no objects (a client that just closed may
# still be being reaped).
res_empty() {
	for _ in $(seq 1 50); do
		[ "$("$RB_RDMACTL" -j res)" = "[]" ] && return 0
		sleep 0.1
	done
	rb_fail "objects left: $("$RB_RDMACTL" res)"
}

"$SCALE" -j -n 200 qp_rate > "$RB_TMP/qp.json" || rb_fail "qp_rate failed"
check_json "$RB_TMP/qp.json" 'j["test"] == "qp_rate"' 'j["iters"] == 200' \
	'j["cycles_per_s"] > 0' 'j["verbs_per_s"] > j["cycles_per_s"]' \
	'sorted(j["median_us"]) == ["create", "destroy", "init", "rtr", "rts"]' \
	'all(v > 0 for v in j["median_us"].values())'
res_empty

"$SCALE" -j -n 500 mr_rate > "$RB_TMP/mr.json" || rb_fail "mr_rate failed"
check_json "$RB_TMP/mr.json" 'j["test"] == "mr_rate"' 'j["iters"] == 500' \
	'j["size"] == 4096' 'j["pairs_per_s"] > 0' 'j["reg_median_us"] > 0' \
	'j["dereg_median_us"] > 0'
res_empty

"$SCALE" -j -c 50 -q 500 -l 200 scale > "$RB_TMP/scale.json" || rb_fail "scale failed"
check_json "$RB_TMP/scale.json" 'j["test"] == "scale"' 'j["clients"] == 50' \
	'j["qps"] == 500' 'j["connected"]' 'j["daemon_pid"] == '"$RB_DAEMON_PID" \
	'j["daemon_idle_cpu_pct"] >= 0' 'j["lat_pair_only_us"] > 0' 'j["lat_with_idle_us"] > 0' 'j["lat_ratio"] > 0' \
	'j["daemon_mem"]["qps_open"]["fds"] - j["daemon_mem"]["clients_open"]["fds"] >= 450' \
	'j["bytes_per_idle_qp_shmem"] > 0' 'j["daemon_mem"]["after"]["fds"] == j["daemon_mem"]["before"]["fds"]'
cat "$RB_TMP/scale.json"
res_empty

# QPs left in RESET, the text output.
"$SCALE" -R -c 3 -q 10 -l 50 scale > "$RB_TMP/scale.txt" || rb_fail "scale -R failed"
grep -q '^scale: 3 clients in .* 10 idle RC QPs in ' "$RB_TMP/scale.txt" ||
	rb_fail "scale -R: $(cat "$RB_TMP/scale.txt")"
res_empty

# Past the daemon's limits the tool fails cleanly and the daemon lives.
rb_daemon_stop
cat > "$RB_CONF" <<EOC
[daemon]
log_level = notice
[limits]
qps = 20
EOC
rb_daemon_start
"$SCALE" -c 2 -q 30 -l 10 scale > "$RB_TMP/over.txt" 2>&1 &&
	rb_fail "30 QPs past a limit of 20 succeeded"
grep -q 'QP 19 of 30 failed' "$RB_TMP/over.txt" || rb_fail "$(cat "$RB_TMP/over.txt")"
rb_daemon_alive || rb_fail "the daemon died"
res_empty
rb_daemon_stop
rb_pass
