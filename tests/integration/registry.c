/* SPDX-License-Identifier: MIT */
/*
 * The resource registry through the raw protocol (tests/integration/registry.sh runs
 * a daemon with [limits] pds = 8): handles are per connection, stale and
 * foreign handles are EINVAL and touch nothing, the pds limit is summed
 * over a user's connections and freed on disconnect, res_show filters.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/rpc.h"

#define PD_LIMIT 8

static void connect_open(struct rb_rpc *rpc, int open_device)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__DeviceOpenReq o = RDMABROKER__DEVICE_OPEN_REQ__INIT;
	Rdmabroker__Reply *rep;
	char err[256];

	assert_int_equal(rb_rpc_connect(rpc, NULL, "daemon-res", err, sizeof(err)), 0);
	if (!open_device)
		return;
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_OPEN;
	req.device_open = &o;
	assert_int_equal(rb_rpc_call_ok(rpc, &req, &rep), 0);
	rb_rpc_reply_free(rep);
}

/* 0 and the handle, or -errno. */
static int pd_alloc(struct rb_rpc *rpc, uint32_t *handle)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__PdAllocReq q = RDMABROKER__PD_ALLOC_REQ__INIT;
	Rdmabroker__Reply *rep;
	int ret;

	req.body_case = RDMABROKER__REQUEST__BODY_PD_ALLOC;
	req.pd_alloc = &q;
	ret = rb_rpc_call_ok(rpc, &req, &rep);
	if (ret < 0)
		return ret;
	assert_int_equal(rep->body_case, RDMABROKER__REPLY__BODY_PD_ALLOC);
	*handle = rep->pd_alloc->handle;
	rb_rpc_reply_free(rep);
	return 0;
}

static int pd_dealloc(struct rb_rpc *rpc, uint32_t handle)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__PdDeallocReq q = RDMABROKER__PD_DEALLOC_REQ__INIT;
	Rdmabroker__Reply *rep;
	int ret;

	q.handle = handle;
	req.body_case = RDMABROKER__REQUEST__BODY_PD_DEALLOC;
	req.pd_dealloc = &q;
	ret = rb_rpc_call_ok(rpc, &req, &rep);
	if (ret == 0)
		rb_rpc_reply_free(rep);
	return ret;
}

/* How many objects res_show lists for this pid and type (NULL: all). */
static size_t res_count(struct rb_rpc *rpc, uint32_t pid, const char *type,
			int *status)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ResShowReq q = RDMABROKER__RES_SHOW_REQ__INIT;
	Rdmabroker__Reply *rep;
	size_t n;

	if (pid) {
		q.has_pid = 1;
		q.pid = pid;
	}
	q.type = (char *)type;
	req.body_case = RDMABROKER__REQUEST__BODY_RES_SHOW;
	req.res_show = &q;
	*status = rb_rpc_call_ok(rpc, &req, &rep);
	if (*status)
		return 0;
	n = rep->res_show->n_entries;
	rb_rpc_reply_free(rep);
	return n;
}

static void test_needs_device(void **state)
{
	struct rb_rpc rpc;
	uint32_t h;

	(void)state;
	connect_open(&rpc, 0);
	assert_int_equal(pd_alloc(&rpc, &h), -EBADF);
	assert_int_equal(pd_dealloc(&rpc, 1), -EBADF);
	rb_rpc_close(&rpc);
}

static void test_handles(void **state)
{
	struct rb_rpc a, b;
	uint32_t ha, hb, ha2;

	(void)state;
	connect_open(&a, 1);
	connect_open(&b, 1);
	assert_int_equal(pd_alloc(&a, &ha), 0);
	assert_int_equal(pd_alloc(&b, &hb), 0);
	assert_int_not_equal(ha, 0);

	/* Nonsense handles. */
	assert_int_equal(pd_dealloc(&a, 0), -EINVAL);
	assert_int_equal(pd_dealloc(&a, 0xffffffffu), -EINVAL);
	assert_int_equal(pd_dealloc(&a, ha + 1), -EINVAL);
	/* b's handle means nothing on a, even where the numbers coincide. */
	if (hb != ha)
		assert_int_equal(pd_dealloc(&a, hb), -EINVAL);
	/* Stale: freed once, never again; the slot's next PD has a new handle. */
	assert_int_equal(pd_dealloc(&a, ha), 0);
	assert_int_equal(pd_dealloc(&a, ha), -EINVAL);
	assert_int_equal(pd_alloc(&a, &ha2), 0);
	assert_int_not_equal(ha2, ha);
	assert_int_equal(pd_dealloc(&a, ha), -EINVAL);
	/* b's PD was never touched by any of that. */
	assert_int_equal(pd_dealloc(&b, hb), 0);
	assert_int_equal(pd_dealloc(&a, ha2), 0);
	rb_rpc_close(&a);
	rb_rpc_close(&b);
}

static void test_limit_summed_and_released(void **state)
{
	struct rb_rpc a, b, c;
	uint32_t h[PD_LIMIT], x;
	int st;

	(void)state;
	connect_open(&a, 1);
	connect_open(&b, 1);
	for (int i = 0; i < PD_LIMIT / 2; i++)
		assert_int_equal(pd_alloc(&a, &h[i]), 0);
	for (int i = PD_LIMIT / 2; i < PD_LIMIT; i++)
		assert_int_equal(pd_alloc(&b, &h[i]), 0);
	/* One user, two connections, one limit. */
	assert_int_equal(pd_alloc(&a, &x), -EDQUOT);
	assert_int_equal(pd_alloc(&b, &x), -EDQUOT);
	assert_int_equal(res_count(&a, (uint32_t)getpid(), "pd", &st), PD_LIMIT);
	assert_int_equal(st, 0);
	/* Freeing one makes room for exactly one. */
	assert_int_equal(pd_dealloc(&b, h[PD_LIMIT - 1]), 0);
	assert_int_equal(pd_alloc(&a, &x), 0);
	assert_int_equal(pd_alloc(&a, &x), -EDQUOT);

	/* b goes away holding its PDs: the daemon frees them and the quota. */
	rb_rpc_close(&b);
	connect_open(&c, 1);
	for (int tries = 0; tries < 500; tries++) {
		if (res_count(&c, (uint32_t)getpid(), "pd", &st) == PD_LIMIT / 2 + 1)
			break;
		usleep(10000);
	}
	assert_int_equal(res_count(&c, (uint32_t)getpid(), "pd", &st), PD_LIMIT / 2 + 1);
	for (int i = 0; i < PD_LIMIT / 2 - 1; i++)
		assert_int_equal(pd_alloc(&c, &h[i]), 0);
	assert_int_equal(pd_alloc(&c, &x), -EDQUOT);
	rb_rpc_close(&a);
	rb_rpc_close(&c);
}

static void test_res_show_filters(void **state)
{
	struct rb_rpc a;
	uint32_t h;
	int st;

	(void)state;
	connect_open(&a, 1);
	assert_int_equal(pd_alloc(&a, &h), 0);
	assert_true(res_count(&a, 0, NULL, &st) >= 1);
	assert_int_equal(res_count(&a, (uint32_t)getpid(), "pd", &st), 1);
	assert_int_equal(res_count(&a, 1, NULL, &st), 0);	/* init holds none */
	assert_int_equal(st, 0);
	res_count(&a, 0, "bogus", &st);
	assert_int_equal(st, -EINVAL);
	rb_rpc_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needs_device),
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_limit_summed_and_released),
		cmocka_unit_test(test_res_show_filters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
