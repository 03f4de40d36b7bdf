/* SPDX-License-Identifier: MIT */
/*
 * Completion channels and CQs through librdmabroker and a real daemon
 * (tests/integration/cq.sh: [limits] cqs = 6, cqes = 10000; RB_DAEMON_PID set).
 * Includes the EFA lesson of rdma-core 49.4: destroying a CQ unmaps its
 * ring and closes its fds in the client and in the daemon.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

static void test_channel(void **state)
{
	struct ibv_comp_channel *ch = ibv_create_comp_channel(ctx);
	struct pollfd pfd;
	struct ibv_cq *cq;
	void *cq_ctx;

	(void)state;
	assert_non_null(ch);
	assert_true(ch->fd >= 0);
	assert_ptr_equal(ch->context, ctx);
	assert_int_equal(ch->refcnt, 0);
	/* No event yet: a non-blocking channel says EAGAIN, poll() nothing. */
	assert_int_equal(fcntl(ch->fd, F_SETFL, fcntl(ch->fd, F_GETFL) | O_NONBLOCK), 0);
	errno = 0;
	assert_int_equal(ibv_get_cq_event(ch, &cq, &cq_ctx), -1);
	assert_int_equal(errno, EAGAIN);
	pfd.fd = ch->fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(ibv_destroy_comp_channel(ch), 0);
}

static void test_cq(void **state)
{
	struct ibv_comp_channel *ch = ibv_create_comp_channel(ctx);
	struct ibv_device_attr attr;
	struct ibv_cq *cq;
	struct ibv_wc wc[4];
	int marker;

	(void)state;
	assert_non_null(ch);
	assert_int_equal(ibv_query_device(ctx, &attr), 0);
	cq = ibv_create_cq(ctx, 100, &marker, ch, 0);
	assert_non_null(cq);
	assert_true(cq->cqe >= 100);
	assert_ptr_equal(cq->context, ctx);
	assert_ptr_equal(cq->channel, ch);
	assert_ptr_equal(cq->cq_context, &marker);
	assert_int_equal(ch->refcnt, 1);
	/* A channel in use is not destroyed. */
	assert_int_equal(ibv_destroy_comp_channel(ch), EBUSY);

	assert_int_equal(ibv_poll_cq(cq, 4, wc), 0);
	assert_int_equal(ibv_req_notify_cq(cq, 0), 0);
	assert_int_equal(ibv_req_notify_cq(cq, 1), 0);

	assert_int_equal(ibv_resize_cq(cq, 1000), 0);
	assert_true(cq->cqe >= 1000);
	assert_int_equal(ibv_poll_cq(cq, 4, wc), 0);
	assert_int_equal(ibv_resize_cq(cq, 0), EINVAL);
	assert_int_equal(ibv_resize_cq(cq, attr.max_cqe + 1), EINVAL);
	assert_true(cq->cqe >= 1000);	/* a refused resize changes nothing */

	assert_int_equal(ibv_destroy_cq(cq), 0);
	assert_int_equal(ch->refcnt, 0);
	assert_int_equal(ibv_destroy_comp_channel(ch), 0);
}

/* ibv_create_cq_ex and the extended poll API on the same rings. */
static void test_cq_ex(void **state)
{
	struct ibv_cq_init_attr_ex a = {
		.cqe = 32, .wc_flags = IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_QP_NUM,
	};
	struct ibv_poll_cq_attr pa = { .comp_mask = 0 };
	struct ibv_cq_ex *cqx;
	struct ibv_wc wc;

	(void)state;
	cqx = ibv_create_cq_ex(ctx, &a);
	assert_non_null(cqx);
	if (!cqx)
		return;		/* not reached; tells the compiler */
	assert_true(ibv_cq_ex_to_cq(cqx)->cqe >= 32);
	/* Empty: ENOENT, and no ibv_end_poll is owed. */
	assert_int_equal(ibv_start_poll(cqx, &pa), ENOENT);
	assert_int_equal(ibv_start_poll(cqx, &pa), ENOENT);
	/* The classic calls work on it too. */
	assert_int_equal(ibv_poll_cq(ibv_cq_ex_to_cq(cqx), 1, &wc), 0);
	assert_int_equal(ibv_req_notify_cq(ibv_cq_ex_to_cq(cqx), 0), 0);
	assert_int_equal(ibv_destroy_cq(ibv_cq_ex_to_cq(cqx)), 0);

	/* A field a CQE has not (timestamps it has: tests/integration/softfeat.c). */
	a.wc_flags = IBV_WC_EX_WITH_CVLAN;
	errno = 0;
	assert_null(ibv_create_cq_ex(ctx, &a));
	assert_int_equal(errno, EOPNOTSUPP);
	a.wc_flags = 0;
	/* A parent domain is taken (tests/integration/stack-semantics.c); none is EINVAL. */
	a.comp_mask = IBV_CQ_INIT_ATTR_MASK_PD;
	errno = 0;
	assert_null(ibv_create_cq_ex(ctx, &a));
	assert_int_equal(errno, EINVAL);
	a.comp_mask = IBV_CQ_INIT_ATTR_MASK_FLAGS;
	a.flags = IBV_CREATE_CQ_ATTR_IGNORE_OVERRUN;
	errno = 0;
	assert_null(ibv_create_cq_ex(ctx, &a));
	assert_int_equal(errno, EOPNOTSUPP);
	a.flags = IBV_CREATE_CQ_ATTR_SINGLE_THREADED;	/* a hint: fine */
	cqx = ibv_create_cq_ex(ctx, &a);
	assert_non_null(cqx);
	assert_int_equal(ibv_destroy_cq(ibv_cq_ex_to_cq(cqx)), 0);
}

