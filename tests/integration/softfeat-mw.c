/* SPDX-License-Identifier: MIT */
/*
 * Memory windows on the soft device, through librdmabroker and a real
 * daemon (tests/integration/softfeat-mw.sh): type 1 (ibv_bind_mw) and 2
 * (IBV_WR_BIND_MW, IBV_WR_LOCAL_INV, IBV_WR_SEND_WITH_INV, and their
 * ibv_wr_* builders): a window's rkey gives what it was bound with and
 * nothing else (bounds, access, PD, QP for type 2), stops at
 * invalidation, unbinding, dealloc and dereg, and binds that break the
 * rules complete with IBV_WC_MW_BIND_ERR.  With SOFTFEAT_MW_LIMIT=N and
 * SOFTFEAT_RDMACTL (the runner's second daemon, [limits] mws = N): the
 * N+1th window is EDQUOT, and `rdmactl res show mw` lists the N.
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

/* ----------------------------------------------------- memory windows */

#define MW_DST_ACCESS	(DT_ACCESS_ALL | IBV_ACCESS_MW_BIND)

/* ibv_alloc_mw, remembered for teardown. */
static struct ibv_mw *mw_new(enum ibv_mw_type type)
{
	struct ibv_mw *mw = ibv_alloc_mw(F.n.pd, type);

	for (size_t i = 0; mw && i < sizeof(F.mws) / sizeof(F.mws[0]); i++)
		if (!F.mws[i]) {
			F.mws[i] = mw;
			break;
		}
	return mw;
}

/* ibv_dealloc_mw, forgotten by teardown when it worked. */
static int mw_free(struct ibv_mw *mw)
{
	int ret = ibv_dealloc_mw(mw);

	for (size_t i = 0; !ret && i < sizeof(F.mws) / sizeof(F.mws[0]); i++)
		if (F.mws[i] == mw)
			F.mws[i] = NULL;
	return ret;
}

/* One completion of cq within DT_TIMEOUT_MS; its status. */
static enum ibv_wc_status one_wc(struct ibv_cq *cq, struct ibv_wc *wc)
{
	assert_int_equal(dt_poll(cq, wc, 1, DT_TIMEOUT_MS), 1);
	return wc->status;
}

static struct ibv_cq *cq_a(void)
{
	return ibv_cq_ex_to_cq(F.cqx);	/* a's send CQ, b's receive CQ */
}

