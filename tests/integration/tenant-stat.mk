# Per-tenant metrics (issue 14): rdmactl stat, text, JSON and Prometheus.
TESTS += tests/integration/tenant-stat.sh
EXTRA_DIST += tests/integration/tenant-stat.sh
