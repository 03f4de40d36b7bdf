# Issue 13: rdmacm-utils through the broker's connection manager.
TESTS += tests/peers/cm-rdmacm-utils.sh tests/peers/cm-stack.sh
EXTRA_DIST += tests/peers/cm-rdmacm-utils.sh tests/peers/cm-stack.sh tests/lib/cm-lib.sh
