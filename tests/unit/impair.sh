#!/bin/sh
# tests/lib/impair, the impaired link of the cross-host tests: three
# network namespaces A - R - B, the bridge in R, numbered UDP datagrams to
# port 4791 from A to B (IPv4 and IPv6).  What B receives must be what the
# bridge says it did, exactly: sent - dropped + duplicated datagrams, as
# many damaged payloads as it corrupted (the UDP checksum made right, so
# they arrive), some out of order; the same seed gives the same counts;
# TCP and other ports pass untouched.  Needs root and network namespaces.
. "$top_srcdir/tests/lib/lib.sh"

IMPAIR=$top_builddir/tests/lib/impair
[ "$(id -u)" = 0 ] || rb_skip "needs root (network namespaces)"
command -v ip >/dev/null || rb_skip "no ip(8) (iproute2)"
command -v python3 >/dev/null || rb_skip "no python3"
ns=rbimp$$
ip netns add "${ns}a" 2>"$RB_TMP/ns.err" || rb_skip "cannot create a network namespace: $(cat "$RB_TMP/ns.err")"
imp_pid=
imp_cleanup() {
	[ -n "$imp_pid" ] && kill -KILL "$imp_pid" 2>/dev/null
	for n in a r b; do ip netns del "$ns$n" 2>/dev/null; done
	rb_cleanup
}
trap imp_cleanup EXIT
ip netns add "${ns}r" && ip netns add "${ns}b" || rb_fail "ip netns add"
A="ip netns exec ${ns}a"; R="ip netns exec ${ns}r"; B="ip netns exec ${ns}b"
ip link add a0 netns "${ns}a" type veth peer name ra netns "${ns}r" &&
ip link add b0 netns "${ns}b" type veth peer name rb netns "${ns}r" ||
	rb_fail "cannot create the veth pairs"
$A ip addr add 10.77.0.1/24 dev a0 && $A ip addr add fd77::1/64 dev a0 nodad &&
$B ip addr add 10.77.0.2/24 dev b0 && $B ip addr add fd77::2/64 dev b0 nodad &&
for n in a b; do ip netns exec "$ns$n" ip link set lo up && ip netns exec "$ns$n" ip link set "${n}0" up; done &&
$R ip link set ra up && $R ip link set rb up || rb_fail "cannot set the addresses up"

cat > "$RB_TMP/udp.py" <<'PY'
import socket, sys, time, hashlib, json
role, fam, addr, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
af = socket.AF_INET6 if fam == "6" else socket.AF_INET
def body(i):
    return i.to_bytes(4, "big") + hashlib.sha256(i.to_bytes(4, "big")).digest() * 8
