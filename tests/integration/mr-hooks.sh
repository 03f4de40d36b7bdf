#!/bin/sh
# Registration under a program's own mmap/mremap hooks, as UCX installs
# them (tests/integration/mr-hooks.c): UCX's rendezvous sequence in plain
# verbs, its data checked, and the library's re-backing kept away from
# the hooks.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
"$top_builddir/tests/integration/mr-hooks" || rb_fail "mr-hooks reported failures"
rb_daemon_alive || rb_fail "the daemon died"
rb_daemon_stop
rb_pass
