/* SPDX-License-Identifier: MIT */
/*
 * UC and UD on the soft device through librdmabroker and a real daemon
 * (tests/integration/data-uc-ud.sh), against librdmabroker(7) (THE DATA
 * PATH).
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

/* ------------------------------------------------------------ UC */

/* UC: SEND, SEND_WITH_IMM, RDMA_WRITE, RDMA_WRITE_WITH_IMM work; READ
 * and atomics are EINVAL at post with bad_wr on the WR. */
static void test_uc(void **state)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct pair p;
	struct dt_buf *src, *dst, *rb;
	struct ibv_wc wc;

	(void)state;
	o.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	p = pair_make(IBV_QPT_UC, 64, cap_std(), 0, &o);
	src = buf(p.a, 8192, IBV_ACCESS_LOCAL_WRITE);
	dst = buf(p.b, 8192, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	rb = buf(p.b, 8192, IBV_ACCESS_LOCAL_WRITE);
	dt_fill(src->p, 8192, 81);

	memset(rb->p, 0xee, rb->len);
	assert_int_equal(dt_post_recv(p.qb, 20, rb->p, 8192, rb->mr->lkey), 0);
	assert_int_equal(dt_post_recv(p.qb, 21, rb->p, 8192, rb->mr->lkey), 0);
	assert_int_equal(dt_post_recv(p.qb, 22, rb->p, 8192, rb->mr->lkey), 0);
	assert_int_equal(post1(p.qa, 1, IBV_WR_SEND, SIG, src->p, 5000, src->mr->lkey, 0, 0, 0), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(20, IBV_WC_RECV, 5000, 0, 0, p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_SEND, 5000, p.qa), DT_WC_REQ);
	CHECK_DATA(rb->p, 5000, 81);
	CHECK_BYTES(rb->p + 5000, rb->len - 5000, 0xee);

	assert_int_equal(post1(p.qa, 2, IBV_WR_SEND_WITH_IMM, SIG, src->p, 10, src->mr->lkey,
			       0, 0, 0xabcdef01), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(21, IBV_WC_RECV, 10, IBV_WC_WITH_IMM, 0xabcdef01, p.qb, p.qa),
		 DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_SEND, 10, p.qa), DT_WC_REQ);

	memset(dst->p, 0xee, dst->len);
	assert_int_equal(post1(p.qa, 3, IBV_WR_RDMA_WRITE, SIG, src->p, 3000, src->mr->lkey,
			       raddr_of(dst, 1), dst->mr->rkey, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(3, IBV_WC_RDMA_WRITE, 3000, p.qa), DT_WC_REQ);
	CHECK_BYTES(dst->p, 1, 0xee);
	CHECK_DATA(dst->p + 1, 3000, 81);
	CHECK_BYTES(dst->p + 3001, dst->len - 3001, 0xee);
	QUIET(p.b->rcq);

	assert_int_equal(post1(p.qa, 4, IBV_WR_RDMA_WRITE_WITH_IMM, SIG, src->p, 2000,
			       src->mr->lkey, raddr_of(dst, 4000), dst->mr->rkey, 33), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(22, IBV_WC_RECV_RDMA_WITH_IMM, 2000, IBV_WC_WITH_IMM, 33,
			      p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(4, IBV_WC_RDMA_WRITE, 2000, p.qa), DT_WC_REQ);
	CHECK_DATA(dst->p + 4000, 2000, 81);

	/* Not UC opcodes. */
	assert_int_equal(post1(p.qa, 5, IBV_WR_RDMA_READ, SIG, src->p, 8, src->mr->lkey,
			       raddr_of(dst, 0), dst->mr->rkey, 0), EINVAL);
	assert_int_equal(post_atomic(p.qa, 6, IBV_WR_ATOMIC_FETCH_AND_ADD, SIG, src->p,
				     src->mr->lkey, raddr_of(dst, 0), dst->mr->rkey, 1, 0), EINVAL);
	assert_int_equal(post_atomic(p.qa, 7, IBV_WR_ATOMIC_CMP_AND_SWP, SIG, src->p,
				     src->mr->lkey, raddr_of(dst, 0), dst->mr->rkey, 1, 0), EINVAL);
	QUIET(p.a->scq);
}

/* ------------------------------------------------------------ UD */

static int post_ud(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op, void *addr,
		   uint32_t len, uint32_t lkey, struct ibv_ah *ah, uint32_t qpn,
		   uint32_t qkey, uint32_t imm)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = SIG, .imm_data = htobe32(imm),
	}, *bad = NULL;
	int ret;

	wr.wr.ud.ah = ah;
	wr.wr.ud.remote_qpn = qpn;
	wr.wr.ud.remote_qkey = qkey;
	ret = ibv_post_send(q, &wr, &bad);
	if (ret)
		assert_ptr_equal(bad, &wr);
	return ret;
}

