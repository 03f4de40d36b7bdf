/* SPDX-License-Identifier: MIT */
/*
 * Random writes over everything a client shares with the daemon.  Round
 * after round, a child process opens a client with RC, UD and SRQ queues,
 * starts honest traffic, then writes random bytes anywhere in its SQ, RQ,
 * SRQ and CQ rings (headers and indices included) and rings every
 * doorbell, and ends by exiting with or without destroying what it made.
 * Meanwhile an honest pair in the parent sends a checked message every
 * round.  The daemon must keep serving the parent, never fault, and hold
 * nothing of any child afterwards (tests/hostile/scribble.sh checks the
 * last two).  A child may see error completions, be disconnected, or
 * even crash on its own garbage: that is its business, not the daemon's.
 *
 * RB_SCRIBBLE_ROUNDS sets the number of rounds (default 60; a soak can
 * run thousands), RB_SCRIBBLE_SEED the first seed.
 *
 * This test reaches into librdmabroker's objects (libclient/client.h) to
 * find the rings; nothing else may.
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "libclient/client.h"
#include "tests/lib/datatest.h"
#include "tests/lib/rng.h"

static unsigned int env_uint(const char *name, unsigned int dflt)
{
	const char *v = getenv(name);

	return v && *v ? (unsigned int)strtoul(v, NULL, 0) : dflt;
}

/* Everything the child shares with the daemon, and its doorbells. */
struct target {
	void *base;
	size_t len;
	int doorbell;		/* -1: a CQ has none */
};

static void ring_bell(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
		_exit(3);
}

/*
 * Scribble over n bytes at a random place of t: half the time in the
 * header (where prod, cons and flags live), else anywhere.
 */
static void scribble(const struct target *t)
{
	size_t span = rng() & 1 ? RB_RING_HDR_SIZE : t->len;
	size_t n = 1 + rng() % 16, off = rng() % span, i;

	if (off + n > t->len)
		n = t->len - off;
	for (i = 0; i < n; i++)
		((volatile uint8_t *)t->base)[off + i] = (uint8_t)rng();
}

/*
 * The child: exits with the number of scribbles it made (each 1 to 16
 * random bytes), or 2 if it could not even set up.
 */
