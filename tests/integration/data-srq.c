/* SPDX-License-Identifier: MIT */
/*
 * SRQs on the soft device through librdmabroker and a real daemon
 * (tests/integration/data-srq.sh), against librdmabroker(7) (THE DATA
 * PATH): receives from a shared queue, and its limit event.
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

/* ------------------------------------------------------------ SRQ */

#define SRQ_NQP 3

/*
 * One SRQ behind three RC QPs, each receiving from a sender in its own
 * client (the first shares the plain sender's), and a
 * plain-RQ QP receiving the same SEND, SEND_WITH_IMM and
 * RDMA_WRITE_WITH_IMM: the SRQ completions equal the plain ones field by
 * field, with qp_num the receiving QP and src_qp its sender.
 */
static void test_srq(void **state)
{
	static const enum ibv_wr_opcode ops[3] = {
		IBV_WR_SEND, IBV_WR_SEND_WITH_IMM, IBV_WR_RDMA_WRITE_WITH_IMM,
	};
	static const enum ibv_wc_opcode wcops[3] = {
		IBV_WC_RECV, IBV_WC_RECV, IBV_WC_RECV_RDMA_WITH_IMM,
	};
	struct dt_node *a = node(64, false), *b = node(64, false), *sn[SRQ_NQP];
	struct ibv_srq *srq = srq_make(b, 64, 1);
	struct ibv_qp *qa[SRQ_NQP], *qb[SRQ_NQP], *pa, *pb;
	struct dt_buf *src = buf(a, 4096, IBV_ACCESS_LOCAL_WRITE), *ssrc[SRQ_NQP];
	struct dt_buf *rb = buf(b, 16 * 4096, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *prb = buf(b, 4096, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *wb = buf(b, 4096, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	struct ibv_qp_cap cap;
	struct ibv_recv_wr rwr, *rbad;
	struct ibv_sge rsge;
	struct ibv_wc swc, pwc;
	bool used[16] = { false };

	(void)state;
	for (int i = 0; i < SRQ_NQP; i++) {
		sn[i] = i ? node(64, false) : a;
		ssrc[i] = i ? buf(sn[i], 4096, IBV_ACCESS_LOCAL_WRITE) : src;
		cap = cap_std();
		qa[i] = qp(sn[i], IBV_QPT_RC, &cap, NULL, NULL, 0);
		cap = cap_std();
		cap.max_recv_wr = 0;
		cap.max_recv_sge = 0;
		qb[i] = qp(b, IBV_QPT_RC, &cap, NULL, srq, 0);
		assert_ptr_equal(qb[i]->srq, srq);
		assert_int_equal(dt_qp_connect(qa[i], qb[i], NULL), 0);
	}
	cap = cap_std();
	pa = qp(a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	cap = cap_std();
	pb = qp(b, IBV_QPT_RC, &cap, NULL, NULL, 0);
	assert_int_equal(dt_qp_connect(pa, pb, NULL), 0);

	/* A QP on an SRQ takes no receives of its own. */
	rsge = (struct ibv_sge){ .addr = (uintptr_t)prb->p, .length = 64, .lkey = prb->mr->lkey };
	rwr = (struct ibv_recv_wr){ .wr_id = 1, .sg_list = &rsge, .num_sge = 1 };
	rbad = NULL;
	assert_int_equal(ibv_post_recv(qb[0], &rwr, &rbad), EINVAL);
	assert_ptr_equal(rbad, &rwr);

	for (int s = 0; s < 9; s++)
		assert_int_equal(dt_post_srq_recv(srq, 200 + (uint64_t)s, rb->p + s * 4096, 4096,
						  rb->mr->lkey), 0);
	for (int op = 0; op < 3; op++) {
		for (int i = 0; i < SRQ_NQP; i++) {
			uint32_t len = 100 + (uint32_t)(op * 10 + i), imm = 0x5150u + (uint32_t)i;
			unsigned int flags = op ? IBV_WC_WITH_IMM : 0;
			struct ibv_wc w;
			int slot;

			dt_fill(src->p, len, 100 + (uint32_t)(op * 3 + i));
			/* The plain RQ first. */
			memset(prb->p, 0, prb->len);
			assert_int_equal(dt_post_recv(pb, 300, prb->p, 4096, prb->mr->lkey), 0);
			assert_int_equal(post1(pa, 1, ops[op], SIG, src->p, len, src->mr->lkey,
					       raddr_of(wb, 0), wb->mr->rkey, imm), 0);
			POLL(b->rcq, &pwc, 1);
			CHECK_WC(&pwc, resp_wc(300, wcops[op], len, flags, imm, pb, pa), DT_WC_RESP);
			POLL(a->scq, &w, 1);
			CHECK_WC(&w, req_wc(1, op == 2 ? IBV_WC_RDMA_WRITE : IBV_WC_SEND, len, pa),
				 DT_WC_REQ);
			/* The same through the SRQ. */
			memcpy(ssrc[i]->p, src->p, len);
			assert_int_equal(post1(qa[i], 2, ops[op], SIG, ssrc[i]->p, len, ssrc[i]->mr->lkey,
					       raddr_of(wb, 0), wb->mr->rkey, imm), 0);
			POLL(b->rcq, &swc, 1);
			slot = (int)swc.wr_id - 200;
			if (slot < 0 || slot >= 9 || used[slot])
				fail_msg("SRQ completion with wr_id %llu", (unsigned long long)swc.wr_id);
			used[slot] = true;
			CHECK_WC(&swc, resp_wc(swc.wr_id, wcops[op], len, flags, imm, qb[i], qa[i]),
				 DT_WC_RESP);
			/* Field by field as the plain one, but for whose it is. */
			w = pwc;
			w.wr_id = swc.wr_id;
			w.qp_num = qb[i]->qp_num;
			w.src_qp = qa[i]->qp_num;
			CHECK_WC(&swc, w, DT_WC_RESP | DT_WC_DLID_BITS);
			POLL(sn[i]->scq, &w, 1);
			CHECK_WC(&w, req_wc(2, op == 2 ? IBV_WC_RDMA_WRITE : IBV_WC_SEND, len, qa[i]),
				 DT_WC_REQ);
			if (op < 2) {
				CHECK_DATA(prb->p, len, 100 + (uint32_t)(op * 3 + i));
				CHECK_DATA(rb->p + slot * 4096, len, 100 + (uint32_t)(op * 3 + i));
			}
		}
	}
	QUIET(b->rcq);
}

/*
 * SRQ limit: armed at 8 with 10 posted, the third receive taken raises
 * IBV_EVENT_SRQ_LIMIT_REACHED once (element.srq), the limit reads 0 after,
 * and a fourth raises nothing.
 */
static void test_srq_limit(void **state)
{
	struct dt_node *a = node(64, false), *b = node(64, false);
	struct ibv_srq *srq = srq_make(b, 16, 1);
	struct ibv_qp_cap cap = cap_std();
	struct ibv_qp *qa, *qb;
	struct dt_buf *src = buf(a, 64, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rb = buf(b, 16 * 64, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_srq_attr sa;
	struct ibv_async_event ev;
	struct pollfd pfd;
	struct ibv_wc wc;

	(void)state;
	qa = qp(a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	cap = cap_std();
	qb = qp(b, IBV_QPT_RC, &cap, NULL, srq, 0);
	assert_int_equal(dt_qp_connect(qa, qb, NULL), 0);
	assert_int_equal(fcntl(b->ctx->async_fd, F_SETFL,
			       fcntl(b->ctx->async_fd, F_GETFL) | O_NONBLOCK), 0);
	pfd = (struct pollfd){ .fd = b->ctx->async_fd, .events = POLLIN };

	for (int i = 0; i < 10; i++)
		assert_int_equal(dt_post_srq_recv(srq, (uint64_t)i, rb->p + i * 64, 64,
						  rb->mr->lkey), 0);
	sa = (struct ibv_srq_attr){ .srq_limit = 8 };
	assert_int_equal(ibv_modify_srq(srq, &sa, IBV_SRQ_LIMIT), 0);
	assert_int_equal(ibv_query_srq(srq, &sa), 0);
	assert_int_equal(sa.srq_limit, 8);

	for (uint64_t i = 0; i < 4; i++) {
		assert_int_equal(post1(qa, i, IBV_WR_SEND, SIG, src->p, 8, src->mr->lkey,
				       0, 0, 0), 0);
		POLL(b->rcq, &wc, 1);
		CHECK_WC(&wc, resp_wc(i, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);
		POLL(a->scq, &wc, 1);
		CHECK_WC(&wc, req_wc(i, IBV_WC_SEND, 8, qa), DT_WC_REQ);
		if (i != 2) {
			/* 9, 8 left: not fewer than 8; after the event: disarmed. */
			assert_int_equal(poll(&pfd, 1, DT_QUIET_MS), 0);
			continue;
		}
		/* 7 left. */
		assert_int_equal(poll(&pfd, 1, DT_TIMEOUT_MS), 1);
		assert_int_equal(ibv_get_async_event(b->ctx, &ev), 0);
		assert_int_equal(ev.event_type, IBV_EVENT_SRQ_LIMIT_REACHED);
		assert_ptr_equal(ev.element.srq, srq);
		ibv_ack_async_event(&ev);
		errno = 0;
		assert_int_equal(ibv_get_async_event(b->ctx, &ev), -1);
		assert_int_equal(errno, EAGAIN);
		assert_int_equal(ibv_query_srq(srq, &sa), 0);
		assert_int_equal(sa.srq_limit, 0);
	}
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, NULL, cleanup)
	const struct CMUnitTest tests[] = {
		T_(test_srq),
		T_(test_srq_limit),
	};
#undef T_
	uint64_t t0 = dt_now_ms();
	int ret;

	/* A hang anywhere fails the run instead of the suite's timeout. */
	alarm(120);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr, "data-srq: %llu ms\n", (unsigned long long)(dt_now_ms() - t0));
	return ret;
}
