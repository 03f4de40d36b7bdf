# tests/unit/conv: one round trip per protobuf <-> verbs conversion of
# proto/conv.c, plain checks, no daemon.
check_PROGRAMS += tests/unit/conv
tests_unit_conv_SOURCES = tests/unit/conv.c
tests_unit_conv_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(IBVERBS_CFLAGS)
tests_unit_conv_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
TESTS += tests/unit/conv.sh
unit_tests += tests/unit/conv.sh
EXTRA_DIST += tests/unit/conv.sh
