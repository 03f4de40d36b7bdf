# tests/peers/roce-data.sh: the data-path suite's programs with their two
# clients on two daemons in two network namespaces (root; skips without).
TESTS += tests/peers/roce-data.sh
EXTRA_DIST += tests/peers/roce-data.sh
