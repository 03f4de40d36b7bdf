#!/bin/sh
# Protocol compatibility against a real daemon (tests/integration/proto-compat.c):
# a version 1 client end to end, unknown feature bits and fields, and a
# client with no version in common.
. "$top_srcdir/tests/lib.sh"

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
rb_pass
