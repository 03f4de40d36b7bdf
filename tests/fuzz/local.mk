# tests/fuzz/: libFuzzer targets on the daemon (tests/fuzz/run.sh runs them).
# With --enable-fuzzing (CC=clang) they are check programs built here from
# the daemon's own sources; otherwise tests/fuzz/run.sh compiles them with
# clang itself, so the test works from any build tree and in distcheck.
TESTS += tests/fuzz/run.sh
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/harness.c tests/fuzz/harness.h \
	tests/fuzz/fuzz-request.c tests/fuzz/fuzz-wqe.c tests/fuzz/gen-corpus.c \
	tests/fuzz/corpus-request tests/fuzz/corpus-wqe \
	tests/fuzz/regress-request tests/fuzz/regress-wqe

if ENABLE_FUZZING
# The daemon without main.c, compiled again with the fuzzer's coverage:
# the drivers and the protocol too, rather than their libraries.
FUZZ_SRC = daemon/log.c daemon/cfg.c daemon/listener.c \
	daemon/session.c daemon/dispatch.c daemon/device.c daemon/admin.c \
	daemon/notify.c daemon/loop.c daemon/res.c daemon/pd.c daemon/cq.c \
	daemon/qp.c daemon/srq.c daemon/ah.c daemon/mr.c daemon/ring.c \
	$(DRIVERS_SRC) proto/wire.c \
	proto/rpc.c tests/fuzz/harness.c tests/fuzz/harness.h
FUZZ_PB = proto/rdmabroker.pb-c.c
FUZZ_COMPILE = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	$(LIBEVENT_CFLAGS) $(LIBSYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(IBVERBS_CFLAGS) -Wno-redundant-decls
FUZZ_LINK = -fsanitize=fuzzer,address,undefined
FUZZ_LIBS = $(DRIVERS_LIBS) $(LIBEVENT_LIBS) $(LIBSYSTEMD_LIBS) $(PROTOBUF_C_LIBS)

check_PROGRAMS += tests/fuzz/fuzz-request tests/fuzz/fuzz-wqe
tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz-request.c $(FUZZ_SRC)
nodist_tests_fuzz_fuzz_request_SOURCES = $(FUZZ_PB)
tests_fuzz_fuzz_request_CFLAGS = $(FUZZ_COMPILE)
tests_fuzz_fuzz_request_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_request_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_wqe_SOURCES = tests/fuzz/fuzz-wqe.c $(FUZZ_SRC)
nodist_tests_fuzz_fuzz_wqe_SOURCES = $(FUZZ_PB)
tests_fuzz_fuzz_wqe_CFLAGS = $(FUZZ_COMPILE)
tests_fuzz_fuzz_wqe_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_wqe_LDADD = $(FUZZ_LIBS)
endif
