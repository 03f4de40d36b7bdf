# drivers/: device back-ends behind one ops table.
noinst_LTLIBRARIES += drivers/libdrivers.la
drivers_libdrivers_la_SOURCES = drivers/driver.h drivers/driver.c \
	drivers/soft/soft.c drivers/soft/ids.h
drivers_libdrivers_la_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS)
