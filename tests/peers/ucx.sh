#!/bin/sh
# UCX (Debian ucx-utils), unmodified, on rbsoft0 under rdmab-run -D (UCX
# only takes a device whose /dev/infiniband node it can open; rdmab-run(1)):
# ucx_info -d lists rbsoft0 with rc_verbs and ud_verbs, and ucx_perftest's
# tag_lat, tag_bw, ucp_put_bw and ucp_get run 10 times each over
# UCX_TLS=rc_verbs,ud_verbs and over ud_verbs without a UCX assertion
# (twice each in a sanitizer build, four times slower, where the point is
# the library's memory errors).
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/stack-lib.sh"

command -v ucx_info >/dev/null 2>&1 || rb_skip "UCX not installed (Debian ucx-utils)"
rb_daemon_start
"$RB_RUN" -D true 2> "$RB_TMP/err" ||
	rb_skip "rdmab-run -D cannot make a mount namespace here: $(cat "$RB_TMP/err")"

"$RB_RUN" -D ucx_info -d > "$RB_TMP/info" 2>&1 || rb_fail "ucx_info -d: $(tail "$RB_TMP/info")"
for tl in rc_verbs ud_verbs; do
	awk -v tl="$tl" '$2 == "Transport:" { t = $3 } $2 == "Device:" && t == tl && $3 == "rbsoft0:1" { f = 1 }
		END { exit !f }' "$RB_TMP/info" ||
		rb_fail "ucx_info -d lists no $tl on rbsoft0: $(grep -E 'Transport|Device' "$RB_TMP/info")"
done

UCX_NET_DEVICES=rbsoft0:1
export UCX_NET_DEVICES
SP_RUN_FLAGS=-D
reps="1 2 3 4 5 6 7 8 9 10"
[ "${RB_SANITIZERS:-no}" = yes ] && reps="1 2"
t0=$(date +%s)
ran=0
for tls in rc_verbs,ud_verbs ud_verbs; do
	UCX_TLS=$tls
	export UCX_TLS
	for t in tag_lat tag_bw ucp_put_bw ucp_get; do
		for rep in $reps; do
			name="ucx-$tls-$t-$rep"
			sp_pair "$name" "ucx_perftest -p @PORT@" \
				"ucx_perftest 127.0.0.1 -p @PORT@ -t $t -n 100 -w 10"
			grep -q '^Final:' "$RB_TMP/$name.client" || sp_fail "$name" "no Final: line"
			ran=$((ran + 1))
		done
	done
done
rb_log "$ran ucx_perftest pairs in $(( $(date +%s) - t0 )) s"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
