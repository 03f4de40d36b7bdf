/* SPDX-License-Identifier: MIT */
/*
 * Verbs features of the soft device (issue 16 part 4), through
 * librdmabroker and a real daemon (tests/integration/softfeat.sh):
 *   - completion timestamps: query_device_ex reports a clock and a mask,
 *     ibv_query_rt_values_ex reads the device clock, and a CQ made with
 *     IBV_WC_EX_WITH_COMPLETION_TIMESTAMP[_WALLCLOCK] gives every
 *     completion the time it was written, on both clocks; a device
 *     clock that runs with CLOCK_MONOTONIC.
 *   - IBV_WR_ATOMIC_WRITE: 8 bytes written at once at an aligned
 *     address, through ibv_post_send and ibv_wr_atomic_write, with the
 *     access checks and completion statuses a NIC gives.
 *   - memory windows, type 1 (ibv_bind_mw) and 2 (IBV_WR_BIND_MW,
 *     IBV_WR_LOCAL_INV, IBV_WR_SEND_WITH_INV, and their ibv_wr_*
 *     builders): a window's rkey gives what it was bound with and
 *     nothing else (bounds, access, PD, QP for type 2), stops at
 *     invalidation, unbinding, dealloc and dereg, and binds that break
 *     the rules complete with IBV_WC_MW_BIND_ERR.
 *   - IBV_WR_FLUSH through ibv_wr_flush (rdma-core 45's wr_flush, which
 *     follows the struct ibv_qp_ex rdma-core 44 knows), as rxe: global
 *     visibility with IBV_ACCESS_FLUSH_GLOBAL on the QP and the MR, no
 *     persistent memory, the statuses of a violation.
 *   - XRC: a domain, XRC SRQs with numbers, XRC_SEND and XRC_RECV QPs;
 *     a SEND lands in the SRQ it names (ibv_post_send and
 *     ibv_wr_set_xrc_srqn), completes on the SRQ's CQ with the XRC_RECV
 *     QP's number; an SRQ number of no SRQ, or of another domain, is
 *     IBV_WC_REM_INV_REQ_ERR; what XRC QPs refuse.
 *   - with SOFTFEAT_MW_LIMIT=N (tests/integration/softfeat.sh, [limits] mws = N): the
 *     N+1th window is EDQUOT, and `rdmactl res show mw` lists the N.
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

static uint64_t clock_ns(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * IBV_WR_FLUSH's values in rdma-core 45 and the kernel uapi (rdma-core
 * 44's headers, which this is built with, do not have them).
 */
#define WR_FLUSH		14
#define WC_FLUSH		8
#define QP_EX_WITH_FLUSH	(1u << 11)
#define ACCESS_FLUSH_GLOBAL	(1 << 8)
#define ACCESS_FLUSH_PERSISTENT	(1 << 9)
#define FLUSH_GLOBAL		1
#define FLUSH_PERSISTENT	2
#define FLUSH_RANGE		0
#define FLUSH_MR		1
#define DEVICE_FLUSH_GLOBAL	(1ull << 38)
#define DEVICE_FLUSH_PERSISTENT	(1ull << 39)

/* One client, two RC QPs connected to each other (a -> b). */
static struct {
	struct dt_node n;
	struct ibv_cq_ex *cqx;		/* a's send CQ and b's receive CQ */
	struct ibv_qp *a, *b;
	struct dt_buf src, dst;
	struct ibv_mw *mws[64];		/* dealloc'd by teardown if still there */
} F;

/* qp_access_flags beyond dt_qp_opts_default()'s, for the next setup. */
static int qp_extra_access;

