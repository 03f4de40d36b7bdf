#!/bin/sh
# Ordering, SGE lists, inline data, selective signaling and FENCE on the
# soft device (tests/integration/data-wr.c) against librdmabroker(7).
# The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/data-wr" || rb_fail "data-wr reported failures"
rb_daemon_finish
rb_pass
