# tests/bench/: the benchmarks in a quick mode against private daemons:
# bench/baseline (baselines), scripts/bench.sh (make-bench: JSON, summary,
# plots), scripts/bench-quick.sh (quick), bench/rdmab-scale (scale),
# bench/rdmab-perf (rdmab-perf).  They prove the tools work; speed is
# never asserted.
bench_tests = tests/bench/baselines.sh tests/bench/make-bench.sh \
	tests/bench/quick.sh tests/bench/scale.sh tests/bench/rdmab-perf.sh
TESTS += $(bench_tests)
# scripts/bench-pace.sh (pace) is checked by hand, not in the suite:
# `make check TESTS=tests/bench/pace.sh`.  Its minute of busy loop and
# bandwidth runs starves the rate tests that run beside it
# (integration/verbs-sched saw a user's stream at 0 B/s once, in a
# distcheck beside it).
EXTRA_DIST += $(bench_tests) tests/bench/pace.sh