static int setup_pair(int cq_wc_flags, int dst_access)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct ibv_cq_init_attr_ex ca = {
		.cqe = 64, .wc_flags = IBV_WC_STANDARD_FLAGS | (uint64_t)cq_wc_flags,
	};
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 2, .max_recv_sge = 2 };
	struct ibv_qp_init_attr_ex qa = {
		.cap = cap, .qp_type = IBV_QPT_RC, .pd = F.n.pd,
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.send_ops_flags = IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_ATOMIC_WRITE |
				  IBV_QP_EX_WITH_BIND_MW | IBV_QP_EX_WITH_LOCAL_INV |
				  IBV_QP_EX_WITH_SEND_WITH_INV | QP_EX_WITH_FLUSH,
	};

	memset(&F, 0, sizeof(F));
	if (dt_node_open(&F.n, 64, false) < 0)
		return -1;
	F.cqx = ibv_create_cq_ex(F.n.ctx, &ca);
	if (!F.cqx)
		return -1;
	qa.pd = F.n.pd;
	qa.send_cq = ibv_cq_ex_to_cq(F.cqx);
	qa.recv_cq = F.n.rcq;
	F.a = ibv_create_qp_ex(F.n.ctx, &qa);
	qa.send_cq = F.n.scq;
	qa.recv_cq = ibv_cq_ex_to_cq(F.cqx);
	F.b = ibv_create_qp_ex(F.n.ctx, &qa);
	o.access |= qp_extra_access;
	if (!F.a || !F.b || dt_qp_connect(F.a, F.b, &o) < 0)
		return -1;
	if (dt_buf_alloc(&F.src, F.n.pd, 4096, DT_ACCESS_ALL) < 0 ||
	    dt_buf_alloc(&F.dst, F.n.pd, 4096, dst_access) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(F.mws) / sizeof(F.mws[0]); i++)
		if (F.mws[i])
			ibv_dealloc_mw(F.mws[i]);
	if (F.a)
		ibv_destroy_qp(F.a);
	if (F.b)
		ibv_destroy_qp(F.b);
	dt_buf_free(&F.src);
	dt_buf_free(&F.dst);
	if (F.cqx)
		ibv_destroy_cq(ibv_cq_ex_to_cq(F.cqx));
	dt_node_close(&F.n);
	memset(&F, 0, sizeof(F));
	qp_extra_access = 0;
	return 0;
}

/* What one extended completion said. */
struct xwc {
	uint64_t wr_id;
	enum ibv_wc_status status;
	enum ibv_wc_opcode opcode;
	uint64_t ts, wall;
};

/* Up to n completions of F.cqx within DT_TIMEOUT_MS; how many came. */
static int xpoll(struct xwc *w, int n, bool stamps)
{
	struct ibv_poll_cq_attr pa = { 0 };
	uint64_t end = dt_now_ms() + DT_TIMEOUT_MS;
	int got = 0, ret;

	while (got < n && dt_now_ms() < end) {
		ret = ibv_start_poll(F.cqx, &pa);
		if (ret == ENOENT)
			continue;
		assert_int_equal(ret, 0);
		do {
			w[got].wr_id = F.cqx->wr_id;
			w[got].status = F.cqx->status;
			w[got].opcode = ibv_wc_read_opcode(F.cqx);
			if (stamps) {
				w[got].ts = ibv_wc_read_completion_ts(F.cqx);
				w[got].wall = ibv_wc_read_completion_wallclock_ns(F.cqx);
			}
			got++;
		} while (got < n && ibv_next_poll(F.cqx) == 0);
		ibv_end_poll(F.cqx);
	}
	return got;
}

/* ---------------------------------------------------------- timestamps */

