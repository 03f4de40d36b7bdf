#!/bin/sh
# Error completions of the data path (tests/integration/dataerr-status.c)
# through a real daemon: local, remote and receive errors, with the
# flushes, QP states and async events behind them.  Afterwards, whatever the
# cases reported, the daemon is alive, holds no objects and stops cleanly.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
rb_run_released dataerr-status
rb_pass
