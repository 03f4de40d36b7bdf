#!/bin/sh
# libFuzzer on the soft device's engine (tests/fuzz/fuzz-wqe.c): what a
# client writes into its SQs, RQs and SRQ, and its doorbells.
# Regression inputs and seeds are replayed, then it fuzzes for
# RB_FUZZ_SECONDS (default 60); tests/fuzz/fuzz-lib.sh says the rest.
. "$top_srcdir/tests/lib/lib.sh"

targets=fuzz-wqe
. "$top_srcdir/tests/fuzz/fuzz-lib.sh"