/*
 * UD SEND between two clients: a 40-byte GRH first, byte_len 40 + n,
 * IBV_WC_GRH, src_qp and qp_num; remote_qkey with the high bit uses the
 * sender's qkey; a qkey mismatch is dropped (the sender completes OK);
 * 4096 bytes pass, 4097 are IBV_WC_LOC_LEN_ERR; RDMA opcodes are EINVAL.
 */
static void test_ud(void **state)
{
	struct pair p = pair_make(IBV_QPT_UD, 64, cap_std(), 0, NULL);
	const uint32_t room = 40 + 4096;
	struct dt_buf *src = buf(p.a, 8192, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rb = buf(p.b, 4 * room, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_ah *ah = ah_make(p.a, p.b);
	struct ibv_wc wc;
	uint8_t *r;

	(void)state;
	dt_fill(src->p, 8192, 91);
	memset(rb->p, 0xee, rb->len);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(dt_post_recv(p.qb, 30 + i, rb->p + i * room, room,
					      rb->mr->lkey), 0);

	/* 100 bytes into receive 30. */
	assert_int_equal(post_ud(p.qa, 1, IBV_WR_SEND, src->p, 100, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_SEND, 100, p.qa), DT_WC_REQ);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(30, IBV_WC_RECV, 140, IBV_WC_GRH, 0, p.qb, p.qa), DT_WC_RESP);
	r = rb->p;
	CHECK_DATA(r + 40, 100, 91);
	CHECK_BYTES(r + 140, room - 140, 0xee);

	/* SEND_WITH_IMM, qkey from the sender's QP (high bit). */
	assert_int_equal(post_ud(p.qa, 2, IBV_WR_SEND_WITH_IMM, src->p, 1, src->mr->lkey, ah,
				 p.qb->qp_num, 0x80000000u, 0x600d), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_SEND, 1, p.qa), DT_WC_REQ);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(31, IBV_WC_RECV, 41, IBV_WC_GRH | IBV_WC_WITH_IMM, 0x600d,
			      p.qb, p.qa), DT_WC_RESP);
	CHECK_DATA(rb->p + room + 40, 1, 91);

	/* Wrong qkey: the sender is told nothing, nothing arrives. */
	assert_int_equal(post_ud(p.qa, 3, IBV_WR_SEND, src->p, 100, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY + 1, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(3, IBV_WC_SEND, 100, p.qa), DT_WC_REQ);
	QUIET(p.b->rcq);

	/* The MTU exactly: into receive 32, the one the dropped SEND left. */
	assert_int_equal(post_ud(p.qa, 4, IBV_WR_SEND, src->p, 4096, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(4, IBV_WC_SEND, 4096, p.qa), DT_WC_REQ);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(32, IBV_WC_RECV, room, IBV_WC_GRH, 0, p.qb, p.qa), DT_WC_RESP);
	CHECK_DATA(rb->p + 2 * room + 40, 4096, 91);

	/* Not UD opcodes. */
	assert_int_equal(post_ud(p.qa, 5, IBV_WR_RDMA_WRITE, src->p, 8, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), EINVAL);
	assert_int_equal(post_ud(p.qa, 6, IBV_WR_RDMA_READ, src->p, 8, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), EINVAL);

	/* One byte over the MTU: a local length error (last: it may move
	 * the QP to ERR). */
	assert_int_equal(post_ud(p.qa, 7, IBV_WR_SEND, src->p, 4097, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, ((struct ibv_wc){ .wr_id = 7, .status = IBV_WC_LOC_LEN_ERR,
					.qp_num = p.qa->qp_num }), DT_WC_ERR);
	QUIET(p.b->rcq);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, NULL, cleanup)
	const struct CMUnitTest tests[] = {
		T_(test_uc),
		T_(test_ud),
	};
#undef T_
	uint64_t t0 = dt_now_ms();
	int ret;

	/* A hang anywhere fails the run instead of the suite's timeout. */
	alarm(120);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr, "data-uc-ud: %llu ms\n", (unsigned long long)(dt_now_ms() - t0));
	return ret;
}
