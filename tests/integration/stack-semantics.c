/* SPDX-License-Identifier: MIT */
/*
 * Verbs semantics the RDMA software stack relies on (issue 16), through
 * librdmabroker and a real daemon (tests/integration/stack-semantics.sh: [limits]
 * cqes = max_cqe + 100):
 *   - an address vector's flow_label above 20 bits (UCX passes ~0) and an
 *     SL above 4 bits are masked, as NICs do, not refused;
 *   - a QP moved to RESET, or destroyed, has its completions removed from
 *     its CQ, and only its own;
 *   - ibv_resize_cq refuses (EINVAL) a size the completions of WRs already
 *     posted do not fit in, instead of losing them later;
 *   - a CQ asked for the advertised max_cqe gets exactly that and is
 *     charged that;
 *   - thread domains and parent domains (library objects over a PD).
 */
#include "config.h"

#include <errno.h>
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

#include "tests/lib/clienttest.h"

static struct ibv_device **list;
static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_mr *mr;
static struct ibv_device_attr dev_attr;
static union ibv_gid gid;
static char buf[4096];

static int setup(void **state)
{
	(void)state;
	if (ct_open(&list, &ctx) < 0)
		return -1;
	if (ibv_query_device(ctx, &dev_attr) || ibv_query_gid(ctx, 1, 0, &gid))
		return -1;
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		return -1;
	mr = ibv_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE);
	return mr ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ibv_dereg_mr(mr);
	ibv_dealloc_pd(pd);
	ct_close(list, ctx);
	return 0;
}

static struct ibv_qp *make_qp(struct ibv_cq *cq, uint32_t max_recv_wr)
{
	struct ibv_qp_init_attr a = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 16, .max_recv_wr = max_recv_wr,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};

	return ibv_create_qp(pd, &a);
}

static void to_state(struct ibv_qp *qp, enum ibv_qp_state st)
{
	struct ibv_qp_attr a = { .qp_state = st };

	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
}

static void to_init(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .port_num = 1, .pkey_index = 0,
		.qp_access_flags = IBV_ACCESS_REMOTE_WRITE,
	};

	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
				       IBV_QP_PORT | IBV_QP_ACCESS_FLAGS), 0);
}

/* RTR and RTS, connected to dest (itself is fine on the soft device). */
static void to_rts(struct ibv_qp *qp, uint32_t dest, uint32_t flow_label,
		   uint8_t sl)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR, .path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest, .rq_psn = 0, .max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = { .is_global = 1, .port_num = 1, .sl = sl,
			     .grh = { .dgid = gid, .sgid_index = 0, .hop_limit = 64,
				      .flow_label = flow_label } },
	};

	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV |
				       IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				       IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
				       IBV_QP_MIN_RNR_TIMER), 0);
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.sq_psn = 0;
	a.max_rd_atomic = 1;
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
				       IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				       IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC), 0);
}

static void post_recvs(struct ibv_qp *qp, int n, uint64_t wr_id0)
{
	for (int i = 0; i < n; i++) {
		struct ibv_sge sge = { .addr = (uintptr_t)buf, .length = 64, .lkey = mr->lkey };
		struct ibv_recv_wr wr = { .wr_id = wr_id0 + (uint64_t)i, .sg_list = &sge,
					  .num_sge = 1 }, *bad;

		assert_int_equal(ibv_post_recv(qp, &wr, &bad), 0);
	}
}

/* Poll until want completions came (or 5 s passed); returns how many. */
static int poll_n(struct ibv_cq *cq, struct ibv_wc *wc, int want)
{
	int got = 0;

	for (int spin = 0; got < want && spin < 5000; spin++) {
		int n = ibv_poll_cq(cq, want - got, wc + got);

		assert_true(n >= 0);
		got += n;
		if (got < want)
			usleep(1000);
	}
	return got;
}

/* Give the engine time to produce what it will: only makes a check stronger. */
static void settle(void)
{
	usleep(100 * 1000);
}

/* Two QPs completing into cq, both in INIT. */
static void two_in_init(struct ibv_cq *cq, struct ibv_qp **a, struct ibv_qp **b)
{
	assert_non_null(cq);
	*a = make_qp(cq, 8);
	*b = make_qp(cq, 8);
	assert_non_null(*a);
	assert_non_null(*b);
	to_init(*a);
	to_init(*b);
}

static void test_av_masks(void **state)
{
	struct ibv_cq *cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	struct ibv_qp_attr qa;
	struct ibv_qp_init_attr qi;
	struct ibv_qp *qp;

	(void)state;
	assert_non_null(cq);
	qp = make_qp(cq, 4);
	assert_non_null(qp);
	to_init(qp);
	to_rts(qp, qp->qp_num, ~0u, 0xff);
	assert_int_equal(ibv_query_qp(qp, &qa, IBV_QP_AV, &qi), 0);
	assert_int_equal(qa.ah_attr.grh.flow_label, 0xfffff);
	assert_int_equal(qa.ah_attr.sl, 0xf);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	assert_int_equal(ibv_destroy_cq(cq), 0);
}