/* An RDMA WRITE (or READ) of len bytes from a to raddr/rkey: its status. */
static enum ibv_wc_status rdma(enum ibv_wr_opcode op, uint64_t raddr,
			       uint32_t rkey, uint32_t len)
{
	struct ibv_sge sge = { (uintptr_t)F.src.p, len, F.src.mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = 21, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;
	struct ibv_wc wc;

	assert_int_equal(ibv_post_send(F.a, &wr, &bad), 0);
	return one_wc(cq_a(), &wc);
}

/* ibv_bind_mw of a type 1 window on a: the completion's status. */
static enum ibv_wc_status bind1(struct ibv_mw *mw, struct ibv_mr *mr,
				uint64_t addr, uint64_t len, unsigned int access)
{
	struct ibv_mw_bind b = {
		.wr_id = 31, .send_flags = IBV_SEND_SIGNALED,
		.bind_info = { .mr = mr, .addr = addr, .length = len,
			       .mw_access_flags = access },
	};
	struct ibv_wc wc;
	enum ibv_wc_status st;

	assert_int_equal(ibv_bind_mw(F.a, mw, &b), 0);
	st = one_wc(cq_a(), &wc);
	assert_int_equal(wc.wr_id, 31);
	if (st == IBV_WC_SUCCESS)
		assert_int_equal(wc.opcode, IBV_WC_BIND_MW);
	return st;
}

/* IBV_WR_BIND_MW of a type 2 window on qp (send CQ cq), new key byte +1. */
static enum ibv_wc_status bind2(struct ibv_qp *qp, struct ibv_cq *cq,
				struct ibv_mw *mw, struct ibv_mr *mr,
				uint64_t addr, uint64_t len, unsigned int access,
				uint32_t *rkey)
{
	struct ibv_send_wr wr = {
		.wr_id = 41, .opcode = IBV_WR_BIND_MW, .send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	struct ibv_wc wc;

	*rkey = ibv_inc_rkey(mw->rkey);
	wr.bind_mw.mw = mw;
	wr.bind_mw.rkey = *rkey;
	wr.bind_mw.bind_info = (struct ibv_mw_bind_info){
		.mr = mr, .addr = addr, .length = len, .mw_access_flags = access,
	};
	assert_int_equal(ibv_post_send(qp, &wr, &bad), 0);
	return one_wc(cq, &wc);
}

static void test_mw_device(void **state)
{
	struct ibv_device_attr a;

	(void)state;
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	assert_int_equal(ibv_query_device(F.n.ctx, &a), 0);
	assert_true(a.device_cap_flags & IBV_DEVICE_MEM_WINDOW);
	assert_true(a.device_cap_flags & IBV_DEVICE_MEM_WINDOW_TYPE_2B);
	assert_true(a.max_mw > 0);
}

/* Type 1: the window's key reaches its range with its access only. */
static void test_mw1_bind(void **state)
{
	uint8_t *win;
	struct ibv_mw *mw;
	uint32_t before;

	(void)state;
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_1);
	assert_non_null(mw);
	assert_int_equal(mw->type, IBV_MW_TYPE_1);
	before = mw->rkey;
	win = F.dst.p + 1024;
	assert_int_equal(bind1(mw, F.dst.mr, (uintptr_t)win, 256,
			       IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ),
			 IBV_WC_SUCCESS);
	/* The next key: same index, the key byte one on (ibv_inc_rkey). */
	assert_int_equal(mw->rkey, ibv_inc_rkey(before));
	memset(F.src.p, 0xab, 256);
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)win, mw->rkey, 256),
			 IBV_WC_SUCCESS);
	for (int i = 0; i < 256; i++)
		assert_int_equal(win[i], 0xab);
	assert_int_equal(win[-1], 0);
	assert_int_equal(win[256], 0);
	memset(F.src.p, 0, 256);
	assert_int_equal(rdma(IBV_WR_RDMA_READ, (uintptr_t)win + 128, mw->rkey, 128),
			 IBV_WC_SUCCESS);
	assert_int_equal(F.src.p[0], 0xab);
	/* Rebound elsewhere: the window moves, the old range is gone. */
	assert_int_equal(bind1(mw, F.dst.mr, (uintptr_t)F.dst.p, 64,
			       IBV_ACCESS_REMOTE_WRITE), IBV_WC_SUCCESS);
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, mw->rkey, 64),
			 IBV_WC_SUCCESS);
	/* Past the window (inside the MR): remote access error. */
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p + 32, mw->rkey, 64),
			 IBV_WC_REM_ACCESS_ERR);
	assert_int_equal(mw_free(mw), 0);
}

/* A key that is not the window's current one, and access it lacks. */
static void test_mw1_stale_and_access(void **state)
{
	struct ibv_mw *mw;
	uint32_t old;

	(void)state;
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_1);
	assert_non_null(mw);
	assert_int_equal(bind1(mw, F.dst.mr, (uintptr_t)F.dst.p, 4096,
			       IBV_ACCESS_REMOTE_READ), IBV_WC_SUCCESS);
	old = mw->rkey;
	assert_int_equal(bind1(mw, F.dst.mr, (uintptr_t)F.dst.p, 4096,
			       IBV_ACCESS_REMOTE_READ), IBV_WC_SUCCESS);
	assert_int_equal(rdma(IBV_WR_RDMA_READ, (uintptr_t)F.dst.p, mw->rkey, 8),
			 IBV_WC_SUCCESS);
	/* The previous bind's key no longer works. */
	assert_int_equal(rdma(IBV_WR_RDMA_READ, (uintptr_t)F.dst.p, old, 8),
			 IBV_WC_REM_ACCESS_ERR);
	teardown(NULL);

	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_1);
	assert_non_null(mw);
	assert_int_equal(bind1(mw, F.dst.mr, (uintptr_t)F.dst.p, 4096,
			       IBV_ACCESS_REMOTE_READ), IBV_WC_SUCCESS);
	/* Read-only window: a WRITE is refused, though the MR allows it. */
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, mw->rkey, 8),
			 IBV_WC_REM_ACCESS_ERR);
	for (int i = 0; i < 8; i++)
		assert_int_equal(F.dst.p[i], 0);
}

