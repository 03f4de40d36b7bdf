#!/bin/sh
# Protocol compatibility against a real daemon (tests/integration/proto-compat.c):
# a version 1 client end to end, unknown feature bits and fields, and a
# client with no version in common.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n' > "$RB_CONF"
rb_daemon_start
"$top_builddir/tests/integration/proto-compat" ||
	rb_fail "proto-compat reported failures"
rb_daemon_alive || rb_fail "daemon died"
grep -q 'protocol version range .* not supported' "$RB_LOG" ||
	rb_fail "no log line for a refused version range"
grep -q 'handshake, protocol 1 features 0, library 0.1.0, name v1-client' "$RB_LOG" ||
	rb_fail "the version 1 client was not served at version 1"
rb_daemon_stop

# This library and rdmactl against an older daemon (simulated): version 1,
# no features; listings come as one page, counts are refused clearly.
FAKE="$RB_TMP/fake-v1.sock"
"$top_builddir/tests/integration/proto-compat" fake-v1 "$FAKE" 4 > "$RB_TMP/fake.out" &
RB_HOLDER=$!
for _ in $(seq 1 100); do
	[ -S "$FAKE" ] && break
	sleep 0.1
done
RDMABROKER_SOCKET=$FAKE "$top_builddir/tests/integration/proto-compat" lib-v1 ||
	rb_fail "this library against a version 1 daemon"
RDMABROKER_SOCKET=$FAKE "$RB_RDMACTL" res > "$RB_TMP/res.out" 2>&1 &&
	rb_fail "rdmactl res counted against a version 1 daemon"
grep -q 'does not count objects (protocol version 1)' "$RB_TMP/res.out" ||
	rb_fail "rdmactl res against a version 1 daemon: $(cat "$RB_TMP/res.out")"
RDMABROKER_SOCKET=$FAKE "$RB_RDMACTL" res show > "$RB_TMP/show.out" 2>&1 ||
	rb_fail "rdmactl res show against a version 1 daemon: $(cat "$RB_TMP/show.out")"
grep -q 'showing the first 1' "$RB_TMP/show.out" && grep -q fake "$RB_TMP/show.out" ||
	rb_fail "rdmactl res show against a version 1 daemon: $(cat "$RB_TMP/show.out")"
RDMABROKER_SOCKET=$FAKE "$RB_RDMACTL" -j client > "$RB_TMP/client.out" 2>&1 ||
	rb_fail "rdmactl client against a version 1 daemon: $(cat "$RB_TMP/client.out")"
grep -q 'fake' "$RB_TMP/client.out" ||
	rb_fail "rdmactl client against a version 1 daemon: $(cat "$RB_TMP/client.out")"
wait "$RB_HOLDER" || rb_fail "the simulated version 1 daemon failed: $(cat "$RB_TMP/fake.out")"
RB_HOLDER=
rb_pass
