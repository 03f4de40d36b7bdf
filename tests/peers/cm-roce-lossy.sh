#!/bin/sh
# The connection manager across hosts on a link that loses MADs
# (docs/cm.md): namespaces A - R - B with the seeded bridge
# tests/lib/impair in R dropping 8 % of the UDP 4791 frames and
# duplicating 2 %, a daemon in A and one in B, and unmodified ucmatose
# -c 20 (RC connections set up, data moved, torn down) between them,
# twice.  The CM sends a REQ, REP or DREQ again until it is answered and
# answers duplicates again, so both sides must finish, the daemons'
# logs must show messages sent again, and neither daemon may keep a CM
# id.  Then the bridge drops every RTU: the server's CM gives its REP up
# after its tries (UNREACHABLE -ETIMEDOUT) and the client, connected,
# hears the REJ: REJECTED (timeout), its QP in the error state, rather
# than a half-open connection.  RB_ROCE_SEED seeds the bridge (default
# 13).  Needs root; skips (77) where network namespaces cannot be made.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/roce-lib.sh"
. "$top_srcdir/tests/lib/cm-lib.sh"

IMPAIR=$top_builddir/tests/lib/impair
command -v ucmatose >/dev/null 2>&1 || rb_skip "ucmatose not installed (Debian rdmacm-utils)"
[ -x "$IMPAIR" ] || rb_fail "tests/lib/impair not built"
seed=${RB_ROCE_SEED:-13}

ns=cml$$
A=${ns}a R=${ns}r B=${ns}b
roce_netns "$A" "$R" "$B"
IMP=
roce_cleanup_hook() { [ -z "$IMP" ] || { kill -KILL "$IMP" 2>/dev/null; wait "$IMP" 2>/dev/null; }; }
ip link add a0 netns "$A" type veth peer name ra netns "$R" &&
ip link add b0 netns "$B" type veth peer name rb netns "$R" || rb_skip "cannot create veth pairs"
ip -n "$A" addr add 192.0.2.1/24 dev a0 && ip -n "$B" addr add 192.0.2.2/24 dev b0 &&
for n in "$A:a0" "$B:b0"; do
	ip -n "${n%%:*}" link set lo up && ip -n "${n%%:*}" link set "${n#*:}" up || exit 1
done && ip -n "$R" link set ra up && ip -n "$R" link set rb up || rb_fail "configuring the links"

roce_start_daemon "$A" a debug
roce_start_daemon "$B" b debug
roce_impair "$R" -s "$seed" -l 8 -d 2

for round in 1 2; do
	port=$((7490 + round))
	cm_in_ns "$A" a ucmatose -b 192.0.2.1 -p "$port" -c 20 > "$RB_TMP/server.$round" 2>&1 &
	spid=$!
	cm_wait_listen "$port" "$spid" "$RB_TMP/a.sock" 200 ||
		rb_fail "ucmatose did not listen: $(cat "$RB_TMP/server.$round")"
	cm_in_ns "$B" b ucmatose -s 192.0.2.1 -p "$port" -c 20 > "$RB_TMP/client.$round" 2>&1
	crc=$?
	wait "$spid"; src=$?
	if [ "$crc" -ne 0 ] || [ "$src" -ne 0 ]; then
		tail -n 20 "$RB_TMP/server.$round" "$RB_TMP/client.$round" >&2
		for d in a b; do
			echo "==> daemon $d's CM, last lines <==" >&2
			grep 'CM:' "$RB_TMP/$d.log" | grep -v 'sent again\|again for comm id' | tail -n 15 >&2
		done
		rb_fail "round $round: server exit $src, client exit $crc"
	fi
	rb_log "round $round: 20 connections through the lossy link"
done
roce_impair_stop
rb_log "bridge: $ROCE_IMPAIR_COUNTS"
cat "$RB_TMP/a.log" "$RB_TMP/b.log" > "$RB_TMP/both.log"
resent=$(grep -c 'yet: sent again' "$RB_TMP/both.log")
dup_req=$(grep -c 'a REQ again' "$RB_TMP/both.log")
dup_rep=$(grep -c 'a REP again' "$RB_TMP/both.log")
[ $((resent + dup_req + dup_rep)) -gt 0 ] || rb_fail "no CM message was sent again: the bridge lost none of them?"
rb_log "unanswered REQ/REP/DREQ sent again: $resent; duplicate REQs answered: $dup_req, duplicate REPs: $dup_rep"
for d in a b; do
	cm_no_ids "$RB_TMP/$d.sock" || rb_fail "daemon $d still holds CM ids"
done

# No RTU ever gets through.
peer="$top_builddir/tests/peers/cm-roce-peer"
roce_impair "$R" -s "$seed" -m 0x14
cm_in_ns "$A" a "$peer" giveup 192.0.2.1 7493 > "$RB_TMP/giveup.server" 2>&1 &
spid=$!
cm_wait_listen 7493 "$spid" "$RB_TMP/a.sock" 200 ||
	rb_fail "cm-roce-peer giveup did not listen: $(cat "$RB_TMP/giveup.server")"
cm_in_ns "$B" b "$peer" rejected 192.0.2.1 7493 > "$RB_TMP/giveup.client" 2>&1
crc=$?
wait "$spid"; src=$?
roce_impair_stop
[ "$crc" -eq 0 ] && [ "$src" -eq 0 ] ||
	rb_fail "RTUs dropped: server exit $src ($(cat "$RB_TMP/giveup.server")), client exit $crc ($(cat "$RB_TMP/giveup.client"))"
cm_drops=$(awk '$1 == "cm_dropped" { print $2 }' "$RB_TMP/impair.out")
[ "${cm_drops:-0}" -gt 1 ] || rb_fail "the bridge dropped ${cm_drops:-no} RTUs: $ROCE_IMPAIR_COUNTS"
rb_log "RTUs dropped ($cm_drops): server $(grep '^event' "$RB_TMP/giveup.server"); client $(grep '^event' "$RB_TMP/giveup.client")"
grep -q 'the peer ended the connection with a REJ' "$RB_TMP/b.log" ||
	rb_fail "daemon b did not log the REJ that ended its connection"
for d in a b; do
	cm_no_ids "$RB_TMP/$d.sock" || rb_fail "daemon $d still holds CM ids after the RTU test"
done

! grep -qi 'runtime error\|sanitizer\|assert' "$RB_TMP/a.log" "$RB_TMP/b.log" ||
	rb_fail "a fault in a daemon's log: $(grep -hi 'runtime error\|sanitizer\|assert' "$RB_TMP/a.log" "$RB_TMP/b.log" | head -3)"
rb_pass