static int child_round(uint64_t seed)
{
	struct dt_node a, b;
	struct dt_buf ba, bb;
	struct ibv_qp_cap cap = {
		.max_send_wr = 16, .max_recv_wr = 16,
		.max_send_sge = 2, .max_recv_sge = 2, .max_inline_data = 64,
	};
	struct ibv_qp_cap c2 = cap, c3 = cap, c4 = cap, c5 = cap;
	struct ibv_srq_init_attr sattr = { .attr = { .max_wr = 16, .max_sge = 1 } };
	struct ibv_qp *qa, *qb, *qs, *qt, *qu;
	struct ibv_srq *srq;
	struct ibv_wc wc[8];
	struct target t[8];
	unsigned int i, k, nt = 0;
	unsigned int scribbles = 0;

	rng_state = seed;
	alarm(20);		/* a child that wedges itself is killed */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (dt_node_open(&a, 64, false) || dt_node_open(&b, 64, false) ||
	    dt_buf_alloc(&ba, a.pd, 8192, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&bb, b.pd, 8192, DT_ACCESS_ALL))
		_exit(2);
	srq = ibv_create_srq(a.pd, &sattr);
	qa = dt_qp_create(&a, IBV_QPT_RC, &cap, NULL, NULL, 1);
	qb = dt_qp_create(&b, IBV_QPT_RC, &c2, NULL, NULL, 1);
	qs = srq ? dt_qp_create(&a, IBV_QPT_RC, &c3, NULL, srq, 1) : NULL;
	qt = dt_qp_create(&b, IBV_QPT_RC, &c4, NULL, NULL, 1);
	qu = dt_qp_create(&a, IBV_QPT_UD, &c5, NULL, NULL, 1);
	if (!qa || !qb || !qs || !qt || !qu || dt_qp_connect(qa, qb, NULL) ||
	    dt_qp_connect(qs, qt, NULL) || dt_qp_to_rts(qu, NULL, 0, NULL))
		_exit(2);

	/* Honest traffic first, so there is work in flight to corrupt. */
	for (i = 0; i < 4; i++) {
		struct ibv_sge sge = { (uintptr_t)bb.p, 64, bb.mr->lkey };
		struct ibv_send_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1,
					  .opcode = IBV_WR_SEND }, *bad;

		dt_post_recv(qa, i, ba.p + 64 * i, 64, ba.mr->lkey);
		dt_post_srq_recv(srq, i, ba.p + 1024 + 64 * i, 64, ba.mr->lkey);
		ibv_post_send(qb, &wr, &bad);
		ibv_post_send(qt, &wr, &bad);
	}

	t[nt++] = (struct target){ ((struct rbc_qp *)qa)->sq, ((struct rbc_qp *)qa)->sq_bytes,
				   ((struct rbc_qp *)qa)->doorbell };
	t[nt++] = (struct target){ ((struct rbc_qp *)qa)->rq, ((struct rbc_qp *)qa)->rq_bytes,
				   ((struct rbc_qp *)qa)->doorbell };
	t[nt++] = (struct target){ ((struct rbc_qp *)qs)->sq, ((struct rbc_qp *)qs)->sq_bytes,
				   ((struct rbc_qp *)qs)->doorbell };
	t[nt++] = (struct target){ ((struct rbc_srq *)srq)->ring,
				   ((struct rbc_srq *)srq)->ring_bytes,
				   ((struct rbc_srq *)srq)->doorbell };
	t[nt++] = (struct target){ ((struct rbc_qp *)qu)->sq, ((struct rbc_qp *)qu)->sq_bytes,
				   ((struct rbc_qp *)qu)->doorbell };
	t[nt++] = (struct target){ ((struct rbc_cq *)a.scq)->ring,
				   ((struct rbc_cq *)a.scq)->ring_bytes, -1 };
	t[nt++] = (struct target){ ((struct rbc_cq *)a.rcq)->ring,
				   ((struct rbc_cq *)a.rcq)->ring_bytes, -1 };

	for (k = 0; k < 40; k++) {
		const struct target *x = &t[rng() % nt];

		scribble(x);
		scribbles++;
		ring_bell(x->doorbell);
		if (!(k % 8))
			usleep((useconds_t)(rng() % 2000));
	}
	/* Ring everything once more and let the engine chew on it. */
	for (i = 0; i < nt; i++)
		ring_bell(t[i].doorbell);
	usleep(5000);

	/* Half the children clean up (the daemon sees destroys of QPs in any
	 * state); the other half just go. */
	if (rng() & 1) {
		ibv_poll_cq(b.scq, 8, wc);
		ibv_destroy_qp(qu);
		ibv_destroy_qp(qt);
		ibv_destroy_qp(qs);
		ibv_destroy_qp(qb);
		ibv_destroy_qp(qa);
		ibv_destroy_srq(srq);
		dt_buf_free(&ba);
		dt_buf_free(&bb);
		dt_node_close(&a);
		dt_node_close(&b);
	}
	_exit((int)scribbles);
}

/* The parent's honest pair. */
struct pair {
	struct dt_node a, b;
	struct ibv_qp *qa, *qb;
	struct dt_buf ba, bb;
};

static void pair_open(struct pair *p)
{
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_qp_cap c2 = cap;

	memset(p, 0, sizeof(*p));
	assert_int_equal(dt_node_open(&p->a, 64, false), 0);
	assert_int_equal(dt_node_open(&p->b, 64, false), 0);
	assert_int_equal(dt_buf_alloc(&p->ba, p->a.pd, 4096, DT_ACCESS_ALL), 0);
	assert_int_equal(dt_buf_alloc(&p->bb, p->b.pd, 4096, DT_ACCESS_ALL), 0);
	p->qa = dt_qp_create(&p->a, IBV_QPT_RC, &cap, NULL, NULL, 1);
	p->qb = dt_qp_create(&p->b, IBV_QPT_RC, &c2, NULL, NULL, 1);
	assert_non_null(p->qa);
	assert_non_null(p->qb);
	assert_int_equal(dt_qp_connect(p->qa, p->qb, NULL), 0);
}

static void pair_close(struct pair *p)
{
	ibv_destroy_qp(p->qa);
	ibv_destroy_qp(p->qb);
	dt_buf_free(&p->ba);
	dt_buf_free(&p->bb);
	dt_node_close(&p->a);
	dt_node_close(&p->b);
}

