# tests/fuzz/: libFuzzer targets on the daemon, each run by the runner of
# its name (fuzz-request.sh, fuzz-wqe.sh, sharing fuzz-lib.sh).  With
# --enable-fuzzing (CC=clang) they are check programs built here from the
# daemon's own sources; otherwise fuzz-lib.sh compiles them with clang
# itself, so the tests work from any build tree and in distcheck.
TESTS += tests/fuzz/fuzz-request.sh tests/fuzz/fuzz-wqe.sh
EXTRA_DIST += tests/fuzz/fuzz-request.sh tests/fuzz/fuzz-wqe.sh \
	tests/fuzz/fuzz-lib.sh tests/fuzz/harness.c tests/fuzz/harness.h \
	tests/fuzz/fuzz-request.c tests/fuzz/fuzz-wqe.c tests/fuzz/gen-corpus.c \
	tests/fuzz/corpus-request tests/fuzz/corpus-wqe \
	tests/fuzz/regress-request tests/fuzz/regress-wqe

# The daemon as daemon/librbd.la holds it (main.c aside) and the protocol
# as proto/libproto.la holds it: their own source lists, never written
# again here.  tests/fuzz/fuzz-lib.sh asks for them with `make fuzz-sources`
# when it compiles them with clang itself.
FUZZ_SRC = $(daemon_librbd_la_SOURCES) $(proto_libproto_la_SOURCES)
FUZZ_PB = $(nodist_proto_libproto_la_SOURCES)
fuzz-sources:
	@echo "srcdir: $(FUZZ_SRC)"
	@echo "builddir: $(FUZZ_PB)"
.PHONY: fuzz-sources
AM_TESTS_ENVIRONMENT += MAKE='$(MAKE)'; export MAKE;

if ENABLE_FUZZING
# Compiled again with the fuzzer's coverage, into each target.
FUZZ_COMPILE = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	$(LIBEVENT_CFLAGS) $(LIBSYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(IBVERBS_CFLAGS) -Wno-redundant-decls
FUZZ_LINK = -fsanitize=fuzzer,address,undefined
FUZZ_LIBS = $(DRIVERS_LIBS) $(LIBEVENT_LIBS) $(LIBSYSTEMD_LIBS) $(PROTOBUF_C_LIBS)

check_PROGRAMS += tests/fuzz/fuzz-request tests/fuzz/fuzz-wqe
tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz-request.c tests/fuzz/harness.c \
	tests/fuzz/harness.h $(FUZZ_SRC)
nodist_tests_fuzz_fuzz_request_SOURCES = $(FUZZ_PB)
tests_fuzz_fuzz_request_CFLAGS = $(FUZZ_COMPILE)
tests_fuzz_fuzz_request_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_request_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_wqe_SOURCES = tests/fuzz/fuzz-wqe.c tests/fuzz/harness.c \
	tests/fuzz/harness.h $(FUZZ_SRC)
nodist_tests_fuzz_fuzz_wqe_SOURCES = $(FUZZ_PB)
tests_fuzz_fuzz_wqe_CFLAGS = $(FUZZ_COMPILE)
tests_fuzz_fuzz_wqe_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_wqe_LDADD = $(FUZZ_LIBS)
endif
