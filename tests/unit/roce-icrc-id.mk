# tests/unit/roce-icrc-id: the ICRC of IPv4 GSO segments (identification
# k) against one computed apart with zlib (drivers/soft/roce-wire.c).
check_PROGRAMS += tests/unit/roce-icrc-id
tests_unit_roce_icrc_id_SOURCES = tests/unit/roce-icrc-id.c
tests_unit_roce_icrc_id_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS) $(ZLIB_CFLAGS)
tests_unit_roce_icrc_id_LDADD = $(RBD_LIBS)
TESTS += tests/unit/roce-icrc-id
unit_tests += tests/unit/roce-icrc-id
