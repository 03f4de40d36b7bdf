#!/bin/sh
# The engine's scheduling settings (rdmabrokerd.conf(5), rdmactl(8)):
# weight, bandwidth and message_rate in [limits], [limits USER] and
# [limits @GROUP]; bad values refused with FILE:LINE; a group's values
# reach a client in the group (its gid or a supplementary group), a user's
# own section wins, an override set at run time wins over both and is
# marked; SIGHUP applies a changed file to users already connected.
. "$top_srcdir/tests/lib/lib.sh"

command -v setpriv >/dev/null 2>&1 || rb_skip "setpriv (util-linux) not installed"
[ "$(id -u)" -eq 0 ] || rb_skip "needs root to run clients as other users"
HOLDER="$top_builddir/tests/lib/rdmactl-holder"
[ -x "$HOLDER" ] || rb_fail "no $HOLDER"
U=64911
G=64921
chmod 755 "$RB_TMP"
setpriv --reuid=$U --regid=$U --clear-groups test -x "$HOLDER" ||
	rb_skip "an unprivileged user cannot reach the build tree $top_builddir"

# bad CONFIG-LINES PATTERN: the daemon refuses the file, naming line 2.
bad() {
	printf '[limits]\n%s\n' "$1" > "$RB_TMP/bad.conf"
	out=$("$RB_DAEMON" -t -c "$RB_TMP/bad.conf" 2>&1) && rb_fail "accepted: $1"
	echo "$out" | grep -q "bad.conf:2: .*$2" || rb_fail "'$1': unexpected message: $out"
}
bad "weight = 0" "weight: '0' is not between 1 and 1000"
bad "weight = 1001" "not between 1 and 1000"
bad "bandwidth = fast" "bandwidth: 'fast' is not a rate"
bad "message_rate = 1K" "message_rate: '1K' is not a count per second"
printf '[limits @%s]\nqps = 4\n' $G > "$RB_TMP/bad.conf"
out=$("$RB_DAEMON" -t -c "$RB_TMP/bad.conf" 2>&1) && rb_fail "accepted qps in a group section"
echo "$out" | grep -q "only weight, bandwidth and message_rate are set per group" ||
	rb_fail "qps in a group section: unexpected message: $out"
printf '[limits @no-such-group-here]\nweight = 2\n' > "$RB_TMP/bad.conf"
out=$("$RB_DAEMON" -t -c "$RB_TMP/bad.conf" 2>&1) && rb_fail "accepted an unknown group"
echo "$out" | grep -q "no such group" || rb_fail "unknown group: unexpected message: $out"

cat > "$RB_CONF" <<EOC
[daemon]
log_level = info
[limits]
weight = 2
[limits @$G]
weight = 5
bandwidth = 10M
message_rate = 1000
[limits $U]
message_rate = 7
EOC
"$RB_DAEMON" -t -c "$RB_CONF" >/dev/null || rb_fail "a good config refused"
rb_daemon_start

# field UID NAME: the value of NAME in rdmactl -j limits of UID.
field() {
	"$RB_RDMACTL" -j limits uid "$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["limits"]:
    if r["name"] == sys.argv[1]:
        print(r["limit"], "set" if r["set"] else "config")' "$2" ||
		rb_fail "rdmactl -j limits uid $1"
}
expect() {
	got=$(field "$1" "$2")
	[ "$got" = "$3" ] || rb_fail "uid $1 $2: want '$3', got '$got'"
}

# Not connected: [limits] and the user's own section only.
expect $U weight "2 config"
expect $U message_rate "7 config"
expect 0 weight "2 config"

# Connected with the group as a supplementary group: the group's values,
# but the user's own message_rate.
# The holder stays connected until its stdin (a FIFO we hold) closes.
mkfifo "$RB_TMP/hold"
exec 3<>"$RB_TMP/hold"
setpriv --reuid=$U --regid=$U --groups=$G "$HOLDER" <"$RB_TMP/hold" >"$RB_TMP/holder.out" 2>&1 3>&- &
HPID=$!
for _ in $(seq 1 100); do
	[ "$(field $U weight)" = "5 config" ] && break
	sleep 0.1
done
expect $U weight "5 config"
expect $U bandwidth "10485760 config"
expect $U message_rate "7 config"
"$RB_RDMACTL" -j limits uid $U | grep -q '"engine"' || rb_fail "no engine use shown for a connected user"

# A run-time override wins and is marked; a bad one is refused.
"$RB_RDMACTL" limits set uid $U weight 9 || rb_fail "limits set weight"
expect $U weight "9 set"
"$RB_RDMACTL" limits set uid $U weight 0 2>/dev/null && rb_fail "weight 0 accepted"
"$RB_RDMACTL" limits set uid $U bandwidth 1G || rb_fail "limits set bandwidth"
expect $U bandwidth "1073741824 set"
setpriv --reuid=$U --regid=$U --clear-groups "$RB_RDMACTL" limits set uid $U weight 1000 2>/dev/null &&
	rb_fail "a user changed its own weight"

# SIGHUP: the file's new values reach the connected user (overrides stay).
sed -i 's/^message_rate = 7$/message_rate = 70/' "$RB_CONF"
kill -HUP "$RB_DAEMON_PID"
for _ in $(seq 1 100); do
	[ "$(field $U message_rate)" = "70 config" ] && break
	sleep 0.1
done
expect $U message_rate "70 config"
expect $U weight "9 set"

exec 3>&-
wait "$HPID" || rb_fail "the holder failed: $(cat "$RB_TMP/holder.out")"
rb_daemon_alive || rb_fail "the daemon died"
rb_daemon_stop
rb_pass
