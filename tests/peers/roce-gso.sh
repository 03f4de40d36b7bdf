#!/bin/sh
# UDP GSO and GRO across hosts (docs/roce.md, "Sending with GSO"): a run
# of same-size RoCE packets (a message's MIDDLE packets and its LAST)
# leaves in one send with UDP_SEGMENT, and a datagram the kernel put
# together is cut again at its gso_size (UDP_GRO).  Over IPv4 the
# kernel numbers the segments' identification 0, 1, 2, ..., which the
# ICRC covers: the sender makes segment k's ICRC for k, the receiver
# tries k (docs/roce.md, "The IPv4 identification field").
# Two namespaces, a veth, one daemon in each; unmodified
# ibv_rc_pingpong -c (64 KiB SENDs, data checked) and ib_write_bw (64 KiB
# WRITEs) over the IPv6 GIDs and over the IPv4 GIDs, twice:
#  1. the veth cutting GSO sends in software (roce_no_uso, as a device
#     without the offload) and tshark capturing: every frame one RoCE
#     packet that Wireshark decodes with no expert item, every ICRC
#     right as computed from the captured IP header (roce-icrc.py, so an
#     IPv4 segment's with its real identification), IPv4 frames with
#     identifications past 0 among them, and the senders counted GSO
#     sends (tx_gso) and the receivers IPv4 segments (rx_ipv4_gso);
#  2. the veth's default offload on, no capture: the GSO datagram
#     crosses whole, the receivers took datagrams of several packets
#     (rx_gro) and cut them, the data still right.
# No ICRC error, malformed packet or sequence error anywhere.
# Needs root (network namespaces); skips (77) where they cannot be made.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/roce-lib.sh"

command -v ibv_rc_pingpong >/dev/null 2>&1 || rb_skip "ibv_rc_pingpong not installed (Debian ibverbs-utils)"

A=rbgA$$ B=rbgB$$
roce_two_hosts "$A" "$B"
# IPv6 addresses come with nodad, but the GID table follows netlink.
for _ in $(seq 1 50); do
	g6a=$(roce_gid_index "$A" a fd00:77::1) g6b=$(roce_gid_index "$B" b fd00:77::2)
	[ -n "$g6a" ] && [ -n "$g6b" ] && break
	sleep 0.1
done
g4a=$(roce_gid_index "$A" a ::ffff:192.0.2.1) g4b=$(roce_gid_index "$B" b ::ffff:192.0.2.2)
[ -n "$g6a" ] && [ -n "$g6b" ] && [ -n "$g4a" ] && [ -n "$g4b" ] || rb_fail "no IPv6 or IPv4 GID on a daemon"

# both NAME GID_A GID_B PROGRAM ARGS...: server in A, client in B (whose
# TCP exchange goes to 192.0.2.1); both must exit 0.
both() {
	name=$1 ga=$2 gb=$3
	shift 3
	roce_pair "$name" 60 "$* -d rbsoft0 -$GOPT $ga -p @PORT@" \
		"$* -d rbsoft0 -$GOPT $gb -p @PORT@ 192.0.2.1"
	if [ "$crc" != 0 ] || [ "$src" != 0 ] || grep -q "invalid data" "$RB_TMP/$name.client" "$RB_TMP/$name.server"; then
		cat "$RB_TMP/$name.server" "$RB_TMP/$name.client" >&2
		tail -n 20 "$RB_TMP/a.log" "$RB_TMP/b.log" >&2
		rb_fail "$name: client exited $crc, server $src"
	fi
}
# 64 KiB SENDs, 64 packets each at -m 1024, the data checked (-c).
pingpong() {	# NAME GID_A GID_B
	GOPT=g both "$1" "$2" "$3" ibv_rc_pingpong -s 65536 -m 1024 -n 100 -c
	grep -q "^100 iters in" "$RB_TMP/$1.client" || rb_fail "$1: no summary: $(cat "$RB_TMP/$1.client")"
	rb_log "$1: $(grep -Eo '[0-9.]+ Mbit/sec' "$RB_TMP/$1.client")"
}
writebw() {	# NAME GID_A GID_B
	if ! command -v ib_write_bw >/dev/null 2>&1; then
		rb_log "$1: ib_write_bw not installed (Debian perftest): skipped"
		return 0
	fi
	GOPT=x both "$1" "$2" "$3" ib_write_bw -c RC -m 1024 -s 65536 -n 500
	grep -Eq '^ *65536 +500 ' "$RB_TMP/$1.client" || rb_fail "$1: no result: $(cat "$RB_TMP/$1.client")"
	rb_log "$1: $(grep -E '^ *65536 +500 ' "$RB_TMP/$1.client" | awk '{ print $4 " MB/s" }')"
}
stat2() {	# COUNTER: its sum over both daemons
	echo $(( $(roce_stat a "$1") + $(roce_stat b "$1") ))
}
clean() {	# no packet lost or refused on a clean link
	for c in rx_icrc_errors rx_malformed rx_unknown_qp rx_seq_errors tx_dropped; do
		[ "$(stat2 $c)" = 0 ] || rb_fail "$1: $c $(roce_stat a $c) and $(roce_stat b $c)"
	done
}

