#!/bin/sh
# libFuzzer on the soft device's RoCEv2 packet parser and ICRC
# (tests/fuzz/fuzz-roce.c): what anyone on the network may send to UDP
# 4791.  Seeds are one packet per opcode; regression inputs and seeds
# are replayed, then it fuzzes for RB_FUZZ_SECONDS (default 60);
# tests/fuzz/fuzz-lib.sh says the rest.
. "$top_srcdir/tests/lib/lib.sh"

targets=fuzz-roce
. "$top_srcdir/tests/fuzz/fuzz-lib.sh"