/* One checked SEND from a to b: the payload of round r arrives intact. */
static void pair_ping(struct pair *p, uint32_t r)
{
	struct ibv_sge sge = { (uintptr_t)p->ba.p, 1024, p->ba.mr->lkey };
	struct ibv_send_wr wr = { .wr_id = r, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND }, *bad;
	struct ibv_wc wc;

	dt_fill(p->ba.p, 1024, r + 1);
	memset(p->bb.p, 0, 1024);
	assert_int_equal(dt_post_recv(p->qb, r, p->bb.p, 1024, p->bb.mr->lkey), 0);
	assert_int_equal(ibv_post_send(p->qa, &wr, &bad), 0);
	assert_int_equal(dt_poll(p->b.rcq, &wc, 1, DT_TIMEOUT_MS), 1);
	if (wc.status != IBV_WC_SUCCESS || wc.wr_id != r)
		fail_msg("round %u: receive %s wr_id %llu", r,
			 ibv_wc_status_str(wc.status), (unsigned long long)wc.wr_id);
	assert_int_equal(dt_poll(p->a.scq, &wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc.status, IBV_WC_SUCCESS);
	assert_int_equal(dt_verify(p->bb.p, 1024, r + 1), -1);
}

static void test_scribble_rounds(void **state)
{
	unsigned int rounds = env_uint("RB_SCRIBBLE_ROUNDS", 60);
	uint64_t seed = env_uint("RB_SCRIBBLE_SEED", 1);
	unsigned int r, setup_fail = 0, crashed = 0, exited = 0;
	unsigned long scribbles = 0;
	struct pair p;

	(void)state;
	pair_open(&p);
	for (r = 0; r < rounds; r++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			child_round(seed + r);
		pair_ping(&p, r);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
			setup_fail++;
		} else if (WIFEXITED(status)) {
			exited++;
			scribbles += (unsigned long)WEXITSTATUS(status);
		} else {
			crashed++;	/* on its own garbage: allowed */
		}
		pair_ping(&p, r);
	}
	pair_close(&p);
	printf("scribble: %u rounds from seed %llu: %u children exited, %u died "
	       "of their own garbage, %u could not set up; %lu scribbles of 1-16 "
	       "random bytes by the children that exited\n",
	       rounds, (unsigned long long)seed, exited, crashed, setup_fail, scribbles);
	/* Setting up must work: the daemon serves every new client. */
	assert_int_equal(setup_fail, 0);
}

/*
 * Memory the daemon reaches through the client's /proc/self/mem (a
 * MAP_SHARED anonymous buffer the library cannot re-back), unmapped after
 * registration: a peer's WRITE into it must fail with a completion error,
 * and its source buffer stays as it was.
 */
static void test_unmapped_after_reg(void **state)
{
	struct pair p;
	struct ibv_mr *mr;
	struct ibv_wc wc;
	uint8_t *gone;
	struct ibv_sge sge;
	struct ibv_send_wr wr = { .wr_id = 9, .sg_list = &sge, .num_sge = 1,
				  .send_flags = IBV_SEND_SIGNALED }, *bad;

	(void)state;
	/* Shared memory cannot be registered on a NIC the broker passes
	 * through (tests/integration/verbs-nest.sh): nothing to unmap there. */
	if (getenv("RB_SCRIBBLE_NO_CMA"))
		skip();
	pair_open(&p);
	gone = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(gone != MAP_FAILED);
	mr = ibv_reg_mr(p.b.pd, gone, 8192, DT_ACCESS_ALL);
	assert_non_null(mr);
	assert_int_equal(munmap(gone, 8192), 0);

	dt_fill(p.ba.p, 64, 7);
	sge = (struct ibv_sge){ (uintptr_t)p.ba.p, 64, p.ba.mr->lkey };
	wr.opcode = IBV_WR_RDMA_WRITE;
	wr.wr.rdma.remote_addr = (uintptr_t)gone;
	wr.wr.rdma.rkey = mr->rkey;
	assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
	assert_int_equal(dt_poll(p.a.scq, &wc, 1, DT_TIMEOUT_MS), 1);
	if (wc.status == IBV_WC_SUCCESS)
		fail_msg("a WRITE into unmapped memory succeeded");
	printf("unmapped: WRITE completed %s\n", ibv_wc_status_str(wc.status));
	assert_int_equal(dt_verify(p.ba.p, 64, 7), -1);
	ibv_dereg_mr(mr);
	pair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scribble_rounds),
		cmocka_unit_test(test_unmapped_after_reg),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
