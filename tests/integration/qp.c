/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs through librdmabroker and a real daemon (tests/integration/qp.sh:
 * [limits] qps = 6): create with capabilities checked and granted, the
 * state machine for RC, UC and UD with every wrong transition and bad
 * value refused with EINVAL and the state left as it was, EBUSY on the PD
 * and CQs a QP uses, the qps limit, and rings unmapped on destroy.
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
static struct ibv_cq *cq;
static struct ibv_device_attr dev_attr;

static int setup(void **state)
{
	(void)state;
	if (ct_open(&list, &ctx) < 0)
		return -1;
	if (ibv_query_device(ctx, &dev_attr))
		return -1;
	pd = ibv_alloc_pd(ctx);
	cq = ibv_create_cq(ctx, 64, NULL, NULL, 0);
	return pd && cq ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	ct_close(list, ctx);
	return 0;
}

static struct ibv_qp *make_qp(enum ibv_qp_type type)
{
	struct ibv_qp_init_attr a = {
		.send_cq = cq, .recv_cq = cq, .qp_type = type,
		.cap = { .max_send_wr = 10, .max_recv_wr = 10, .max_send_sge = 2,
			 .max_recv_sge = 2, .max_inline_data = 64 },
	};

	return ibv_create_qp(pd, &a);
}

static enum ibv_qp_state state_of(struct ibv_qp *qp)
{
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr ia;

	assert_int_equal(ibv_query_qp(qp, &a, IBV_QP_STATE, &ia), 0);
	return a.qp_state;
}

/* The modify fails with EINVAL and the QP stays where it was. */
static void refused(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask)
{
	enum ibv_qp_state before = state_of(qp);

	assert_int_equal(ibv_modify_qp(qp, a, mask), EINVAL);
	assert_int_equal(state_of(qp), before);
	assert_int_equal(qp->state, before);
}

static void to_init(struct ibv_qp *qp, int mask)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .pkey_index = 0, .port_num = 1,
		.qkey = 0x11111111,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
	};

	assert_int_equal(ibv_modify_qp(qp, &a, mask), 0);
	assert_int_equal(qp->state, IBV_QPS_INIT);
}

static struct ibv_qp_attr rtr_attr(void)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR, .path_mtu = IBV_MTU_1024,
		.dest_qp_num = 0x1234, .rq_psn = 0x42, .max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = { .is_global = 1, .port_num = 1,
			     .grh = { .hop_limit = 1, .sgid_index = 0 } },
	};

	ibv_query_gid(ctx, 1, 0, &a.ah_attr.grh.dgid);
	return a;
}

#define RC_INIT (IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS)
#define RC_RTR (IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | \
		IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER)
#define RC_RTS (IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | \
		IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC)

static void test_create(void **state)
{
	struct ibv_qp_init_attr a = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.qp_context = &a,
		.cap = { .max_send_wr = 10, .max_recv_wr = 3, .max_send_sge = 2,
			 .max_recv_sge = 1, .max_inline_data = 100 },
	};
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr qa;
	struct ibv_qp *qp, *qp2;

	(void)state;
	qp = ibv_create_qp(pd, &a);
	assert_non_null(qp);
	/* Granted values come back, at least what was asked. */
	assert_true(a.cap.max_send_wr >= 10 && a.cap.max_recv_wr >= 3);
	assert_true(a.cap.max_send_sge >= 2 && a.cap.max_inline_data >= 100);
	assert_true(qp->qp_num > 1 && qp->qp_num <= 0xffffff);
	assert_int_equal(qp->state, IBV_QPS_RESET);
	assert_int_equal(qp->qp_type, IBV_QPT_RC);
	assert_ptr_equal(qp->pd, pd);
	assert_ptr_equal(qp->send_cq, cq);
	assert_ptr_equal(qp->qp_context, &a);
	assert_int_equal(ibv_query_qp(qp, &qa, IBV_QP_STATE | IBV_QP_CAP, &ia), 0);
	assert_int_equal(qa.qp_state, IBV_QPS_RESET);
	assert_int_equal(ia.cap.max_send_wr, a.cap.max_send_wr);
	assert_int_equal(ia.cap.max_inline_data, a.cap.max_inline_data);
	assert_int_equal(ia.qp_type, IBV_QPT_RC);
	assert_ptr_equal(ia.send_cq, cq);
	qp2 = make_qp(IBV_QPT_RC);
	assert_non_null(qp2);
	assert_int_not_equal(qp->qp_num, qp2->qp_num);
	assert_int_equal(ibv_destroy_qp(qp2), 0);
	assert_int_equal(ibv_destroy_qp(qp), 0);
}