static void test_ts_device(void **state)
{
	struct ibv_device_attr_ex ex;
	struct ibv_values_ex v = { .comp_mask = IBV_VALUES_MASK_RAW_CLOCK };
	uint64_t t0, t1, raw;

	(void)state;
	assert_int_equal(setup_pair(0, DT_ACCESS_ALL), 0);
	assert_int_equal(ibv_query_device_ex(F.n.ctx, NULL, &ex), 0);
	/* A 1 GHz clock (kHz) that never wraps in 64 bits. */
	assert_true(ex.completion_timestamp_mask == UINT64_MAX);
	assert_int_equal(ex.hca_core_clock, 1000000);
	t0 = clock_ns(CLOCK_MONOTONIC);
	assert_int_equal(ibv_query_rt_values_ex(F.n.ctx, &v), 0);
	t1 = clock_ns(CLOCK_MONOTONIC);
	assert_int_equal(v.comp_mask, IBV_VALUES_MASK_RAW_CLOCK);
	assert_int_equal(v.raw_clock.tv_sec, 0);
	raw = (uint64_t)v.raw_clock.tv_nsec;
	assert_true(raw >= t0 && raw <= t1);
	/* A value it does not know is refused, as providers do. */
	v.comp_mask = IBV_VALUES_MASK_RESERVED;
	assert_int_equal(ibv_query_rt_values_ex(F.n.ctx, &v), EINVAL);
	/* Nothing asked: nothing filled, no error. */
	v.comp_mask = 0;
	assert_int_equal(ibv_query_rt_values_ex(F.n.ctx, &v), 0);
	assert_int_equal(v.comp_mask, 0);
}

/*
 * Every completion, send and receive, carries when it was written, on the
 * device clock and the wall clock, inside the window in which it happened,
 * and in the order written.
 */
