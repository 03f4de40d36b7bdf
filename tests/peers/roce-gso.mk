# tests/peers/roce-gso.sh: UDP GSO/GRO of IPv6 RoCE packets across two
# network namespaces, checked on the wire and by the data (root; skips
# without).
TESTS += tests/peers/roce-gso.sh
EXTRA_DIST += tests/peers/roce-gso.sh
