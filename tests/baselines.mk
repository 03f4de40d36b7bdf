# tests/baselines.mk: bench/baseline (the raw relay, two-party
# shared-memory, memcpy and UNIX-socket baselines) in a quick mode.
TESTS += tests/bench-baselines.sh
EXTRA_DIST += tests/bench-baselines.sh
