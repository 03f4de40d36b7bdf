#!/bin/sh
# One host talking RC to two others at once (docs/roce.md): namespaces
# A, B and C, A joined to B (192.0.2.0/24) and to C (198.51.100.0/24) by
# veth pairs, a daemon in each.  On A, two unmodified ibv_rc_pingpong
# clients run at the same time under A's daemon, one to a server on B
# and one to a server on C, each with the GID of A's address on that
# link (read from ibv_devinfo -v); both must finish with their data
# checked (-c), and A's daemon must have dropped nothing.
# Needs root; skips (77) where network namespaces cannot be made.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/roce-lib.sh"

command -v ibv_rc_pingpong >/dev/null 2>&1 || rb_skip "ibv_rc_pingpong not installed (Debian ibverbs-utils)"

ns=rb3$$
A=${ns}a B=${ns}b C=${ns}c
roce_netns "$A" "$B" "$C"
ip link add ab netns "$A" type veth peer name ba netns "$B" &&
ip link add ac netns "$A" type veth peer name ca netns "$C" || rb_skip "cannot create veth pairs"
ip -n "$A" addr add 192.0.2.1/24 dev ab && ip -n "$B" addr add 192.0.2.2/24 dev ba &&
ip -n "$A" addr add 198.51.100.1/24 dev ac && ip -n "$C" addr add 198.51.100.2/24 dev ca &&
for l in "$A:ab" "$A:ac" "$B:ba" "$C:ca" "$A:lo" "$B:lo" "$C:lo"; do
	ip -n "${l%%:*}" link set "${l#*:}" up || exit 1
done || rb_fail "configuring the links"

roce_start_daemon "$A" a
roce_start_daemon "$B" b
roce_start_daemon "$C" c

ga_b=$(roce_gid_index "$A" a ::ffff:192.0.2.1) ga_c=$(roce_gid_index "$A" a ::ffff:198.51.100.1)
gb=$(roce_gid_index "$B" b ::ffff:192.0.2.2) gc=$(roce_gid_index "$C" c ::ffff:198.51.100.2)
[ -n "$ga_b" ] && [ -n "$ga_c" ] && [ -n "$gb" ] && [ -n "$gc" ] && [ "$ga_b" != "$ga_c" ] ||
	rb_fail "GIDs not found: A $ga_b/$ga_c B $gb C $gc: $(grep GID "$RB_TMP/devinfo.a")"

ITERS=500
server() {	# NS NAME GID PORT
	RDMABROKER_SOCKET="$RB_TMP/$2.sock" timeout 120 ip netns exec "$1" "$RB_RUN" \
		ibv_rc_pingpong -d rbsoft0 -g "$3" -p "$4" -c -n "$ITERS" -s 4096 -m 1024 \
		> "$RB_TMP/$2.server" 2>&1 &
	ROCE_PIDS="$ROCE_PIDS $!"
	echo $! > "$RB_TMP/$2.spid"
	roce_wait_listen "$1" "$4" && return 0
	rb_fail "server on $2 did not listen: $(cat "$RB_TMP/$2.server")"
}
client() {	# NAME GID PORT SERVER
	RDMABROKER_SOCKET="$RB_TMP/a.sock" timeout 120 ip netns exec "$A" "$RB_RUN" \
		ibv_rc_pingpong -d rbsoft0 -g "$2" -p "$3" -c -n "$ITERS" -s 4096 -m 1024 "$4" \
		> "$RB_TMP/$1.client" 2>&1 &
	ROCE_PIDS="$ROCE_PIDS $!"
	echo $! > "$RB_TMP/$1.cpid"
}
server "$B" b "$gb" 18701
server "$C" c "$gc" 18702
client b "$ga_b" 18701 192.0.2.2
client c "$ga_c" 18702 198.51.100.2
for n in b c; do
	wait "$(cat "$RB_TMP/$n.cpid")"; crc=$?
	wait "$(cat "$RB_TMP/$n.spid")"; src=$?
	if [ "$crc" != 0 ] || [ "$src" != 0 ] ||
	   ! grep -q "^$ITERS iters in" "$RB_TMP/$n.client" ||
	   grep -q "invalid data" "$RB_TMP/$n.client" "$RB_TMP/$n.server"; then
		cat "$RB_TMP/$n.server" "$RB_TMP/$n.client" >&2
		rb_fail "A to $n: client exited $crc, server $src"
	fi
	rb_log "A to $n: $(grep -Eo '[0-9.]+ usec/iter' "$RB_TMP/$n.client")"
done
c=$("$RB_RDMACTL" -s "$RB_TMP/a.sock" dev stat rbsoft0)
rb_log "daemon a: $c"
echo "$c" | awk '{ for (i = 2; i < NF; i += 2) v[$i] = $(i + 1) }
	END { exit !(v["rx_packets"] >= 4 * 2 * 500 && v["tx_dropped"] == 0 &&
		     v["rx_unknown_qp"] == 0 && v["retry_exceeded"] == 0) }' ||
	rb_fail "daemon a's counters: $c"
rb_pass
