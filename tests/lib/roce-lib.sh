# What the cross-host (RoCEv2) tests share: network namespaces that go
# with the test, one daemon in each, the GID index of an address.
# Source after tests/lib/lib.sh.  Processes a test starts go in
# ROCE_PIDS (killed first at exit), daemons in ROCE_DAEMONS; a test that
# defines roce_cleanup_hook has it called first.

command -v ip >/dev/null 2>&1 || rb_skip "ip (iproute2) not installed"
[ "$(id -u)" = 0 ] || rb_skip "network namespaces need root"
ROCE_NS= ROCE_PIDS= ROCE_DAEMONS=

roce_cleanup() {
	# A test's own processes that come and go (a capture, a bridge).
	command -v roce_cleanup_hook >/dev/null 2>&1 && roce_cleanup_hook
	for p in $ROCE_PIDS $ROCE_DAEMONS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $ROCE_PIDS $ROCE_DAEMONS; do
		for _ in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in $ROCE_NS; do ip netns del "$n" 2>/dev/null; done
	rb_cleanup
}
trap roce_cleanup EXIT

# roce_netns NAME...: the namespaces, deleted at exit; skips if the first
# cannot be made.
roce_netns() {
	for n in "$@"; do
		if ! ip netns add "$n" 2>"$RB_TMP/netns.err"; then
			[ -z "$ROCE_NS" ] && rb_skip "cannot create a network namespace: $(cat "$RB_TMP/netns.err")"
			rb_fail "ip netns add $n: $(cat "$RB_TMP/netns.err")"
		fi
		ROCE_NS="$ROCE_NS $n"
	done
}

# roce_start_daemon NS NAME [LOG_LEVEL]: a daemon in NS on
# $RB_TMP/NAME.sock (the UNIX socket is a file, seen from every
# namespace), logging to $RB_TMP/NAME.log.
roce_start_daemon() {
	printf '[daemon]\nlog_level = %s\n' "${3:-info}" > "$RB_TMP/$2.conf"
	ip netns exec "$1" "$RB_DAEMON" -c "$RB_TMP/$2.conf" -s "$RB_TMP/$2.sock" \
		>> "$RB_TMP/$2.log" 2>&1 &
	ROCE_DAEMONS="$ROCE_DAEMONS $!"
	for _ in $(seq 1 300); do
		[ -S "$RB_TMP/$2.sock" ] && rb_connect_check "$RB_TMP/$2.sock" && return 0
		sleep 0.1
	done
	rb_fail "daemon $2 did not start: $(cat "$RB_TMP/$2.log")"
}

# roce_gid_index NS SOCKNAME ADDRESS: the GID index of ADDRESS on the
# soft device of that daemon, from ibv_devinfo -v (empty if none).
roce_gid_index() {
	RDMABROKER_SOCKET="$RB_TMP/$2.sock" ip netns exec "$1" "$RB_RUN" ibv_devinfo -v -d rbsoft0 \
		> "$RB_TMP/devinfo.$2" 2>&1 || rb_fail "ibv_devinfo -v in $1: $(cat "$RB_TMP/devinfo.$2")"
	sed -n "s/^[[:space:]]*GID\[ *\([0-9]*\)\]:[[:space:]]*\([0-9a-f:.]*\).*/\1 \2/p" "$RB_TMP/devinfo.$2" |
		awk -v a="$3" '$2 == a { print $1; exit }'
}

