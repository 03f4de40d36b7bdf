#!/bin/sh
# Hostile packets on the soft device's RoCEv2 port (docs/roce.md): a
# daemon in one network namespace, a raw UDP sender (Python) in another,
# joined by a veth.  The sender sends, to UDP 4791, in this order:
#   - 300 datagrams of random bytes and lengths 0..1399 (seeded);
#   - 100 well-formed UD SEND_ONLY packets with one payload bit flipped
#     (ICRC wrong);
#   - 50 packets with a correct ICRC but no valid header: an unknown
#     opcode, a reserved one, TVer 1, a pad longer than the data, an ACK
#     with data;
#   - 60 correct UD SEND_ONLY, 20 UC and 40 RC SEND_ONLY packets to QP
#     numbers that do not exist (spoofed QPNs).
# `rdmactl -j dev stat` must then show exactly that many packets in and
# each class under its counter (rx_icrc_errors, rx_malformed,
# rx_unknown_qp), nothing delivered or answered, and the daemon
# still serving (rdmactl status, ibv_devinfo).  Needs root (network
# namespaces); skips (77) where they cannot be made.
. "$top_srcdir/tests/lib/lib.sh"

command -v ip >/dev/null 2>&1 || rb_skip "ip (iproute2) not installed"
[ "$(id -u)" = 0 ] || rb_skip "network namespaces need root"
py=${PYTHON3:-python3}
command -v "$py" >/dev/null 2>&1 || rb_skip "python3 not found"
seed=${RB_ROCE_SEED:-18}

A=rbgA$$ B=rbgB$$
ip netns add "$A" 2>"$RB_TMP/netns.err" || rb_skip "cannot create a network namespace: $(cat "$RB_TMP/netns.err")"
garbage_cleanup() {
	rb_cleanup_daemon=${RB_DAEMON_PID:-}
	if [ -n "$rb_cleanup_daemon" ]; then
		kill -TERM "$rb_cleanup_daemon" 2>/dev/null
		wait "$rb_cleanup_daemon" 2>/dev/null
		RB_DAEMON_PID=
	fi
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rb_cleanup
}
trap garbage_cleanup EXIT
ip netns add "$B" || rb_fail "second namespace"
ip link add "ga$$" type veth peer name "gb$$" || rb_skip "cannot create a veth pair"
ip link set "ga$$" netns "$A" && ip link set "gb$$" netns "$B" || rb_fail "moving the veth ends"
ip -n "$A" link set lo up && ip -n "$A" addr add 198.51.100.1/24 dev "ga$$" &&
	ip -n "$A" link set "ga$$" up &&
	ip -n "$B" link set lo up && ip -n "$B" addr add 198.51.100.2/24 dev "gb$$" &&
	ip -n "$B" link set "gb$$" up || rb_fail "configuring the veth"

RB_DAEMON_WRAPPER="ip netns exec $A ${RB_DAEMON_WRAPPER:-}"
rb_daemon_start
grep -q 'RoCEv2 on UDP port 4791' "$RB_LOG" || rb_fail "the daemon is not on UDP 4791"

ip netns exec "$B" "$py" - "$seed" > "$RB_TMP/sent" <<'PY' || rb_fail "the sender failed"
import random, socket, struct, sys, zlib

rng = random.Random(int(sys.argv[1]))
SRC, DST, SPORT = bytes([198, 51, 100, 2]), bytes([198, 51, 100, 1]), 40000
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)      # IP_MTU_DISCOVER = IP_PMTUDISC_DO: DF, id 0
s.bind(('198.51.100.2', SPORT))

def icrc(roce):
    # A17: 64 one-bits, the IPv4 header (TOS, TTL, checksum masked), the
    # UDP header (checksum masked), the BTH (resv8a masked), the rest.
    ulen = 8 + len(roce) + 4
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0xff, 20 + ulen, 0, 0x4000, 0xff, 17,
                     0xffff, SRC, DST)
    udp = struct.pack('>HHHH', SPORT, 4791, ulen, 0xffff)
    bth = bytearray(roce[:12])
    bth[4] = 0xff
    return struct.pack('<I', zlib.crc32(b'\xff' * 8 + ip + udp + bytes(bth) + roce[12:]))

def bth(op, qpn, psn=0, pad=0, tver=0):
    return struct.pack('>BBHII', op, (pad << 4) | tver, 0xffff, qpn, psn)

def ud(qpn, data=b'hostile!'):
    return bth(0x64, qpn) + struct.pack('>II', 0x11111111, 0x99) + data

counts = {'random': 0, 'icrc': 0, 'malformed': 0, 'unknown_qp': 0}
def send(b, kind):
    s.sendto(b, ('198.51.100.1', 4791))
    counts[kind] += 1