static void test_create_invalid(void **state)
{
	struct ibv_qp_init_attr a = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 1, .max_recv_wr = 1, .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};
	struct ibv_qp_init_attr b;
	struct ibv_qp *qp;

	(void)state;
#define CREATE_FAILS(err) do { errno = 0; b = a; \
		assert_null(ibv_create_qp(pd, &b)); assert_int_equal(errno, err); } while (0)
	a.cap.max_send_wr = (uint32_t)dev_attr.max_qp_wr + 1;
	CREATE_FAILS(EINVAL);
	a.cap.max_send_wr = 1;
	a.cap.max_recv_sge = (uint32_t)dev_attr.max_sge + 1;
	CREATE_FAILS(EINVAL);
	a.cap.max_recv_sge = 1;
	/* The inline limit is exact: 512 bytes pass, one more fails. */
	a.cap.max_inline_data = 513;
	CREATE_FAILS(EINVAL);
	a.cap.max_inline_data = 512;
	b = a;
	qp = ibv_create_qp(pd, &b);
	assert_non_null(qp);
	assert_int_equal(b.cap.max_inline_data, 512);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	a.cap.max_inline_data = 0;
	a.qp_type = IBV_QPT_RAW_PACKET;
	CREATE_FAILS(EOPNOTSUPP);
	a.qp_type = IBV_QPT_RC;
	a.send_cq = NULL;
	CREATE_FAILS(EINVAL);
#undef CREATE_FAILS
}

