#!/bin/sh
# tests/hostile/crash-loop.sh with the daemon under valgrind (memcheck, full leak
# check): 40 iterations unless RB_SOAK_ITERS says otherwise.  No invalid
# access, no use of uninitialised data, no leak at the SIGTERM that ends it.
RB_CRASH_VALGRIND=1
. "$top_srcdir/tests/hostile/crash-loop.sh"
