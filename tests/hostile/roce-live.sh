#!/bin/sh
# Hostile packets aimed at a live RC connection across hosts
# (docs/roce.md): namespaces A and B joined by a veth, a daemon in each,
# and tests/hostile/roce-live running SENDs, WRITEs, READs and
# FETCH_AND_ADDs between a QP on A and a QP on B, every byte and value
# checked (first, once, a SEND with invalidate of a type 2 window bound
# on B: the receive must report the rkey invalidated).  Meanwhile a raw UDP sender (Python, seeded) aims at those two
# QP numbers:
#   from A's own address to B's QP (the peer's address, so past the
#   peer check): SEND, READ and FETCH_ADD requests with PSNs far ahead of
#   the window (sequence errors) and far behind it (duplicates; READs and
#   atomics no responder resource holds), malformed packets in the
#   middle of messages (a WRITE_MIDDLE whose pad exceeds its data, a
#   WRITE_FIRST whose RETH is cut, a reserved opcode) and UC/UD opcodes
#   at the RC QP;
#   from a second address on A (a spoofed source GID): SENDs and WRITEs
#   with any PSN;
#   from B's address to A's QP: ACKs, NAKs, READ responses and atomic
#   ACKs with PSNs never sent or long acknowledged.
# The live connection must finish with every byte right, each class of
# hostile packet must show under its counter (rx_seq_errors,
# rx_duplicates, rx_dup_dropped, rx_malformed, rx_unknown_qp,
# rx_wrong_peer) and both daemons keep serving.
# Needs root (network namespaces); skips (77) where they cannot be made.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/roce-lib.sh"

py=${PYTHON3:-python3}
command -v "$py" >/dev/null 2>&1 || rb_skip "python3 not found"
seed=${RB_ROCE_SEED:-18}

A=rblA$$ B=rblB$$
roce_netns "$A" "$B"
roce_veth "$A" "$B"
ip -n "$A" addr add 192.0.2.9/24 dev "va$$" || rb_fail "the spoofing address"
roce_start_daemon "$A" a
roce_start_daemon "$B" b

RB_DT_SOCKETS="$RB_TMP/a.sock $RB_TMP/b.sock" \
	"$top_builddir/tests/hostile/roce-live" "$RB_TMP/qpns" "$RB_TMP/stop" > "$RB_TMP/live.out" 2>&1 &
live=$!
ROCE_PIDS="$ROCE_PIDS $live"
for _ in $(seq 1 100); do
	[ -s "$RB_TMP/qpns" ] && break
	sleep 0.1
done
[ -s "$RB_TMP/qpns" ] || rb_fail "roce-live did not connect: $(cat "$RB_TMP/live.out")"
read -r qpa qpb < "$RB_TMP/qpns"

cat > "$RB_TMP/hostile.py" <<'PY'
import random, socket, struct, sys, time, zlib

# hostile.py SEED SRC DST QPN MODE: RoCEv2 packets with a correct ICRC
# from SRC (port 40000) to DST:4791, at QP QPN; prints "kind count".
seed, src, dst, qpn, mode = sys.argv[1:6]
rng = random.Random(int(seed) * 7 + len(mode))
qpn = int(qpn)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)      # IP_PMTUDISC_DO: DF, id 0
s.bind((src, 40000))
SRC, DST = socket.inet_aton(src), socket.inet_aton(dst)

def icrc(roce):
    ulen = 8 + len(roce) + 4
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0xff, 20 + ulen, 0, 0x4000, 0xff, 17,
                     0xffff, SRC, DST)
    udp = struct.pack('>HHHH', 40000, 4791, ulen, 0xffff)
    bth = bytearray(roce[:12])
    bth[4] = 0xff
    return struct.pack('<I', zlib.crc32(b'\xff' * 8 + ip + udp + bytes(bth) + roce[12:]))

def bth(op, psn, pad=0, ackreq=1):
    return struct.pack('>BBHII', op, pad << 4, 0xffff, qpn, (ackreq << 31) | psn)

def ahead():
    return rng.randrange(1 << 20, 1 << 23)

