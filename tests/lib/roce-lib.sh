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
