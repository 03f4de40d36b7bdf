/* SPDX-License-Identifier: MIT */
/*
 * ibv_alloc_pd / ibv_dealloc_pd through librdmabroker (tests/integration/pd.sh runs
 * a daemon with [limits] pds = 8).  `client-pd hold N` allocates N PDs,
 * prints "ready", and waits to be killed.
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
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"

#define PD_LIMIT 8

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

static void test_alloc_dealloc(void **state)
{
	struct ibv_pd *a, *b;

	(void)state;
	a = ibv_alloc_pd(ctx);
	b = ibv_alloc_pd(ctx);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(a->context, ctx);
	assert_int_not_equal(a->handle, b->handle);
	assert_int_equal(ibv_dealloc_pd(a), 0);
	assert_int_equal(ibv_dealloc_pd(b), 0);
}

/* Past the user's limit: NULL with EDQUOT; earlier PDs keep working. */
static void test_limit(void **state)
{
	struct ibv_pd *pd[PD_LIMIT];

	(void)state;
	for (int i = 0; i < PD_LIMIT; i++) {
		pd[i] = ibv_alloc_pd(ctx);
		assert_non_null(pd[i]);
	}
	errno = 0;
	assert_null(ibv_alloc_pd(ctx));
	assert_int_equal(errno, EDQUOT);
	assert_int_equal(ibv_dealloc_pd(pd[0]), 0);
	pd[0] = ibv_alloc_pd(ctx);
	assert_non_null(pd[0]);
	for (int i = 0; i < PD_LIMIT; i++)
		assert_int_equal(ibv_dealloc_pd(pd[i]), 0);
}

/* Left allocated on purpose; reachable, so no leak report. */
static struct ibv_pd *volatile abandoned;

/* PDs of two contexts are separate objects; closing one frees its own. */
static void test_two_contexts(void **state)
{
	struct ibv_context *c2 = ibv_open_device(list[0]);
	struct ibv_pd *a, *b;

	(void)state;
	assert_non_null(c2);
	a = ibv_alloc_pd(ctx);
	b = ibv_alloc_pd(c2);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(b->context, c2);
	/* c2 closes with b still allocated: the daemon frees it. */
	abandoned = b;
	assert_int_equal(ibv_close_device(c2), 0);
	assert_int_equal(ibv_dealloc_pd(a), 0);
}

static int hold(int n)
{
	struct ibv_device **l;
	struct ibv_context *c;

	if (ct_open(&l, &c) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		if (!ibv_alloc_pd(c)) {
			fprintf(stderr, "client-pd: PD %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	ct_ready_and_wait();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_dealloc),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_two_contexts),
	};

	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return hold(atoi(argv[2]));
	return cmocka_run_group_tests(tests, setup, teardown);
}