def behind():
    return rng.randrange((1 << 24) - (1 << 22), (1 << 24) - (1 << 20))

reth = lambda: struct.pack('>QII', rng.getrandbits(64), rng.getrandbits(32), rng.randrange(1 << 31))
atom = lambda: struct.pack('>QIQQ', rng.getrandbits(61) << 3, rng.getrandbits(32), 1, 0)
aeth = lambda syn: struct.pack('>I', (syn << 24) | rng.getrandbits(24))
counts = {}
def send(kind, p):
    s.sendto(p + icrc(p), (dst, 4791))
    counts[kind] = counts.get(kind, 0) + 1

kinds = {
    # to the responder, from its peer's address
    'peer': [
        ('seq', lambda: bth(0x04, ahead()) + b'hostile!'),
        ('seq', lambda: bth(0x0c, ahead()) + reth()),
        ('seq', lambda: bth(0x14, ahead()) + atom()),
        ('dup', lambda: bth(0x04, behind()) + b'hostile!'),
        ('dup_dropped', lambda: bth(0x0c, behind()) + reth()),
        ('dup_dropped', lambda: bth(0x13, behind()) + atom()),
        ('malformed', lambda: bth(0x07, rng.getrandbits(24), pad=3) + b'ab'),
        ('malformed', lambda: bth(0x06, rng.getrandbits(24)) + reth()[:10]),
        ('malformed', lambda: bth(0x15, rng.getrandbits(24)) + b'abcd'),
        ('unknown_qp', lambda: bth(0x21, rng.getrandbits(24)) + b'x' * 1024),
        ('unknown_qp', lambda: bth(0x64, 0) + struct.pack('>II', 0x11111111, 5) + b'ud'),
    ],
    # to the responder, from an address that is not its peer's
    'spoof': [
        ('wrong_peer', lambda: bth(0x04, rng.getrandbits(24)) + b'spoofed!'),
        ('wrong_peer', lambda: bth(0x0a, rng.getrandbits(24)) + reth() + b'spoofed!'),
    ],
    # to the requester, from its peer's address
    'resp': [
        ('late_or_never', lambda: bth(0x11, rng.choice([ahead(), behind()])) + aeth(0x1f)),
        ('late_or_never', lambda: bth(0x11, rng.choice([ahead(), behind()])) + aeth(0x62)),
        ('late_or_never', lambda: bth(0x10, rng.choice([ahead(), behind()])) + aeth(0x1f) + b'data'),
        ('late_or_never', lambda: bth(0x12, rng.choice([ahead(), behind()])) + aeth(0x1f) +
         struct.pack('>Q', 7)),
    ],
}[mode]
end = time.monotonic() + 3
while time.monotonic() < end:
    for _ in range(20):
        kind, make = rng.choice(kinds)
        send(kind, make())
    time.sleep(0.002)
for k, v in sorted(counts.items()):
    print(k, v)
PY

ip netns exec "$A" "$py" "$RB_TMP/hostile.py" "$seed" 192.0.2.1 192.0.2.2 "$qpb" peer > "$RB_TMP/sent.peer" &
p1=$!
ip netns exec "$A" "$py" "$RB_TMP/hostile.py" "$seed" 192.0.2.9 192.0.2.2 "$qpb" spoof > "$RB_TMP/sent.spoof" &
p2=$!
ip netns exec "$B" "$py" "$RB_TMP/hostile.py" "$seed" 192.0.2.2 192.0.2.1 "$qpa" resp > "$RB_TMP/sent.resp" &
p3=$!
ROCE_PIDS="$ROCE_PIDS $p1 $p2 $p3"
wait "$p1" && wait "$p2" && wait "$p3" || rb_fail "a hostile sender failed"
# The QPs' own counters, while they live: the spoofed and out-of-window
# packets were counted against the QP they aimed at.
sleep 0.5
"$RB_RDMACTL" -s "$RB_TMP/b.sock" dev stat rbsoft0 qp > "$RB_TMP/qpstat" || rb_fail "rdmactl dev stat rbsoft0 qp"
"$RB_RDMACTL" -s "$RB_TMP/b.sock" -j dev stat rbsoft0 qp > "$RB_TMP/qpstat.json" ||
	rb_fail "rdmactl -j dev stat rbsoft0 qp"
