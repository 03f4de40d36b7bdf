#!/bin/sh
# UCX's client-server connection by socket address through the broker's
# rdma_cm (issue 13): tests/peers/ucx-sockaddr (UCP, ucp_listener_create
# and ucp_ep_create with UCP_EP_PARAM_FIELD_SOCK_ADDR; Debian's
# ucx_perftest 1.13 cannot be asked for it) under rdmab-run -D with
# UCX_SOCKADDR_TLS_PRIORITY=rdmacm and UCX_TLS=rc_verbs,ud_verbs:
# 20 tagged messages of 1 B to 64 KiB echoed and checked byte for byte on
# both sides, with UCX's own protocol choice (64 KiB goes by rendezvous:
# RDMA READ between registered user buffers, checked from UCX's protocol
# table), then both endpoints closed, flushing, and UCX torn down; both
# endpoints' CM lane is rdmacm and their data lane rc_verbs on rbsoft0,
# and the daemon served the CM's requests (listen, connect, accept).
# Skips, saying why, when UCX cannot use the broker's devices or has no
# rdmacm CM.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/scripts/tcp-port.sh"
. "$top_srcdir/tests/lib/cm-lib.sh"

prog="$top_builddir/tests/peers/ucx-sockaddr"
[ -x "$prog" ] || rb_skip "built without UCX (apt-get install libucx-dev)"
rb_daemon_start
"$RB_RUN" -D true 2> "$RB_TMP/err" ||
	rb_skip "rdmab-run -D cannot make a mount namespace here: $(cat "$RB_TMP/err")"
"$RB_RUN" -D ucx_info -d > "$RB_TMP/info" 2>&1 || true
grep -q 'Device: rbsoft0:1' "$RB_TMP/info" ||
	rb_skip "UCX lists no transport on rbsoft0: $(grep -E 'Transport|Device' "$RB_TMP/info" | tr '\n' ' ')"
grep -q 'Connection manager: rdmacm' "$RB_TMP/info" ||
	rb_skip "UCX has no rdmacm connection manager here (ucx_info -d: $(grep -i 'connection manager' "$RB_TMP/info" | tr '\n' ' '))"

UCX_TLS=rc_verbs,ud_verbs
UCX_SOCKADDR_TLS_PRIORITY=rdmacm
UCX_NET_DEVICES=rbsoft0:1
export UCX_TLS UCX_SOCKADDR_TLS_PRIORITY UCX_NET_DEVICES
unset UCX_RNDV_THRESH UCX_RNDV_SCHEME
port=$(tcp_free_port)
timeout 60 "$RB_RUN" -D "$prog" server "$port" > "$RB_TMP/server" 2>&1 &
spid=$!
if ! cm_wait_output "$RB_TMP/server" '^listening' "$spid"; then
	wait "$spid"; rc=$?
	cat "$RB_TMP/server" >&2
	[ "$rc" -eq 77 ] && rb_skip "$(grep SKIP "$RB_TMP/server")"
	rb_fail "the UCP server did not listen (exit $rc)"
fi
timeout 60 "$RB_RUN" -D "$prog" client 127.0.0.1 "$port" > "$RB_TMP/client" 2>&1
crc=$?
wait "$spid"; src=$?
echo "---- server" >&2; cat "$RB_TMP/server" >&2
echo "---- client" >&2; cat "$RB_TMP/client" >&2
[ "$crc" -eq 77 ] && rb_skip "$(grep SKIP "$RB_TMP/client")"
[ "$src" -eq 0 ] && [ "$crc" -eq 0 ] || rb_fail "server exit $src, client exit $crc"
for side in client server; do
	grep -q '^echoed 20 messages' "$RB_TMP/$side" || rb_fail "the $side did not echo every message"
	grep -q 'lane\[0\]: *cm rdmacm' "$RB_TMP/$side" ||
		rb_fail "the $side's endpoint has no rdmacm CM lane"
	grep -q 'rc_verbs/rbsoft0:1' "$RB_TMP/$side" ||
		rb_fail "the $side's endpoint does not use rc_verbs on rbsoft0"
	# "tag_send: 0..<egr/short>..72..<egr/bcopy>..39741..<rndv>..(inf)"
	rndv=$(sed -n 's/.* tag_send: .*\.\.\([0-9]*\)\.\.<rndv>.*/\1/p' "$RB_TMP/$side")
	[ -n "$rndv" ] && [ "$rndv" -le 65536 ] ||
		rb_fail "the $side's 64 KiB messages did not go by rendezvous (from ${rndv:-?} bytes)"
	grep -q '^ok$' "$RB_TMP/$side" ||
		rb_fail "the $side did not close its endpoint and clean up"
done
for req in cm_listen cm_connect cm_accept; do
	grep -q "client [0-9]*: $req\$" "$RB_LOG" ||
		rb_fail "the daemon served no $req: UCX did not connect through the broker's rdma_cm"
done
rb_log "connected through rdma_cm: $(grep -c 'client [0-9]*: cm_' "$RB_LOG") CM requests; $(grep -m1 'rc_verbs' "$RB_TMP/client" | tr -s ' '); rendezvous from $rndv bytes"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