# 1. Cut before the wire, captured.
wire=yes
roce_capture "$B" "vb$$" || { wire=; roce_no_uso; rb_log "tshark not found: the wire is not checked (scripts/deps.sh installs it)"; }
pingpong rc-ipv6-cut "$g6a" "$g6b"
writebw write-ipv6-cut "$g6a" "$g6b"
clean "IPv6, cut on the veth"
gso6=$(stat2 tx_gso)
[ "$gso6" -gt 0 ] || rb_fail "no GSO send over IPv6 (tx_gso 0)"
[ "$(stat2 rx_ipv4_gso)" = 0 ] || rb_fail "IPv4 segments counted over IPv6: rx_ipv4_gso $(stat2 rx_ipv4_gso)"
pingpong rc-ipv4-cut "$g4a" "$g4b"
writebw write-ipv4-cut "$g4a" "$g4b"
clean "IPv4, cut on the veth"
gso1=$(stat2 tx_gso)
[ "$gso1" -gt "$gso6" ] || rb_fail "no GSO send over IPv4 (tx_gso $gso6 before, $gso1 after)"
seg4=$(stat2 rx_ipv4_gso)
[ "$seg4" -gt 0 ] || rb_fail "no IPv4 segment of identification past 0 taken (rx_ipv4_gso 0)"
if [ -n "$wire" ]; then
	sleep 0.5
	# RC SEND FIRST/MIDDLE/LAST (0-2), WRITE FIRST/MIDDLE/LAST/ONLY
	# (6-8, 10), ACK (17).
	roce_wire_check 0 1 2 4 6 7 8 10 17
	big=$(HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -T fields -e frame.len 2>/dev/null | awk '$1 > 1514' | wc -l)
	[ "$big" = 0 ] || rb_fail "$big frames over 1514 bytes on the veth: a GSO datagram was not cut"
	[ "$ROCE_WIRE_N" -ge 12800 ] || rb_fail "only $ROCE_WIRE_N packets captured"
	# The IPv4 frames' identifications as the kernel wrote them: 0 for
	# a packet sent alone, 0, 1, 2, ... for a GSO send's segments.
	HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -Y ip -T fields -e ip.id 2>/dev/null |
		sort | uniq -c | sort -k2 > "$RB_TMP/ipids"
	n4=$(awk '{ n += $1 } END { print n + 0 }' "$RB_TMP/ipids")
	past0=$(awk '$2 != "0x0000" && $2 != "0" { n += $1 } END { print n + 0 }' "$RB_TMP/ipids")
	[ "$past0" -gt 0 ] || rb_fail "no IPv4 frame with an identification past 0: $(cat "$RB_TMP/ipids")"
	rb_log "the wire: $ROCE_WIRE_N RoCEv2 packets, one a frame, decoded by tshark, every ICRC verified; $gso1 GSO sends; $n4 IPv4 frames, $past0 of them with identifications past 0 ($(wc -l < "$RB_TMP/ipids") values)"
fi
[ "$(stat2 rx_gro)" = 0 ] || rb_fail "a datagram of several packets arrived through a veth that cuts them: rx_gro $(stat2 rx_gro)"

# 2. The veth's offload on: the GSO datagram crosses whole.
for n in "$A:va$$" "$B:vb$$"; do
	ip netns exec "${n%%:*}" ethtool -K "${n#*:}" tx-udp-segmentation on > /dev/null 2>&1 ||
		rb_fail "ethtool -K ${n#*:} tx-udp-segmentation on"
done
pingpong rc-ipv6-whole "$g6a" "$g6b"
writebw write-ipv6-whole "$g6a" "$g6b"
clean "IPv6, whole through the veth"
gro=$(stat2 rx_gro)
[ "$gro" -gt 0 ] || rb_fail "no datagram of several packets taken (rx_gro 0)"
pingpong rc-ipv4-whole "$g4a" "$g4b"
writebw write-ipv4-whole "$g4a" "$g4b"
clean "IPv4, whole through the veth"
gro4=$(stat2 rx_gro)
[ "$gro4" -gt "$gro" ] || rb_fail "no IPv4 datagram of several packets taken (rx_gro $gro before, $gro4 after)"
[ "$(stat2 rx_ipv4_gso)" -gt "$seg4" ] || rb_fail "no IPv4 segment past 0 taken whole (rx_ipv4_gso $seg4)"
rb_log "$(( $(stat2 tx_gso) - gso1 )) GSO sends, $gro4 taken whole and cut ($((gro4 - gro)) over IPv4); rx_ipv4_gso $(stat2 rx_ipv4_gso)"

for d in a b; do
	rb_log "daemon $d: $("$RB_RDMACTL" -s "$RB_TMP/$d.sock" dev stat rbsoft0)"
done
rb_pass