/* Unbinding (a zero-length bind), dealloc and dereg end a window. */
static void mw1_end_case(int how)
{
	struct ibv_mw *mw;
	uint32_t rkey;

	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_1);
	assert_non_null(mw);
	assert_int_equal(bind1(mw, F.dst.mr, (uintptr_t)F.dst.p, 4096,
			       IBV_ACCESS_REMOTE_WRITE), IBV_WC_SUCCESS);
	rkey = mw->rkey;
	if (how == 0) {
		assert_int_equal(bind1(mw, NULL, 0, 0, 0), IBV_WC_SUCCESS);
		rkey = mw->rkey;	/* even the unbind's own key */
	} else if (how == 1) {
		assert_int_equal(mw_free(mw), 0);
	} else {
		assert_int_equal(ibv_dereg_mr(F.dst.mr), 0);
		F.dst.mr = ibv_reg_mr(F.n.pd, F.dst.p, F.dst.len, MW_DST_ACCESS);
		assert_non_null(F.dst.mr);
	}
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, rkey, 8),
			 IBV_WC_REM_ACCESS_ERR);
	teardown(NULL);
}

static void test_mw1_end(void **state)
{
	(void)state;
	mw1_end_case(0);
	mw1_end_case(1);
	mw1_end_case(2);
}

/* Binds a NIC refuses: IBV_WC_MW_BIND_ERR, and the QP goes to ERR. */
static void mw_bind_err_case(int mr_access, uint64_t off, uint64_t len,
			     unsigned int mw_access)
{
	struct ibv_mw *mw;
	struct ibv_qp_attr qa;
	struct ibv_qp_init_attr ia;
	struct ibv_mr *mr;

	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mr = ibv_reg_mr(F.n.pd, F.dst.p, 4096, mr_access);
	assert_non_null(mr);
	mw = mw_new(IBV_MW_TYPE_1);
	assert_non_null(mw);
	assert_int_equal(bind1(mw, mr, (uintptr_t)F.dst.p + off, len, mw_access),
			 IBV_WC_MW_BIND_ERR);
	assert_int_equal(ibv_query_qp(F.a, &qa, IBV_QP_STATE, &ia), 0);
	assert_int_equal(qa.qp_state, IBV_QPS_ERR);
	assert_int_equal(mw_free(mw), 0);
	assert_int_equal(ibv_dereg_mr(mr), 0);
	teardown(NULL);
}

static void test_mw_bind_errors(void **state)
{
	(void)state;
	/* The MR was not registered with IBV_ACCESS_MW_BIND. */
	mw_bind_err_case(DT_ACCESS_ALL, 0, 64, IBV_ACCESS_REMOTE_READ);
	/* Past the MR's end. */
	mw_bind_err_case(MW_DST_ACCESS, 4000, 200, IBV_ACCESS_REMOTE_READ);
	/* Remote write on an MR without local write. */
	mw_bind_err_case(IBV_ACCESS_REMOTE_READ | IBV_ACCESS_MW_BIND, 0, 64,
			 IBV_ACCESS_REMOTE_WRITE);
	/* Zero-based windows are not offered. */
	mw_bind_err_case(MW_DST_ACCESS, 0, 64,
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_ZERO_BASED);
}

/* What libibverbs and the library refuse at post time. */
static void test_mw_post_einval(void **state)
{
	struct ibv_mw *mw1, *mw2;
	struct ibv_mw_bind b = { .bind_info = { .mr = NULL, .length = 0 } };
	struct ibv_send_wr wr = { .opcode = IBV_WR_BIND_MW }, *bad;

	(void)state;
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw1 = mw_new(IBV_MW_TYPE_1);
	mw2 = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw1);
	assert_non_null(mw2);
	errno = 0;
	assert_null(ibv_alloc_mw(F.n.pd, (enum ibv_mw_type)3));
	assert_int_equal(errno, EINVAL);
	/* ibv_bind_mw is type 1's; IBV_WR_BIND_MW type 2's. */
	assert_int_equal(ibv_bind_mw(F.a, mw2, &b), EINVAL);
	wr.bind_mw.mw = mw1;
	wr.bind_mw.rkey = ibv_inc_rkey(mw1->rkey);
	assert_int_equal(ibv_post_send(F.a, &wr, &bad), EINVAL);
	/* No MR, yet a range. */
	wr.bind_mw.mw = mw2;
	wr.bind_mw.bind_info.addr = 64;
	assert_int_equal(ibv_post_send(F.a, &wr, &bad), EINVAL);
	/* The PD still has windows. */
	assert_int_equal(ibv_dealloc_pd(F.n.pd), EBUSY);
	assert_int_equal(mw_free(mw1), 0);
	assert_int_equal(mw_free(mw2), 0);
}

