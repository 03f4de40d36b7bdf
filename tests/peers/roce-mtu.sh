#!/bin/sh
# Path MTU across hosts (docs/roce.md): two namespaces joined by a
# 1500-byte veth, a daemon in each, unmodified ibv_rc_pingpong:
#   - path MTU 1024 on both sides, 4 KiB messages: 4 packets each, every
#     frame on the veth within 1500 bytes;
#   - path MTU 4096 on both sides: more than the link carries, so each
#     QP sends and expects the largest IBTA MTU the route does (1024),
#     counted as mtu_clamped, and the data goes through;
#   - a mismatch, the server at 256 and the client at 1024: the server's
#     responder sees a first packet longer than its path MTU and NAKs it
#     as an invalid request (IBTA 9.7.5.1.6), the client's SEND completes
#     with IBV_WC_REM_INV_REQ_ERR and its pingpong fails.
# Needs root (network namespaces); skips (77) where they cannot be made.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/roce-lib.sh"

command -v ibv_rc_pingpong >/dev/null 2>&1 || rb_skip "ibv_rc_pingpong not installed (Debian ibverbs-utils)"

A=rbmA$$ B=rbmB$$
roce_netns "$A" "$B"
roce_veth "$A" "$B" 1500
roce_start_daemon "$A" a
roce_start_daemon "$B" b
wire=yes
roce_capture "$B" "vb$$" || { wire=; rb_log "tshark not found: frame sizes not checked"; }

# pp NAME SERVER_MTU CLIENT_MTU: ibv_rc_pingpong -s 4096, 50 iterations;
# sets crc and src (exit statuses), output in $RB_TMP/NAME.{server,client}.
pp() {
	roce_pair "$1" 60 "ibv_rc_pingpong -d rbsoft0 -g 0 -p @PORT@ -c -n 50 -s 4096 -m $2" \
		"ibv_rc_pingpong -d rbsoft0 -g 0 -p @PORT@ -c -n 50 -s 4096 -m $3 192.0.2.1"
}
ok() {	# NAME
	if [ "$crc" != 0 ] || [ "$src" != 0 ] || ! grep -q "^50 iters in" "$RB_TMP/$1.client"; then
		cat "$RB_TMP/$1.server" "$RB_TMP/$1.client" >&2
		rb_fail "$1: client exited $crc, server $src"
	fi
	rb_log "$1: $(grep -Eo '[0-9.]+ usec/iter' "$RB_TMP/$1.client")"
}

pp mtu1024 1024 1024
ok mtu1024
[ "$(roce_stat a mtu_clamped)" = 0 ] && [ "$(roce_stat b mtu_clamped)" = 0 ] ||
	rb_fail "path MTU 1024 fits a 1500-byte link, yet was clamped"

pp mtu4096 4096 4096
ok mtu4096
[ "$(roce_stat a mtu_clamped)" -ge 1 ] && [ "$(roce_stat b mtu_clamped)" -ge 1 ] ||
	rb_fail "path MTU 4096 on a 1500-byte link: no QP clamped ($(roce_stat a mtu_clamped), $(roce_stat b mtu_clamped))"
[ "$(roce_stat a tx_dropped)" = 0 ] && [ "$(roce_stat b tx_dropped)" = 0 ] ||
	rb_fail "packets too large for the link were dropped"

naks=$(roce_stat a tx_acks)
pp mismatch 256 1024
if [ "$crc" = 0 ] || ! grep -q "remote invalid request error" "$RB_TMP/mismatch.client"; then
	cat "$RB_TMP/mismatch.server" "$RB_TMP/mismatch.client" >&2
	rb_fail "path MTU 256 against 1024: the client should fail with a remote invalid request error"
fi
[ "$(roce_stat b rx_naks)" -ge 1 ] && [ "$(roce_stat a tx_acks)" -gt "$naks" ] ||
	rb_fail "the mismatch was not NAKed (server tx_acks $(roce_stat a tx_acks), client rx_naks $(roce_stat b rx_naks))"
rb_log "mismatch: $(grep -m1 "remote invalid request" "$RB_TMP/mismatch.client")"

if [ -n "$wire" ]; then
	roce_wire_check $(seq 0 20) 22 23
	big=$(HOME=$RB_TMP tshark -r "$RB_TMP/wire.pcap" -T fields -e frame.len 2>/dev/null | sort -n | tail -n 1)
	[ "$big" -le 1514 ] || rb_fail "a frame of $big bytes on a 1500-byte link"
	rb_log "the wire: $ROCE_WIRE_N packets decoded, ICRCs verified, the largest frame $big bytes"
fi
rb_pass
