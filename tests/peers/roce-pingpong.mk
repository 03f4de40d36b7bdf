# tests/peers/roce-pingpong.sh: the soft device across hosts (RoCEv2),
# unmodified pingpongs between two network namespaces (root; skips
# without).
TESTS += tests/peers/roce-pingpong.sh
EXTRA_DIST += tests/peers/roce-pingpong.sh
