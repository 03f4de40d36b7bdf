# tests/peers/roce-mtu.sh: path MTU 1024, 4096 clamped to the link, and a
# mismatch NAKed, between two network namespaces (root; skips without).
TESTS += tests/peers/roce-mtu.sh
EXTRA_DIST += tests/peers/roce-mtu.sh
