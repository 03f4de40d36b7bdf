# tests/drivers.mk: the driver boundary (drivers/driver.h, issue 12).
check_PROGRAMS += tests/unit-drivers
TESTS += tests/unit-drivers
tests_unit_drivers_SOURCES = tests/unit-drivers.c
tests_unit_drivers_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(IBVERBS_CFLAGS) \
	$(PROTOBUF_C_CFLAGS)
tests_unit_drivers_LDADD = $(RBD_LIBS) $(CMOCKA_LIBS)
