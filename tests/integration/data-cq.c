/* SPDX-License-Identifier: MIT */
/*
 * Completions on the soft device through librdmabroker and a real daemon
 * (tests/integration/data-cq.sh), against librdmabroker(7) (THE DATA
 * PATH): completion channels (solicited and not) and the extended CQ.
 * RB_DATA_SOLICITED_EARLY: the device may raise a solicited-only event
 * for any receive (tests/integration/verbs-nest.sh, the verbs driver).
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

/* ------------------------------------------------------------ channels */

static void expect_cq_event(struct ibv_comp_channel *ch, struct ibv_cq *want, void *want_ctx)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
	struct ibv_cq *cq = NULL;
	void *cq_ctx = NULL;

	assert_int_equal(poll(&pfd, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(ibv_get_cq_event(ch, &cq, &cq_ctx), 0);
	assert_ptr_equal(cq, want);
	assert_ptr_equal(cq_ctx, want_ctx);
	ibv_ack_cq_events(cq, 1);
}

static void expect_no_cq_event(struct ibv_comp_channel *ch)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, DT_QUIET_MS), 0);
}

/*
 * ibv_req_notify_cq(cq, 0): the next completion (receive or send) makes one
 * event for that CQ, and only one until re-armed; (cq, 1): an unsolicited
 * receive makes none, a solicited one does; O_NONBLOCK gives EAGAIN.
 */