/*
 * Type 2: bound through b (the responder), usable through b only; a
 * SEND_WITH_INV arriving on b invalidates it and says so in the
 * receive completion.
 */
static void test_mw2_send_inv(void **state)
{
	struct ibv_mw *mw;
	uint32_t rkey;
	struct ibv_wc wc;
	struct ibv_sge sge;
	struct ibv_send_wr wr = { .wr_id = 51, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND_WITH_INV,
				  .send_flags = IBV_SEND_SIGNALED }, *bad;

	(void)state;
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw);
	/* Free until bound. */
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, mw->rkey, 8),
			 IBV_WC_REM_ACCESS_ERR);
	teardown(NULL);

	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw);
	assert_int_equal(bind2(F.b, F.n.scq, mw, F.dst.mr, (uintptr_t)F.dst.p, 512,
			       IBV_ACCESS_REMOTE_WRITE, &rkey), IBV_WC_SUCCESS);
	memset(F.src.p, 0x5a, 64);
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, rkey, 64),
			 IBV_WC_SUCCESS);
	assert_int_equal(F.dst.p[63], 0x5a);
	/* Bound already: a second bind is refused. */
	{
		uint32_t k2;

		assert_int_equal(bind2(F.b, F.n.scq, mw, F.dst.mr, (uintptr_t)F.dst.p,
				       64, IBV_ACCESS_REMOTE_WRITE, &k2),
				 IBV_WC_MW_BIND_ERR);
	}
	teardown(NULL);

	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw);
	assert_int_equal(bind2(F.b, F.n.scq, mw, F.dst.mr, (uintptr_t)F.dst.p, 512,
			       IBV_ACCESS_REMOTE_WRITE, &rkey), IBV_WC_SUCCESS);
	assert_int_equal(dt_post_recv(F.b, 52, F.dst.p + 1024, 64, F.dst.mr->lkey), 0);
	sge = (struct ibv_sge){ (uintptr_t)F.src.p, 16, F.src.mr->lkey };
	wr.invalidate_rkey = rkey;
	assert_int_equal(ibv_post_send(F.a, &wr, &bad), 0);
	/* Both completions land on cq_a: the send's and b's receive. */
	assert_int_equal(dt_poll(cq_a(), &wc, 1, DT_TIMEOUT_MS), 1);
	{
		struct ibv_wc w2;

		assert_int_equal(dt_poll(cq_a(), &w2, 1, DT_TIMEOUT_MS), 1);
		if (wc.wr_id == 52) {
			struct ibv_wc t = wc;

			wc = w2;
			w2 = t;
		}
		assert_int_equal(wc.wr_id, 51);
		assert_int_equal(wc.status, IBV_WC_SUCCESS);
		assert_int_equal(wc.opcode, IBV_WC_SEND);
		assert_int_equal(w2.wr_id, 52);
		assert_int_equal(w2.status, IBV_WC_SUCCESS);
		assert_int_equal(w2.opcode, IBV_WC_RECV);
		assert_true(w2.wc_flags & IBV_WC_WITH_INV);
		assert_false(w2.wc_flags & IBV_WC_WITH_IMM);
		assert_int_equal(w2.invalidated_rkey, rkey);
		assert_int_equal(w2.byte_len, 16);
	}
	/* Invalidated: the key writes nothing any more. */
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, rkey, 8),
			 IBV_WC_REM_ACCESS_ERR);
}

/* A SEND_WITH_INV naming no window of the responder's: both sides see
 * IBV_WC_REM_INV_REQ_ERR (as rxe), and nothing is delivered. */