# roce_veth NS_A NS_B [MTU]: a veth pair between the two namespaces,
# va$$ in NS_A with 192.0.2.1 and fd00:77::1, vb$$ in NS_B with .2 and
# ::2, up (MTU 1500 unless given).
roce_veth() {
	ip link add "va$$" type veth peer name "vb$$" || rb_skip "cannot create a veth pair"
	ip link set "va$$" netns "$1" && ip link set "vb$$" netns "$2" || rb_fail "moving the veth ends"
	for ns in "$1:va$$:1" "$2:vb$$:2"; do
		n=${ns%%:*} rest=${ns#*:}
		dev=${rest%%:*} i=${rest#*:}
		ip -n "$n" link set lo up &&
		ip -n "$n" link set "$dev" mtu "${3:-1500}" &&
		ip -n "$n" addr add "192.0.2.$i/24" dev "$dev" &&
		ip -n "$n" addr add "fd00:77::$i/64" dev "$dev" nodad &&
		ip -n "$n" link set "$dev" up || rb_fail "configuring $dev in $n"
	done
}

# roce_two_hosts NS_A NS_B [LOG_LEVEL]: the bed of the two-host tests:
# the namespaces, roce_veth between them, a daemon in each logging at
# LOG_LEVEL (info unless given; $RB_TMP/a.sock and a.log in NS_A, b in
# NS_B), and both daemons on RoCEv2's UDP port 4791.
roce_two_hosts() {
	roce_netns "$1" "$2"
	roce_veth "$1" "$2"
	roce_start_daemon "$1" a "${3:-info}"
	roce_start_daemon "$2" b "${3:-info}"
	grep -q 'RoCEv2 on UDP port 4791' "$RB_TMP/a.log" && grep -q 'RoCEv2 on UDP port 4791' "$RB_TMP/b.log" ||
		rb_fail "a daemon is not on UDP 4791: $(grep -h RoCE "$RB_TMP"/?.log)"
}

# roce_wait_listen NS PORT: 0 once a TCP socket listens on PORT in NS
# (a ping-pong server's exchange of QP numbers), 1 after 10 s.
roce_wait_listen() {
	for _ in $(seq 1 100); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# roce_impair_stop: stop roce_impair's bridge (in the caller's shell, not
# a command substitution's, which cannot wait for it); its counts on one
# line in ROCE_IMPAIR_COUNTS.
roce_impair_stop() {
	kill -TERM "$IMP" && wait "$IMP"
	IMP=
	ROCE_IMPAIR_COUNTS=$(tr '\n' ' ' < "$RB_TMP/impair.out")
}

# roce_impair NS_R OPTIONS...: the seeded bridge tests/lib/impair between
# ra and rb in NS_R with OPTIONS (its counts at SIGTERM in
# $RB_TMP/impair.out, its output in impair.log), its pid in IMP; returns
# once its sockets are open (its first line), fails if it exits first or
# takes 10 s.
roce_impair() {
	local r="$1"
	shift
	ip netns exec "$r" "$top_builddir/tests/lib/impair" -a ra -b rb "$@" \
		-o "$RB_TMP/impair.out" > "$RB_TMP/impair.log" 2>&1 &
	IMP=$!
	for _ in $(seq 1 100); do
		grep -q '^impair: ' "$RB_TMP/impair.log" 2>/dev/null && return 0
		kill -0 "$IMP" 2>/dev/null || break
		sleep 0.1
	done
	rb_fail "impair did not start: $(cat "$RB_TMP/impair.log")"
}

# roce_no_uso: both ends of the test's veth pair (va$$, vb$$) cut a UDP
# GSO send (IPv6 RoCE packets of one size, docs/roce.md) in software
# before their capture point, as a device without the offload does.  A
# veth with it on passes the GSO datagram whole, and a capture there
# sees one UDP datagram holding several RoCE packets, which no receiver
# ever gets as such; with it off every frame captured is one RoCE
# packet, as on a wire.  Skips without ethtool (scripts/deps.sh).
roce_no_uso() {
	command -v ethtool >/dev/null 2>&1 || rb_skip "ethtool not installed (scripts/deps.sh installs it)"
	for n in $ROCE_NS; do
		for d in "va$$" "vb$$"; do
			ip -n "$n" link show "$d" >/dev/null 2>&1 || continue
			ip netns exec "$n" ethtool -K "$d" tx-udp-segmentation off > "$RB_TMP/ethtool.err" 2>&1 ||
				rb_fail "ethtool -K $d tx-udp-segmentation off in $n: $(cat "$RB_TMP/ethtool.err")"
		done
	done
}

# roce_capture NS DEV: tshark writes what crosses DEV on UDP 4791 to
# $RB_TMP/wire.pcap (ROCE_CAPTURE its pid); returns 1 without tshark.
# The veth pair cuts GSO sends before they are captured (roce_no_uso).
ROCE_CAPTURE=
roce_capture() {
	command -v tshark >/dev/null 2>&1 || return 1
	roce_no_uso
	HOME=$RB_TMP ip netns exec "$1" tshark -q -i "$2" -f "udp port 4791" \
		-w "$RB_TMP/wire.pcap" -F pcap > "$RB_TMP/capture.log" 2>&1 &
	ROCE_CAPTURE=$!
	ROCE_PIDS="$ROCE_PIDS $ROCE_CAPTURE"
	for _ in $(seq 1 100); do
		grep -q "Capturing on" "$RB_TMP/capture.log" && return 0
		sleep 0.1
	done
	rb_fail "tshark did not start: $(cat "$RB_TMP/capture.log")"
}

# roce_wire_check OPCODES...: stop the capture; every packet must decode
# as InfiniBand with one of the BTH opcodes given and no expert item or
# malformed mark, and its ICRC match the one tests/unit/roce-icrc.py
# computes from the captured headers.  Wireshark also guesses at a SEND
# or WRITE payload (an IPoIB-style ethertype when its third and fourth
# bytes are zero): an expert item of such a guessed protocol, beyond the
# InfiniBand headers, is the test data's, and is counted, not failed.
# Sets ROCE_WIRE_N (packets) and ROCE_WIRE_GUESSED.
roce_wire_check() {
	kill -INT "$ROCE_CAPTURE"
	wait "$ROCE_CAPTURE"
	HOME=$RB_TMP tshark --disable-protocol rpcordma -r "$RB_TMP/wire.pcap" -T fields -E separator=' ' \
		-e frame.protocols -e infiniband.bth.opcode -e infiniband.bth.psn -e _ws.expert -e _ws.malformed \
		> "$RB_TMP/decoded" 2>"$RB_TMP/tshark.err" || rb_fail "tshark -r: $(cat "$RB_TMP/tshark.err")"
	bad=$(awk -v ops="$*" 'BEGIN { split(ops, l); for (i in l) ok[l[i]] = 1 }
		{ ours = $1 ~ /:infiniband$/ || $1 ~ /:infiniband:data$/ }
		$1 !~ /:infiniband/ || !($2 in ok) || $3 == "" || (NF != 3 && ours)' "$RB_TMP/decoded" | head -n 5)
	[ -z "$bad" ] || rb_fail "packets Wireshark does not decode as expected (protocols opcode psn [expert]): $bad"
	ROCE_WIRE_GUESSED=$(awk '$1 !~ /:infiniband$/ && $1 !~ /:infiniband:data$/ && NF != 3' "$RB_TMP/decoded" | wc -l)
	ROCE_WIRE_N=$(wc -l < "$RB_TMP/decoded")
	"${PYTHON3:-python3}" "$top_srcdir/tests/unit/roce-icrc.py" "$RB_TMP/wire.pcap" > "$RB_TMP/icrc" ||
		rb_fail "roce-icrc.py failed"
	[ "$(wc -l < "$RB_TMP/icrc")" -eq "$ROCE_WIRE_N" ] ||
		rb_fail "roce-icrc.py read $(wc -l < "$RB_TMP/icrc") of $ROCE_WIRE_N packets"
	bad=$(awk '$1 != $2' "$RB_TMP/icrc" | head -n 5)
	[ -z "$bad" ] || rb_fail "ICRC computed apart from the captured headers differs (computed carried): $bad"
}

# roce_kernel_drops NS: packets the kernel of NS dropped on the way to
# the daemon: for a full socket receive buffer (UDP and UDP6
# RcvbufErrors) or a full queue of its devices (their rx_dropped and
# tx_dropped, as a veth counts a full backlog).  UC has no flow control:
# a sender faster than its receiver loses packets there, as UC may, and
# the responder counts each lost one as a sequence error.
roce_kernel_drops() {
	ip netns exec "$1" sh -c 'cat /proc/net/snmp /proc/net/snmp6;
		for f in /sys/class/net/*/statistics/rx_dropped /sys/class/net/*/statistics/tx_dropped; do
			echo "dropped $(cat "$f")"; done' 2>/dev/null | awk '
		$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "Udp:" && h { n += $(col["RcvbufErrors"]) }
		$1 == "Udp6RcvbufErrors" || $1 == "dropped" { n += $2 }
		END { print n + 0 }'
}

# roce_stat SOCKNAME COUNTER: the value of a counter of rdmactl dev stat.
roce_stat() {
	"$RB_RDMACTL" -s "$RB_TMP/$1.sock" dev stat rbsoft0 |
		awk -v k="$2" '{ for (i = 2; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}

# roce_pair NAME SECS 'SERVER COMMAND' 'CLIENT COMMAND': the server under
# rdmab-run in namespace $A on daemon a, and once something listens on
# TCP $PORT in $A, the client in $B on daemon b; each under `timeout
# SECS`.  @PORT@ in a command becomes that port, a fresh one each try
# (ROCE_PORT counts them; PORT is the last).  Commands are split on
# blanks.  Outputs in $RB_TMP/NAME.server and NAME.client, exit statuses
# in $src and $crc.  A server whose client failed would wait for it
# until its timeout: it is sent SIGTERM then.  A pair whose perftest
# could not calibrate its clock (rb_uncalibrated) runs again, up to 3
# tries; the caller judges the last.
ROCE_PORT=18600
roce_pair() {
	for try in 1 2 3; do
		roce_pair_once "$@"
		rb_uncalibrated "$RB_TMP/$1.server" "$RB_TMP/$1.client" || return 0
		rb_log "$1: perftest could not calibrate its clock (try $try); again"
	done
}

roce_pair_once() {
	ROCE_PORT=$((ROCE_PORT + 1))
	PORT=$ROCE_PORT
	scmd=$(echo "$3" | sed "s/@PORT@/$PORT/g")
	ccmd=$(echo "$4" | sed "s/@PORT@/$PORT/g")
	# shellcheck disable=SC2086
	RDMABROKER_SOCKET="$RB_TMP/a.sock" timeout "$2" ip netns exec "$A" "$RB_RUN" $scmd \
		> "$RB_TMP/$1.server" 2>&1 &
	spid=$!
	roce_wait_listen "$A" "$PORT"
	# shellcheck disable=SC2086
	RDMABROKER_SOCKET="$RB_TMP/b.sock" timeout "$2" ip netns exec "$B" "$RB_RUN" $ccmd \
		> "$RB_TMP/$1.client" 2>&1
	crc=$?
	[ "$crc" = 0 ] || kill -TERM "$spid" 2>/dev/null
	wait "$spid"
	src=$?
}
