# bench/: benchmark programs and the short benchmark command.
# shm-pingpong is the raw shared-memory floor that scripts/bench-quick.sh
# sets beside ibv_rc_pingpong on the broker; it is never installed.
noinst_PROGRAMS += bench/shm-pingpong
bench_shm_pingpong_SOURCES = bench/shm-pingpong.c bench/bench.h
bench_shm_pingpong_CFLAGS = $(AM_CFLAGS)

EXTRA_DIST += scripts/bench-quick.sh scripts/tcp-port.sh

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

# make bench: the standard benchmark set (scripts/bench.sh, described in
# docs/performance.md) on a private daemon with this build's binaries,
# with its baselines in the same run; bench.json, summary.txt and the
# plots land in bench-results/.  make bench-quick: the same in --quick
# mode, a smoke test whose figures mean nothing.  BENCH_FLAGS passes
# more options, e.g. make bench BENCH_FLAGS='--sizes 8,4K,1M'.
EXTRA_DIST += scripts/bench.sh scripts/bench-report.py scripts/bench-nest.sh docs/performance.md \
	scripts/bench-fair.sh scripts/bench-pace.sh \
	docs/bench/summary.txt docs/bench/bench.json docs/bench/latency.svg \
	docs/bench/bandwidth.svg
BENCH_OUT = $(abs_top_builddir)/bench-results
BENCH_FLAGS =
bench_run = RB_BUILDDIR='$(abs_top_builddir)' $(SHELL) '$(abs_top_srcdir)/scripts/bench.sh' \
	--out '$(BENCH_OUT)'
.PHONY: bench bench-quick bench-fair bench-pace bench-roce
bench: all
	$(bench_run) $(BENCH_FLAGS)
	$(bench_fair_run)
	$(bench_pace_run)
	$(bench_roce_run)
# make bench-pace: whether the engine keeps pace on a small, busy machine
# (scripts/bench-pace.sh, issue 17): unmodified ibv_rc_pingpong, perftest
# latencies against the relay, WRITE bandwidth against memcpy, quiet and
# beside a busy loop; paired rounds, median ratios, never judged.
bench_pace_run = RB_BUILDDIR='$(abs_top_builddir)' $(SHELL) '$(abs_top_srcdir)/scripts/bench-pace.sh' \
	--out '$(BENCH_OUT)'
bench-pace: all
	$(bench_pace_run)
# make bench-fair: the engine's fairness between users (scripts/bench-fair.sh):
# 8-byte ping-pong and QP create/destroy beside another user's 1 GiB
# WRITEs, paired rounds, median ratios; shares by weight and a cap.
bench_fair_run = RB_BUILDDIR='$(abs_top_builddir)' $(SHELL) '$(abs_top_srcdir)/scripts/bench-fair.sh' \
	--out '$(BENCH_OUT)'
bench-fair: all
	$(bench_fair_run)
bench-quick: all
	$(bench_run) --quick $(BENCH_FLAGS)
CLEAN_LOCAL += bench-clean-local
bench-clean-local:
	-rm -rf '$(BENCH_OUT)'

# udp-pingpong: the raw UDP round trip between two network namespaces that
# scripts/bench-roce.sh sets beside an 8-byte RC ping-pong across hosts;
# never installed.
noinst_PROGRAMS += bench/udp-pingpong
bench_udp_pingpong_SOURCES = bench/udp-pingpong.c bench/bench.h
bench_udp_pingpong_CFLAGS = $(AM_CFLAGS)
# relay-pingpong: the floor of a daemon-mediated latency across hosts
# (client -> shared memory -> proxy -> UDP -> proxy -> shared memory ->
# client), set beside udp-pingpong by scripts/bench-roce.sh; never installed.
noinst_PROGRAMS += bench/relay-pingpong
bench_relay_pingpong_SOURCES = bench/relay-pingpong.c bench/bench.h
bench_relay_pingpong_CFLAGS = $(AM_CFLAGS)
# make bench-roce: the soft device across hosts (scripts/bench-roce.sh,
# issue 18): two network namespaces joined by a veth, 8-byte RC latency
# against a raw UDP ping-pong and WRITE bandwidth against iperf3, paired
# rounds, never judged; needs root (says so and measures nothing without).
EXTRA_DIST += scripts/bench-roce.sh
bench_roce_run = RB_BUILDDIR='$(abs_top_builddir)' $(SHELL) '$(abs_top_srcdir)/scripts/bench-roce.sh' \
	--out '$(BENCH_OUT)'
bench-roce: all
	$(bench_roce_run)
