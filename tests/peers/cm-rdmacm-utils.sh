#!/bin/sh
# Debian's rdmacm-utils, unmodified, under rdmab-run: their librdmacm.so.1
# is librdmabroker-cm, served by the daemon's connection manager on
# rbsoft0 by IP address (127.0.0.1, ::1 and the host's own).  rping with
# data validation (-V) over 100 iterations, udaddy (UD), ucmatose with 10
# connections, rdma_server/rdma_client and rdma_xserver/rdma_xclient (the
# synchronous convenience API), cmtime with 100 connections, mckey
# (multicast: UD datagrams to a group on rbsoft0).  Each pair
# exits 0; nothing is left in the broker afterwards.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/cm-lib.sh"

command -v rping >/dev/null 2>&1 || rb_skip "rdmacm-utils not installed (Debian rdmacm-utils)"
rb_daemon_start

cm_pair rping "rping -s -a 127.0.0.1 -p @PORT@ -C 100 -V -v" \
	"rping -c -a 127.0.0.1 -p @PORT@ -C 100 -V -v"
[ "$(grep -c '^ping data: rdma-ping-' "$RB_TMP/rping.client")" -eq 100 ] ||
	cm_fail rping "the client did not print 100 verified pings"
grep -q '^ping data: rdma-ping-99: ' "$RB_TMP/rping.client" ||
	cm_fail rping "ping 99 missing"
cm_pair rping6 "rping -s -a ::1 -p @PORT@ -C 10 -V" "rping -c -a ::1 -p @PORT@ -C 10 -V"
cm_pair udaddy "udaddy -b 127.0.0.1" "udaddy -s 127.0.0.1" 7174
grep -q 'return status 0' "$RB_TMP/udaddy.client" || cm_fail udaddy "no status 0"
cm_pair ucmatose "ucmatose -b 127.0.0.1 -p @PORT@ -c 10" \
	"ucmatose -s 127.0.0.1 -p @PORT@ -c 10"
grep -q 'return status 0' "$RB_TMP/ucmatose.client" || cm_fail ucmatose "no status 0"
cm_pair rdma_server "rdma_server -p @PORT@" "rdma_client -s 127.0.0.1 -p @PORT@"
grep -q 'rdma_client: end 0' "$RB_TMP/rdma_server.client" || cm_fail rdma_server "client did not end 0"
cm_pair rdma_xserver "rdma_xserver -p @PORT@" "rdma_xclient -s 127.0.0.1 -p @PORT@"
grep -q 'rdma_xclient: end 0' "$RB_TMP/rdma_xserver.client" || cm_fail rdma_xserver "client did not end 0"

# cmtime's server never exits by itself: it is stopped once the client is done.
cm_next_port=$((cm_next_port + 1))
timeout 120 "$RB_RUN" cmtime -b 127.0.0.1 -p "$cm_next_port" > "$RB_TMP/cmtime.server" 2>&1 &
spid=$!
cm_wait_listen "$cm_next_port" "$spid" || cm_fail cmtime "server did not listen"
timeout 120 "$RB_RUN" cmtime -s 127.0.0.1 -p "$cm_next_port" -c 100 > "$RB_TMP/cmtime.client" 2>&1 ||
	cm_fail cmtime "client exit $?"
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
grep -Eq '^connect +:' "$RB_TMP/cmtime.client" || cm_fail cmtime "no connect row"
! grep -q 'REJECTED\|failure' "$RB_TMP/cmtime.client" || cm_fail cmtime "a connection failed"
rb_log "cmtime: $(grep -E '^connect +:' "$RB_TMP/cmtime.client")"

# mckey: a receiver joins a group (its QP attached on rbsoft0), then a
# sender joins and sends 10 datagrams to the group; each sleeps 3 s after
# joining, as for a subnet manager.
if command -v stdbuf >/dev/null 2>&1; then
	timeout 60 "$RB_RUN" stdbuf -oL mckey -m 239.1.2.3 -b 127.0.0.1 -C 10 \
		> "$RB_TMP/mckey.server" 2>&1 &
	spid=$!
	cm_wait_output "$RB_TMP/mckey.server" joined "$spid" || cm_fail mckey "the receiver did not join"
	timeout 60 "$RB_RUN" mckey -m 239.1.2.3 -s -b 127.0.0.1 -C 10 \
		> "$RB_TMP/mckey.client" 2>&1 || cm_fail mckey "sender exit $?"
	wait "$spid" || cm_fail mckey "receiver exit $?"
	grep -q 'return status 0' "$RB_TMP/mckey.server" || cm_fail mckey "receiver status"
fi

# A SIGKILLed listener's ids go with it and its port is free at once
# (rdmab-run execs the program: $! is rping itself).
cm_next_port=$((cm_next_port + 1))
"$RB_RUN" rping -s -a 127.0.0.1 -p "$cm_next_port" > "$RB_TMP/killed.out" 2>&1 &
kpid=$!
cm_wait_listen "$cm_next_port" "$kpid" || cm_fail killed "rping -s did not listen"
kill -KILL "$kpid"; wait "$kpid" 2>/dev/null
cm_no_ids || rb_fail "a SIGKILLed listener's CM ids are left"
cm_pair relisten "rping -s -a 127.0.0.1 -p $cm_next_port -C 3 -V" \
	"rping -c -a 127.0.0.1 -p $cm_next_port -C 3 -V" "$cm_next_port"

cm_no_ids || rb_fail "CM ids left in the broker"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
