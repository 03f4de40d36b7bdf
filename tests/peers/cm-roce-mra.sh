#!/bin/sh
# MRA across hosts (docs/cm.md, IBTA 12.6.6): two network namespaces
# joined by a veth pair, a daemon in each, tests/peers/cm-roce-peer on
# both sides under rdmab-run.
#   - slow accept: the server sleeps 18 s after CONNECT_REQUEST before
#     rdma_accept, longer than the client's CM sends its REQ for (1 s
#     apart, 16 times, then UNREACHABLE); the server's daemon sends MRA
#     (Message MRAed: REQ), the client's holds its REQ for the MRA's
#     service timeout, and the connection is made and torn down.
#   - slow RTU: the client connects without a QP and answers
#     CONNECT_RESPONSE with rdma_establish 18 s later; its daemon sends
#     MRA (Message MRAed: REP), the server's holds its REP, and the
#     server sees ESTABLISHED.
# Both daemons' logs show the MRAs sent and received; with tshark,
# Wireshark decodes the MRAs on the veth (attribute 0x0011, MRAed REQ
# and REP from the bytes, service timeout 24) and no malformed packet.
# Needs root (network namespaces); skips (77) where they cannot be made.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/roce-lib.sh"
CM_TIMEOUT=60
. "$top_srcdir/tests/lib/cm-lib.sh"

peer="$top_builddir/tests/peers/cm-roce-peer"
A=cmmA$$ B=cmmB$$
cm_two_hosts "$A" "$B"

roce_capture "$B" "vb$$" ||
	rb_log "tshark not found: the wire is not checked (scripts/deps.sh installs it)"

# 1. The server accepts 18 s late: MRA for the REQ.
cm_ns_server slow 7483 "$peer" slow 192.0.2.1 7483 || rb_fail "cm-roce-peer slow did not listen: $(cat "$RB_TMP/slow.server")"
cm_in_ns "$B" b "$peer" client 192.0.2.1 7483 > "$RB_TMP/slow.client" 2>&1
crc=$?
wait "$SPID"; src=$?
SPID=
[ "$crc" -eq 0 ] && [ "$src" -eq 0 ] ||
	rb_fail "slow accept: server exit $src ($(cat "$RB_TMP/slow.server")), client exit $crc ($(cat "$RB_TMP/slow.client"))"
grep -q 'event DISCONNECTED' "$RB_TMP/slow.client" || rb_fail "slow accept: the client saw no DISCONNECTED"
grep -q "has not answered the REQ yet: MRA" "$RB_TMP/a.log" || rb_fail "daemon a sent no MRA for the REQ"
grep -q "MRA for comm id .*'s REQ" "$RB_TMP/b.log" || rb_fail "daemon b took no MRA for its REQ"
rb_log "slow accept: $(grep '^connected' "$RB_TMP/slow.server")"

# 2. The client establishes 18 s late: MRA for the REP.
cm_ns_connect rtu 7484 "$peer server 192.0.2.1 7484" "$peer slowrtu 192.0.2.1 7484" 600 ||
	rb_fail "cm-roce-peer server did not listen"
grep -q '^connected' "$RB_TMP/rtu.server" ||
	rb_fail "slow RTU: the server never saw ESTABLISHED: $(cat "$RB_TMP/rtu.server" "$RB_TMP/rtu.client")"
cm_ns_kill_server rtu || rb_fail "slow RTU: the client failed: $(cat "$RB_TMP/rtu.client")"
grep -q "has not answered the REP yet: MRA" "$RB_TMP/b.log" || rb_fail "daemon b sent no MRA for the REP"
grep -q "MRA for comm id .*'s REP" "$RB_TMP/a.log" || rb_fail "daemon a took no MRA for its REP"
rb_log "slow RTU: $(grep '^connected' "$RB_TMP/rtu.client")"

if [ -n "$ROCE_CAPTURE" ]; then
	sleep 0.5
	kill -TERM "$ROCE_CAPTURE"; wait "$ROCE_CAPTURE" 2>/dev/null
	# The MRA's fields from its bytes (Wireshark 4.0 names the
	# attribute but has no fields for it): after the 24-byte MAD
	# header, comm ids at 0 and 4, Message MRAed in the top 2 bits of
	# byte 8, service timeout in the top 5 of byte 9.
	HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -Y "infiniband.mad.attributeid == 0x0011" \
		-T fields -e ip.src -e infiniband.mad.data > "$RB_TMP/mra.txt" 2>"$RB_TMP/tshark.err" ||
		rb_fail "tshark could not read the capture: $(cat "$RB_TMP/tshark.err")"
	[ -s "$RB_TMP/mra.txt" ] || rb_fail "no MRA decoded on the wire: $(HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -T fields -e infiniband.mad.attributeid | sort | uniq -c | tr '\n' ' ')"
	# A (the late accept) MRAs a REQ (00), B (the late RTU) a REP (40);
	# service timeout 24 (c0).
	awk '$1 == "192.0.2.1" && substr($2, 17, 4) == "00c0" { r = 1 }
	     $1 == "192.0.2.2" && substr($2, 17, 4) == "40c0" { p = 1 }
	     END { exit !(r && p) }' "$RB_TMP/mra.txt" ||
		rb_fail "the MRAs on the wire are not A's for a REQ and B's for a REP with service timeout 24: $(cut -c1-40 "$RB_TMP/mra.txt" | tr '\n' ' ')"
	rb_log "wire: $(HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -T fields -e infiniband.mad.attributeid | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
	if HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -Y "_ws.malformed || _ws.expert.severity >= warning" 2>/dev/null | grep -q .; then
		rb_fail "Wireshark finds malformed or suspect packets: $(HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -Y '_ws.malformed || _ws.expert' 2>&1 | head -5)"
	fi
fi
! grep -qi 'runtime error\|sanitizer\|assert' "$RB_TMP/a.log" "$RB_TMP/b.log" ||
	rb_fail "a fault in a daemon's log: $(grep -hi 'runtime error\|sanitizer\|assert' "$RB_TMP/a.log" "$RB_TMP/b.log" | head -3)"
rb_pass
