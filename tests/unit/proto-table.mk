# tests/unit/proto-table.sh: docs/protocol.md's tables of messages,
# numbers and versions against proto/rdmabroker.proto and version 1.
TESTS += tests/unit/proto-table.sh
unit_tests += tests/unit/proto-table.sh
EXTRA_DIST += tests/unit/proto-table.sh
