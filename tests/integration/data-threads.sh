#!/bin/sh
# Threads posting on the soft device (tests/integration/data-threads.c)
# against librdmabroker(7) (THE DATA PATH).
# The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/data-threads" || rb_fail "data-threads reported failures"
rb_daemon_finish
rb_pass
