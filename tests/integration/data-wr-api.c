/* SPDX-License-Identifier: MIT */
/*
 * The ibv_wr_* API (struct ibv_qp_ex) on the soft device through
 * librdmabroker and a real daemon (tests/integration/data-wr-api.sh),
 * against librdmabroker(7) (THE DATA PATH).
 * Every case uses two or more clients (device contexts, i.e. daemon
 * connections) and checks data byte for byte and every defined field of
 * every completion on both sides (tests/integration/data-lib.h).
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"
#include "tests/integration/data-lib.h"

/* ------------------------------------------------------------ ibv_wr_* */

/*
 * The ibv_wr_* API on a QP made with send_ops_flags: a batch of SEND (SGE
 * list), WRITE_WITH_IMM (inline), READ and FETCH_AND_ADD posts together
 * and completes in order; a batch with one bad WR (an SGE too many, inline
 * past the limit) posts nothing and ibv_wr_complete says why; an aborted
 * batch posts nothing.
 */
static void test_wr_api(void **state)
{
	struct ibv_qp_init_attr_ex ax = {
		.qp_type = IBV_QPT_RC, .sq_sig_all = 0,
		.cap = { .max_send_wr = 16, .max_recv_wr = 16, .max_send_sge = 2,
			 .max_recv_sge = 1, .max_inline_data = 64 },
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.send_ops_flags = IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM |
				  IBV_QP_EX_WITH_RDMA_READ | IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD,
	};
	struct ibv_qp_cap cb = { .max_send_wr = 16, .max_recv_wr = 16,
				 .max_send_sge = 1, .max_recv_sge = 1 };
	struct dt_node *a = node(64, false), *b = node(64, false);
	struct dt_buf *sa, *rb, *wb;
	struct ibv_qp *qa, *qb;
	struct ibv_qp_ex *x;
	struct ibv_wc wc[4];
	uint8_t inl[64];
	uint64_t *cnt;

	(void)state;
	ax.pd = a->pd;
	ax.send_cq = a->scq;
	ax.recv_cq = a->rcq;
	qa = ibv_create_qp_ex(a->ctx, &ax);
	assert_non_null(qa);
	T.qp[T.nqp++] = qa;
	qb = qp(b, IBV_QPT_RC, &cb, NULL, NULL, 0);
	assert_int_equal(dt_qp_connect(qa, qb, NULL), 0);
	x = ibv_qp_to_qp_ex(qa);
	assert_non_null(x);
	sa = buf(a, 8192, IBV_ACCESS_LOCAL_WRITE);
	rb = buf(b, 8192, IBV_ACCESS_LOCAL_WRITE);
	wb = buf(b, 8192, DT_ACCESS_ALL);
	dt_fill(sa->p, 200, 7);
	dt_fill(wb->p + 4096, 300, 9);
	cnt = (uint64_t *)(void *)(wb->p + 8000);
	*cnt = 41;
	dt_fill(inl, sizeof(inl), 11);
	assert_int_equal(dt_post_recv(qb, 1, rb->p, 4096, rb->mr->lkey), 0);
	assert_int_equal(dt_post_recv(qb, 2, rb->p + 4096, 16, rb->mr->lkey), 0);

	ibv_wr_start(x);
	x->wr_id = 10;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send(x);
	{
		struct ibv_sge two[2] = {
			{ (uintptr_t)sa->p, 100, sa->mr->lkey },
			{ (uintptr_t)sa->p + 100, 100, sa->mr->lkey },
		};

		ibv_wr_set_sge_list(x, 2, two);
	}
	x->wr_id = 11;
	ibv_wr_rdma_write_imm(x, wb->mr->rkey, raddr_of(wb, 0), htobe32(0xabcd));
	ibv_wr_set_inline_data(x, inl, sizeof(inl));
	x->wr_id = 12;
	ibv_wr_rdma_read(x, wb->mr->rkey, raddr_of(wb, 4096));
	ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p + 4096, 300);
	x->wr_id = 13;
	ibv_wr_atomic_fetch_add(x, wb->mr->rkey, raddr_of(wb, 8000), 1);
	ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p + 8000, 8);
	assert_int_equal(ibv_wr_complete(x), 0);

	POLL(a->scq, wc, 4);
	CHECK_WC(&wc[0], req_wc(10, IBV_WC_SEND, 200, qa), DT_WC_REQ);
	CHECK_WC(&wc[1], req_wc(11, IBV_WC_RDMA_WRITE, 64, qa), DT_WC_REQ);
	CHECK_WC(&wc[2], req_wc(12, IBV_WC_RDMA_READ, 300, qa), DT_WC_REQ);
	CHECK_WC(&wc[3], req_wc(13, IBV_WC_FETCH_ADD, 8, qa), DT_WC_REQ);
	POLL(b->rcq, wc, 2);
	CHECK_WC(&wc[0], resp_wc(1, IBV_WC_RECV, 200, 0, 0, qb, qa), DT_WC_RESP);
	CHECK_WC(&wc[1], resp_wc(2, IBV_WC_RECV_RDMA_WITH_IMM, 64, IBV_WC_WITH_IMM,
				 0xabcd, qb, qa), DT_WC_RESP);
	CHECK_DATA(rb->p, 200, 7);
	CHECK_DATA(wb->p, 64, 11);
	CHECK_DATA(sa->p + 4096, 300, 9);
	assert_int_equal(*(uint64_t *)(void *)(sa->p + 8000), 41);
	assert_int_equal(*cnt, 42);

	/* One bad WR and the batch is not posted: SGEs past max, inline past max. */
	for (int bad = 0; bad < 2; bad++) {
		struct ibv_sge three[3] = {
			{ (uintptr_t)sa->p, 1, sa->mr->lkey },
			{ (uintptr_t)sa->p, 1, sa->mr->lkey },
			{ (uintptr_t)sa->p, 1, sa->mr->lkey },
		};
		uint8_t big[65] = { 0 };

		ibv_wr_start(x);
		x->wr_id = 20;
		x->wr_flags = IBV_SEND_SIGNALED;
		ibv_wr_rdma_write_imm(x, wb->mr->rkey, raddr_of(wb, 0), 0);
		ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p, 8);
		x->wr_id = 21;
		ibv_wr_send(x);
		if (bad)
			ibv_wr_set_inline_data(x, big, sizeof(big));
		else
			ibv_wr_set_sge_list(x, 3, three);
		assert_int_equal(ibv_wr_complete(x), EINVAL);
	}
	/* Aborted: nothing either. */
	ibv_wr_start(x);
	x->wr_id = 30;
	ibv_wr_send(x);
	ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p, 8);
	ibv_wr_abort(x);
	QUIET(a->scq);
	QUIET(b->rcq);

	/* The queue still works after all that. */
	assert_int_equal(dt_post_recv(qb, 3, rb->p, 64, rb->mr->lkey), 0);
	ibv_wr_start(x);
	x->wr_id = 40;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send(x);
	ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p, 50);
	assert_int_equal(ibv_wr_complete(x), 0);
	POLL(a->scq, wc, 1);
	CHECK_WC(&wc[0], req_wc(40, IBV_WC_SEND, 50, qa), DT_WC_REQ);
	POLL(b->rcq, wc, 1);
	CHECK_WC(&wc[0], resp_wc(3, IBV_WC_RECV, 50, 0, 0, qb, qa), DT_WC_RESP);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, NULL, cleanup)
	const struct CMUnitTest tests[] = {
		T_(test_wr_api),
	};
#undef T_
	uint64_t t0 = dt_now_ms();
	int ret;

	/* A hang anywhere fails the run instead of the suite's timeout. */
	alarm(120);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr, "data-wr-api: %llu ms\n", (unsigned long long)(dt_now_ms() - t0));
	return ret;
}