static void test_rc_state_machine(void **state)
{
	struct ibv_qp *qp = make_qp(IBV_QPT_RC);
	struct ibv_qp_attr a, q;
	struct ibv_qp_init_attr ia;

	(void)state;
	assert_non_null(qp);
	/* RESET: only INIT (or RESET, ERR) is next. */
	a = rtr_attr();
	refused(qp, &a, RC_RTR);
	a.qp_state = IBV_QPS_RTS;
	refused(qp, &a, IBV_QP_STATE);
	/* RESET -> INIT needs pkey, port, access; no more. */
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_INIT, .port_num = 1,
				  .qp_access_flags = IBV_ACCESS_LOCAL_WRITE };
	refused(qp, &a, IBV_QP_STATE | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	refused(qp, &a, RC_INIT | IBV_QP_SQ_PSN);
	refused(qp, &a, RC_INIT | IBV_QP_QKEY);		/* RC has no qkey */
	refused(qp, &a, RC_INIT | IBV_QP_CUR_STATE);	/* not from RESET */
	a.port_num = 2;
	refused(qp, &a, RC_INIT);
	a.port_num = 1;
	a.pkey_index = 1;
	refused(qp, &a, RC_INIT);
	a.pkey_index = 0;
	a.qp_access_flags = 1u << 20;
	refused(qp, &a, RC_INIT);
	to_init(qp, RC_INIT);
	to_init(qp, IBV_QP_STATE | IBV_QP_PORT);	/* INIT -> INIT, optional only */

	/* INIT -> RTS skips RTR. */
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS, .timeout = 14,
				  .retry_cnt = 7, .rnr_retry = 7 };
	refused(qp, &a, RC_RTS);
	/* INIT -> RTR: every required attribute, valid values. */
	a = rtr_attr();
	refused(qp, &a, RC_RTR & ~IBV_QP_DEST_QPN);
	refused(qp, &a, RC_RTR & ~IBV_QP_MIN_RNR_TIMER);
	refused(qp, &a, RC_RTR | IBV_QP_SQ_PSN);
	a.path_mtu = 0;
	refused(qp, &a, RC_RTR);
	a = rtr_attr();
	a.path_mtu = (enum ibv_mtu)6;
	refused(qp, &a, RC_RTR);
	a = rtr_attr();
	a.dest_qp_num = 0x1000000;
	refused(qp, &a, RC_RTR);
	a = rtr_attr();
	a.ah_attr.is_global = 0;	/* RoCE needs the GRH */
	refused(qp, &a, RC_RTR);
	a = rtr_attr();
	/* Past the GID table: 16 entries with gid_address auto, where
	 * index 1 may well be another address of the host. */
	a.ah_attr.grh.sgid_index = 16;
	refused(qp, &a, RC_RTR);
	a = rtr_attr();
	a.max_dest_rd_atomic = (uint8_t)(dev_attr.max_qp_rd_atom + 1);
	refused(qp, &a, RC_RTR);
	a = rtr_attr();
	assert_int_equal(ibv_modify_qp(qp, &a, RC_RTR), 0);
	assert_int_equal(qp->state, IBV_QPS_RTR);

	/* RTR -> RTS. */
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS, .timeout = 14,
				  .retry_cnt = 7, .rnr_retry = 7, .sq_psn = 0x77,
				  .max_rd_atomic = 1 };
	refused(qp, &a, RC_RTS & ~IBV_QP_SQ_PSN);
	a.retry_cnt = 8;
	refused(qp, &a, RC_RTS);
	a.retry_cnt = 7;
	a.timeout = 32;
	refused(qp, &a, RC_RTS);
	a.timeout = 14;
	a.max_rd_atomic = (uint8_t)(dev_attr.max_qp_init_rd_atom + 1);
	refused(qp, &a, RC_RTS);
	a.max_rd_atomic = 1;
	a.cur_qp_state = IBV_QPS_INIT;	/* wrong idea of the state */
	refused(qp, &a, RC_RTS | IBV_QP_CUR_STATE);
	a.cur_qp_state = IBV_QPS_RTR;
	assert_int_equal(ibv_modify_qp(qp, &a, RC_RTS | IBV_QP_CUR_STATE), 0);
	assert_int_equal(qp->state, IBV_QPS_RTS);

	/* What was set is what query says. */
	assert_int_equal(ibv_query_qp(qp, &q, 0, &ia), 0);
	assert_int_equal(q.qp_state, IBV_QPS_RTS);
	assert_int_equal(q.path_mtu, IBV_MTU_1024);
	assert_int_equal(q.dest_qp_num, 0x1234);
	assert_int_equal(q.rq_psn, 0x42);
	assert_int_equal(q.sq_psn, 0x77);
	assert_int_equal(q.timeout, 14);
	assert_int_equal(q.retry_cnt, 7);
	assert_int_equal(q.rnr_retry, 7);
	assert_int_equal(q.min_rnr_timer, 12);
	assert_int_equal(q.max_rd_atomic, 1);
	assert_int_equal(q.max_dest_rd_atomic, 1);
	assert_int_equal(q.port_num, 1);
	assert_int_equal(q.qp_access_flags, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	assert_int_equal(q.ah_attr.is_global, 1);
	assert_int_equal(q.ah_attr.grh.hop_limit, 1);

	/* RTS -> RTS (optional only), RTS -> SQD -> RTS. */
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS, .min_rnr_timer = 3 };
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_MIN_RNR_TIMER), 0);
	refused(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN);
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_SQD };
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
	assert_int_equal(qp->state, IBV_QPS_SQD);
	a.qp_state = IBV_QPS_RTS;
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
	/* Anything -> ERR -> RESET; ERR -> RTS is no way back. */
	a.qp_state = IBV_QPS_ERR;
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
	a.qp_state = IBV_QPS_RTS;
	refused(qp, &a, IBV_QP_STATE);
	a.qp_state = IBV_QPS_INIT;
	refused(qp, &a, RC_INIT);
	a.qp_state = IBV_QPS_RESET;
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
	assert_int_equal(ibv_query_qp(qp, &q, 0, &ia), 0);
	assert_int_equal(q.qp_state, IBV_QPS_RESET);
	assert_int_equal(q.dest_qp_num, 0);	/* RESET forgets */
	/* And the way up again works. */
	to_init(qp, RC_INIT);
	assert_int_equal(ibv_destroy_qp(qp), 0);
}