static void test_channel(void **state)
{
	struct dt_node *a = node(64, true), *b = node(64, true);
	struct ibv_qp_cap cap = cap_std();
	struct ibv_qp *qa, *qb;
	struct dt_buf *src = buf(a, 64, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rb = buf(b, 64, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_cq *cq;
	struct ibv_wc wc;
	void *cq_ctx;

	(void)state;
	qa = qp(a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	cap = cap_std();
	qb = qp(b, IBV_QPT_RC, &cap, NULL, NULL, 0);
	assert_int_equal(dt_qp_connect(qa, qb, NULL), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(dt_post_recv(qb, (uint64_t)i, rb->p, 64, rb->mr->lkey), 0);

	/* Receive side, any completion. */
	assert_int_equal(ibv_req_notify_cq(b->rcq, 0), 0);
	expect_no_cq_event(b->ch);
	assert_int_equal(post1(qa, 0, IBV_WR_SEND, 0, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	expect_cq_event(b->ch, b->rcq, b);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(0, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);
	/* Not re-armed: a completion, no event. */
	assert_int_equal(post1(qa, 1, IBV_WR_SEND, 0, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(1, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);
	expect_no_cq_event(b->ch);

	/* Send side: a signaled SEND's completion. */
	assert_int_equal(ibv_req_notify_cq(a->scq, 0), 0);
	assert_int_equal(post1(qa, 2, IBV_WR_SEND, SIG, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	expect_cq_event(a->ch, a->scq, a);
	POLL(a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_SEND, 8, qa), DT_WC_REQ);
	POLL(b->rcq, &wc, 1);
	expect_no_cq_event(b->ch);

	/* Solicited only: an unsolicited receive is silent... */
	assert_int_equal(ibv_req_notify_cq(b->rcq, 1), 0);
	assert_int_equal(post1(qa, 3, IBV_WR_SEND, 0, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(3, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);
	if (getenv("RB_DATA_SOLICITED_EARLY")) {
		/*
		 * A device whose completions do not say whether the sender
		 * asked for an event (the verbs driver: ibv_wc has no such
		 * bit) counts every receive as solicited: early, never late.
		 */
		expect_cq_event(b->ch, b->rcq, b);
		assert_int_equal(ibv_req_notify_cq(b->rcq, 1), 0);
	} else {
		expect_no_cq_event(b->ch);
	}
	/* ...a solicited one is not (SEND_WITH_IMM, still the same arm). */
	assert_int_equal(post1(qa, 4, IBV_WR_SEND_WITH_IMM, IBV_SEND_SOLICITED, src->p, 8,
			       src->mr->lkey, 0, 0, 4), 0);
	expect_cq_event(b->ch, b->rcq, b);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(4, IBV_WC_RECV, 8, IBV_WC_WITH_IMM, 4, qb, qa), DT_WC_RESP);
	/* And a solicited SEND after re-arming solicited-only. */
	assert_int_equal(ibv_req_notify_cq(b->rcq, 1), 0);
	assert_int_equal(post1(qa, 5, IBV_WR_SEND, IBV_SEND_SOLICITED, src->p, 8,
			       src->mr->lkey, 0, 0, 0), 0);
	expect_cq_event(b->ch, b->rcq, b);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(5, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);

	/* Non-blocking, nothing pending. */
	assert_int_equal(fcntl(b->ch->fd, F_SETFL, fcntl(b->ch->fd, F_GETFL) | O_NONBLOCK), 0);
	errno = 0;
	assert_int_equal(ibv_get_cq_event(b->ch, &cq, &cq_ctx), -1);
	assert_int_equal(errno, EAGAIN);
	/* ...and one pending, read without blocking. */
	assert_int_equal(ibv_req_notify_cq(b->rcq, 0), 0);
	assert_int_equal(post1(qa, 6, IBV_WR_SEND, 0, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	expect_cq_event(b->ch, b->rcq, b);
	POLL(b->rcq, &wc, 1);
	errno = 0;
	assert_int_equal(ibv_get_cq_event(b->ch, &cq, &cq_ctx), -1);
	assert_int_equal(errno, EAGAIN);
}

/* ------------------------------------------------------------ CQ ex */

/* Everything ibv_wc has that a CQ-ex poll can read. */
static int cqx_poll(struct ibv_cq_ex *cq, struct ibv_wc *wc, int n)
{
	struct ibv_poll_cq_attr attr = { .comp_mask = 0 };
	uint64_t end = dt_now_ms() + DT_TIMEOUT_MS;
	int got = 0, ret;

	while (got < n) {
		ret = ibv_start_poll(cq, &attr);
		if (ret == ENOENT) {
			if (dt_now_ms() > end)
				break;
			sched_yield();
			continue;
		}
		assert_int_equal(ret, 0);
		do {
			struct ibv_wc *w = &wc[got++];

			memset(w, 0, sizeof(*w));
			w->wr_id = cq->wr_id;
			w->status = cq->status;
			w->opcode = ibv_wc_read_opcode(cq);
			w->byte_len = ibv_wc_read_byte_len(cq);
			w->imm_data = ibv_wc_read_imm_data(cq);
			w->qp_num = ibv_wc_read_qp_num(cq);
			w->src_qp = ibv_wc_read_src_qp(cq);
			w->wc_flags = ibv_wc_read_wc_flags(cq);
			w->slid = ibv_wc_read_slid(cq);
			w->sl = ibv_wc_read_sl(cq);
			w->dlid_path_bits = ibv_wc_read_dlid_path_bits(cq);
		} while (got < n && ibv_next_poll(cq) == 0);
		ibv_end_poll(cq);
	}
	return got;
}

static struct ibv_cq_ex *cqx_make(struct dt_node *n)
{
	struct ibv_cq_init_attr_ex a = {
		.cqe = 64,
		.wc_flags = IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_IMM |
			    IBV_WC_EX_WITH_QP_NUM | IBV_WC_EX_WITH_SRC_QP |
			    IBV_WC_EX_WITH_SLID | IBV_WC_EX_WITH_SL |
			    IBV_WC_EX_WITH_DLID_PATH_BITS,
	};
	struct ibv_cq_ex *cq = ibv_create_cq_ex(n->ctx, &a);

	assert_non_null(cq);
	T.cq[T.ncq++] = ibv_cq_ex_to_cq(cq);
	return cq;
}

/*
 * The same SEND, SEND_WITH_IMM and RDMA_WRITE_WITH_IMM between QPs whose
 * CQs are extended (requester send CQ and responder receive CQ) and
 * between QPs with plain CQs: start_poll/next_poll/end_poll read the same
 * completions as ibv_poll_cq, field by field.
 */
static void test_cq_ex(void **state)
{
	static const enum ibv_wr_opcode ops[3] = {
		IBV_WR_SEND, IBV_WR_SEND_WITH_IMM, IBV_WR_RDMA_WRITE_WITH_IMM,
	};
	static const enum ibv_wc_opcode wcops[3] = {
		IBV_WC_RECV, IBV_WC_RECV, IBV_WC_RECV_RDMA_WITH_IMM,
	};
	struct dt_node *a = node(64, false), *b = node(64, false);
	struct ibv_cq_ex *xs = cqx_make(a), *xr = cqx_make(b);
	struct ibv_qp_cap cap = cap_std();
	struct ibv_qp *xa, *xb, *pa, *pb;
	struct dt_buf *src = buf(a, 4096, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rb = buf(b, 6 * 4096, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *wb = buf(b, 4096, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	struct ibv_qp_init_attr ia = {
		.send_cq = ibv_cq_ex_to_cq(xs), .recv_cq = a->rcq, .cap = cap_std(),
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_wc xw[3], pw[3], xsw[3], psw[3], w;

	(void)state;
	xa = ibv_create_qp(a->pd, &ia);
	assert_non_null(xa);
	T.qp[T.nqp++] = xa;
	xb = qp(b, IBV_QPT_RC, &cap, ibv_cq_ex_to_cq(xr), NULL, 0);
	cap = cap_std();
	pa = qp(a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	cap = cap_std();
	pb = qp(b, IBV_QPT_RC, &cap, NULL, NULL, 0);
	assert_int_equal(dt_qp_connect(xa, xb, NULL), 0);
	assert_int_equal(dt_qp_connect(pa, pb, NULL), 0);
	dt_fill(src->p, 4096, 111);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dt_post_recv(xb, 10 + (uint64_t)i, rb->p + i * 4096, 4096,
					      rb->mr->lkey), 0);
		assert_int_equal(dt_post_recv(pb, 10 + (uint64_t)i, rb->p + (3 + i) * 4096, 4096,
					      rb->mr->lkey), 0);
	}
	for (int i = 0; i < 3; i++) {
		uint32_t len = 500 + 100 * (uint32_t)i;

		assert_int_equal(post1(xa, (uint64_t)i, ops[i], SIG, src->p, len, src->mr->lkey,
				       raddr_of(wb, 0), wb->mr->rkey, 0x1000u + (uint32_t)i), 0);
		assert_int_equal(post1(pa, (uint64_t)i, ops[i], SIG, src->p, len, src->mr->lkey,
				       raddr_of(wb, 0), wb->mr->rkey, 0x1000u + (uint32_t)i), 0);
	}
	assert_int_equal(cqx_poll(xr, xw, 3), 3);
	assert_int_equal(cqx_poll(xs, xsw, 3), 3);
	POLL(b->rcq, pw, 3);
	POLL(a->scq, psw, 3);
	for (int i = 0; i < 3; i++) {
		uint32_t len = 500 + 100 * (uint32_t)i;
		unsigned int flags = i ? IBV_WC_WITH_IMM : 0;

		CHECK_WC(&xw[i], resp_wc(10 + (uint64_t)i, wcops[i], len, flags,
					 0x1000u + (uint32_t)i, xb, xa),
			 DT_WC_RESP & ~DT_WC_PKEY);
		CHECK_WC(&pw[i], resp_wc(10 + (uint64_t)i, wcops[i], len, flags,
					 0x1000u + (uint32_t)i, pb, pa), DT_WC_RESP);
		w = pw[i];
		w.qp_num = xb->qp_num;
		w.src_qp = xa->qp_num;
		CHECK_WC(&xw[i], w, (DT_WC_RESP | DT_WC_DLID_BITS) & ~DT_WC_PKEY);

		CHECK_WC(&xsw[i], req_wc((uint64_t)i, i == 2 ? IBV_WC_RDMA_WRITE : IBV_WC_SEND,
					 len, xa), DT_WC_REQ);
		w = psw[i];
		w.qp_num = xa->qp_num;
		CHECK_WC(&xsw[i], w, DT_WC_REQ);
	}
	for (int i = 0; i < 2; i++) {
		CHECK_DATA(rb->p + i * 4096, 500 + 100 * (uint32_t)i, 111);
		CHECK_DATA(rb->p + (3 + i) * 4096, 500 + 100 * (uint32_t)i, 111);
	}
	CHECK_DATA(wb->p, 700, 111);
	/* Drained: start_poll says ENOENT. */
	{
		struct ibv_poll_cq_attr attr = { .comp_mask = 0 };

		assert_int_equal(ibv_start_poll(xr, &attr), ENOENT);
		assert_int_equal(ibv_start_poll(xs, &attr), ENOENT);
	}
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, NULL, cleanup)
	const struct CMUnitTest tests[] = {
		T_(test_channel),
		T_(test_cq_ex),
	};
#undef T_
	uint64_t t0 = dt_now_ms();
	int ret;

	/* A hang anywhere fails the run instead of the suite's timeout. */
	alarm(120);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr, "data-cq: %llu ms\n", (unsigned long long)(dt_now_ms() - t0));
	return ret;
}
