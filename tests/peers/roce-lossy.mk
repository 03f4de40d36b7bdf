# tests/peers/roce-lossy.sh: RoCEv2 RC between network namespaces over
# the seeded impaired link of tests/lib/impair (root; skips without).
TESTS += tests/peers/roce-lossy.sh
EXTRA_DIST += tests/peers/roce-lossy.sh
