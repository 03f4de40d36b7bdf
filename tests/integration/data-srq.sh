#!/bin/sh
# SRQs on the soft device (tests/integration/data-srq.c) against
# librdmabroker(7) (THE DATA PATH).
# The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/data-srq" || rb_fail "data-srq reported failures"
rb_daemon_finish
rb_pass
