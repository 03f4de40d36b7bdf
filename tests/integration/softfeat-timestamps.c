/* SPDX-License-Identifier: MIT */
/*
 * Completion timestamps of the soft device, through librdmabroker and a
 * real daemon (tests/integration/softfeat-timestamps.sh): query_device_ex
 * reports a clock and a mask, ibv_query_rt_values_ex reads the device
 * clock, and a CQ made with IBV_WC_EX_WITH_COMPLETION_TIMESTAMP[_WALLCLOCK]
 * gives every completion the time it was written, on both clocks; a
 * device clock that runs with CLOCK_MONOTONIC.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, teardown)
		T_(test_ts_device),
		T_(test_ts_completions),
		T_(test_ts_not_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
