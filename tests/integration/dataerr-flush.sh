#!/bin/sh
# Flushes of the data path (tests/integration/dataerr-flush.c) through a
# real daemon: on ibv_modify_qp(ERR) and of WRs posted in ERR, a CQ
# overrun, a peer QP destroyed.  Afterwards, whatever the
# cases reported, the daemon is alive, holds no objects and stops cleanly.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
rb_run_released dataerr-flush
rb_pass
