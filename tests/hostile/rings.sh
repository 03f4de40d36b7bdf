#!/bin/sh
# A client that writes its shared rings by hand (tests/hostile/rings.c):
# malformed WQEs, other clients' keys, indices far past the rings, a WQE
# changed after the doorbell.  Each gets its error completion, or for the
# indices a disconnect; the daemon stays up, serves fresh clients, and
# holds nothing afterwards.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/hostile/rings" || rb_fail "client-hostile reported failures"
rb_daemon_alive || rb_fail "the daemon died"
grep -q 'disconnected: an SQ producer index past its ring' "$RB_LOG" ||
	rb_fail "no log line for the client with a wild SQ index"
left=$("$RB_RDMACTL" -j res show | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$left" = 0 ] || rb_fail "the daemon still holds $left objects"
rb_daemon_stop
rb_pass
