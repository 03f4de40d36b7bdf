#!/bin/sh
# The soft device across hosts (docs/roce.md): two network namespaces
# joined by a veth pair (1500 bytes), one rdmabrokerd in each, and
# unmodified rdma-core pingpongs (Debian ibverbs-utils) with the server
# in one namespace and the client in the other, under rdmab-run, -g the
# GID index of the address (read from ibv_devinfo -v, as a user would):
#   ibv_ud_pingpong -s 1024 over the IPv4 GID and over the IPv6 GID;
#   ibv_uc_pingpong -s 4096 -m 1024 (four packets a message), and -s 1
#   -m 256 over IPv6;
#   ibv_rc_pingpong -s 4096 -m 1024 over IPv4, -s 64 -m 256 -e over
#   IPv6, ibv_srq_pingpong -q 4 -s 2048 -m 1024, and 1 MiB RC messages;
#   perftest's ib_write_bw over RC and UC (64 KiB WRITEs).
# Both sides must exit 0 with their summary and check the data (-c).
# Everything on the veth is captured (tshark) and must be RoCEv2 that
# Wireshark decodes with no malformed packet or expert item, UD SEND_ONLY
# only, and every ICRC must match the one computed apart from the real
# IP/UDP headers captured (tests/unit/roce-icrc.py).
# docs/roce.md says what of the transports is built.
# Needs root (network namespaces); skips (77) where they cannot be made.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/roce-lib.sh"

command -v ibv_ud_pingpong >/dev/null 2>&1 || rb_skip "ibv_ud_pingpong not installed (Debian ibverbs-utils)"
py=${PYTHON3:-python3}

