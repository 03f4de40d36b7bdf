#!/bin/sh
# Retries of the data path (tests/integration/dataerr-retry.c) through a
# real daemon: RNR retry exhausted and retried until a receive arrives; a
# lost peer (gone, not ready, not connected back).  Afterwards, whatever the
# cases reported, the daemon is alive, holds no objects and stops cleanly.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
rb_run_released dataerr-retry
rb_pass
