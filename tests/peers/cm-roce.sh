#!/bin/sh
# The connection manager across hosts (docs/cm.md; issue 13 over issue
# 18's RoCEv2): two network namespaces joined by a veth pair, one
# rdmabrokerd in each, and the CM's messages between the daemons as IB
# CM MADs on QP1 (UDP 4791).  Addresses are resolved by route (the
# source address and GID of the egress interface, the path MTU of the
# route), then, server in one namespace and client in the other, under
# rdmab-run:
#   unmodified ucmatose -c 10 over IPv4 and over IPv6, rping -C 100 -V
#   (RDMA READ and WRITE, data verified), rdma_server / rdma_client,
#   udaddy (UD: SIDR_REQ/SIDR_REP), all exiting 0;
#   tests/peers/cm-roce-peer: REJECTED for a port nobody listens on
#   (within 2 s), ADDR_ERROR for an address no route reaches, and
#   UNREACHABLE (-ETIMEDOUT) once A's daemon is gone and B's REQ has
#   been sent again in vain, DISCONNECTED on the client when the server
#   process
#   is SIGKILLed (its daemon sends the DREQ);
#   both daemons hold no CM id afterwards.
# With tshark, the veth is captured and Wireshark's dissector must decode
# the CM MADs (ConnectRequest, ConnectReply, ReadyToUse, ConnectReject,
# DisconnectRequest, DisconnectReply) with no malformed packet.
# Needs root (network namespaces); skips (77) where they cannot be made.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/roce-lib.sh"
CM_TIMEOUT=60
. "$top_srcdir/tests/lib/cm-lib.sh"

command -v ucmatose >/dev/null 2>&1 || rb_skip "ucmatose not installed (Debian rdmacm-utils)"
peer="$top_builddir/tests/peers/cm-roce-peer"

A=cmA$$ B=cmB$$
cm_two_hosts "$A" "$B"

roce_capture "$B" "vb$$" ||
	rb_log "tshark not found: the wire is not checked (scripts/deps.sh installs it)"

# pair NAME PORT 'SERVER ARGS' 'CLIENT ARGS': server in A, client in B.
pair() {
	name=$1 port=$2
	# shellcheck disable=SC2086
	cm_ns_server "$name" "$port" $3 || {
		cat "$RB_TMP/$name.server" >&2
		rb_fail "$name: the server did not listen on $port"
	}
	# shellcheck disable=SC2086
	cm_in_ns "$B" b $4 > "$RB_TMP/$name.client" 2>&1
	crc=$?
	wait "$SPID"; src=$?
	SPID=
	if [ "$src" -ne 0 ] || [ "$crc" -ne 0 ]; then
		echo "---- $name server" >&2; tail -n 20 "$RB_TMP/$name.server" >&2
		echo "---- $name client" >&2; tail -n 20 "$RB_TMP/$name.client" >&2
		rb_fail "$name: server exit $src, client exit $crc"
	fi
	rb_log "$name: passed"
}

pair ucmatose 7471 "ucmatose -b 192.0.2.1 -p 7471 -c 10" "ucmatose -s 192.0.2.1 -p 7471 -c 10"
grep -q 'data transfers complete' "$RB_TMP/ucmatose.client" || rb_fail "ucmatose moved no data"
pair ucmatose6 7472 "ucmatose -b fd00:77::1 -p 7472 -c 10" "ucmatose -s fd00:77::1 -p 7472 -c 10"
pair rping 7470 "rping -s -a 192.0.2.1 -p 7470 -C 100 -V" "rping -c -a 192.0.2.1 -p 7470 -C 100 -V"
pair rdma_client 7473 "rdma_server -s 192.0.2.1 -p 7473" "rdma_client -s 192.0.2.1 -p 7473"
pair udaddy 7174 "udaddy -b 192.0.2.1" "udaddy -s 192.0.2.1"
grep -q 'data transfers complete' "$RB_TMP/udaddy.client" || rb_fail "udaddy moved no data"

