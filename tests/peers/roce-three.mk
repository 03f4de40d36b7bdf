# tests/peers/roce-three.sh: one host's daemon talking RoCEv2 RC to two
# others at once (three network namespaces; root, skips without).
TESTS += tests/peers/roce-three.sh
EXTRA_DIST += tests/peers/roce-three.sh
