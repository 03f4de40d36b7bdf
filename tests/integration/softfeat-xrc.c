/* SPDX-License-Identifier: MIT */
/*
 * XRC on the soft device, through librdmabroker and a real daemon
 * (tests/integration/softfeat-xrc.sh): a domain, XRC SRQs with numbers,
 * XRC_SEND and XRC_RECV QPs; a SEND lands in the SRQ it names
 * (ibv_post_send and ibv_wr_set_xrc_srqn), completes on the SRQ's CQ with
 * the XRC_RECV QP's number; an SRQ number of no SRQ, or of another
 * domain, is IBV_WC_REM_INV_REQ_ERR; what XRC QPs refuse.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"
#include "tests/integration/softfeat-lib.h"

/* ---------------------------------------------------------------- XRC */

static struct {
	struct dt_node n;
	struct ibv_xrcd *xrcd, *xrcd2;
	struct ibv_cq *xcq;		/* the XRC SRQs' CQ */
	struct ibv_srq *srq, *srq2, *basic;
	struct ibv_qp *snd, *rcv;
	struct dt_buf buf;
} X;

/*
 * ibv_close_xrcd, through its verbs_context op: the inline in verbs.h
 * looks the op up without a check gcc can follow (-Wnull-dereference).
 */
static int xrcd_close(struct ibv_xrcd *xrcd)
{
	struct verbs_context *v = verbs_get_ctx(xrcd->context);

	if (!v || !v->close_xrcd)
		return EOPNOTSUPP;	/* which every caller's check fails on */
	return v->close_xrcd(xrcd);
}

static int xrc_teardown(void **state)
{
	(void)state;
	if (X.snd)
		ibv_destroy_qp(X.snd);
	if (X.rcv)
		ibv_destroy_qp(X.rcv);
	if (X.srq)
		ibv_destroy_srq(X.srq);
	if (X.srq2)
		ibv_destroy_srq(X.srq2);
	if (X.basic)
		ibv_destroy_srq(X.basic);
	if (X.xcq)
		ibv_destroy_cq(X.xcq);
	if (X.xrcd)
		xrcd_close(X.xrcd);
	if (X.xrcd2)
		xrcd_close(X.xrcd2);
	dt_buf_free(&X.buf);
	dt_node_close(&X.n);
	memset(&X, 0, sizeof(X));
	return 0;
}

static struct ibv_srq *xrc_srq(struct ibv_xrcd *xrcd)
{
	struct ibv_srq_init_attr_ex a = {
		.attr = { .max_wr = 16, .max_sge = 1 },
		.comp_mask = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_XRCD |
			     IBV_SRQ_INIT_ATTR_CQ | IBV_SRQ_INIT_ATTR_PD,
		.srq_type = IBV_SRQT_XRC, .xrcd = xrcd, .cq = X.xcq, .pd = X.n.pd,
	};

	return ibv_create_srq_ex(X.n.ctx, &a);
}

/*
 * An XRC QP to RTR (XRC_RECV: what it needs of RC's attributes) or RTS
 * (XRC_SEND), connected to dest on this device, as ibv_xsrq_pingpong
 * does it.
 */
static void xrc_connect(struct ibv_qp *qp, uint32_t dest)
{
	bool snd = qp->qp_type == IBV_QPT_XRC_SEND;
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT, .port_num = 1 };

	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
				       IBV_QP_PORT | IBV_QP_ACCESS_FLAGS), 0);
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = dest;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 1;
	a.ah_attr.is_global = 1;
	a.ah_attr.port_num = 1;
	a.ah_attr.grh.dgid = X.n.gid;
	a.ah_attr.grh.hop_limit = 1;
	/* The initiator needs neither MAX_DEST_RD_ATOMIC nor MIN_RNR_TIMER. */
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				       (snd ? 0 : IBV_QP_MAX_DEST_RD_ATOMIC |
						  IBV_QP_MIN_RNR_TIMER)), 0);
	if (!snd)
		return;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
				       IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				       IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC), 0);
}

/* Domain, SRQs, the two QPs connected (send -> recv). */
static void xrc_setup(void)
{
	struct ibv_xrcd_init_attr xa = { .comp_mask = IBV_XRCD_INIT_ATTR_FD |
						      IBV_XRCD_INIT_ATTR_OFLAGS,
					 .fd = -1, .oflags = O_CREAT };
	struct ibv_qp_init_attr_ex ra = {
		.qp_type = IBV_QPT_XRC_RECV, .comp_mask = IBV_QP_INIT_ATTR_XRCD,
	};
	struct ibv_qp_init_attr_ex sa = {
		.qp_type = IBV_QPT_XRC_SEND,
		.cap = { .max_send_wr = 16, .max_send_sge = 1 },
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.send_ops_flags = IBV_QP_EX_WITH_SEND,
	};
	struct ibv_srq_init_attr ba = { .attr = { .max_wr = 4, .max_sge = 1 } };
	struct ibv_device_attr da;

	memset(&X, 0, sizeof(X));
	assert_int_equal(dt_node_open(&X.n, 64, false), 0);
	assert_int_equal(ibv_query_device(X.n.ctx, &da), 0);
	assert_true(da.device_cap_flags & IBV_DEVICE_XRC);
	X.xrcd = ibv_open_xrcd(X.n.ctx, &xa);
	X.xrcd2 = ibv_open_xrcd(X.n.ctx, &xa);
	assert_non_null(X.xrcd);
	assert_non_null(X.xrcd2);
	X.xcq = ibv_create_cq(X.n.ctx, 64, NULL, NULL, 0);
	assert_non_null(X.xcq);
	X.srq = xrc_srq(X.xrcd);
	X.srq2 = xrc_srq(X.xrcd2);
	X.basic = ibv_create_srq(X.n.pd, &ba);
	assert_non_null(X.srq);
	assert_non_null(X.srq2);
	assert_non_null(X.basic);
	ra.xrcd = X.xrcd;
	X.rcv = ibv_create_qp_ex(X.n.ctx, &ra);
	assert_non_null(X.rcv);
	sa.pd = X.n.pd;
	sa.send_cq = X.n.scq;
	X.snd = ibv_create_qp_ex(X.n.ctx, &sa);
	assert_non_null(X.snd);
	xrc_connect(X.snd, X.rcv->qp_num);
	xrc_connect(X.rcv, X.snd->qp_num);
	assert_int_equal(dt_buf_alloc(&X.buf, X.n.pd, 4096, DT_ACCESS_ALL), 0);
}

