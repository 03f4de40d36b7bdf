# tests/fuzz/fuzz-roce: libFuzzer on the RoCEv2 parser and ICRC
# (drivers/soft/roce-wire.c), built and run as fuzz-lib.sh builds the
# other targets (with --enable-fuzzing, here).
TESTS += tests/fuzz/fuzz-roce.sh
EXTRA_DIST += tests/fuzz/fuzz-roce.sh tests/fuzz/fuzz-roce.c tests/fuzz/corpus-roce
if ENABLE_FUZZING
check_PROGRAMS += tests/fuzz/fuzz-roce
tests_fuzz_fuzz_roce_SOURCES = tests/fuzz/fuzz-roce.c $(FUZZ_SRC)
nodist_tests_fuzz_fuzz_roce_SOURCES = $(FUZZ_PB)
tests_fuzz_fuzz_roce_CFLAGS = $(FUZZ_COMPILE) $(ZLIB_CFLAGS)
tests_fuzz_fuzz_roce_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_roce_LDADD = $(FUZZ_LIBS)
endif
