/* SPDX-License-Identifier: MIT */
/*
 * Verbs features of the soft device (issue 16 part 4), through
 * librdmabroker and a real daemon (tests/softfeat.sh):
 *   - completion timestamps: query_device_ex reports a clock and a mask,
 *     ibv_query_rt_values_ex reads the device clock, and a CQ made with
 *     IBV_WC_EX_WITH_COMPLETION_TIMESTAMP[_WALLCLOCK] gives every
 *     completion the time it was written, on both clocks; a device
 *     clock that runs with CLOCK_MONOTONIC.
 *   - IBV_WR_ATOMIC_WRITE: 8 bytes written at once at an aligned
 *     address, through ibv_post_send and ibv_wr_atomic_write, with the
 *     access checks and completion statuses a NIC gives.
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
#include <time.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/datatest.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One client, two RC QPs connected to each other (a -> b). */
static struct {
	struct dt_node n;
	struct ibv_cq_ex *cqx;		/* a's send CQ and b's receive CQ */
	struct ibv_qp *a, *b;
	struct dt_buf src, dst;
} F;

static int setup_pair(int cq_wc_flags, int dst_access)
{
	struct ibv_cq_init_attr_ex ca = {
		.cqe = 64, .wc_flags = IBV_WC_STANDARD_FLAGS | (uint64_t)cq_wc_flags,
	};
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 2, .max_recv_sge = 2 };
	struct ibv_qp_init_attr_ex qa = {
		.cap = cap, .qp_type = IBV_QPT_RC, .pd = F.n.pd,
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.send_ops_flags = IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_ATOMIC_WRITE,
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
	if (!F.a || !F.b || dt_qp_connect(F.a, F.b, NULL) < 0)
		return -1;
	if (dt_buf_alloc(&F.src, F.n.pd, 4096, DT_ACCESS_ALL) < 0 ||
	    dt_buf_alloc(&F.dst, F.n.pd, 4096, dst_access) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
