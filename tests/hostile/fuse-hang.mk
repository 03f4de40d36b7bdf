# Memory that never answers (issue 14): a FUSE file whose reads never
# return, registered by an unprivileged client; skips without libfuse3.
if HAVE_FUSE3
check_PROGRAMS += tests/hostile/fuse-hang
tests_hostile_fuse_hang_SOURCES = tests/hostile/fuse-hang.c
tests_hostile_fuse_hang_CFLAGS = $(data_test_cflags) $(FUSE3_CFLAGS) -Wno-missing-field-initializers
tests_hostile_fuse_hang_LDADD = $(data_test_ldadd) $(FUSE3_LIBS)
endif
TESTS += tests/hostile/fuse-hang.sh
EXTRA_DIST += tests/hostile/fuse-hang.sh tests/hostile/fuse-hang.c