static void test_ts_completions(void **state)
{
	struct xwc w[8];
	uint64_t m0, m1, r0, r1, prev = 0;
	int got = 0;

	(void)state;
	assert_int_equal(setup_pair(IBV_WC_EX_WITH_COMPLETION_TIMESTAMP |
				    IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK,
				    DT_ACCESS_ALL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(dt_post_recv(F.b, 100 + (uint64_t)i, F.dst.p, 64,
					      F.dst.mr->lkey), 0);
	m0 = clock_ns(CLOCK_MONOTONIC);
	r0 = clock_ns(CLOCK_REALTIME);
	for (int i = 0; i < 4; i++) {
		struct ibv_sge sge = { (uintptr_t)F.src.p, 64, F.src.mr->lkey };
		struct ibv_send_wr wr = {
			.wr_id = (uint64_t)i, .sg_list = &sge, .num_sge = 1,
			.opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED,
		}, *bad;

		assert_int_equal(ibv_post_send(F.a, &wr, &bad), 0);
		got += xpoll(w + got, 2, true);
	}
	m1 = clock_ns(CLOCK_MONOTONIC);
	r1 = clock_ns(CLOCK_REALTIME);
	assert_int_equal(got, 8);
	for (int i = 0; i < got; i++) {
		assert_int_equal(w[i].status, IBV_WC_SUCCESS);
		assert_true(w[i].ts >= m0 && w[i].ts <= m1);
		assert_true(w[i].wall >= r0 && w[i].wall <= r1);
		assert_true(w[i].ts >= prev);
		prev = w[i].ts;
	}
}

/* A CQ that did not ask has no reader for them, as libibverbs expects. */
static void test_ts_not_asked(void **state)
{
	(void)state;
	assert_int_equal(setup_pair(0, DT_ACCESS_ALL), 0);
	assert_null(F.cqx->read_completion_ts);
	assert_null(F.cqx->read_completion_wallclock_ns);
}

/* ------------------------------------------------------- ATOMIC_WRITE */

/* IB_UVERBS_DEVICE_ATOMIC_WRITE (kernel uapi; rdma-core 44 lacks it). */
#define DEVICE_ATOMIC_WRITE	(1ull << 40)

static const uint64_t AW_VALUE = 0x0123456789abcdefull;

/* ATOMIC_WRITE of the 8 bytes at src (offset 0) to raddr/rkey by
 * ibv_post_send; its completion into *wc.  0, or the post's errno. */
static int aw_post(uint64_t raddr, uint32_t rkey, uint32_t len, int num_sge,
		   struct ibv_wc *wc)
{
	struct ibv_sge sge[2] = {
		{ (uintptr_t)F.src.p, len, F.src.mr->lkey },
		{ (uintptr_t)F.src.p + 8, 8, F.src.mr->lkey },
	};
	struct ibv_send_wr wr = {
		.wr_id = 7, .sg_list = sge, .num_sge = num_sge,
		.opcode = IBV_WR_ATOMIC_WRITE, .send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;
	int ret;

	memcpy(F.src.p, &AW_VALUE, 8);
	ret = ibv_post_send(F.a, &wr, &bad);
	if (ret)
		return ret;
	/* Taken at post time, as inline data is: the buffer is free again. */
	memset(F.src.p, 0xee, 8);
	assert_int_equal(dt_poll(ibv_cq_ex_to_cq(F.cqx), wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc->wr_id, 7);
	return 0;
}

static void test_aw_device(void **state)
{
	struct ibv_device_attr_ex ex;

	(void)state;
	assert_int_equal(setup_pair(0, DT_ACCESS_ALL), 0);
	assert_int_equal(ibv_query_device_ex(F.n.ctx, NULL, &ex), 0);
	assert_true(ex.device_cap_flags_ex & DEVICE_ATOMIC_WRITE);
}

static void test_aw_post_send(void **state)
{
	struct ibv_wc wc;
	uint64_t got;

	(void)state;
	assert_int_equal(setup_pair(0, DT_ACCESS_ALL), 0);
	memset(F.dst.p, 0x55, 64);
	assert_int_equal(aw_post((uintptr_t)F.dst.p + 16, F.dst.mr->rkey, 8, 1, &wc), 0);
	assert_int_equal(wc.status, IBV_WC_SUCCESS);
	assert_int_equal(wc.opcode, IBV_WC_ATOMIC_WRITE);
	assert_int_equal(wc.byte_len, 8);
	memcpy(&got, F.dst.p + 16, 8);
	assert_true(got == AW_VALUE);
	/* Nothing else moved. */
	assert_int_equal(F.dst.p[15], 0x55);
	assert_int_equal(F.dst.p[24], 0x55);
	/* Nothing completes at the responder. */
	assert_int_equal(dt_poll_quiet(F.n.rcq, &wc, DT_QUIET_MS), 0);
}

/* The WR must be one SGE of exactly 8 bytes; RC only. */
static void test_aw_post_einval(void **state)
{
	struct ibv_wc wc;

	(void)state;
	assert_int_equal(setup_pair(0, DT_ACCESS_ALL), 0);
	assert_int_equal(aw_post((uintptr_t)F.dst.p, F.dst.mr->rkey, 4, 1, &wc), EINVAL);
	assert_int_equal(aw_post((uintptr_t)F.dst.p, F.dst.mr->rkey, 16, 1, &wc), EINVAL);
	assert_int_equal(aw_post((uintptr_t)F.dst.p, F.dst.mr->rkey, 8, 2, &wc), EINVAL);
	assert_int_equal(aw_post((uintptr_t)F.dst.p, F.dst.mr->rkey, 8, 0, &wc), EINVAL);
}

static void test_aw_wr_api(void **state)
{
	struct ibv_qp_ex *x;
	struct ibv_wc wc;
	uint64_t v = AW_VALUE, got;

	(void)state;
	assert_int_equal(setup_pair(0, DT_ACCESS_ALL), 0);
	x = ibv_qp_to_qp_ex(F.a);
	assert_non_null(x);
	ibv_wr_start(x);
	x->wr_id = 9;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_atomic_write(x, F.dst.mr->rkey, (uintptr_t)F.dst.p + 8, &v);
	v = 0;		/* taken by the builder */
	assert_int_equal(ibv_wr_complete(x), 0);
	assert_int_equal(dt_poll(ibv_cq_ex_to_cq(F.cqx), &wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc.wr_id, 9);
	assert_int_equal(wc.status, IBV_WC_SUCCESS);
	assert_int_equal(wc.opcode, IBV_WC_ATOMIC_WRITE);
	memcpy(&got, F.dst.p + 8, 8);
	assert_true(got == AW_VALUE);
}

/* Misaligned: IBV_WC_REM_INV_REQ_ERR, nothing written, the QP in ERR. */
static void test_aw_misaligned(void **state)
{
	struct ibv_wc wc;
	struct ibv_qp_attr qa;
	struct ibv_qp_init_attr ia;

	(void)state;
	assert_int_equal(setup_pair(0, DT_ACCESS_ALL), 0);
	assert_int_equal(aw_post((uintptr_t)F.dst.p + 4, F.dst.mr->rkey, 8, 1, &wc), 0);
	assert_int_equal(wc.status, IBV_WC_REM_INV_REQ_ERR);
	for (int i = 0; i < 16; i++)
		assert_int_equal(F.dst.p[i], 0);
	assert_int_equal(ibv_query_qp(F.a, &qa, IBV_QP_STATE, &ia), 0);
	assert_int_equal(qa.qp_state, IBV_QPS_ERR);
}

/* Without REMOTE_WRITE on the MR, or past its end, or a wrong rkey:
 * IBV_WC_REM_ACCESS_ERR and nothing written. */
static void aw_access_case(int dst_access, int off, bool bad_rkey)
{
	struct ibv_wc wc;
	uint32_t rkey;

	assert_int_equal(setup_pair(0, dst_access), 0);
	rkey = bad_rkey ? F.dst.mr->rkey ^ 0x80 : F.dst.mr->rkey;
	assert_int_equal(aw_post((uintptr_t)F.dst.p + (uintptr_t)off, rkey, 8, 1, &wc), 0);
	assert_int_equal(wc.status, IBV_WC_REM_ACCESS_ERR);
	for (size_t i = 0; i < F.dst.len; i++)
		assert_int_equal(F.dst.p[i], 0);
	teardown(NULL);
}

static void test_aw_access(void **state)
{
	(void)state;
	aw_access_case(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
		       IBV_ACCESS_REMOTE_ATOMIC, 0, false);
	aw_access_case(DT_ACCESS_ALL, 4096, false);
	aw_access_case(DT_ACCESS_ALL, 4088 + 8 * 0, true);
}

/* --------------------------------------------------------------- FLUSH */

typedef void (*wr_flush_fn)(struct ibv_qp_ex *qp, uint32_t rkey, uint64_t addr,
			    size_t len, uint8_t type, uint8_t level);

/* rdma-core 45's struct ibv_qp_ex: rdma-core 44's, then wr_flush. */
struct qp_ex45 {
	struct ibv_qp_ex x;
	wr_flush_fn wr_flush;
};

/* ibv_wr_flush of a on [raddr, raddr + len): the completion's status. */
static enum ibv_wc_status flush(uint64_t raddr, uint32_t rkey, size_t len,
				uint8_t type, uint8_t level)
{
	struct ibv_qp_ex *x = ibv_qp_to_qp_ex(F.a);
	struct ibv_wc wc;

	assert_non_null(x);
	ibv_wr_start(x);
	x->wr_id = 91;
	x->wr_flags = IBV_SEND_SIGNALED;
	((struct qp_ex45 *)x)->wr_flush(x, rkey, raddr, len, type, level);
	assert_int_equal(ibv_wr_complete(x), 0);
	assert_int_equal(dt_poll(ibv_cq_ex_to_cq(F.cqx), &wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc.wr_id, 91);
	if (wc.status == IBV_WC_SUCCESS)
		assert_int_equal(wc.opcode, WC_FLUSH);
	return wc.status;
}

#define FLUSH_DST (DT_ACCESS_ALL | ACCESS_FLUSH_GLOBAL)

static void test_flush_device(void **state)
{
	struct ibv_device_attr_ex ex;
	struct ibv_mr *mr;

	(void)state;
	assert_int_equal(setup_pair(0, FLUSH_DST), 0);
	assert_int_equal(ibv_query_device_ex(F.n.ctx, NULL, &ex), 0);
	assert_true(ex.device_cap_flags_ex & DEVICE_FLUSH_GLOBAL);
	assert_false(ex.device_cap_flags_ex & DEVICE_FLUSH_PERSISTENT);
	/* No memory behind it persists: such an MR is refused, as rxe does
	 * for memory that is not pmem. */
	errno = 0;
	mr = ibv_reg_mr(F.n.pd, F.dst.p, 4096,
			IBV_ACCESS_LOCAL_WRITE | ACCESS_FLUSH_PERSISTENT);
	assert_null(mr);
	assert_int_equal(errno, EINVAL);
}

static void test_flush_ok(void **state)
{
	struct ibv_sge sge = { 0, 8, 0 };
	struct ibv_send_wr wr = { .opcode = (enum ibv_wr_opcode)WR_FLUSH,
				  .sg_list = &sge }, *bad;

	(void)state;
	qp_extra_access = ACCESS_FLUSH_GLOBAL;
	assert_int_equal(setup_pair(0, FLUSH_DST), 0);
	assert_int_equal(flush((uintptr_t)F.dst.p + 64, F.dst.mr->rkey, 128,
			       FLUSH_GLOBAL, FLUSH_RANGE), IBV_WC_SUCCESS);
	/* The whole MR: the range is not looked at. */
	assert_int_equal(flush(0, F.dst.mr->rkey, 0, FLUSH_GLOBAL, FLUSH_MR),
			 IBV_WC_SUCCESS);
	/* ibv_send_wr has no type or level: only ibv_wr_flush posts one. */
	assert_int_equal(ibv_post_send(F.a, &wr, &bad), EINVAL);
}

/* The MR lacks the placement type: IBV_WC_REM_ACCESS_ERR (pyverbs'
 * test_qp_ex_rc_flush_type_violate); a range past the MR likewise. */
static void test_flush_access(void **state)
{
	(void)state;
	qp_extra_access = ACCESS_FLUSH_GLOBAL | ACCESS_FLUSH_PERSISTENT;
	assert_int_equal(setup_pair(0, FLUSH_DST), 0);
	assert_int_equal(flush((uintptr_t)F.dst.p, F.dst.mr->rkey, 64,
			       FLUSH_PERSISTENT, FLUSH_RANGE), IBV_WC_REM_ACCESS_ERR);
	teardown(NULL);
	qp_extra_access = ACCESS_FLUSH_GLOBAL;
	assert_int_equal(setup_pair(0, DT_ACCESS_ALL), 0);
	assert_int_equal(flush((uintptr_t)F.dst.p, F.dst.mr->rkey, 64,
			       FLUSH_GLOBAL, FLUSH_RANGE), IBV_WC_REM_ACCESS_ERR);
	teardown(NULL);
	qp_extra_access = ACCESS_FLUSH_GLOBAL;
	assert_int_equal(setup_pair(0, FLUSH_DST), 0);
	assert_int_equal(flush((uintptr_t)F.dst.p + 4000, F.dst.mr->rkey, 200,
			       FLUSH_GLOBAL, FLUSH_RANGE), IBV_WC_REM_ACCESS_ERR);
}

/* The responder QP does not allow flushes: an invalid request. */
static void test_flush_qp_access(void **state)
{
	(void)state;
	assert_int_equal(setup_pair(0, FLUSH_DST), 0);
	assert_int_equal(flush((uintptr_t)F.dst.p, F.dst.mr->rkey, 64,
			       FLUSH_GLOBAL, FLUSH_RANGE), IBV_WC_REM_INV_REQ_ERR);
}

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
		T_(test_ts_device),
		T_(test_ts_completions),
		T_(test_ts_not_asked),
		T_(test_aw_device),
		T_(test_aw_post_send),
		T_(test_aw_post_einval),
		T_(test_aw_wr_api),
		T_(test_aw_misaligned),
		T_(test_aw_access),
		T_(test_flush_device),
		T_(test_flush_ok),
		T_(test_flush_access),
		T_(test_flush_qp_access),
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
		cmocka_unit_test_teardown(test_xrc_send, xrc_teardown),
		cmocka_unit_test_teardown(test_xrc_bad_srqn, xrc_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
