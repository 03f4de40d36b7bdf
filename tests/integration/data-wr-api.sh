#!/bin/sh
# The ibv_wr_* API on the soft device (tests/integration/data-wr-api.c)
# against librdmabroker(7) (THE DATA PATH).
# The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/data-wr-api" || rb_fail "data-wr-api reported failures"
rb_daemon_finish
rb_pass
