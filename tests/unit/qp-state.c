/* SPDX-License-Identifier: MIT */
/*
 * The QP state machine table of daemon/qp.c (daemon/qp-state.h), linked
 * from daemon/librbd.la: each transition a QP type has, with exactly its
 * required attributes, with each one missing, with one it does not allow;
 * transitions that do not exist; RESET and ERR from anywhere with no other
 * attribute; IBV_QP_CUR_STATE only where the kernel takes it; and XRC's
 * two differences from RC.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/qp-state.h"

static char why[128];

static bool ok(enum ibv_qp_type qpt, enum ibv_qp_state cur,
	       enum ibv_qp_state next, uint32_t mask)
{
	int type = qp_type_index(qpt);

	assert_true(type >= 0);
	why[0] = 0;
	return qp_transition_ok(cur, next, type, qpt, mask | IBV_QP_STATE, why,
				sizeof(why));
}

/* mask is exactly what cur -> next requires: it passes, and so does it
 * with `allowed` on top; without any one of its bits it fails, saying
 * what it needs; with `refused` on top it fails, saying what is not
 * allowed. */
static void check_req(enum ibv_qp_type qpt, enum ibv_qp_state cur,
		      enum ibv_qp_state next, uint32_t req, uint32_t allowed,
		      uint32_t refused)
{
	assert_true(ok(qpt, cur, next, req));
	if (allowed)
		assert_true(ok(qpt, cur, next, req | allowed));
	for (uint32_t bit = 1; bit; bit <<= 1) {
		if (!(req & bit))
			continue;
		assert_false(ok(qpt, cur, next, req & ~bit));
		assert_non_null(strstr(why, "needs attribute mask"));
	}
	if (refused) {
		assert_false(ok(qpt, cur, next, req | refused));
		assert_non_null(strstr(why, "not allowed"));
	}
}

#define RC_RTR_REQ	(IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | \
			 IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER)
#define RC_RTS_REQ	(IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | \
			 IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC)

static void test_types(void **state)
{
	(void)state;
	assert_true(qp_type_index(IBV_QPT_UD) >= 0);
	assert_true(qp_type_index(IBV_QPT_UC) >= 0);
	assert_true(qp_type_index(IBV_QPT_RC) >= 0);
	assert_int_not_equal(qp_type_index(IBV_QPT_UD), qp_type_index(IBV_QPT_RC));
	assert_int_not_equal(qp_type_index(IBV_QPT_UC), qp_type_index(IBV_QPT_RC));
	/* XRC has RC's table. */
	assert_int_equal(qp_type_index(IBV_QPT_XRC_SEND), qp_type_index(IBV_QPT_RC));
	assert_int_equal(qp_type_index(IBV_QPT_XRC_RECV), qp_type_index(IBV_QPT_RC));
	assert_int_equal(qp_type_index(IBV_QPT_RAW_PACKET), -1);
	assert_int_equal(qp_type_index(IBV_QPT_DRIVER), -1);
}

static void test_rc_path(void **state)
{
	(void)state;
	check_req(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT,
		  IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, 0,
		  IBV_QP_QKEY);
	check_req(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_INIT, 0,
		  IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, IBV_QP_AV);
	check_req(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_RTR, RC_RTR_REQ,
		  IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS | IBV_QP_PKEY_INDEX,
		  IBV_QP_SQ_PSN);
	check_req(IBV_QPT_RC, IBV_QPS_RTR, IBV_QPS_RTS, RC_RTS_REQ,
		  IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS | IBV_QP_MIN_RNR_TIMER,
		  IBV_QP_DEST_QPN);
	check_req(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_RTS, 0,
		  IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS | IBV_QP_MIN_RNR_TIMER,
		  IBV_QP_SQ_PSN);
	check_req(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_SQD, 0,
		  IBV_QP_EN_SQD_ASYNC_NOTIFY, IBV_QP_TIMEOUT);
	check_req(IBV_QPT_RC, IBV_QPS_SQD, IBV_QPS_RTS, 0, IBV_QP_CUR_STATE,
		  IBV_QP_SQ_PSN);
	check_req(IBV_QPT_RC, IBV_QPS_SQD, IBV_QPS_SQD, 0,
		  IBV_QP_AV | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT, IBV_QP_SQ_PSN);
}

static void test_ud_uc_path(void **state)
{
	(void)state;
	check_req(IBV_QPT_UD, IBV_QPS_RESET, IBV_QPS_INIT,
		  IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY, 0,
		  IBV_QP_ACCESS_FLAGS);
	check_req(IBV_QPT_UD, IBV_QPS_INIT, IBV_QPS_RTR, 0,
		  IBV_QP_PKEY_INDEX | IBV_QP_QKEY, IBV_QP_AV);
	check_req(IBV_QPT_UD, IBV_QPS_RTR, IBV_QPS_RTS, IBV_QP_SQ_PSN,
		  IBV_QP_QKEY, IBV_QP_TIMEOUT);
	check_req(IBV_QPT_UD, IBV_QPS_SQE, IBV_QPS_RTS, 0, IBV_QP_QKEY,
		  IBV_QP_AV);
	check_req(IBV_QPT_UC, IBV_QPS_RESET, IBV_QPS_INIT,
		  IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, 0,
		  IBV_QP_QKEY);
	check_req(IBV_QPT_UC, IBV_QPS_INIT, IBV_QPS_RTR,
		  IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN,
		  IBV_QP_ACCESS_FLAGS, IBV_QP_MAX_DEST_RD_ATOMIC);
	check_req(IBV_QPT_UC, IBV_QPS_RTR, IBV_QPS_RTS, IBV_QP_SQ_PSN,
		  IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE, IBV_QP_RETRY_CNT);
}

