#!/bin/sh
# The engine's sleep and its pollers' CPUs in the CQ ring's header
# (tests/integration/engine-signs.c; proto/shm.h producer_asleep and
# consumer_cpu).  The daemon must survive it with no error in its log.
. "$top_srcdir/tests/lib/lib.sh"

unset RDMABROKER_POLL_SLEEP_US
# Not beside the busy loops of poll-yield and stream-share: its engine's
# yields would come back late, and it would nap between passes, flagged.
rb_cpu_lock
rb_daemon_start
"$top_builddir/tests/integration/engine-signs" || rb_fail "engine-signs reported failures"
rb_daemon_finish
rb_pass
