# Issue 13: hostile clients of the connection manager.
check_PROGRAMS += tests/hostile/cm
tests_hostile_cm_SOURCES = tests/hostile/cm.c
tests_hostile_cm_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(RDMACM_CFLAGS) $(IBVERBS_CFLAGS)
tests_hostile_cm_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
TESTS += tests/hostile/cm.sh
EXTRA_DIST += tests/hostile/cm.sh
