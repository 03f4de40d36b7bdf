# tests/ident.mk: identity (issue 6): isolation of clients of different
# users and of PDs within a client, admin requests as an unprivileged user
# and as a member of admin_group, per-user limits.  The tests switch users
# with setpriv(1): they need root and skip (77) without it.
check_PROGRAMS += tests/ident-client
tests_ident_client_SOURCES = tests/ident-client.c
tests_ident_client_CFLAGS = $(data_test_cflags) $(PROTOBUF_C_CFLAGS)
tests_ident_client_LDADD = $(data_test_ldadd) proto/libproto.la $(PROTOBUF_C_LIBS)
rb_ident_tests = tests/ident-objects.sh tests/ident-admin.sh tests/ident-caps.sh \
	tests/ident-limits.sh tests/systemd-security.sh
TESTS += $(rb_ident_tests)
EXTRA_DIST += $(rb_ident_tests) tests/ident-lib.sh