static void test_ud_uc(void **state)
{
	struct ibv_qp *ud = make_qp(IBV_QPT_UD), *uc = make_qp(IBV_QPT_UC);
	struct ibv_qp_attr a;

	(void)state;
	assert_non_null(ud);
	assert_non_null(uc);
	/* UD: qkey instead of access flags; RTR needs nothing; RTS the SQ PSN. */
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_INIT, .port_num = 1,
				  .qkey = 0x11111111 };
	refused(ud, &a, RC_INIT);
	to_init(ud, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY);
	a = rtr_attr();
	refused(ud, &a, RC_RTR);	/* no AV, no remote QP on UD */
	a.qp_state = IBV_QPS_RTR;
	assert_int_equal(ibv_modify_qp(ud, &a, IBV_QP_STATE), 0);
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS, .sq_psn = 1 };
	refused(ud, &a, IBV_QP_STATE);
	refused(ud, &a, RC_RTS);
	assert_int_equal(ibv_modify_qp(ud, &a, IBV_QP_STATE | IBV_QP_SQ_PSN), 0);
	assert_int_equal(ud->state, IBV_QPS_RTS);

	/* UC: like RC without the RDMA-read and retry attributes. */
	to_init(uc, RC_INIT);
	a = rtr_attr();
	refused(uc, &a, RC_RTR);	/* max_dest_rd_atomic, min_rnr_timer */
	assert_int_equal(ibv_modify_qp(uc, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN), 0);
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS, .sq_psn = 1, .timeout = 1 };
	refused(uc, &a, IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT);
	assert_int_equal(ibv_modify_qp(uc, &a, IBV_QP_STATE | IBV_QP_SQ_PSN), 0);
	assert_int_equal(uc->state, IBV_QPS_RTS);
	assert_int_equal(ibv_destroy_qp(ud), 0);
	assert_int_equal(ibv_destroy_qp(uc), 0);
}

/* ibv_create_qp_ex with the basic attributes works; more is EOPNOTSUPP. */
static void test_create_qp_ex(void **state)
{
	struct ibv_qp_init_attr_ex a = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_UD,
		.cap = { .max_send_wr = 3, .max_recv_wr = 3, .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_CREATE_FLAGS,
		.pd = pd,
	};
	struct ibv_qp *qp;

	(void)state;
	qp = ibv_create_qp_ex(ctx, &a);	/* through verbs_context */
	assert_non_null(qp);
	assert_true(a.cap.max_send_wr >= 3);
	assert_int_equal(qp ? (int)qp->qp_type : -1, IBV_QPT_UD);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	a.comp_mask = IBV_QP_INIT_ATTR_PD;	/* the inline path to ibv_create_qp */
	qp = ibv_create_qp_ex(ctx, &a);
	assert_non_null(qp);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	a.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_CREATE_FLAGS;
	a.create_flags = IBV_QP_CREATE_SCATTER_FCS;
	errno = 0;
	assert_null(ibv_create_qp_ex(ctx, &a));
	assert_int_equal(errno, EOPNOTSUPP);
	a.create_flags = 0;
	/* The ibv_wr_* API: the opcodes the soft device has, not the rest. */
	a.comp_mask |= IBV_QP_INIT_ATTR_SEND_OPS_FLAGS;
	a.send_ops_flags = IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_TSO;
	errno = 0;
	assert_null(ibv_create_qp_ex(ctx, &a));
	assert_int_equal(errno, EOPNOTSUPP);
	a.send_ops_flags = IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_RDMA_READ |
			   IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD;
	qp = ibv_create_qp_ex(ctx, &a);
	assert_non_null(qp);
	assert_ptr_equal(ibv_qp_to_qp_ex(qp), (struct ibv_qp_ex *)qp);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	/* A QP created without send_ops_flags has no ibv_qp_ex. */
	a.comp_mask &= ~(uint32_t)IBV_QP_INIT_ATTR_SEND_OPS_FLAGS;
	qp = ibv_create_qp_ex(ctx, &a);
	assert_non_null(qp);
	errno = 0;
	assert_null(ibv_qp_to_qp_ex(qp));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(ibv_destroy_qp(qp), 0);
}

