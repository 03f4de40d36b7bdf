# tests/bench/roce.sh: scripts/bench-roce.sh in its quick mode (root for
# the namespaces; skips without).
TESTS += tests/bench/roce.sh
EXTRA_DIST += tests/bench/roce.sh
