# tests/integration/sched-share.mk: the engine's shares by weight and its
# caps, from the daemon's own counters (rdmactl limits).
TESTS += tests/integration/sched-share.sh
EXTRA_DIST += tests/integration/sched-share.sh
