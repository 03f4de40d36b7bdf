# tests/integration/sched-config.mk: weight, bandwidth and message_rate in
# rdmabrokerd.conf ([limits], [limits USER], [limits @GROUP]) and rdmactl.
TESTS += tests/integration/sched-config.sh
EXTRA_DIST += tests/integration/sched-config.sh
