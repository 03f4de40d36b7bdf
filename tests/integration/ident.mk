# tests/integration/ident.mk: identity: isolation of clients of different
# users and of PDs within a client, admin requests as an unprivileged user
# and as a member of admin_group, per-user limits, a daemon without
# privilege.  They switch users with setpriv(1) (tests/lib/ident-lib.sh,
# tests/lib/ident-client): they need root and skip (77) without it.
ident_tests = tests/integration/ident-objects.sh \
	tests/integration/ident-admin.sh tests/integration/ident-caps.sh \
	tests/integration/ident-limits.sh
TESTS += $(ident_tests)
EXTRA_DIST += $(ident_tests)
