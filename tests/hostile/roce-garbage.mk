# tests/hostile/roce-garbage.sh: hostile packets on the soft device's
# RoCEv2 port from another network namespace, dropped and counted (root;
# skips without).
TESTS += tests/hostile/roce-garbage.sh
EXTRA_DIST += tests/hostile/roce-garbage.sh
