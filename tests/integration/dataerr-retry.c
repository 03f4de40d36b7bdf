/* SPDX-License-Identifier: MIT */
/*
 * Retries of the soft device's RC data path, through a real daemon
 * (tests/integration/dataerr-retry.sh), with two QPs of two contexts (two
 * clients): RNR retry exhausted, and RNR retried until a receive arrives;
 * a dest QPN that is gone, not ready or not connected back.  Every wait
 * is bounded, so a missing completion or event fails the case.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"
#include "tests/integration/dataerr-lib.h"

/* ---- RNR ---------------------------------------------------------------- */

/*
 * rnr_retry 2, responder min_rnr_timer 1 (0.01 ms), no receive: the SEND
 * fails with IBV_WC_RNR_RETRY_EXC_ERR well under a second; the WR behind
 * it flushes; the responder, which did nothing wrong, stays in RTS.
 */
static void test_rnr_exceeded(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	int64_t t0, dt;

	o.rnr_retry[0] = 2;
	o.min_rnr_timer[1] = 1;
	pair_open(f, &o);
	t0 = now_us();
	post_send1(&f->a, 1, 0, 64, 1);
	post_send1(&f->a, 2, 0, 64, 0);
	expect_wc(f->a.cq, 1, IBV_WC_RNR_RETRY_EXC_ERR, f->a.qp->qp_num);
	dt = now_us() - t0;
	print_message("RNR retry exceeded after %" PRId64 " us\n", dt);
	assert_true(dt < 500000);
	expect_wc(f->a.cq, 2, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_state(f->a.qp, IBV_QPS_ERR);
	expect_no_wc(f->b.cq, 0);
	expect_state(f->b.qp, IBV_QPS_RTS);
}

/*
 * rnr_retry 7 (forever), responder min_rnr_timer 12 (0.64 ms): the SEND
 * waits without a completion while no receive is posted; a receive posted
 * 50 ms later gets the data and both complete successfully.
 */
static void test_rnr_infinite(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	struct ibv_wc wc;
	size_t i;

	o.rnr_retry[0] = 7;
	o.min_rnr_timer[1] = 12;
	pair_open(f, &o);
	for (i = 0; i < 200; i++)
		f->a.buf[i] = (uint8_t)(i * 7 + 3);
	post_send1(&f->a, 1, 0, 200, 1);
	expect_no_wc(f->a.cq, 50);
	expect_state(f->a.qp, IBV_QPS_RTS);
	post_recv1(&f->b, 9, 1000, 1024);
	expect_wc(f->a.cq, 1, IBV_WC_SUCCESS, f->a.qp->qp_num);
	expect_wc_at(__LINE__, f->b.cq, 9, IBV_WC_SUCCESS, f->b.qp->qp_num, &wc);
	assert_int_equal(wc.opcode, IBV_WC_RECV);
	assert_int_equal(wc.byte_len, 200);
	assert_int_equal(wc.src_qp, f->a.qp->qp_num);
	assert_memory_equal(f->b.buf + 1000, f->a.buf, 200);
	assert_true(all_bytes(f->b.buf + 1200, 100, PAT_B));
	expect_state(f->a.qp, IBV_QPS_RTS);
	expect_state(f->b.qp, IBV_QPS_RTS);
}

/* ---- lost peer ---------------------------------------------------------- */

enum lost_kind { LOST_GONE, LOST_NOT_READY, LOST_NOT_BACK };

struct lost_case {
	const char *name;
	enum lost_kind kind;
};

static const struct lost_case lost_cases[] = {
	{ "dest_qpn_gone", LOST_GONE },
	{ "dest_qp_in_init", LOST_NOT_READY },
	{ "dest_qp_connected_elsewhere", LOST_NOT_BACK },
};

/*
 * An RC QP whose dest_qp_num does not name a QP connected back to it: its
 * SEND completes IBV_WC_RETRY_EXC_ERR at once (not after a timeout), the
 * next WR flushes, the QP is in ERR; the QP named got nothing.
 */
static void test_lost(void **state)
{
	struct fix *f = *state;
	const struct lost_case *c = f->row;
	struct pair_opts o = pair_defaults();
	struct ibv_qp *gone, *third = NULL;
	uint32_t dest;
	int64_t t0, dt;

	assert_int_equal(end_open(&f->a, f->ctx[0], 64, ACCESS_ALL, PAT_A), 0);
	assert_int_equal(end_open(&f->b, f->ctx[1], 64, ACCESS_ALL, PAT_B), 0);
	assert_int_equal(qp_init(f->a.qp, ACCESS_ALL), 0);
	assert_int_equal(qp_init(f->b.qp, ACCESS_ALL), 0);
	dest = f->b.qp->qp_num;
	switch (c->kind) {
	case LOST_GONE:
		gone = qp_create(f->b.pd, f->b.cq);
		assert_non_null(gone);
		dest = gone->qp_num;
		assert_int_equal(ibv_destroy_qp(gone), 0);
		break;
	case LOST_NOT_READY:
		break;
	case LOST_NOT_BACK:
		/* b is connected to a third QP, not to a. */
		third = qp_create(f->b.pd, f->b.cq);
		assert_non_null(third);
		assert_int_equal(qp_init(third, ACCESS_ALL), 0);
		assert_int_equal(qp_rtr(third, f->b.qp->qp_num, PSN_B, 1), 0);
		assert_int_equal(qp_rtr(f->b.qp, third->qp_num, PSN_A, 1), 0);
		assert_int_equal(qp_rts(f->b.qp, PSN_B, 3), 0);
		break;
	}
	post_recv1(&f->b, 50, 0, 1024);
	assert_int_equal(qp_rtr(f->a.qp, dest, PSN_B, o.min_rnr_timer[0]), 0);
	assert_int_equal(qp_rts(f->a.qp, PSN_A, o.rnr_retry[0]), 0);

	t0 = now_us();
	post_send1(&f->a, 1, 0, 64, 1);
	post_send1(&f->a, 2, 0, 64, 0);
	expect_wc(f->a.cq, 1, IBV_WC_RETRY_EXC_ERR, f->a.qp->qp_num);
	dt = now_us() - t0;
	print_message("%s: IBV_WC_RETRY_EXC_ERR after %" PRId64 " us\n", c->name, dt);
	assert_true(dt < 1000000);
	expect_wc(f->a.cq, 2, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_state(f->a.qp, IBV_QPS_ERR);
	expect_no_wc(f->b.cq, QUIET_MS);
	assert_true(all_bytes(f->b.buf, BUF_SIZE, PAT_B));
	if (third) {
		drain_async(f->ctx[1]);
		assert_int_equal(ibv_destroy_qp(third), 0);
	}
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ROWS(tab, fn) do {						\
	size_t r_;							\
	for (r_ = 0; r_ < NELEM(tab); r_++)				\
		t[n++] = (struct CMUnitTest){ tab[r_].name, fn, fix_setup,	\
					      fix_teardown, (void *)&tab[r_] }; \
} while (0)
#define ONE(fn) (t[n++] = (struct CMUnitTest){ #fn, fn, fix_setup, fix_teardown, NULL })
#define FORKS(fn) (t[n++] = (struct CMUnitTest){ #fn, fn, proc_setup, proc_teardown, NULL })

int main(int argc, char **argv)
{
	struct CMUnitTest t[NELEM(lost_cases) + 2];
	size_t n = 0;

	if (argc == 2)
		cmocka_set_test_filter(argv[1]);	/* a case by name, for debugging */
	else if (argc != 1) {
		fprintf(stderr, "usage: %s [CASE-PATTERN]\n", argv[0]);
		return 2;
	}
	ONE(test_rnr_exceeded);
	ONE(test_rnr_infinite);
	ROWS(lost_cases, test_lost);
	return _cmocka_run_group_tests("dataerr-retry", t, n, NULL, NULL);
}