/* A PD or CQ in use by a QP cannot go; after the QP, it can. */
static void test_busy(void **state)
{
	struct ibv_pd *pd2 = ibv_alloc_pd(ctx);
	struct ibv_cq *cq2 = ibv_create_cq(ctx, 8, NULL, NULL, 0);
	struct ibv_qp_init_attr a = {
		.send_cq = cq2, .recv_cq = cq2, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 1, .max_recv_wr = 1, .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};
	struct ibv_qp *qp;

	(void)state;
	assert_non_null(pd2);
	assert_non_null(cq2);
	qp = ibv_create_qp(pd2, &a);
	assert_non_null(qp);
	assert_int_equal(ibv_dealloc_pd(pd2), EBUSY);
	assert_int_equal(ibv_destroy_cq(cq2), EBUSY);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	assert_int_equal(ibv_destroy_cq(cq2), 0);
	assert_int_equal(ibv_dealloc_pd(pd2), 0);
}

/* [limits] qps = 6 */
static void test_limit(void **state)
{
	struct ibv_qp *qp[6];

	(void)state;
	for (int i = 0; i < 6; i++) {
		qp[i] = make_qp(IBV_QPT_RC);
		assert_non_null(qp[i]);
	}
	errno = 0;
	assert_null(make_qp(IBV_QPT_UD));
	assert_int_equal(errno, EDQUOT);
	for (int i = 0; i < 6; i++)
		assert_int_equal(ibv_destroy_qp(qp[i]), 0);
}

#define ring_maps() ct_memfd_maps("self", "rdmabroker-ring")

static void test_rings_unmapped(void **state)
{
	int before = ring_maps(), fds = ct_fds("self");
	struct ibv_qp *qp;

	(void)state;
	for (int i = 0; i < 30; i++) {
		qp = make_qp(i % 2 ? IBV_QPT_UD : IBV_QPT_RC);
		assert_non_null(qp);
		assert_int_equal(ring_maps(), before + 1);	/* SQ and RQ, one memfd */
		assert_int_equal(ct_fds("self"), fds + 1);	/* the doorbell */
		assert_int_equal(ibv_destroy_qp(qp), 0);
	}
	assert_int_equal(ring_maps(), before);
	assert_int_equal(ct_fds("self"), fds);
}

/* `client-qp hold N`: N RC QPs in INIT and N MRs, then wait to be killed. */
static int hold(int n)
{
	if (setup(NULL) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		struct ibv_qp *qp = make_qp(IBV_QPT_RC);
		struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT, .port_num = 1 };

		void *buf = malloc(8192);

		if (!qp || ibv_modify_qp(qp, &a, RC_INIT) || !buf ||
		    !ibv_reg_mr(pd, buf, 8192, IBV_ACCESS_LOCAL_WRITE)) {
			fprintf(stderr, "client-qp: QP/MR %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	ct_ready_and_wait();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_rc_state_machine),
		cmocka_unit_test(test_ud_uc),
		cmocka_unit_test(test_create_qp_ex),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_rings_unmapped),
	};

	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return hold(atoi(argv[2]));
	return cmocka_run_group_tests(tests, setup, teardown);
}