/* Transitions no type has. */
static void test_missing_transitions(void **state)
{
	static const struct { enum ibv_qp_state cur, next; } none[] = {
		{ IBV_QPS_RESET, IBV_QPS_RTR }, { IBV_QPS_RESET, IBV_QPS_RTS },
		{ IBV_QPS_INIT, IBV_QPS_RTS }, { IBV_QPS_RTR, IBV_QPS_INIT },
		{ IBV_QPS_RTR, IBV_QPS_RTR }, { IBV_QPS_RTS, IBV_QPS_RTR },
		{ IBV_QPS_RTS, IBV_QPS_INIT }, { IBV_QPS_ERR, IBV_QPS_RTS },
		{ IBV_QPS_ERR, IBV_QPS_INIT }, { IBV_QPS_SQD, IBV_QPS_INIT },
	};
	static const enum ibv_qp_type types[] = { IBV_QPT_UD, IBV_QPT_UC, IBV_QPT_RC };

	(void)state;
	for (size_t t = 0; t < 3; t++)
		for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
			/* Whatever the mask. */
			assert_false(ok(types[t], none[i].cur, none[i].next, 0));
			assert_non_null(strstr(why, "no transition"));
			assert_false(ok(types[t], none[i].cur, none[i].next, ~0u));
		}
	/* States past ERR do not exist. */
	assert_false(ok(IBV_QPT_RC, IBV_QPS_UNKNOWN, IBV_QPS_RESET, 0));
	assert_non_null(strstr(why, "no such QP state"));
	assert_false(ok(IBV_QPT_RC, IBV_QPS_RESET, (enum ibv_qp_state)42, 0));
}

/* RESET and ERR from every state, with nothing but the state. */
static void test_reset_err(void **state)
{
	(void)state;
	for (int cur = IBV_QPS_RESET; cur <= IBV_QPS_ERR; cur++) {
		assert_true(ok(IBV_QPT_RC, (enum ibv_qp_state)cur, IBV_QPS_RESET, 0));
		assert_true(ok(IBV_QPT_UD, (enum ibv_qp_state)cur, IBV_QPS_ERR, 0));
		assert_false(ok(IBV_QPT_RC, (enum ibv_qp_state)cur, IBV_QPS_ERR, IBV_QP_QKEY));
		assert_false(ok(IBV_QPT_UC, (enum ibv_qp_state)cur, IBV_QPS_RESET,
				IBV_QP_ACCESS_FLAGS));
	}
}

/* IBV_QP_CUR_STATE: only from RTR, RTS, SQD and SQE. */
static void test_cur_state(void **state)
{
	(void)state;
	assert_false(ok(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT,
			IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS |
			IBV_QP_CUR_STATE));
	assert_non_null(strstr(why, "IBV_QP_CUR_STATE"));
	assert_false(ok(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_RTR, RC_RTR_REQ | IBV_QP_CUR_STATE));
	assert_non_null(strstr(why, "IBV_QP_CUR_STATE"));
	assert_true(ok(IBV_QPT_RC, IBV_QPS_RTR, IBV_QPS_RTS, RC_RTS_REQ | IBV_QP_CUR_STATE));
	assert_true(ok(IBV_QPT_UD, IBV_QPS_SQE, IBV_QPS_RTS, IBV_QP_CUR_STATE));
}

/* XRC: an initiator has no receive side, a target no send side. */
static void test_xrc(void **state)
{
	(void)state;
	/* XRC_SEND INIT -> RTR: MAX_DEST_RD_ATOMIC and MIN_RNR_TIMER are
	 * optional, the rest of RC's requirement stays. */
	check_req(IBV_QPT_XRC_SEND, IBV_QPS_INIT, IBV_QPS_RTR,
		  IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN,
		  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER, IBV_QP_SQ_PSN);
	assert_false(ok(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_RTR,
			IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN));
	/* XRC_RECV RTR -> RTS: TIMEOUT and SQ_PSN only; RC's others optional. */
	check_req(IBV_QPT_XRC_RECV, IBV_QPS_RTR, IBV_QPS_RTS,
		  IBV_QP_TIMEOUT | IBV_QP_SQ_PSN,
		  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC,
		  IBV_QP_DEST_QPN);
	/* Elsewhere XRC is RC. */
	check_req(IBV_QPT_XRC_RECV, IBV_QPS_INIT, IBV_QPS_RTR, RC_RTR_REQ, 0,
		  IBV_QP_SQ_PSN);
	check_req(IBV_QPT_XRC_SEND, IBV_QPS_RTR, IBV_QPS_RTS, RC_RTS_REQ, 0,
		  IBV_QP_DEST_QPN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_rc_path),
		cmocka_unit_test(test_ud_uc_path),
		cmocka_unit_test(test_missing_transitions),
		cmocka_unit_test(test_reset_err),
		cmocka_unit_test(test_cur_state),
		cmocka_unit_test(test_xrc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
