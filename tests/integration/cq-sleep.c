/* SPDX-License-Identifier: MIT */
/*
 * A thread that polls an empty CQ while the engine works for it sleeps on
 * the CQ's ring, and the engine wakes it (libclient/cq.c rbc_cq_wait,
 * daemon/cq.c cq_wake); one that waits for its peer spins.  For
 * tests/integration/cq-sleep.sh.  One process, two clients of the soft
 * device with an RC QP between them.  A poller thread polls one CQ:
 *
 *   cq-sleep [-x] [-a] write N SIZE
 *       the poller posts N signaled WRITEs of SIZE bytes, one at a time,
 *       and polls the send CQ for each (a wait for the engine);
 *   cq-sleep [-x] [-a] recv N GAP
 *       the poller polls the receiving CQ while the main thread sends N
 *       8-byte SENDs, one every GAP microseconds (a wait for the peer);
 *     -x   poll with the extended API (ibv_create_cq_ex, ibv_start_poll)
 *     -a   the poller polls a second, always empty, CQ between polls of
 *          the first (a thread that polls several CQs in turn)
 *     -c CPU  the poller starts on CPU: it runs there alone a moment, then
 *          takes back the mask it had, which leaves it there
 *
 * Every WR must complete once, in order; the bytes must arrive intact.
 * Prints one line:
 *   completions N cpu_ms C wall_ms W nvcsw V delay_us_median D delay_us_max M
 *     on_start_cpu K cpus_allowed A
 * (the poller thread's CPU time, the wall time it polled, its voluntary
 * context switches, how long after each post the poller had the
 * completion, how many completions it had on the CPU it started on, and
 * how many CPUs its affinity mask held at the end).  Exit 1 on a failure (reported on stderr).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"

#define CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "cq-sleep: FAIL (line %d): ", __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } } while (0)

#define MAX_N 4096

static struct {
	int n;
	bool ex, alternate, write;
	size_t size;			/* write */
	struct ibv_qp *qp;		/* write: the poller's */
	struct dt_buf *src, *dst;	/* write */
	struct ibv_cq *rcq;		/* the polled CQ (of rcq_ex with -x) */
	struct ibv_cq_ex *rcq_ex;
	struct ibv_cq *other;		/* -a: polled in turn, never gets anything */
	uint64_t posted_ns[MAX_N];	/* when message i was posted */
	uint64_t delay_ns[MAX_N];	/* when the poller had it, after that */
	uint64_t cpu_ns, wall_ns;
	long nvcsw;
	int start_cpu;			/* -c, or -1 */
	int on_start_cpu, cpus_allowed;
	const char *err;
} t;

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One completion of the polled CQ, or 0 if none (or -1: an error). */
static int poll_one(struct ibv_wc *wc)
{
	struct ibv_poll_cq_attr attr = { 0 };
	int ret;

	if (!t.ex)
		return ibv_poll_cq(t.rcq, 1, wc);
	ret = ibv_start_poll(t.rcq_ex, &attr);
	if (ret == ENOENT)
		return 0;
	if (ret)
		return -1;
	wc->wr_id = t.rcq_ex->wr_id;
	wc->status = t.rcq_ex->status;
	wc->opcode = ibv_wc_read_opcode(t.rcq_ex);
	wc->byte_len = ibv_wc_read_byte_len(t.rcq_ex);
	ibv_end_poll(t.rcq_ex);
	return 1;
}