A=rbA$$ B=rbB$$
roce_netns "$A" "$B"
CAPTURE=
roce_cleanup_hook() { [ -z "$CAPTURE" ] || { kill -TERM "$CAPTURE" 2>/dev/null; wait "$CAPTURE" 2>/dev/null; }; }
ip link add "va$$" type veth peer name "vb$$" || rb_skip "cannot create a veth pair"
ip link set "va$$" netns "$A" && ip link set "vb$$" netns "$B" || rb_fail "moving the veth ends"
for ns in "$A:va$$:1" "$B:vb$$:2"; do
	n=${ns%%:*} rest=${ns#*:}
	dev=${rest%%:*} i=${rest#*:}
	ip -n "$n" link set lo up &&
	ip -n "$n" addr add "192.0.2.$i/24" dev "$dev" &&
	ip -n "$n" addr add "fd00:77::$i/64" dev "$dev" nodad &&
	ip -n "$n" link set "$dev" up || rb_fail "configuring $dev in $n"
done

roce_start_daemon "$A" a debug
roce_start_daemon "$B" b debug
grep -q 'RoCEv2 on UDP port 4791' "$RB_TMP/a.log" && grep -q 'RoCEv2 on UDP port 4791' "$RB_TMP/b.log" ||
	rb_fail "a daemon is not on UDP 4791: $(grep -h RoCE "$RB_TMP"/?.log)"

if command -v tshark >/dev/null 2>&1; then
	roce_no_uso	# one frame a RoCE packet, as on a wire (roce-lib.sh)
	HOME=$RB_TMP ip netns exec "$B" tshark -q -i "vb$$" -f "udp port 4791" \
		-w "$RB_TMP/wire.pcap" -F pcap > "$RB_TMP/capture.log" 2>&1 &
	CAPTURE=$!
	for _ in $(seq 1 100); do
		grep -q "Capturing on" "$RB_TMP/capture.log" && break
		sleep 0.1
	done
	grep -q "Capturing on" "$RB_TMP/capture.log" || rb_fail "tshark did not start: $(cat "$RB_TMP/capture.log")"
else
	rb_log "tshark not found: the wire is not checked (scripts/deps.sh installs it)"
fi

# run NAME ITERS GIDADDR_A GIDADDR_B SERVERADDR PROGRAM ARGS...
run() {
	name=$1 iters=$2 ga=$3 gb=$4 srv=$5 prog=$6
	shift 6
	gia=$(roce_gid_index "$A" a "$ga") gib=$(roce_gid_index "$B" b "$gb")
	[ -n "$gia" ] && [ -n "$gib" ] ||
		rb_fail "$name: no GID for $ga in $A or $gb in $B: $(cat "$RB_TMP/devinfo.a" "$RB_TMP/devinfo.b" | grep GID)"
	roce_pair "$name" 60 "$prog -d rbsoft0 -g $gia -p @PORT@ -c -n $iters $*" \
		"$prog -d rbsoft0 -g $gib -p @PORT@ -c -n $iters $* $srv"
	if [ "$crc" != 0 ] || [ "$src" != 0 ] ||
	   ! grep -q "^$iters iters in" "$RB_TMP/$name.client" ||
	   ! grep -q "^$iters iters in" "$RB_TMP/$name.server" ||
	   grep -q "invalid data" "$RB_TMP/$name.client" "$RB_TMP/$name.server"; then
		echo "---- server (GID $gia) ----" >&2; cat "$RB_TMP/$name.server" >&2
		echo "---- client (GID $gib) ----" >&2; cat "$RB_TMP/$name.client" >&2
		tail -n 20 "$RB_TMP/a.log" "$RB_TMP/b.log" >&2
		rb_fail "$name: client exited $crc, server $src"
	fi
	rb_log "$name (GIDs $gia/$gib): $(grep -Eo '[0-9.]+ usec/iter' "$RB_TMP/$name.client")"
}

run ud-ipv4 500 ::ffff:192.0.2.1 ::ffff:192.0.2.2 192.0.2.1 ibv_ud_pingpong -s 1024
# The pingpongs' own TCP exchange listens on IPv4 only: the IPv6 run
# reaches the server by its IPv4 address, the RDMA traffic by IPv6 GIDs.
run ud-ipv6 500 fd00:77::1 fd00:77::2 192.0.2.1 ibv_ud_pingpong -s 1024
# UC: 4096-byte SENDs in 1024-byte packets (FIRST, MIDDLE, LAST).
run uc-ipv4 500 ::ffff:192.0.2.1 ::ffff:192.0.2.2 192.0.2.1 ibv_uc_pingpong -s 4096 -m 1024
run uc-ipv6-small 500 fd00:77::1 fd00:77::2 192.0.2.1 ibv_uc_pingpong -s 1 -m 256

# RC: SENDs ACKed message by message, 4 packets each at -m 1024; -e
# sleeps on completion events; SRQ: 4 QPs on one SRQ.
run rc-ipv4 500 ::ffff:192.0.2.1 ::ffff:192.0.2.2 192.0.2.1 ibv_rc_pingpong -s 4096 -m 1024
run rc-ipv6-events 300 fd00:77::1 fd00:77::2 192.0.2.1 ibv_rc_pingpong -s 64 -m 256 -e
run srq-ipv4 300 ::ffff:192.0.2.1 ::ffff:192.0.2.2 192.0.2.1 ibv_srq_pingpong -q 4 -s 2048 -m 1024
# 1 MiB messages: 1024 packets each, paced by the RC window.
run rc-1mib 20 ::ffff:192.0.2.1 ::ffff:192.0.2.2 192.0.2.1 ibv_rc_pingpong -s 1048576 -m 1024

# WRITEs (RETH, FIRST/MIDDLE/LAST): perftest's ib_write_bw over RC and
# UC, both sides must exit 0 and report their bandwidth.
perf() {	# NAME PROGRAM ARGS...
	name=$1
	shift
	if ! command -v "$1" >/dev/null 2>&1; then
		rb_log "$name: $1 not installed (Debian perftest): skipped"
		return 0
	fi
	roce_pair "$name" 60 "$* -d rbsoft0 -x 0 -p @PORT@" "$* -d rbsoft0 -x 0 -p @PORT@ 192.0.2.1"
	if [ "$crc" != 0 ] || [ "$src" != 0 ] || ! grep -Eq '^ *65536 +200 ' "$RB_TMP/$name.client"; then
		cat "$RB_TMP/$name.server" "$RB_TMP/$name.client" >&2
		rb_fail "$name: client exited $crc, server $src"
	fi
	rb_log "$name: $(grep -E '^ *65536 +200 ' "$RB_TMP/$name.client" | awk '{ print $4 " MB/s" }')"
}
perf write-bw-rc ib_write_bw -c RC -m 1024 -s 65536 -n 200
perf write-bw-uc ib_write_bw -c UC -m 1024 -s 65536 -n 200

for d in a b; do
	grep -q 'GID\[[0-9]*\] fd00:77::' "$RB_TMP/$d.log" || rb_fail "daemon $d listed no IPv6 GID"
	# Each side sent and took at least its 3500 packets (UD 2 x 500,
	# UC 500 x 4 and 500 x 1), and took
	# every packet it was sent: nothing dropped on a clean link.  A
	# packet still on its way when a pair ends (an ACK, the last of a
	# stream) finds its QP destroyed and counts as rx_unknown_qp, as on
	# any RoCE network: up to one a pair (10 pairs) is teardown; QP
	# numbers sent wrong would make it thousands.
	# The UC WRITE stream may overrun its receiver (UC has no flow
	# control): a sequence error is allowed for each packet the kernel
	# dropped on the way (roce_kernel_drops), none otherwise.  Both
	# namespaces count: a veth whose peer's queue is full counts the
	# drop as the sender's tx_dropped, a full socket buffer in the
	# receiver's.
	full=$(( $(roce_kernel_drops "$A") + $(roce_kernel_drops "$B") ))
	c=$("$RB_RDMACTL" -s "$RB_TMP/$d.sock" dev stat rbsoft0) || rb_fail "rdmactl dev stat on $d"
	rb_log "daemon $d: $c; packets the kernel dropped on the way: $full"
	echo "$c" | awk -v full="$full" '{ for (i = 2; i < NF; i += 2) v[$i] = $(i + 1) }
		END { exit !(v["rx_packets"] >= 3500 && v["tx_packets"] >= 3500 &&
			     v["rx_icrc_errors"] == 0 && v["rx_malformed"] == 0 &&
			     v["rx_unknown_qp"] <= 10 && v["tx_dropped"] == 0 &&
			     v["rx_seq_errors"] <= full && v["rx_no_recv"] == 0) }' ||
		rb_fail "daemon $d's counters: $c"
done

if [ -n "$CAPTURE" ]; then
	sleep 1
	kill -INT "$CAPTURE"
	wait "$CAPTURE"
	CAPTURE=
	HOME=$RB_TMP tshark --disable-protocol rpcordma -r "$RB_TMP/wire.pcap" -T fields -E separator=' ' \
		-e frame.protocols -e infiniband.bth.opcode -e _ws.expert -e _ws.malformed \
		> "$RB_TMP/decoded" 2>"$RB_TMP/tshark.err" || rb_fail "tshark -r: $(cat "$RB_TMP/tshark.err")"
	n=$(wc -l < "$RB_TMP/decoded")
	# UD 2 x 1000 packets, UC 1000 x 4 and 1000 x 1, RC and SRQ more.
	[ "$n" -ge 7000 ] || rb_fail "only $n packets captured on the veth"
	# UD SEND_ONLY (100); UC SEND FIRST/MIDDLE/LAST/ONLY (32, 33, 34,
	# 36) and RDMA WRITE FIRST/MIDDLE/LAST/ONLY (38, 39, 40, 42); RC the
	# same (0, 1, 2, 4, 6, 7, 8, 10) and ACKNOWLEDGE (17).
	bad=$(awk 'BEGIN { split("0 1 2 4 6 7 8 10 17 32 33 34 36 38 39 40 42 100", l)
			   for (i in l) ok[l[i]] = 1 }
		$1 !~ /:infiniband/ || !($2 in ok) || NF != 2' "$RB_TMP/decoded" | head -n 5)
	[ -z "$bad" ] || rb_fail "packets Wireshark does not take as our SENDs and ACKs without expert items: $bad"
	"$py" "$top_srcdir/tests/unit/roce-icrc.py" "$RB_TMP/wire.pcap" > "$RB_TMP/icrc" ||
		rb_fail "roce-icrc.py failed"
	[ "$(wc -l < "$RB_TMP/icrc")" -eq "$n" ] || rb_fail "roce-icrc.py read $(wc -l < "$RB_TMP/icrc") of $n packets"
	bad=$(awk '$1 != $2' "$RB_TMP/icrc" | head -n 5)
	[ -z "$bad" ] || rb_fail "ICRC computed apart from the captured headers differs (computed carried): $bad"
	rb_log "the wire: $n RoCEv2 packets decoded by tshark, no expert item, every ICRC verified"
fi
rb_pass
