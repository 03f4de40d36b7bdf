# bench/: benchmark programs and the short benchmark command.
# shm-pingpong is the raw shared-memory floor that scripts/bench-quick.sh
# sets beside ibv_rc_pingpong on the broker; it is never installed.
noinst_PROGRAMS += bench/shm-pingpong
bench_shm_pingpong_SOURCES = bench/shm-pingpong.c bench/bench.h
bench_shm_pingpong_CFLAGS = $(AM_CFLAGS)

EXTRA_DIST += scripts/bench-quick.sh

# rdmab-perf: perftest-style latency and bandwidth tests over the verbs
# (see rdmab-perf(1)).  Linked against librdmabroker itself, so it needs
# no rdmab-run.
bin_PROGRAMS += bench/rdmab-perf
bench_rdmab_perf_SOURCES = bench/rdmab-perf.c
bench_rdmab_perf_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS) $(JSONC_CFLAGS)
bench_rdmab_perf_LDADD = libclient/librdmabroker.la $(JSONC_LIBS) -lm

# baseline: the figures every benchmark is compared with (raw relay and
# two-party shared-memory ping-pong, memcpy, UNIX sockets); never installed.
noinst_PROGRAMS += bench/baseline
bench_baseline_SOURCES = bench/baseline.c bench/bench.h
bench_baseline_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
bench_baseline_LDADD = $(JSONC_LIBS)

# rdmab-scale: control-path rates (QP and MR cycles) and a daemon holding
# many clients and idle QPs; never installed.
noinst_PROGRAMS += bench/rdmab-scale
bench_rdmab_scale_SOURCES = bench/rdmab-scale.c bench/bench.h
bench_rdmab_scale_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS) $(JSONC_CFLAGS)
bench_rdmab_scale_LDADD = libclient/librdmabroker.la $(JSONC_LIBS)
