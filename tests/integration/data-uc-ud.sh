#!/bin/sh
# UC and UD on the soft device (tests/integration/data-uc-ud.c) against
# librdmabroker(7) (THE DATA PATH).
# The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/data-uc-ud" || rb_fail "data-uc-ud reported failures"
rb_daemon_finish
rb_pass
