#!/bin/sh
# Two client processes on the data path (tests/integration/dataerr-procs.c)
# through a real daemon: atomics from both on one counter, a peer
# SIGKILLed.  Afterwards, whatever the
# cases reported, the daemon is alive, holds no objects and stops cleanly.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
rb_run_released dataerr-procs
rb_pass