static void test_reset_cleans_cq(void **state)
{
	struct ibv_cq *cq = ibv_create_cq(ctx, 64, NULL, NULL, 0);
	struct ibv_qp *a, *b;
	struct ibv_wc wc[16];
	struct ibv_sge sge = { .addr = (uintptr_t)buf, .length = 8, .lkey = mr->lkey };
	struct ibv_send_wr swr = { .wr_id = 900, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *sbad;
	int n, got_send = 0, got_recv = 0;

	(void)state;
	two_in_init(cq, &a, &b);
	/* Interleaved flushes of A and B in one CQ. */
	post_recvs(a, 2, 100);
	post_recvs(b, 2, 200);
	to_state(a, IBV_QPS_ERR);
	to_state(b, IBV_QPS_ERR);
	post_recvs(a, 2, 102);
	settle();
	to_state(a, IBV_QPS_RESET);
	/* Only B's two flushes are left. */
	n = poll_n(cq, wc, 2);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		assert_int_equal(wc[i].qp_num, b->qp_num);
		assert_int_equal(wc[i].status, IBV_WC_WR_FLUSH_ERR);
		assert_int_equal(wc[i].wr_id, 200 + (uint64_t)i);
	}
	settle();
	assert_int_equal(ibv_poll_cq(cq, 16, wc), 0);

	/* A's next life sees no stale flush: a send to itself, both ends. */
	to_init(a);
	to_rts(a, a->qp_num, 0, 0);
	post_recvs(a, 1, 300);
	assert_int_equal(ibv_post_send(a, &swr, &sbad), 0);
	n = poll_n(cq, wc, 2);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		assert_int_equal(wc[i].status, IBV_WC_SUCCESS);
		assert_int_equal(wc[i].qp_num, a->qp_num);
		if (wc[i].opcode == IBV_WC_SEND && wc[i].wr_id == 900)
			got_send++;
		else if (wc[i].opcode == IBV_WC_RECV && wc[i].wr_id == 300)
			got_recv++;
	}
	assert_int_equal(got_send, 1);
	assert_int_equal(got_recv, 1);
	settle();
	assert_int_equal(ibv_poll_cq(cq, 16, wc), 0);

	assert_int_equal(ibv_destroy_qp(a), 0);
	assert_int_equal(ibv_destroy_qp(b), 0);
	assert_int_equal(ibv_destroy_cq(cq), 0);
}

/*
 * A destroyed QP's completions leave its CQs too, as with mlx4 and mlx5,
 * and only its own, in order: libfabric's rxm drains a shared CQ after
 * closing a connection's QP and would repost the receive of a completion
 * left there on the endpoint it closed (tests/peers/libfabric.sh).
 */
static void test_destroy_cleans_cq(void **state)
{
	struct ibv_cq *cq = ibv_create_cq(ctx, 64, NULL, NULL, 0);
	struct ibv_qp *a, *b;
	struct ibv_wc wc[16];
	uint32_t bqpn;
	int n;

	(void)state;
	two_in_init(cq, &a, &b);
	/* B's two flushes ahead of A's three in one CQ: the entries kept
	 * move over the ones removed. */
	post_recvs(a, 3, 100);
	post_recvs(b, 2, 200);
	to_state(b, IBV_QPS_ERR);
	settle();
	to_state(a, IBV_QPS_ERR);
	settle();
	bqpn = b->qp_num;
	assert_int_equal(ibv_destroy_qp(b), 0);
	/* Only A's three flushes are left, in order. */
	n = poll_n(cq, wc, 3);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		assert_int_equal(wc[i].qp_num, a->qp_num);
		assert_int_not_equal(wc[i].qp_num, bqpn);
		assert_int_equal(wc[i].status, IBV_WC_WR_FLUSH_ERR);
		assert_int_equal(wc[i].wr_id, 100 + (uint64_t)i);
	}
	settle();
	assert_int_equal(ibv_poll_cq(cq, 16, wc), 0);
	assert_int_equal(ibv_destroy_qp(a), 0);
	assert_int_equal(ibv_destroy_cq(cq), 0);
}

static void test_resize_keeps_posted(void **state)
{
	struct ibv_cq *cq = ibv_create_cq(ctx, 8, NULL, NULL, 0);
	struct ibv_qp *qp;
	struct ibv_wc wc[32];
	int n;

	(void)state;
	assert_non_null(cq);
	qp = make_qp(cq, 16);
	assert_non_null(qp);
	to_init(qp);
	post_recvs(qp, 12, 0);
	/* 12 receives will complete here: 4 slots cannot hold them. */
	assert_int_equal(ibv_resize_cq(cq, 4), EINVAL);
	assert_int_equal(ibv_resize_cq(cq, 11), EINVAL);
	assert_int_equal(ibv_resize_cq(cq, 12), 0);
	assert_true(cq->cqe >= 12);
	to_state(qp, IBV_QPS_ERR);
	n = poll_n(cq, wc, 12);
	assert_int_equal(n, 12);
	for (int i = 0; i < n; i++) {
		assert_int_equal(wc[i].status, IBV_WC_WR_FLUSH_ERR);
		assert_int_equal(wc[i].wr_id, (uint64_t)i);
	}
	/* Nothing outstanding any more: any size goes. */
	assert_int_equal(ibv_resize_cq(cq, 1), 0);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	assert_int_equal(ibv_destroy_cq(cq), 0);
}

