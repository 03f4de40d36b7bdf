/* SPDX-License-Identifier: MIT */
/*
 * Two client processes on the soft device's RC data path, through a real
 * daemon (tests/integration/dataerr-procs.sh): atomics from two processes
 * on one counter, and a peer process SIGKILLed.  Every wait is bounded,
 * so a missing completion or event fails the case.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"
#include "tests/integration/dataerr-lib.h"

/* ---- two client processes: atomics, and a killed peer ------------------- */

#define CHILD_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "child %d: line %d: %s\n", (int)getpid(),	\
			__LINE__, #cond);				\
		_exit(1);						\
	}								\
} while (0)

/* Read or write exactly n bytes, waiting at most WAIT_MS for each part. */
static int fd_read_full(int fd, void *p, size_t n)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		if (poll(&pf, 1, WAIT_MS) != 1)
			return -1;
		r = read(fd, (char *)p + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int fd_write_full(int fd, const void *p, size_t n)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = write(fd, (const char *)p + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* What the parent tells a child: its QP and the counter. */
struct hello {
	uint32_t qpn;
	uint32_t rkey;
	uint64_t addr;
};

/* A client of its own: context, PD, CQ, an MR of BUF_SIZE, an RC QP. */
struct proc_end {
	struct ibv_device **list;
	struct end e;
};

static int proc_end_open(struct proc_end *p)
{
	int n;

	memset(p, 0, sizeof(*p));
	p->list = ibv_get_device_list(&n);
	if (!p->list || n < 1)
		return -1;
	p->e.ctx = ibv_open_device(p->list[0]);
	if (!p->e.ctx)
		return -1;
	p->e.pd = ibv_alloc_pd(p->e.ctx);
	p->e.cq = ibv_create_cq(p->e.ctx, 256, NULL, NULL, 0);
	if (!p->e.pd || !p->e.cq)
		return -1;
	p->e.mr = buf_reg(p->e.pd, &p->e.buf, ACCESS_ALL, 0);
	p->e.qp = qp_create(p->e.pd, p->e.cq);
	return p->e.mr && p->e.qp ? 0 : -1;
}

static void proc_end_close(struct proc_end *p)
{
	struct ibv_context *ctx = p->e.ctx;

	if (ctx)
		drain_async(ctx);
	end_close(&p->e);
	if (ctx)
		ibv_close_device(ctx);
	if (p->list)
		ibv_free_device_list(p->list);
	p->list = NULL;
}

/*
 * The cases that fork: nothing verbs-related is open at the fork; what
 * the parent opens afterwards, and the children, are cleaned up here
 * when a case fails half way.
 */
struct proc_fix {
	struct proc_end par;
	struct ibv_qp *qp2;		/* the parent's second QP, if any */
	pid_t pid[2];
};

static int proc_setup(void **state)
{
	*state = calloc(1, sizeof(struct proc_fix));
	alarm(CASE_ALARM);
	return *state ? 0 : -1;
}

static int proc_teardown(void **state)
{
	struct proc_fix *f = *state;
	size_t i;

	for (i = 0; i < 2; i++)
		if (f->pid[i] > 0) {
			kill(f->pid[i], SIGKILL);
			waitpid(f->pid[i], NULL, 0);
		}
	if (f->par.e.ctx)
		drain_async(f->par.e.ctx);
	if (f->qp2)
		ibv_destroy_qp(f->qp2);
	proc_end_close(&f->par);
	free(f);
	alarm(0);
	return 0;
}

#define FAA_PER_CHILD	5000
#define CAS_PER_CHILD	300
#define FAA_BATCH	16

/* One completion within WAIT_MS, successful, of the opcode and QP. */
static int child_wc(struct end *e, enum ibv_wc_opcode op, struct ibv_wc *wc)
{
	return wc_wait(e->cq, wc, WAIT_MS) == 1 && wc->status == IBV_WC_SUCCESS &&
	       wc->opcode == op && wc->byte_len == 8 && wc->qp_num == e->qp->qp_num ?
	       0 : -1;
}

/*
 * A child: its own client; 5000 FETCH_AND_ADD(1) in batches, then
 * CMP_AND_SWP increments until 300 succeed; then it hands the parent the
 * original value of every successful increment.
 */
static __attribute__((noreturn)) void child_atomics(int rfd, int wfd)
{
	static uint64_t faa[FAA_PER_CHILD], cas[CAS_PER_CHILD];
	struct proc_end p;
	struct hello h;
	struct ibv_send_wr wr[FAA_BATCH];
	struct ibv_sge s[FAA_BATCH];
	struct ibv_wc wc;
	uint64_t expect = 0, *res;
	uint32_t qpn, done = 0, ok = 0, tries = 0, i, batch;
	char go;

	alarm(CASE_ALARM);
	CHILD_CHECK(fd_read_full(rfd, &h, sizeof(h)) == 0);
	CHILD_CHECK(proc_end_open(&p) == 0);
	res = (uint64_t *)(void *)p.e.buf;
	CHILD_CHECK(qp_init(p.e.qp, IBV_ACCESS_LOCAL_WRITE) == 0);
	qpn = p.e.qp->qp_num;
	CHILD_CHECK(fd_write_full(wfd, &qpn, sizeof(qpn)) == 0);
	CHILD_CHECK(qp_rtr(p.e.qp, h.qpn, PSN_B, 1) == 0);
	CHILD_CHECK(qp_rts(p.e.qp, PSN_A, 7) == 0);
	CHILD_CHECK(fd_read_full(rfd, &go, 1) == 0);

	while (done < FAA_PER_CHILD) {
		batch = FAA_PER_CHILD - done < FAA_BATCH ? FAA_PER_CHILD - done : FAA_BATCH;
		for (i = 0; i < batch; i++) {
			s[i] = sge_of(&res[i], 8, p.e.mr->lkey);
			wr_set(&wr[i], done + i, IBV_WR_ATOMIC_FETCH_AND_ADD, &s[i], 1);
			wr[i].wr.atomic.remote_addr = h.addr;
			wr[i].wr.atomic.rkey = h.rkey;
			wr[i].wr.atomic.compare_add = 1;
			wr[i].next = i + 1 < batch ? &wr[i + 1] : NULL;
		}
		CHILD_CHECK(ibv_post_send(p.e.qp, wr, &(struct ibv_send_wr *){ NULL }) == 0);
		for (i = 0; i < batch; i++) {
			CHILD_CHECK(child_wc(&p.e, IBV_WC_FETCH_ADD, &wc) == 0);
			CHILD_CHECK(wc.wr_id == done + i);
			faa[done + i] = res[i];
		}
		done += batch;
	}
	while (ok < CAS_PER_CHILD) {
		CHILD_CHECK(++tries < 100000);
		s[0] = sge_of(&res[0], 8, p.e.mr->lkey);
		wr_set(&wr[0], tries, IBV_WR_ATOMIC_CMP_AND_SWP, &s[0], 1);
		wr[0].wr.atomic.remote_addr = h.addr;
		wr[0].wr.atomic.rkey = h.rkey;
		wr[0].wr.atomic.compare_add = expect;
		wr[0].wr.atomic.swap = expect + 1;
		CHILD_CHECK(ibv_post_send(p.e.qp, wr, &(struct ibv_send_wr *){ NULL }) == 0);
		CHILD_CHECK(child_wc(&p.e, IBV_WC_COMP_SWAP, &wc) == 0);
		CHILD_CHECK(wc.wr_id == tries);
		if (res[0] == expect) {
			cas[ok++] = expect;
			expect++;
		} else {
			expect = res[0];
		}
	}
	CHILD_CHECK(fd_write_full(wfd, faa, sizeof(faa)) == 0);
	CHILD_CHECK(fd_write_full(wfd, cas, sizeof(cas)) == 0);
	proc_end_close(&p);
	_exit(0);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Wait up to WAIT_MS for the child; its exit status, or -1. */
static int child_reap(pid_t pid)
{
	int64_t end = now_us() + (int64_t)WAIT_MS * 1000;
	int st;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 || now_us() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(1000);
	}
}

/*
 * Two client processes hammer one 8-byte counter in the parent's MR, each
 * with 5000 FETCH_AND_ADD and 300 successful CMP_AND_SWP increments: the
 * counter ends at exactly the sum, and the original values the successful
 * increments returned are exactly 0 .. sum-1, each once (so every
 * FETCH_AND_ADD saw a distinct value).
 */
static void test_atomics_two_processes(void **state)
{
	enum { NCHILD = 2, TOTAL = NCHILD * (FAA_PER_CHILD + CAS_PER_CHILD) };
	static uint64_t seen[TOTAL];
	struct proc_fix *f = *state;
	int p2c[NCHILD][2], c2p[NCHILD][2];
	pid_t *pid = f->pid;
	struct proc_end *par = &f->par;
	struct ibv_qp *qp[NCHILD];
	struct hello h;
	uint32_t qpn;
	uint64_t *counter;
	int i, k;
	int64_t t0;

	/* No registered pages to share with the children (librdmabroker(7)). */
	assert_int_equal(ct_memfd_maps("self", "rdmabroker-mr"), 0);
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < NCHILD; i++) {
		assert_int_equal(pipe(p2c[i]), 0);
		assert_int_equal(pipe(c2p[i]), 0);
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			close(p2c[i][1]);
			close(c2p[i][0]);
			child_atomics(p2c[i][0], c2p[i][1]);
		}
		close(p2c[i][0]);
		close(c2p[i][1]);
	}

	assert_int_equal(proc_end_open(par), 0);
	counter = (uint64_t *)(void *)(par->e.buf + 64);
	*counter = 0;
	qp[0] = par->e.qp;
	qp[1] = f->qp2 = qp_create(par->e.pd, par->e.cq);
	assert_non_null(qp[1]);
	for (i = 0; i < NCHILD; i++) {
		assert_int_equal(qp_init(qp[i], ACCESS_ALL), 0);
		h.qpn = qp[i]->qp_num;
		h.rkey = par->e.mr->rkey;
		h.addr = (uintptr_t)counter;
		assert_int_equal(fd_write_full(p2c[i][1], &h, sizeof(h)), 0);
		assert_int_equal(fd_read_full(c2p[i][0], &qpn, sizeof(qpn)), 0);
		assert_int_equal(qp_rtr(qp[i], qpn, PSN_A, 1), 0);
		assert_int_equal(qp_rts(qp[i], PSN_B, 7), 0);
	}
	t0 = now_us();
	for (i = 0; i < NCHILD; i++)
		assert_int_equal(write(p2c[i][1], "g", 1), 1);
	for (i = 0; i < NCHILD; i++) {
		/* Each child reports when done; allow the whole case's time. */
		struct pollfd pf = { .fd = c2p[i][0], .events = POLLIN };

		assert_int_equal(poll(&pf, 1, (CASE_ALARM - 10) * 1000), 1);
		assert_int_equal(fd_read_full(c2p[i][0], seen + i * FAA_PER_CHILD,
					      FAA_PER_CHILD * sizeof(uint64_t)), 0);
	}
	for (i = 0; i < NCHILD; i++)
		assert_int_equal(fd_read_full(c2p[i][0],
					      seen + NCHILD * FAA_PER_CHILD + i * CAS_PER_CHILD,
					      CAS_PER_CHILD * sizeof(uint64_t)), 0);
	for (i = 0; i < NCHILD; i++) {
		assert_int_equal(child_reap(pid[i]), 0);
		pid[i] = 0;
		close(p2c[i][1]);
		close(c2p[i][0]);
	}
	print_message("%d atomics from %d processes in %" PRId64 " ms\n", TOTAL, NCHILD,
		      (now_us() - t0) / 1000);
	/* The FETCH_AND_ADD originals alone are distinct ... */
	qsort(seen, NCHILD * FAA_PER_CHILD, sizeof(seen[0]), cmp_u64);
	for (k = 1; k < NCHILD * FAA_PER_CHILD; k++)
		if (seen[k] == seen[k - 1])
			fail_msg("FETCH_AND_ADD returned %" PRIu64 " twice", seen[k]);
	/* ... and with the CMP_AND_SWP ones they are 0 .. TOTAL-1. */
	qsort(seen, TOTAL, sizeof(seen[0]), cmp_u64);
	for (k = 0; k < TOTAL; k++)
		if (seen[k] != (uint64_t)k)
			fail_msg("increment originals: position %d holds %" PRIu64, k, seen[k]);
	/* The parent sees the final value in its own memory. */
	if (*counter != TOTAL)
		fail_msg("the counter is %" PRIu64 ", want %d", *counter, TOTAL);
	drain_async(par->e.ctx);
	assert_int_equal(ibv_destroy_qp(qp[1]), 0);
	f->qp2 = NULL;
}

