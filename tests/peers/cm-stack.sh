#!/bin/sh
# The RDMA stack's rdma_cm users, unmodified, under rdmab-run: perftest
# with -R (connection through rdma_cm: ib_send_lat, ib_write_lat, ib_write_bw,
# ib_read_lat) and libfabric's verbs MSG endpoint (fi_pingpong -e msg,
# connected through rdma_cm) and DGRAM endpoint.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/cm-lib.sh"
. "$top_srcdir/tests/lib/stack-lib.sh"

rb_daemon_start
ran=0
if command -v ib_send_lat >/dev/null 2>&1; then
	for tool in ib_send_lat ib_write_lat ib_write_bw ib_read_lat; do
		cm_pair "$tool" "$tool -R -d rbsoft0 -p @PORT@ -n 200" \
			"$tool -R -d rbsoft0 -p @PORT@ -n 200 127.0.0.1"
		grep -Eq '^ *[0-9]+ +200 +[0-9.]+' "$RB_TMP/$tool.client" ||
			cm_fail "$tool" "no result row"
		ran=$((ran + 1))
	done
else
	rb_log "perftest not installed: -R not run"
fi
if command -v fi_pingpong >/dev/null 2>&1; then
	for ep in msg dgram; do
		sp_pair "fi_pingpong-$ep" "fi_pingpong -p verbs -e $ep -I 100 -S 64 -B @PORT@" \
			"fi_pingpong -p verbs -e $ep -I 100 -S 64 -P @PORT@ 127.0.0.1"
		grep -Eq '^64 +100 +=100 ' "$RB_TMP/fi_pingpong-$ep.client" ||
			sp_fail "fi_pingpong-$ep" "no result row"
		ran=$((ran + 1))
	done
else
	rb_log "libfabric not installed: fi_pingpong not run"
fi
[ "$ran" -gt 0 ] || rb_skip "neither perftest nor libfabric-bin installed"
cm_no_ids || rb_fail "CM ids left in the broker"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
