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

command -v ibv_rc_pingpong >/dev/null 2>&1 || rb_skip "ibv_rc_pingpong not installed (Debian ibverbs-utils)"
command -v ip >/dev/null 2>&1 || rb_skip "ip (iproute2) not installed"
[ "$(id -u)" = 0 ] || rb_skip "network namespaces need root"

ns=rb3$$
A=${ns}a B=${ns}b C=${ns}c
ip netns add "$A" 2>"$RB_TMP/netns.err" || rb_skip "cannot create a network namespace: $(cat "$RB_TMP/netns.err")"
DAEMONS= PIDS=
three_cleanup() {
	for p in $PIDS $DAEMONS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS $DAEMONS; do
		for _ in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in "$A" "$B" "$C"; do ip netns del "$n" 2>/dev/null; done
	rb_cleanup
}
trap three_cleanup EXIT
ip netns add "$B" && ip netns add "$C" || rb_fail "ip netns add"
ip link add ab netns "$A" type veth peer name ba netns "$B" &&
ip link add ac netns "$A" type veth peer name ca netns "$C" || rb_skip "cannot create veth pairs"
ip -n "$A" addr add 192.0.2.1/24 dev ab && ip -n "$B" addr add 192.0.2.2/24 dev ba &&
ip -n "$A" addr add 198.51.100.1/24 dev ac && ip -n "$C" addr add 198.51.100.2/24 dev ca &&
for l in "$A:ab" "$A:ac" "$B:ba" "$C:ca" "$A:lo" "$B:lo" "$C:lo"; do
	ip -n "${l%%:*}" link set "${l#*:}" up || exit 1
done || rb_fail "configuring the links"

start_daemon() {	# NS NAME
	printf '[daemon]\nlog_level = info\n' > "$RB_TMP/$2.conf"
	ip netns exec "$1" "$RB_DAEMON" -c "$RB_TMP/$2.conf" -s "$RB_TMP/$2.sock" \
		>> "$RB_TMP/$2.log" 2>&1 &
	DAEMONS="$DAEMONS $!"
	for _ in $(seq 1 300); do
		[ -S "$RB_TMP/$2.sock" ] && rb_connect_check "$RB_TMP/$2.sock" && return 0
		sleep 0.1
	done
	rb_fail "daemon $2 did not start: $(cat "$RB_TMP/$2.log")"
}
start_daemon "$A" a
start_daemon "$B" b
start_daemon "$C" c

gid_index() {	# NS SOCKNAME ADDRESS
	RDMABROKER_SOCKET="$RB_TMP/$2.sock" ip netns exec "$1" "$RB_RUN" ibv_devinfo -v -d rbsoft0 \
		> "$RB_TMP/devinfo.$2" 2>&1 || rb_fail "ibv_devinfo -v in $1: $(cat "$RB_TMP/devinfo.$2")"
	sed -n "s/^[[:space:]]*GID\[ *\([0-9]*\)\]:[[:space:]]*\([0-9a-f:.]*\).*/\1 \2/p" "$RB_TMP/devinfo.$2" |
		awk -v a="$3" '$2 == a { print $1; exit }'
}
ga_b=$(gid_index "$A" a ::ffff:192.0.2.1) ga_c=$(gid_index "$A" a ::ffff:198.51.100.1)
gb=$(gid_index "$B" b ::ffff:192.0.2.2) gc=$(gid_index "$C" c ::ffff:198.51.100.2)
[ -n "$ga_b" ] && [ -n "$ga_c" ] && [ -n "$gb" ] && [ -n "$gc" ] && [ "$ga_b" != "$ga_c" ] ||
	rb_fail "GIDs not found: A $ga_b/$ga_c B $gb C $gc: $(grep GID "$RB_TMP/devinfo.a")"

ITERS=500
server() {	# NS NAME GID PORT
	RDMABROKER_SOCKET="$RB_TMP/$2.sock" timeout 120 ip netns exec "$1" "$RB_RUN" \
		ibv_rc_pingpong -d rbsoft0 -g "$3" -p "$4" -c -n "$ITERS" -s 4096 -m 1024 \
		> "$RB_TMP/$2.server" 2>&1 &
	PIDS="$PIDS $!"
	echo $! > "$RB_TMP/$2.spid"
	for _ in $(seq 1 100); do
		ip netns exec "$1" ss -Hltn "sport = :$4" | grep -q . && return 0
		sleep 0.1
	done
	rb_fail "server on $2 did not listen: $(cat "$RB_TMP/$2.server")"
}
client() {	# NAME GID PORT SERVER
	RDMABROKER_SOCKET="$RB_TMP/a.sock" timeout 120 ip netns exec "$A" "$RB_RUN" \
		ibv_rc_pingpong -d rbsoft0 -g "$2" -p "$3" -c -n "$ITERS" -s 4096 -m 1024 "$4" \
		> "$RB_TMP/$1.client" 2>&1 &
	PIDS="$PIDS $!"
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
