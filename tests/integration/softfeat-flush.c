/* SPDX-License-Identifier: MIT */
/*
 * IBV_WR_FLUSH on the soft device through ibv_wr_flush (rdma-core 45's
 * wr_flush, which follows the struct ibv_qp_ex rdma-core 44 knows), as
 * rxe: global visibility with IBV_ACCESS_FLUSH_GLOBAL on the QP and the
 * MR, no persistent memory, the statuses of a violation
 * (tests/integration/softfeat-flush.sh).
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

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, teardown)
		T_(test_flush_device),
		T_(test_flush_ok),
		T_(test_flush_access),
		T_(test_flush_qp_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
