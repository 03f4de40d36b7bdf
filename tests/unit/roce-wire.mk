# tests/unit/roce-wire: the soft device's RoCEv2 headers, parser and ICRC
# (drivers/soft/roce-wire.c), plain checks; roce-wire-tshark.sh has
# Wireshark's dissector decode the packets it builds.
check_PROGRAMS += tests/unit/roce-wire
tests_unit_roce_wire_SOURCES = tests/unit/roce-wire.c
tests_unit_roce_wire_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS) $(ZLIB_CFLAGS)
tests_unit_roce_wire_LDADD = $(RBD_LIBS)
TESTS += tests/unit/roce-wire tests/unit/roce-wire-tshark.sh
EXTRA_DIST += tests/unit/roce-wire-tshark.sh tests/unit/roce-icrc.py
unit_tests += tests/unit/roce-wire tests/unit/roce-wire-tshark.sh
