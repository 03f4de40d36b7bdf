# tests/integration/send-parts.mk: a large SEND moves in parts, beside
# another user's ping-pong, and cut short in the middle.
check_PROGRAMS += tests/integration/send-parts
tests_integration_send_parts_SOURCES = tests/integration/send-parts.c
tests_integration_send_parts_CFLAGS = $(data_test_cflags)
tests_integration_send_parts_LDADD = $(data_test_ldadd)
TESTS += tests/integration/send-parts.sh
EXTRA_DIST += tests/integration/send-parts.sh
