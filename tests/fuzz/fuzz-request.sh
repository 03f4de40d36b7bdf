#!/bin/sh
# libFuzzer on the daemon's control socket (tests/fuzz/fuzz-request.c):
# whole sessions of datagrams (with fds) through its decoder and
# dispatcher.
# Regression inputs and seeds are replayed, then it fuzzes for
# RB_FUZZ_SECONDS (default 60); tests/fuzz/fuzz-lib.sh says the rest.
. "$top_srcdir/tests/lib/lib.sh"

targets=fuzz-request
. "$top_srcdir/tests/fuzz/fuzz-lib.sh"
