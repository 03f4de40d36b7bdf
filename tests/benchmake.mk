# tests/benchmake.mk: scripts/bench.sh (make bench) in --quick mode: the
# JSON, the summary and the plots are complete; speed is never asserted.
TESTS += tests/bench-make.sh
EXTRA_DIST += tests/bench-make.sh