if role == "recv":
    s = socket.socket(af, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    # The first datagram may wait for two Python start-ups on a loaded
    # machine; after it, 1.5 s of silence ends the run.
    s.bind((addr, 4791)); s.settimeout(30)
    got, bad, late, top = 0, set(), 0, -1
    print("ready", flush=True)
    try:
        while True:
            d, _ = s.recvfrom(4096)
            i = int.from_bytes(d[:4], "big")
            got += 1
            s.settimeout(1.5)
            if d != body(i):
                bad.add(d[:4])  # the sequence number itself may be hit
                continue
            if i < top:
                late += 1
            top = max(top, i)
    except socket.timeout:
        pass
    print(json.dumps({"got": got, "bad": len(bad), "late": late}))
elif role == "warm":
    s = socket.socket(af, socket.SOCK_DGRAM)
    s.sendto(b"x", (addr, 9)); time.sleep(0.3)
else:
    s = socket.socket(af, socket.SOCK_DGRAM)
    for i in range(count):
        s.sendto(body(i), (addr, 4791))
        if i % 50 == 49:
            time.sleep(0.002)
PY

# The bridge has its sockets open (its first line), or 10 s passed.
impair_up() {
	for _ in $(seq 1 100); do
		grep -q '^impair: ' "$RB_TMP/impair.out" 2>/dev/null && return 0
		kill -0 "$imp_pid" 2>/dev/null || rb_fail "impair exited: $(cat "$RB_TMP/impair.out")"
		sleep 0.1
	done
	rb_fail "impair did not start in 10 s: $(cat "$RB_TMP/impair.out")"
}

# run SEED FAMILY DEST COUNT LOSS DUP REORDER CORRUPT: B's and impair's counts
run() {
	rm -f "$RB_TMP/stats" "$RB_TMP/recv.out"
	$R "$IMPAIR" -a ra -b rb -s "$1" -l "$5" -d "$6" -r "$7" -c "$8" -o "$RB_TMP/stats" \
		> "$RB_TMP/impair.out" 2>&1 &
	imp_pid=$!
	impair_up
	$B python3 "$RB_TMP/udp.py" recv "$2" "$( [ "$2" = 6 ] && echo :: || echo 0.0.0.0)" 0 > "$RB_TMP/recv.out" &
	rpid=$!
	for _ in $(seq 1 50); do grep -q ready "$RB_TMP/recv.out" 2>/dev/null && break; sleep 0.1; done
	# Neighbour discovery first (a datagram to another port), so that no
	# counted datagram waits on it.
	$A python3 "$RB_TMP/udp.py" warm "$2" "$3" 0 || rb_fail "sending failed"
	$A python3 "$RB_TMP/udp.py" send "$2" "$3" "$4" || rb_fail "sending failed"
	wait "$rpid"
	kill -TERM "$imp_pid"; wait "$imp_pid"; imp_pid=
	[ -s "$RB_TMP/stats" ] || rb_fail "impair wrote no counts: $(cat "$RB_TMP/impair.out")"
	recv=$(tail -n 1 "$RB_TMP/recv.out")
	got=$(echo "$recv" | python3 -c 'import json,sys; print(json.load(sys.stdin)["got"])')
	bad=$(echo "$recv" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bad"])')
	late=$(echo "$recv" | python3 -c 'import json,sys; print(json.load(sys.stdin)["late"])')
	st() { sed -n "s/^$1 //p" "$RB_TMP/stats"; }
	matched=$(st matched); dropped=$(st dropped); dup=$(st duplicated)
	reord=$(st reordered); corr=$(st corrupted); errs=$(st send_errors)
	kdrops=$(st kernel_drops)
	rb_log "seed $1 IPv$2: sent $4, impair matched $matched dropped $dropped duplicated $dup reordered $reord corrupted $corr send_errors $errs kernel_drops $kdrops; B got $got ($bad damaged, $late late)"
	# A frame the kernel dropped before the bridge read it was never
	# drawn for: the counts would not repeat from the seed.
	[ "$kdrops" = 0 ] || rb_fail "the kernel dropped $kdrops frames before impair read them"
	counts="$matched $dropped $dup $reord $corr"
}

check() {	# COUNT after run: the exact accounts
	[ "$matched" = "$1" ] || rb_fail "impair matched $matched datagrams of $1"
	[ "$errs" = 0 ] || rb_fail "impair could not send $errs frames"
	[ "$got" = $(( $1 - dropped + dup )) ] ||
		rb_fail "B got $got datagrams, not $1 - $dropped + $dup"
	[ "$bad" = "$corr" ] || rb_fail "B saw $bad damaged datagrams, impair corrupted $corr"
}

run 7 4 10.77.0.2 2000 5 5 5 5
check 2000
[ "$dropped" -gt 40 ] && [ "$dup" -gt 40 ] && [ "$corr" -gt 40 ] && [ "$reord" -gt 40 ] ||
	rb_fail "5 % of 2000 should be about 100 each: $counts"
[ "$late" -gt 0 ] || rb_fail "$reord datagrams held back, none arrived late"
first=$counts
run 7 4 10.77.0.2 2000 5 5 5 5
[ "$counts" = "$first" ] || rb_fail "seed 7 again gave $counts, first $first"
run 9 6 fd77::2 500 2 2 2 10
check 500
[ "$corr" -gt 10 ] || rb_fail "10 % of 500 IPv6 datagrams should be corrupted: $counts"

# Everything else passes untouched: 4 MiB over TCP (segments the stack
# merges, checksums left to the "hardware") arrive whole.
$R "$IMPAIR" -a ra -b rb -s 3 -l 50 -c 50 -o "$RB_TMP/stats" > "$RB_TMP/impair.out" 2>&1 &
imp_pid=$!
impair_up
$B python3 -c '
import socket, hashlib
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.2", 5001)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    h.update(d); n += len(d)
print(n, h.hexdigest())' > "$RB_TMP/tcp.out" &
tpid=$!
sleep 0.5
$A python3 -c '
import socket, hashlib, time
data = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(131072))
for _ in range(50):
    try:
        s = socket.create_connection(("10.77.0.2", 5001), timeout=20); break
    except OSError: time.sleep(0.1)
s.sendall(data); s.close()
print(len(data), hashlib.sha256(data).hexdigest())' > "$RB_TMP/tcp.sent" || rb_fail "TCP send through the bridge failed"
wait "$tpid"
kill -TERM "$imp_pid"; wait "$imp_pid"; imp_pid=
[ -s "$RB_TMP/tcp.out" ] && cmp -s "$RB_TMP/tcp.out" "$RB_TMP/tcp.sent" ||
	rb_fail "TCP through the bridge: sent $(cat "$RB_TMP/tcp.sent"), received $(cat "$RB_TMP/tcp.out")"
rb_log "4 MiB of TCP passed whole: $(cat "$RB_TMP/tcp.out")"
rb_pass