static void test_mw2_send_inv_bad(void **state)
{
	struct ibv_mw *mw;
	uint32_t rkey;
	struct ibv_wc wc[2];
	struct ibv_sge sge = { 0, 16, 0 };
	struct ibv_send_wr wr = { .wr_id = 61, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND_WITH_INV,
				  .send_flags = IBV_SEND_SIGNALED }, *bad;

	(void)state;
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw);
	/* Bound through a, not b: b may not invalidate it. */
	assert_int_equal(bind2(F.a, cq_a(), mw, F.dst.mr, (uintptr_t)F.dst.p, 512,
			       IBV_ACCESS_REMOTE_WRITE, &rkey), IBV_WC_SUCCESS);
	/* ... nor reach the memory through it (type 2: its QP only). */
	assert_int_equal(dt_post_recv(F.b, 62, F.dst.p + 1024, 64, F.dst.mr->lkey), 0);
	memset(F.src.p, 0x77, 16);
	sge.addr = (uintptr_t)F.src.p;
	sge.lkey = F.src.mr->lkey;
	wr.invalidate_rkey = rkey;
	assert_int_equal(ibv_post_send(F.a, &wr, &bad), 0);
	assert_int_equal(dt_poll(cq_a(), wc, 2, DT_TIMEOUT_MS), 2);
	for (int i = 0; i < 2; i++) {
		assert_true(wc[i].wr_id == 61 || wc[i].wr_id == 62);
		assert_int_equal(wc[i].status, IBV_WC_REM_INV_REQ_ERR);
	}
	assert_int_equal(F.dst.p[1024], 0);
}

/* Type 2 through its own QP only; LOCAL_INV frees it; bad keys. */
static void test_mw2_local_inv(void **state)
{
	struct ibv_mw *mw;
	uint32_t rkey;
	struct ibv_wc wc;
	struct ibv_send_wr wr = { .wr_id = 71, .opcode = IBV_WR_LOCAL_INV,
				  .send_flags = IBV_SEND_SIGNALED }, *bad;

	(void)state;
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw);
	/* Through a: a write arriving on b may not use it. */
	assert_int_equal(bind2(F.a, cq_a(), mw, F.dst.mr, (uintptr_t)F.dst.p, 512,
			       IBV_ACCESS_REMOTE_WRITE, &rkey), IBV_WC_SUCCESS);
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, rkey, 8),
			 IBV_WC_REM_ACCESS_ERR);
	teardown(NULL);

	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw);
	assert_int_equal(bind2(F.b, F.n.scq, mw, F.dst.mr, (uintptr_t)F.dst.p, 512,
			       IBV_ACCESS_REMOTE_WRITE, &rkey), IBV_WC_SUCCESS);
	wr.invalidate_rkey = rkey;
	assert_int_equal(ibv_post_send(F.b, &wr, &bad), 0);
	assert_int_equal(one_wc(F.n.scq, &wc), IBV_WC_SUCCESS);
	assert_int_equal(wc.opcode, IBV_WC_LOCAL_INV);
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, rkey, 8),
			 IBV_WC_REM_ACCESS_ERR);
	teardown(NULL);

	/* Free again: it binds anew (a new key byte). */
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw);
	assert_int_equal(bind2(F.b, F.n.scq, mw, F.dst.mr, (uintptr_t)F.dst.p, 512,
			       IBV_ACCESS_REMOTE_WRITE, &rkey), IBV_WC_SUCCESS);
	wr.invalidate_rkey = rkey;
	assert_int_equal(ibv_post_send(F.b, &wr, &bad), 0);
	assert_int_equal(one_wc(F.n.scq, &wc), IBV_WC_SUCCESS);
	mw->rkey = rkey;
	assert_int_equal(bind2(F.b, F.n.scq, mw, F.dst.mr, (uintptr_t)F.dst.p, 512,
			       IBV_ACCESS_REMOTE_WRITE, &rkey), IBV_WC_SUCCESS);
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, rkey, 8),
			 IBV_WC_SUCCESS);
	/* LOCAL_INV of a key that is no window: IBV_WC_LOC_QP_OP_ERR. */
	wr.invalidate_rkey = F.dst.mr->rkey;
	assert_int_equal(ibv_post_send(F.b, &wr, &bad), 0);
	assert_int_equal(one_wc(F.n.scq, &wc), IBV_WC_LOC_QP_OP_ERR);
}

/* A bind naming a new index: IBV_WC_MW_BIND_ERR. */
static void test_mw2_wrong_index(void **state)
{
	struct ibv_mw *mw;
	uint32_t rkey;

	(void)state;
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw);
	mw->rkey ^= 0x100;	/* bind2 binds with this index */
	assert_int_equal(bind2(F.b, F.n.scq, mw, F.dst.mr, (uintptr_t)F.dst.p, 64,
			       IBV_ACCESS_REMOTE_WRITE, &rkey), IBV_WC_MW_BIND_ERR);
}