# Nobody listens on 7479 in A: a REJ (invalid service id) comes back.
cm_in_ns "$B" b "$peer" reject 192.0.2.1 7479 > "$RB_TMP/reject.out" 2>&1 ||
	{ cat "$RB_TMP/reject.out" >&2; rb_fail "no prompt REJECTED for a port nobody listens on"; }
grep -q 'status 8 ' "$RB_TMP/reject.out" ||
	rb_fail "REJECTED without the invalid service id reason: $(cat "$RB_TMP/reject.out")"
rb_log "$(cat "$RB_TMP/reject.out")"

# No route from B to 198.51.100.1 (TEST-NET-2): ADDR_ERROR, at once.
cm_in_ns "$B" b "$peer" noroute 198.51.100.1 7481 > "$RB_TMP/noroute.out" 2>&1 ||
	{ cat "$RB_TMP/noroute.out" >&2; rb_fail "no ADDR_ERROR for an address no route reaches"; }
rb_log "$(cat "$RB_TMP/noroute.out")"

# The server process dies: its daemon disconnects, the client hears it.
cm_ns_connect dead 7480 "$peer server 192.0.2.1 7480" "$peer client 192.0.2.1 7480" ||
	rb_fail "cm-roce-peer server did not listen"
grep -q '^connected' "$RB_TMP/dead.client" ||
	rb_fail "cm-roce-peer did not connect: $(cat "$RB_TMP/dead.server" "$RB_TMP/dead.client")"
cm_ns_kill_server dead || rb_fail "the client saw no DISCONNECTED: $(cat "$RB_TMP/dead.client")"
grep -q 'event DISCONNECTED' "$RB_TMP/dead.client" || rb_fail "no DISCONNECTED"
rb_log "peer killed: DISCONNECTED"

for d in a b; do
	cm_no_ids "$RB_TMP/$d.sock" || rb_fail "daemon $d still holds CM ids"
done

# A's daemon stops: B's REQ goes unanswered, is sent again, and the
# connect ends UNREACHABLE (-ETIMEDOUT) after the CM's tries.
set -- $ROCE_DAEMONS
kill -TERM "$1"
wait "$1"
cm_in_ns "$B" b "$peer" silent 192.0.2.1 7482 > "$RB_TMP/silent.out" 2>&1 ||
	{ cat "$RB_TMP/silent.out" >&2; rb_fail "no UNREACHABLE from a host whose broker is gone"; }
rb_log "$(cat "$RB_TMP/silent.out")"
cm_no_ids "$RB_TMP/b.sock" || rb_fail "daemon b still holds CM ids"

if [ -n "$ROCE_CAPTURE" ]; then
	sleep 0.5
	kill -TERM "$ROCE_CAPTURE"; wait "$ROCE_CAPTURE" 2>/dev/null
	HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -Y "infiniband.mad.mgmtclass == 0x07" \
		-T fields -e infiniband.mad.attributeid > "$RB_TMP/cm.attrs" 2>"$RB_TMP/tshark.err" ||
		rb_fail "tshark could not read the capture: $(cat "$RB_TMP/tshark.err")"
	for attr in 0x0010 0x0013 0x0014 0x0012 0x0015 0x0016 0x0017 0x0018; do
		grep -q "^$attr\$" "$RB_TMP/cm.attrs" ||
			rb_fail "no CM MAD with attribute $attr decoded on the wire: $(sort "$RB_TMP/cm.attrs" | uniq -c | tr '\n' ' ')"
	done
	if HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -Y "_ws.malformed || _ws.expert.severity >= warning" 2>/dev/null | grep -q .; then
		rb_fail "Wireshark finds malformed or suspect packets: $(HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -Y '_ws.malformed || _ws.expert' 2>&1 | head -5)"
	fi
	rb_log "wire: $(sort "$RB_TMP/cm.attrs" | uniq -c | tr -s ' ' | tr '\n' ' ')"
fi
! grep -qi 'runtime error\|sanitizer\|assert' "$RB_TMP/a.log" "$RB_TMP/b.log" ||
	rb_fail "a fault in a daemon's log: $(grep -hi 'runtime error\|sanitizer\|assert' "$RB_TMP/a.log" "$RB_TMP/b.log" | head -3)"
rb_pass
