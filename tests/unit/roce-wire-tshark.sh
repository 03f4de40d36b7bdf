#!/bin/sh
# The soft device's RoCEv2 packets, checked by programs nobody here
# wrote: tests/unit/roce-wire --pcap writes one frame per opcode we speak
# (RC, UC, UD; IPv4 and IPv6), and
#  - Wireshark's InfiniBand dissector (tshark, "infiniband" on UDP 4791)
#    must decode every frame as RRoCE with the opcode and PSN we built,
#    with no malformed-packet or expert item;
#  - the ICRC each frame carries must equal the one computed apart from
#    the frame's real IP and UDP headers by tests/unit/roce-icrc.py
#    (Python's zlib), and the value tshark shows.  Wireshark 4.0 shows
#    the ICRC but does not check it, hence the second program.
# The payloads are our test pattern, not RPC-over-RDMA: that heuristic
# payload dissector is off.  Skips (77) without tshark or python3.
. "$top_srcdir/tests/lib/lib.sh"

command -v tshark >/dev/null 2>&1 || rb_skip "tshark not found (scripts/deps.sh installs it)"
py=${PYTHON3:-python3}
command -v "$py" >/dev/null 2>&1 || rb_skip "python3 not found"

"$top_builddir/tests/unit/roce-wire" --pcap "$RB_TMP/roce.pcap" > "$RB_TMP/built" ||
	rb_fail "roce-wire --pcap failed"
n=$(wc -l < "$RB_TMP/built")
[ "$n" -ge 60 ] || rb_fail "only $n frames built"

# tshark writes to $HOME; keep it in the test's directory.
HOME=$RB_TMP tshark --disable-protocol rpcordma -r "$RB_TMP/roce.pcap" \
	-T fields -E separator=' ' -e frame.protocols -e infiniband.bth.opcode \
	-e infiniband.bth.psn -e infiniband.invariant.crc \
	-e _ws.expert -e _ws.malformed > "$RB_TMP/decoded" 2> "$RB_TMP/tshark.err" ||
	rb_fail "tshark failed: $(cat "$RB_TMP/tshark.err")"
[ "$(wc -l < "$RB_TMP/decoded")" -eq "$n" ] ||
	rb_fail "tshark decoded $(wc -l < "$RB_TMP/decoded") frames of $n"
"$py" "$top_srcdir/tests/unit/roce-icrc.py" "$RB_TMP/roce.pcap" > "$RB_TMP/icrc" ||
	rb_fail "roce-icrc.py failed"

paste -d ' ' "$RB_TMP/built" "$RB_TMP/decoded" "$RB_TMP/icrc" > "$RB_TMP/all"
# built: op psn icrc | tshark: protocols op psn crc [expert...] | py: computed carried
bad=$(awk '{
	ok = 1
	if ($4 !~ /:infiniband/) { ok = 0; why = "not decoded as InfiniBand: " $4 }
	else if ($1 != $5 || $2 != $6) { ok = 0; why = "opcode/psn " $5 "/" $6 " != " $1 "/" $2 }
	else if (NF != 9) { ok = 0; why = "expert or malformed items" }
	else {
		# tshark shows the 4 ICRC bytes read big-endian; ours is
		# little-endian on the wire.
		c = $3; sw = "0x" substr(c, 9, 2) substr(c, 7, 2) substr(c, 5, 2) substr(c, 3, 2)
		if ($7 != sw) { ok = 0; why = "tshark ICRC " $7 " != " sw }
		else if ($8 != $3 || $9 != $3) { ok = 0; why = "ICRC computed apart " $8 " carried " $9 " built " $3 }
	}
	if (!ok) print "frame " NR ": " why " (" $0 ")"
}' "$RB_TMP/all")
[ -z "$bad" ] || rb_fail "$(printf '%s\n' "$bad" | head -n 10)"
rb_log "$n frames: decoded by tshark with the opcodes and PSNs built, no expert item, ICRC verified apart"
rb_pass