/* [limits] cqes = max_cqe + 100: a CQ of max_cqe fits only if charged max_cqe. */
static void test_max_cqe(void **state)
{
	struct ibv_cq *cq;

	(void)state;
	cq = ibv_create_cq(ctx, dev_attr.max_cqe, NULL, NULL, 0);
	assert_non_null(cq);
	assert_int_equal(cq->cqe, dev_attr.max_cqe);
	assert_int_equal(ibv_destroy_cq(cq), 0);
	errno = 0;
	assert_null(ibv_create_cq(ctx, dev_attr.max_cqe + 1, NULL, NULL, 0));
	assert_int_equal(errno, EINVAL);
	/* Rounded up as providers do, below the maximum. */
	cq = ibv_create_cq(ctx, 100, NULL, NULL, 0);
	assert_non_null(cq);
	assert_int_equal(cq->cqe, 127);
	assert_int_equal(ibv_destroy_cq(cq), 0);
}

/* Thread and parent domains, made in the library over a real PD. */
static void test_parent_domain(void **state)
{
	struct ibv_td_init_attr tda = { 0 };
	struct ibv_td *td = ibv_alloc_td(ctx, &tda);
	struct ibv_parent_domain_init_attr pa = {
		.pd = pd, .td = td,
		.comp_mask = IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT,
		.pd_context = &pa,
	};
	struct ibv_cq_init_attr_ex ca = { .cqe = 16, .comp_mask = IBV_CQ_INIT_ATTR_MASK_PD };
	struct ibv_pd *parent, *p2;
	struct ibv_cq_ex *cqx;
	struct ibv_qp *qp;
	struct ibv_mr *m;

	(void)state;
	assert_non_null(td);
	tda.comp_mask = 1;
	errno = 0;
	assert_null(ibv_alloc_td(ctx, &tda));
	assert_int_equal(errno, EINVAL);
	parent = ibv_alloc_parent_domain(ctx, &pa);
	assert_true(parent != NULL && parent->context == ctx);
	/* Not over another parent domain. */
	pa.pd = parent;
	errno = 0;
	assert_null(ibv_alloc_parent_domain(ctx, &pa));
	assert_int_equal(errno, EINVAL);
	pa.pd = pd;
	/* The PD and the TD are held while the parent domain is. */
	assert_int_equal(ibv_dealloc_pd(pd), EBUSY);
	assert_int_equal(ibv_dealloc_td(td), EBUSY);

	ca.parent_domain = parent;
	cqx = ibv_create_cq_ex(ctx, &ca);
	assert_non_null(cqx);
	ca.parent_domain = pd;	/* a plain PD is not a parent domain */
	errno = 0;
	assert_null(ibv_create_cq_ex(ctx, &ca));
	assert_int_equal(errno, EINVAL);
	qp = make_qp(ibv_cq_ex_to_cq(cqx), 4);
	assert_non_null(qp);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	{
		struct ibv_qp_init_attr a = {
			.send_cq = ibv_cq_ex_to_cq(cqx), .recv_cq = ibv_cq_ex_to_cq(cqx),
			.qp_type = IBV_QPT_RC,
			.cap = { .max_send_wr = 4, .max_recv_wr = 4, .max_send_sge = 1,
				 .max_recv_sge = 1 },
		};

		qp = ibv_create_qp(parent, &a);
		assert_true(qp != NULL && qp->pd == parent);
	}
	m = ibv_reg_mr(parent, buf, 64, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(m);
	assert_int_equal(ibv_dereg_mr(m), 0);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	assert_int_equal(ibv_destroy_cq(ibv_cq_ex_to_cq(cqx)), 0);

	/* A second one, then both go; the PD stays usable. */
	p2 = ibv_alloc_parent_domain(ctx, &pa);
	assert_non_null(p2);
	assert_int_equal(ibv_dealloc_pd(parent), 0);
	assert_int_equal(ibv_dealloc_pd(pd), EBUSY);
	assert_int_equal(ibv_dealloc_pd(p2), 0);
	assert_int_equal(ibv_dealloc_td(td), 0);
	m = ibv_reg_mr(pd, buf, 64, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(m);
	assert_int_equal(ibv_dereg_mr(m), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_av_masks),
		cmocka_unit_test(test_reset_cleans_cq),
		cmocka_unit_test(test_destroy_cleans_cq),
		cmocka_unit_test(test_resize_keeps_posted),
		cmocka_unit_test(test_max_cqe),
		cmocka_unit_test(test_parent_domain),
	};

	(void)argc;
	(void)argv;
	return cmocka_run_group_tests(tests, setup, teardown);
}
