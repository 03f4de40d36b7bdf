# tests/: unit tests (cmocka), integration tests against a real daemon.
include $(srcdir)/tests/libclient.mk
include $(srcdir)/tests/rdmactl.mk
