# tests/scale.mk: bench/rdmab-scale (control-path rates, many clients and
# idle QPs) in a quick mode; it asserts nothing about speed.
TESTS += tests/bench-scale.sh
EXTRA_DIST += tests/bench-scale.sh