rb_log "QP $qpb on b: $(grep "^rbsoft0 qp $qpb " "$RB_TMP/qpstat")"
touch "$RB_TMP/stop"
wait "$live" || {
	cat "$RB_TMP/live.out" >&2
	tail -n 20 "$RB_TMP/a.log" "$RB_TMP/b.log" >&2
	rb_fail "the live connection failed under the hostile packets"
}
grep -q "^SEND_WITH_INV invalidated rkey" "$RB_TMP/live.out" ||
	rb_fail "no SEND_WITH_INV across hosts: $(cat "$RB_TMP/live.out")"
rb_log "live connection: $(tr '\n' ' ' < "$RB_TMP/live.out"), every byte checked"
sleep 0.5
for f in peer spoof resp; do rb_log "sent ($f): $(tr '\n' ' ' < "$RB_TMP/sent.$f")"; done
for d in a b; do rb_log "daemon $d: $("$RB_RDMACTL" -s "$RB_TMP/$d.sock" dev stat rbsoft0)"; done
sent() { awk -v k="$2" '$1 == k { print $2 }' "$RB_TMP/sent.$1"; }
atleast() {	# DAEMON COUNTER MIN
	v=$(roce_stat "$1" "$2")
	[ "${v:-0}" -ge "$3" ] || rb_fail "daemon $1: $2 = $v, want at least $3"
}
atleast b rx_seq_errors "$(sent peer seq)"
atleast b rx_duplicates "$(sent peer dup)"
atleast b rx_dup_dropped "$(sent peer dup_dropped)"
atleast b rx_malformed "$(sent peer malformed)"
atleast b rx_unknown_qp "$(sent peer unknown_qp)"
atleast b rx_wrong_peer "$(sent spoof wrong_peer)"
# Per QP, text and JSON alike.
qpline=$(grep "^rbsoft0 qp $qpb pid [0-9]*:" "$RB_TMP/qpstat") || rb_fail "no line for QP $qpb: $(cat "$RB_TMP/qpstat")"
qpv() { echo "$qpline" | awk -v k="$1" '{ for (i = 6; i < NF; i += 2) if ($i == k) print $(i + 1) }'; }
for c in rx_wrong_peer:"$(sent spoof wrong_peer)" rx_dup_dropped:"$(sent peer dup_dropped)" \
	 rx_seq_errors:"$(sent peer seq)" rx_reads:100 rx_atomics:100 rx_packets:1000 tx_packets:1000; do
	[ "$(qpv "${c%%:*}")" -ge "${c#*:}" ] || rb_fail "QP $qpb: ${c%%:*} = $(qpv "${c%%:*}"), want at least ${c#*:}"
done
"$py" - "$RB_TMP/qpstat.json" "$qpb" "$(sent spoof wrong_peer)" <<'PY' || rb_fail "rdmactl -j dev stat rbsoft0 qp: $(cat "$RB_TMP/qpstat.json")"
import json, sys
d = json.load(open(sys.argv[1]))[0]
q = [q for q in d["qps"] if q["qp_num"] == int(sys.argv[2])]
sys.exit(not (len(q) == 1 and q[0]["pid"] > 0 and
              q[0]["counters"]["rx_wrong_peer"] >= int(sys.argv[3]) and
              d["qps_truncated"] is False))
PY
v=$(( $(roce_stat a rx_wrong_peer) + $(roce_stat a rx_duplicates) ))
[ "$v" -ge "$(sent resp late_or_never)" ] ||
	rb_fail "daemon a: rx_wrong_peer + rx_duplicates = $v, want at least $(sent resp late_or_never)"
for d in a b; do
	"$RB_RDMACTL" -s "$RB_TMP/$d.sock" status > /dev/null || rb_fail "daemon $d does not answer"
done
rb_pass
