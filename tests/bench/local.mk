# tests/bench/: the benchmarks in a quick mode against private daemons:
# bench/baseline (baselines), scripts/bench.sh (make-bench: JSON, summary,
# plots), scripts/bench-quick.sh (quick), bench/rdmab-scale (scale),
# bench/rdmab-perf (rdmab-perf), scripts/bench-pace.sh (pace).  They
# prove the tools work; speed is never asserted.
bench_tests = tests/bench/baselines.sh tests/bench/make-bench.sh \
	tests/bench/quick.sh tests/bench/scale.sh tests/bench/rdmab-perf.sh \
	tests/bench/pace.sh
TESTS += $(bench_tests)
EXTRA_DIST += $(bench_tests)
