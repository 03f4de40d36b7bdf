/* SPDX-License-Identifier: MIT */
/*
 * IBV_WR_ATOMIC_WRITE on the soft device, through librdmabroker and a real
 * daemon (tests/integration/softfeat-atomic-write.sh): 8 bytes written at
 * once at an aligned address, through ibv_post_send and
 * ibv_wr_atomic_write, with the access checks and completion statuses a
 * NIC gives.
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
		T_(test_aw_device),
		T_(test_aw_post_send),
		T_(test_aw_post_einval),
		T_(test_aw_wr_api),
		T_(test_aw_misaligned),
		T_(test_aw_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