static void *poller(void *arg)
{
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t wall0 = clock_ns(CLOCK_MONOTONIC), end = wall0 + 30000000000ull;
	struct rusage ru0, ru1;
	struct ibv_wc wc;
	int got = 0;

	(void)arg;
	if (t.start_cpu >= 0) {
		cpu_set_t mine, one;

		CPU_ZERO(&one);
		CPU_SET(t.start_cpu, &one);
		if (sched_getaffinity(0, sizeof(mine), &mine) ||
		    sched_setaffinity(0, sizeof(one), &one) ||
		    sched_setaffinity(0, sizeof(mine), &mine)) {
			t.err = "-c: the poller could not be moved";
			return NULL;
		}
	} else {
		t.start_cpu = sched_getcpu();
	}
	getrusage(RUSAGE_THREAD, &ru0);
	while (got < t.n) {
		int r;

		if (t.write && !t.posted_ns[got]) {
			struct ibv_sge sge = { (uintptr_t)t.src->p, (uint32_t)t.size,
					       t.src->mr->lkey };
			struct ibv_send_wr wr = {
				.wr_id = (uint64_t)got, .sg_list = &sge, .num_sge = 1,
				.opcode = IBV_WR_RDMA_WRITE, .send_flags = IBV_SEND_SIGNALED,
				.wr.rdma = { (uintptr_t)t.dst->p, t.dst->mr->rkey },
			}, *bad;

			t.posted_ns[got] = clock_ns(CLOCK_MONOTONIC);
			if (ibv_post_send(t.qp, &wr, &bad)) {
				t.err = "a WRITE could not be posted";
				return NULL;
			}
		}
		r = poll_one(&wc);
		if (r < 0) {
			t.err = "a poll failed";
			return NULL;
		}
		if (r == 1) {
			uint64_t now = clock_ns(CLOCK_MONOTONIC);
			enum ibv_wc_opcode op = t.write ? IBV_WC_RDMA_WRITE : IBV_WC_RECV;

			if (wc.status != IBV_WC_SUCCESS || wc.opcode != op ||
			    (!t.write && wc.byte_len != 8) || wc.wr_id != (uint64_t)got) {
				t.err = "a completion is wrong or out of order";
				return NULL;
			}
			t.delay_ns[got] = now - __atomic_load_n(&t.posted_ns[got], __ATOMIC_ACQUIRE);
			t.on_start_cpu += sched_getcpu() == t.start_cpu;
			got++;
		} else if (clock_ns(CLOCK_MONOTONIC) > end) {
			t.err = "messages did not arrive in 30 s";
			return NULL;
		}
		if (t.alternate && ibv_poll_cq(t.other, 1, &wc) != 0) {
			t.err = "the empty CQ had a completion";
			return NULL;
		}
	}
	getrusage(RUSAGE_THREAD, &ru1);
	t.cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	t.wall_ns = clock_ns(CLOCK_MONOTONIC) - wall0;
	t.nvcsw = ru1.ru_nvcsw - ru0.ru_nvcsw;
	{
		cpu_set_t mine;

		t.cpus_allowed = sched_getaffinity(0, sizeof(mine), &mine) ? -1 : CPU_COUNT(&mine);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct ibv_cq_init_attr_ex cqa = { .cqe = 64, .wc_flags = IBV_WC_STANDARD_FLAGS };
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = MAX_N, .max_send_sge = 1,
				  .max_recv_sge = 1 };
	struct dt_node a = { 0 }, b = { 0 };
	struct dt_buf src = { 0 }, dst = { 0 };
	struct ibv_qp *qa, *qb;
	struct timespec gap;
	pthread_t th;
	long gap_us;
	int opt;

	t.start_cpu = -1;
	while ((opt = getopt(argc, argv, "xac:")) != -1) {
		if (opt == 'x')
			t.ex = true;
		else if (opt == 'a')
			t.alternate = true;
		else if (opt == 'c')
			t.start_cpu = atoi(optarg);
		else
			return 2;
	}
	CHECK(argc - optind == 3 && (!strcmp(argv[optind], "write") ||
				     !strcmp(argv[optind], "recv")),
	      "usage: cq-sleep [-x] [-a] [-c CPU] write N SIZE | recv N GAP_US");
	t.write = !strcmp(argv[optind], "write");
	t.n = atoi(argv[optind + 1]);
	gap_us = t.write ? 0 : atol(argv[optind + 2]);
	t.size = t.write ? strtoul(argv[optind + 2], NULL, 0) : 8 * (size_t)t.n;
	CHECK(t.n > 0 && t.n <= MAX_N && gap_us >= 0 && t.size >= 8 && t.size <= (1u << 30),
	      "bad N, SIZE or GAP_US");
	gap.tv_sec = gap_us / 1000000;
	gap.tv_nsec = (gap_us % 1000000) * 1000;

	CHECK(!dt_node_open(&a, 64, false) && !dt_node_open(&b, MAX_N, false),
	      "cannot open two clients of the soft device");
	/* The polled CQ: the receiver's (recv), or the writer's send CQ. */
	if (t.ex) {
		cqa.cqe = MAX_N;
		t.rcq_ex = ibv_create_cq_ex(t.write ? a.ctx : b.ctx, &cqa);
		CHECK(t.rcq_ex, "ibv_create_cq_ex: %s", strerror(errno));
		t.rcq = ibv_cq_ex_to_cq(t.rcq_ex);
	} else {
		t.rcq = t.write ? a.scq : b.rcq;
	}
	if (t.alternate) {
		t.other = ibv_create_cq(t.write ? a.ctx : b.ctx, 16, NULL, NULL, 0);
		CHECK(t.other, "ibv_create_cq: %s", strerror(errno));
	}
	CHECK(!dt_buf_alloc(&src, a.pd, t.size, DT_ACCESS_ALL) &&
	      !dt_buf_alloc(&dst, b.pd, t.size, DT_ACCESS_ALL), "buffers");
	if (t.write && t.ex) {
		/* dt_qp_create takes its send CQ from the node */
		struct ibv_cq *scq = a.scq;

		a.scq = t.rcq;
		qa = dt_qp_create(&a, IBV_QPT_RC, &cap, NULL, NULL, 0);
		a.scq = scq;
	} else {
		qa = dt_qp_create(&a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	}
	cap.max_send_wr = 16;
	cap.max_recv_wr = MAX_N;
	qb = dt_qp_create(&b, IBV_QPT_RC, &cap, t.write ? NULL : t.rcq, NULL, 1);
	CHECK(qa && qb, "QPs");
	CHECK(!dt_qp_connect(qa, qb, NULL), "connect");
	dt_fill(src.p, src.len, 7);
	t.qp = qa;
	t.src = &src;
	t.dst = &dst;
	if (t.write) {
		/* The poller posts and waits by itself. */
		poller(NULL);
		goto done;
	}
	for (int i = 0; i < t.n; i++)
		CHECK(!dt_post_recv(qb, (uint64_t)i, dst.p + 8 * i, 8, dst.mr->lkey),
		      "post_recv %d", i);

	CHECK(!pthread_create(&th, NULL, poller, NULL), "pthread_create");
	for (int i = 0; i < t.n && !t.err; i++) {
		struct ibv_sge sge = { (uintptr_t)(src.p + 8 * i), 8, src.mr->lkey };
		struct ibv_send_wr wr = { .wr_id = (uint64_t)i, .sg_list = &sge, .num_sge = 1,
					  .opcode = IBV_WR_SEND };
		struct ibv_wc wc;
		char why[256];

		nanosleep(&gap, NULL);
		__atomic_store_n(&t.posted_ns[i], clock_ns(CLOCK_MONOTONIC), __ATOMIC_RELEASE);
		CHECK(!dt_post_wait(qa, a.scq, &wr, IBV_WC_SUCCESS, &wc, why, sizeof(why)),
		      "SEND %d: %s", i, why);
	}
	pthread_join(th, NULL);
done:
	CHECK(!t.err, "%s", t.err);
	CHECK(dt_verify(dst.p, dst.len, 7) < 0, "the received bytes differ from those sent");

	qsort(t.delay_ns, (size_t)t.n, sizeof(t.delay_ns[0]), cmp_u64);
	printf("completions %d cpu_ms %.1f wall_ms %.1f nvcsw %ld delay_us_median %.1f delay_us_max %.1f "
	       "on_start_cpu %d cpus_allowed %d\n",
	       t.n, t.cpu_ns / 1e6, t.wall_ns / 1e6, t.nvcsw, t.delay_ns[t.n / 2] / 1e3,
	       t.delay_ns[t.n - 1] / 1e3, t.on_start_cpu, t.cpus_allowed);

	ibv_destroy_qp(qa);
	ibv_destroy_qp(qb);
	dt_buf_free(&src);
	dt_buf_free(&dst);
	if (t.other)
		ibv_destroy_cq(t.other);
	if (t.rcq_ex)
		ibv_destroy_cq(t.rcq);
	dt_node_close(&a);
	dt_node_close(&b);
	return 0;
}