static int xrc_send(uint64_t wr_id, uint32_t srqn, uint32_t len)
{
	struct ibv_sge sge = { (uintptr_t)X.buf.p, len, X.buf.mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id, .sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;

	wr.qp_type.xrc.remote_srqn = srqn;
	return ibv_post_send(X.snd, &wr, &bad);
}

static void test_xrc_send(void **state)
{
	struct ibv_recv_wr rwr = { .wr_id = 1 }, *rbad;
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_XRC_RECV };
	struct ibv_qp_ex *x;
	struct ibv_wc wc;
	uint32_t n, n2;

	(void)state;
	xrc_setup();
	assert_int_equal(ibv_get_srq_num(X.srq, &n), 0);
	assert_int_equal(ibv_get_srq_num(X.srq2, &n2), 0);
	assert_true(n != 0 && n2 != 0 && n != n2);
	assert_int_equal(ibv_get_srq_num(X.basic, &n2), EINVAL);
	assert_int_equal(ibv_get_srq_num(X.srq2, &n2), 0);
	/* What XRC QPs refuse. */
	assert_int_equal(ibv_post_recv(X.rcv, &rwr, &rbad), EINVAL);
	assert_int_equal(ibv_post_recv(X.snd, &rwr, &rbad), EINVAL);
	errno = 0;
	assert_null(ibv_create_qp(X.n.pd, &qa));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xrcd_close(X.xrcd), EBUSY);

	for (int i = 0; i < 2; i++)
		assert_int_equal(dt_post_srq_recv(X.srq, 10 + (uint64_t)i, X.buf.p + 1024 * (i + 1),
						  256, X.buf.mr->lkey), 0);
	dt_fill(X.buf.p, 100, 7);
	assert_int_equal(xrc_send(20, n, 100), 0);
	assert_int_equal(dt_poll(X.n.scq, &wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc.status, IBV_WC_SUCCESS);
	assert_int_equal(wc.wr_id, 20);
	assert_int_equal(wc.qp_num, X.snd->qp_num);
	/* On the SRQ's CQ, as received by the XRC_RECV QP. */
	assert_int_equal(dt_poll(X.xcq, &wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc.status, IBV_WC_SUCCESS);
	assert_int_equal(wc.wr_id, 10);
	assert_int_equal(wc.opcode, IBV_WC_RECV);
	assert_int_equal(wc.byte_len, 100);
	assert_int_equal(wc.qp_num, X.rcv->qp_num);
	assert_int_equal(wc.src_qp, X.snd->qp_num);
	assert_int_equal(dt_verify(X.buf.p + 1024, 100, 7), -1);
	/* The ibv_wr_* way, naming the SRQ with ibv_wr_set_xrc_srqn. */
	x = ibv_qp_to_qp_ex(X.snd);
	assert_non_null(x);
	ibv_wr_start(x);
	x->wr_id = 21;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send(x);
	ibv_wr_set_xrc_srqn(x, n);
	ibv_wr_set_sge(x, X.buf.mr->lkey, (uintptr_t)X.buf.p, 50);
	assert_int_equal(ibv_wr_complete(x), 0);
	assert_int_equal(dt_poll(X.n.scq, &wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc.status, IBV_WC_SUCCESS);
	assert_int_equal(dt_poll(X.xcq, &wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc.wr_id, 11);
	assert_int_equal(wc.byte_len, 50);
	/* Nothing else landed anywhere. */
	assert_int_equal(dt_poll_quiet(X.xcq, &wc, DT_QUIET_MS), 0);
}

/* An SRQ number of another domain, or of no SRQ: an invalid request. */
static void xrc_bad_srqn_case(bool other_domain)
{
	struct ibv_wc wc;
	uint32_t n;

	xrc_setup();
	assert_int_equal(ibv_get_srq_num(X.srq2, &n), 0);
	assert_int_equal(dt_post_srq_recv(X.srq2, 30, X.buf.p + 1024, 256, X.buf.mr->lkey), 0);
	assert_int_equal(xrc_send(31, other_domain ? n : (n ^ 0x5a5a5a), 16), 0);
	assert_int_equal(dt_poll(X.n.scq, &wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc.status, IBV_WC_REM_INV_REQ_ERR);
	assert_int_equal(dt_poll_quiet(X.xcq, &wc, DT_QUIET_MS), 0);
	xrc_teardown(NULL);
}

static void test_xrc_bad_srqn(void **state)
{
	(void)state;
	xrc_bad_srqn_case(true);
	xrc_bad_srqn_case(false);
}

/* [limits] mws = N: the N+1th is EDQUOT; rdmactl res lists the N. */

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, teardown)
		cmocka_unit_test_teardown(test_xrc_send, xrc_teardown),
		cmocka_unit_test_teardown(test_xrc_bad_srqn, xrc_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