/* A child connects to the parent's QP, SENDs "hello", and waits to die. */
static __attribute__((noreturn)) void child_peer(int rfd, int wfd)
{
	struct proc_end p;
	struct ibv_wc wc;
	uint32_t qpn, mine;
	char go;

	alarm(CASE_ALARM);
	CHILD_CHECK(fd_read_full(rfd, &qpn, sizeof(qpn)) == 0);
	CHILD_CHECK(proc_end_open(&p) == 0);
	CHILD_CHECK(qp_init(p.e.qp, ACCESS_ALL) == 0);
	mine = p.e.qp->qp_num;
	CHILD_CHECK(fd_write_full(wfd, &mine, sizeof(mine)) == 0);
	CHILD_CHECK(qp_rtr(p.e.qp, qpn, PSN_A, 1) == 0);
	CHILD_CHECK(qp_rts(p.e.qp, PSN_B, 7) == 0);
	CHILD_CHECK(fd_read_full(rfd, &go, 1) == 0);
	memcpy(p.e.buf, "hello", 6);
	{
		struct ibv_sge s = sge_of(p.e.buf, 6, p.e.mr->lkey);
		struct ibv_send_wr wr, *bad;

		wr_set(&wr, 7, IBV_WR_SEND, &s, 1);
		CHILD_CHECK(ibv_post_send(p.e.qp, &wr, &bad) == 0);
	}
	CHILD_CHECK(wc_wait(p.e.cq, &wc, WAIT_MS) == 1 && wc.status == IBV_WC_SUCCESS &&
		    wc.wr_id == 7);
	CHILD_CHECK(write(wfd, "r", 1) == 1);
	for (;;)
		pause();
}

