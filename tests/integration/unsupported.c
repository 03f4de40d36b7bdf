/* SPDX-License-Identifier: MIT */
/*
 * Every verb librdmabroker does not implement yet fails cleanly with
 * EOPNOTSUPP by the function's own convention, on a real context of a real
 * daemon (tests/integration/unsupported.sh); and the inline verbs.h wrappers
 * that go through struct verbs_context find the op missing and fail the
 * same way.  When an issue makes one of these work, it moves out of this
 * list into a test of its own.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"

static struct ibv_device **list;
static struct ibv_context *ctx;

static int setup(void **state)
{
	(void)state;
	return ct_open(&list, &ctx);
}

static int teardown(void **state)
{
	(void)state;
	ct_close(list, ctx);
	return 0;
}

#define EXPECT_NULL(call) do {					\
		errno = 0;					\
		assert_null(call);				\
		assert_int_equal(errno, EOPNOTSUPP);		\
	} while (0)
#define EXPECT_MINUS1(call) do {				\
		errno = 0;					\
		assert_int_equal((call), -1);			\
		assert_int_equal(errno, EOPNOTSUPP);		\
	} while (0)
#define EXPECT_ERRNO(call) assert_int_equal((call), EOPNOTSUPP)

/* Exported functions that return a pointer: NULL, errno EOPNOTSUPP. */
static void test_exported_null(void **state)
{
	(void)state;
	EXPECT_NULL(ibv_import_device(-1));
	EXPECT_NULL(ibv_import_pd(ctx, 1));
	EXPECT_NULL(ibv_import_mr(NULL, 1));
	EXPECT_NULL(ibv_import_dm(ctx, 1));
}

/* Exported functions that return an errno value. */
static void test_exported_errno(void **state)
{
	struct ibv_ece ece;

	(void)state;
	EXPECT_ERRNO(ibv_set_ece(NULL, &ece));
	EXPECT_ERRNO(ibv_query_ece(NULL, &ece));
}

/* Exported functions that return -1 and set errno, and the void ones. */
static void test_exported_minus1(void **state)
{
	struct ibv_ah_attr ah;
	uint8_t mac[6];
	uint16_t vid;

	(void)state;
	EXPECT_MINUS1(ibv_resolve_eth_l2_from_gid(ctx, &ah, mac, &vid));
	/* No ordering promised on a QP that cannot exist. */
	assert_int_equal(ibv_query_qp_data_in_order(NULL, IBV_WR_SEND, 0), 0);
	ibv_unimport_pd(NULL);
	ibv_unimport_mr(NULL);
	ibv_unimport_dm(NULL);
}

/* Inline wrappers in verbs.h that dispatch through verbs_context. */
static void test_inline_ex_ops(void **state)
{
	/* Basic CQs work (tests/integration/cq.c), timestamps too
	 * (tests/integration/softfeat.c); a flow tag does not. */
	struct ibv_cq_init_attr_ex cq_attr = {
		.cqe = 16, .wc_flags = IBV_WC_EX_WITH_FLOW_TAG,
	};
	/* The basic attributes work (tests/integration/qp.c), XRC too
	 * (tests/integration/softfeat.c); RSS does not. */
	struct ibv_qp_init_attr_ex qp_attr = {
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_RX_HASH,
	};
	/* Basic and XRC SRQs work; one of neither kind does not. */
	struct ibv_srq_init_attr_ex srq_attr = {
		.comp_mask = IBV_SRQ_INIT_ATTR_TYPE,
	};
	struct ibv_wq_init_attr wq_attr = { 0 };
	struct ibv_alloc_dm_attr dm_attr = { .length = 64 };
	struct ibv_counters_init_attr cnt_attr = { 0 };

	(void)state;
	assert_non_null(verbs_get_ctx(ctx));
	EXPECT_NULL(ibv_create_cq_ex(ctx, &cq_attr));
	EXPECT_NULL(ibv_create_qp_ex(ctx, &qp_attr));
	EXPECT_NULL(ibv_create_srq_ex(ctx, &srq_attr));
	EXPECT_NULL(ibv_create_wq(ctx, &wq_attr));
	EXPECT_NULL(ibv_alloc_dm(ctx, &dm_attr));
	EXPECT_NULL(ibv_create_counters(ctx, &cnt_attr));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exported_null),
		cmocka_unit_test(test_exported_errno),
		cmocka_unit_test(test_exported_minus1),
		cmocka_unit_test(test_inline_ex_ops),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
