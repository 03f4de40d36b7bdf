# tests/perf.mk: rdmab-perf in a quick mode against a private daemon;
# it proves the tool works and asserts nothing about speed.
TESTS += tests/rdmab-perf.sh
EXTRA_DIST += tests/rdmab-perf.sh