static void test_cq_invalid(void **state)
{
	struct ibv_device_attr attr;

	(void)state;
	assert_int_equal(ibv_query_device(ctx, &attr), 0);
	errno = 0;
	assert_null(ibv_create_cq(ctx, 0, NULL, NULL, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ibv_create_cq(ctx, -5, NULL, NULL, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ibv_create_cq(ctx, attr.max_cqe + 1, NULL, NULL, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ibv_create_cq(ctx, 16, NULL, NULL, 1));	/* one vector */
	assert_int_equal(errno, EINVAL);
}

/* [limits] cqs = 6, cqes = 10000 */
static void test_cq_limits(void **state)
{
	struct ibv_cq *cq[6];

	(void)state;
	errno = 0;
	assert_null(ibv_create_cq(ctx, 20000, NULL, NULL, 0));
	assert_int_equal(errno, EDQUOT);
	for (int i = 0; i < 6; i++) {
		cq[i] = ibv_create_cq(ctx, 16, NULL, NULL, 0);
		assert_non_null(cq[i]);
	}
	errno = 0;
	assert_null(ibv_create_cq(ctx, 16, NULL, NULL, 0));
	assert_int_equal(errno, EDQUOT);
	/* Resizing past cqes is refused the same way; the CQ keeps working. */
	assert_int_equal(ibv_resize_cq(cq[0], 9999), EDQUOT);
	for (int i = 0; i < 6; i++)
		assert_int_equal(ibv_destroy_cq(cq[i]), 0);
}

#define count_maps(pid) ct_memfd_maps(pid, "rdmabroker-ring")
#define count_fds(pid) ct_fds(pid)

static void cq_cycle(int i)
{
	struct ibv_comp_channel *ch = ibv_create_comp_channel(ctx);
	struct ibv_cq *cq;

	assert_non_null(ch);
	cq = ibv_create_cq(ctx, 64 + i, NULL, ch, 0);
	assert_non_null(cq);
	assert_int_equal(ibv_resize_cq(cq, 500), 0);
	assert_int_equal(ibv_destroy_cq(cq), 0);
	assert_int_equal(ibv_destroy_comp_channel(ch), 0);
}

/*
 * Mappings and fds return to where they were, on both sides.  A few
 * cycles first, so that allocators (the sanitizers' too) have mapped what
 * they keep for good.
 */
static void test_no_leak_cycles(void **state)
{
	const char *dpid = getenv("RB_DAEMON_PID");
	int maps0, fds0, dmaps0 = -1, dfds0 = -1;

	(void)state;
	for (int i = 0; i < 10; i++)
		cq_cycle(i);
	maps0 = count_maps("self");
	fds0 = count_fds("self");
	if (dpid) {
		dmaps0 = count_maps(dpid);
		dfds0 = count_fds(dpid);
	}
	for (int i = 0; i < 50; i++)
		cq_cycle(i);
	/* And the count is real: a live CQ shows up in both processes. */
	{
		struct ibv_cq *cq = ibv_create_cq(ctx, 8, NULL, NULL, 0);

		assert_non_null(cq);
		assert_int_equal(count_maps("self"), maps0 + 1);
		if (dpid)
			assert_int_equal(count_maps(dpid), dmaps0 + 1);
		assert_int_equal(ibv_destroy_cq(cq), 0);
	}
	assert_int_equal(count_maps("self"), maps0);
	assert_int_equal(count_fds("self"), fds0);
	if (dpid) {
		assert_int_equal(count_maps(dpid), dmaps0);
		assert_int_equal(count_fds(dpid), dfds0);
	}
}

/* `client-cq hold N`: N channels and N CQs on them, then wait to be killed. */
static int hold(int n)
{
	struct ibv_device **l;
	struct ibv_context *c;

	if (ct_open(&l, &c) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		struct ibv_comp_channel *ch = ibv_create_comp_channel(c);

		if (!ch || !ibv_create_cq(c, 32, NULL, ch, 0)) {
			fprintf(stderr, "client-cq: CQ %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	ct_ready_and_wait();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_channel),
		cmocka_unit_test(test_cq),
		cmocka_unit_test(test_cq_ex),
		cmocka_unit_test(test_cq_invalid),
		cmocka_unit_test(test_cq_limits),
		cmocka_unit_test(test_no_leak_cycles),
	};

	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return hold(atoi(argv[2]));
	return cmocka_run_group_tests(tests, setup, teardown);
}
