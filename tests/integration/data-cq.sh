#!/bin/sh
# Completion channels and the extended CQ on the soft device
# (tests/integration/data-cq.c) against librdmabroker(7).
# The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/data-cq" || rb_fail "data-cq reported failures"
rb_daemon_finish
rb_pass
