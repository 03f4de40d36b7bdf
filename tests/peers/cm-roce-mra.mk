# tests/peers/cm-roce-mra.mk: MRA across hosts (a late rdma_accept, a
# late rdma_establish); uses tests/peers/cm-roce-peer (cm-roce.mk).
TESTS += tests/peers/cm-roce-mra.sh
EXTRA_DIST += tests/peers/cm-roce-mra.sh