/* A SEND/RECV through a fresh pair of fresh contexts. */
static void fresh_pair_works(void)
{
	struct fix f;
	struct pair_opts o = pair_defaults();
	struct ibv_wc wc;

	memset(&f, 0, sizeof(f));
	assert_int_equal(ctx_open(&f), 0);
	pair_open(&f, &o);
	post_recv1(&f.b, 5, 0, 1024);
	memcpy(f.a.buf + 64, "after", 6);
	post_send1(&f.a, 6, 64, 6, 1);
	expect_wc(f.a.cq, 6, IBV_WC_SUCCESS, f.a.qp->qp_num);
	expect_wc_at(__LINE__, f.b.cq, 5, IBV_WC_SUCCESS, f.b.qp->qp_num, &wc);
	assert_int_equal(wc.byte_len, 6);
	assert_string_equal((char *)f.b.buf, "after");
	pair_close(&f);
	ctx_close(&f);
}

/*
 * The process of a connected peer is SIGKILLed: the parent's QP gets
 * IBV_EVENT_QP_FATAL, its posted receives flush in order, it is in ERR,
 * and a send posted afterwards flushes; the daemon then serves a new pair.
 */
static void test_peer_killed(void **state)
{
	struct proc_fix *f = *state;
	int p2c[2], c2p[2];
	struct proc_end *par = &f->par;
	struct ibv_wc wc;
	uint32_t qpn;
	pid_t *pid = &f->pid[0];
	char c;
	int st;
	uint64_t id;

	assert_int_equal(ct_memfd_maps("self", "rdmabroker-mr"), 0);
	assert_int_equal(pipe(p2c), 0);
	assert_int_equal(pipe(c2p), 0);
	fflush(stdout);
	fflush(stderr);
	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		child_peer(p2c[0], c2p[1]);
	}
	close(p2c[0]);
	close(c2p[1]);

	assert_int_equal(proc_end_open(par), 0);
	assert_int_equal(qp_init(par->e.qp, ACCESS_ALL), 0);
	qpn = par->e.qp->qp_num;
	assert_int_equal(fd_write_full(p2c[1], &qpn, sizeof(qpn)), 0);
	assert_int_equal(fd_read_full(c2p[0], &qpn, sizeof(qpn)), 0);
	assert_int_equal(qp_rtr(par->e.qp, qpn, PSN_B, 1), 0);
	assert_int_equal(qp_rts(par->e.qp, PSN_A, 7), 0);
	for (id = 1; id <= 4; id++)
		post_recv1(&par->e, id, (size_t)id * 1024, 1024);
	assert_int_equal(write(p2c[1], "g", 1), 1);
	expect_wc_at(__LINE__, par->e.cq, 1, IBV_WC_SUCCESS, par->e.qp->qp_num, &wc);
	assert_int_equal(wc.byte_len, 6);
	assert_int_equal(wc.src_qp, qpn);
	assert_string_equal((char *)par->e.buf + 1024, "hello");
	assert_int_equal(fd_read_full(c2p[0], &c, 1), 0);

	assert_int_equal(kill(*pid, SIGKILL), 0);
	assert_int_equal(waitpid(*pid, &st, 0), *pid);
	*pid = 0;
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	close(p2c[1]);
	close(c2p[0]);

	expect_async(par->e.ctx, IBV_EVENT_QP_FATAL, par->e.qp);
	for (id = 2; id <= 4; id++)
		expect_wc(par->e.cq, id, IBV_WC_WR_FLUSH_ERR, par->e.qp->qp_num);
	expect_no_wc(par->e.cq, 0);
	expect_state(par->e.qp, IBV_QPS_ERR);
	post_send1(&par->e, 20, 0, 64, 1);
	post_send1(&par->e, 21, 0, 64, 0);
	expect_wc(par->e.cq, 20, IBV_WC_WR_FLUSH_ERR, par->e.qp->qp_num);
	expect_wc(par->e.cq, 21, IBV_WC_WR_FLUSH_ERR, par->e.qp->qp_num);
	expect_no_wc(par->e.cq, 0);
	proc_end_close(par);

	fresh_pair_works();
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ROWS(tab, fn) do {						\
	size_t r_;							\
	for (r_ = 0; r_ < NELEM(tab); r_++)				\
		t[n++] = (struct CMUnitTest){ tab[r_].name, fn, fix_setup,	\
					      fix_teardown, (void *)&tab[r_] }; \
} while (0)
#define ONE(fn) (t[n++] = (struct CMUnitTest){ #fn, fn, fix_setup, fix_teardown, NULL })
#define FORKS(fn) (t[n++] = (struct CMUnitTest){ #fn, fn, proc_setup, proc_teardown, NULL })

int main(int argc, char **argv)
{
	struct CMUnitTest t[2];
	size_t n = 0;

	if (argc == 2)
		cmocka_set_test_filter(argv[1]);	/* a case by name, for debugging */
	else if (argc != 1) {
		fprintf(stderr, "usage: %s [CASE-PATTERN]\n", argv[0]);
		return 2;
	}
	FORKS(test_atomics_two_processes);
	FORKS(test_peer_killed);
	return _cmocka_run_group_tests("dataerr-procs", t, n, NULL, NULL);
}