for _ in range(300):
    send(bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 1400))), 'random')
for i in range(100):
    p = bytearray(ud(0x100 + i) + b'x' * 4)
    p = bytes(p) + icrc(bytes(p))
    p = bytearray(p)
    p[24] ^= 1 << (i % 8)                   # a payload bit: the ICRC is wrong
    send(bytes(p), 'icrc')
bad = [
    bth(0x15, 0x100) + b'abcd',             # reserved RC opcode
    bth(0x40, 0x100) + b'abcd',             # RD: not spoken
    bth(0xff, 0x100),                       # unknown
    bth(0x04, 0x100, tver=1) + b'abcd',     # TVer 1
    bth(0x04, 0x100, pad=3) + b'ab',        # pad longer than the data
    bth(0x11, 0x100) + b'\0\0\0\0' + b'data',   # ACK with data
    bth(0x64, 0x100)[:12] + b'\0\0',        # DETH cut short
    bth(0x13, 0x100) + b'\0' * 20,          # AtomicETH cut short
    bth(0x0a, 0x100) + b'\0' * 8,           # RETH cut short
    bth(0x12, 0x100) + b'\0' * 4,           # AtomicAckETH missing
]
for i in range(50):
    p = bad[i % len(bad)]
    send(p + icrc(p), 'malformed')
for i in range(60):
    p = ud(0xfff000 + i)                    # no such QP
    send(p + icrc(p), 'unknown_qp')
for i in range(20):
    p = bth(0x24, 0xfff100 + i, psn=i) + b'datadata'   # UC SEND_ONLY, no such QP
    send(p + icrc(p), 'unknown_qp')
for i in range(40):
    p = bth(0x04, 0xfff200 + i, psn=i) + b'datadata'   # RC SEND_ONLY, no such QP
    send(p + icrc(p), 'unknown_qp')
for k, v in counts.items():
    print(k, v)
PY

sent() { awk -v k="$1" '$1 == k { print $2 }' "$RB_TMP/sent"; }
total=$(awk '{ n += $2 } END { print n }' "$RB_TMP/sent")
# The datagrams are on their way: wait until the daemon counted them all.
for _ in $(seq 1 100); do
	"$RB_RDMACTL" -j dev stat rbsoft0 > "$RB_TMP/stat.json" || rb_fail "rdmactl dev stat failed"
	got=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["counters"]["rx_packets"])' "$RB_TMP/stat.json")
	[ "$got" -ge "$total" ] && break
	sleep 0.1
done
rb_log "sent $(tr '\n' ' ' < "$RB_TMP/sent")"
rb_log "counters: $("$RB_RDMACTL" dev stat rbsoft0)"
"$py" - "$RB_TMP/stat.json" "$(sent random)" "$(sent icrc)" "$(sent malformed)" \
	"$(sent unknown_qp)" <<'PY' || rb_fail "the counters do not add up"
import json, sys
c = json.load(open(sys.argv[1]))[0]["counters"]
rnd, icrc, mal, unk = map(int, sys.argv[2:])
errs = []
def want(k, v):
    if c[k] != v:
        errs.append("%s = %d, want %d" % (k, c[k], v))
want("rx_packets", rnd + icrc + mal + unk)
# Random bytes fail the ICRC (or, shorter than a BTH and an ICRC, the
# parser); a random 32-bit CRC matching is a 1 in 4 billion chance.
if c["rx_icrc_errors"] + c["rx_malformed"] != rnd + icrc + mal:
    errs.append("icrc %d + malformed %d != %d" % (c["rx_icrc_errors"], c["rx_malformed"],
                                                   rnd + icrc + mal))
if c["rx_malformed"] < mal:
    errs.append("rx_malformed %d < %d" % (c["rx_malformed"], mal))
want("rx_unknown_qp", unk)
want("rx_unsupported", 0)
want("tx_acks", 0)
want("rx_qkey_errors", 0)
want("rx_no_recv", 0)
want("tx_packets", 0)
if errs:
    print("\n".join(errs))
    sys.exit(1)
PY
rb_daemon_alive || rb_fail "the daemon died"
"$RB_RDMACTL" status > /dev/null || rb_fail "the daemon does not answer rdmactl"
if command -v ibv_devinfo >/dev/null 2>&1; then
	ip netns exec "$A" "$RB_RUN" ibv_devinfo -d rbsoft0 > "$RB_TMP/devinfo" 2>&1 ||
		rb_fail "ibv_devinfo after the packets: $(cat "$RB_TMP/devinfo")"
fi
rb_daemon_stop
rb_pass
