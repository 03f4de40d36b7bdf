# tests/integration/xrc-share: XRC domains shared between processes by
# file and ibv_open_qp (issue 16), through a real daemon.
check_PROGRAMS += tests/integration/xrc-share
tests_integration_xrc_share_SOURCES = tests/integration/xrc-share.c
tests_integration_xrc_share_CFLAGS = $(data_test_cflags)
tests_integration_xrc_share_LDADD = $(data_test_ldadd)
TESTS += tests/integration/xrc-share.sh
EXTRA_DIST += tests/integration/xrc-share.sh
