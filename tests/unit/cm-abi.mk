# Issue 13: librdmabroker-cm's ABI against the list and the host's librdmacm.
TESTS += tests/unit/cm-abi.sh
unit_tests += tests/unit/cm-abi.sh
EXTRA_DIST += tests/unit/cm-abi.sh