/* The ibv_wr_* builders: bind, send with invalidate, local invalidate. */
static void test_mw2_wr_api(void **state)
{
	struct ibv_mw *mw;
	struct ibv_qp_ex *xb, *xa;
	struct ibv_mw_bind_info bi;
	struct ibv_wc wc[2];
	uint32_t rkey;

	(void)state;
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	mw = mw_new(IBV_MW_TYPE_2);
	assert_non_null(mw);
	xb = ibv_qp_to_qp_ex(F.b);
	xa = ibv_qp_to_qp_ex(F.a);
	assert_non_null(xb);
	assert_non_null(xa);
	rkey = ibv_inc_rkey(mw->rkey);
	bi = (struct ibv_mw_bind_info){ .mr = F.dst.mr, .addr = (uintptr_t)F.dst.p,
					.length = 128, .mw_access_flags = IBV_ACCESS_REMOTE_WRITE };
	ibv_wr_start(xb);
	xb->wr_id = 81;
	xb->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_bind_mw(xb, mw, rkey, &bi);
	assert_int_equal(ibv_wr_complete(xb), 0);
	assert_int_equal(one_wc(F.n.scq, wc), IBV_WC_SUCCESS);
	assert_int_equal(wc[0].opcode, IBV_WC_BIND_MW);
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, rkey, 8),
			 IBV_WC_SUCCESS);
	/* SEND_WITH_INV from a. */
	assert_int_equal(dt_post_recv(F.b, 82, F.dst.p + 1024, 64, F.dst.mr->lkey), 0);
	ibv_wr_start(xa);
	xa->wr_id = 83;
	xa->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send_inv(xa, rkey);
	ibv_wr_set_sge(xa, F.src.mr->lkey, (uintptr_t)F.src.p, 8);
	assert_int_equal(ibv_wr_complete(xa), 0);
	assert_int_equal(dt_poll(cq_a(), wc, 2, DT_TIMEOUT_MS), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(wc[i].status, IBV_WC_SUCCESS);
		if (wc[i].wr_id == 82) {
			assert_true(wc[i].wc_flags & IBV_WC_WITH_INV);
			assert_int_equal(wc[i].invalidated_rkey, rkey);
		}
	}
	/* LOCAL_INV on b of the (now free) window: fine, nothing to undo. */
	ibv_wr_start(xb);
	xb->wr_id = 84;
	xb->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_local_inv(xb, rkey);
	assert_int_equal(ibv_wr_complete(xb), 0);
	assert_int_equal(one_wc(F.n.scq, wc), IBV_WC_SUCCESS);
	assert_int_equal(wc[0].opcode, IBV_WC_LOCAL_INV);
	assert_int_equal(rdma(IBV_WR_RDMA_WRITE, (uintptr_t)F.dst.p, rkey, 8),
			 IBV_WC_REM_ACCESS_ERR);
}


static void test_mw_limit(void **state)
{
	const char *lim = getenv("SOFTFEAT_MW_LIMIT");
	const char *ctl = getenv("SOFTFEAT_RDMACTL");
	struct ibv_mw *mw[64];
	char cmd[4096], line[512];
	int n, listed = 0;
	FILE *f;

	(void)state;
	if (!lim || !ctl) {
		skip();
		return;
	}
	n = atoi(lim);
	assert_true(n > 0 && n < 64);
	assert_int_equal(setup_pair(0, MW_DST_ACCESS), 0);
	for (int i = 0; i < n; i++) {
		mw[i] = mw_new(i % 2 ? IBV_MW_TYPE_2 : IBV_MW_TYPE_1);
		assert_non_null(mw[i]);
	}
	errno = 0;
	assert_null(mw_new(IBV_MW_TYPE_1));
	assert_int_equal(errno, EDQUOT);
	snprintf(cmd, sizeof(cmd), "'%s' res show mw", ctl);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " mw ") || !strncmp(line, "mw ", 3))
			listed++;
	assert_int_equal(pclose(f), 0);
	assert_int_equal(listed, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(mw_free(mw[i]), 0);
	/* Freed: one more fits again. */
	mw[0] = mw_new(IBV_MW_TYPE_1);
	assert_non_null(mw[0]);
	assert_int_equal(mw_free(mw[0]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, teardown)
		T_(test_mw_device),
		T_(test_mw1_bind),
		T_(test_mw1_stale_and_access),
		T_(test_mw1_end),
		T_(test_mw_bind_errors),
		T_(test_mw_post_einval),
		T_(test_mw2_send_inv),
		T_(test_mw2_send_inv_bad),
		T_(test_mw2_local_inv),
		T_(test_mw2_wrong_index),
		T_(test_mw2_wr_api),
		T_(test_mw_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
