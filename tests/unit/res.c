/* SPDX-License-Identifier: MIT */
/*
 * The resource registry (daemon/res.c), linked from daemon/librbd.la, on
 * sessions that exist only in memory: handles are never 0, name one slot
 * of one session with its generation (stale, foreign and wrong-type
 * handles are refused), tables grow, dependencies count users and make a
 * destroy EBUSY, a session's end destroys newest first, and per-user
 * limits charge, refuse past the limit (with run-time overrides) and
 * uncharge.
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

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/res.h"

struct obj {
	struct rb_res res;		/* first: res_alloc's contract */
	int id;
};

/* The ids of destroyed objects, in the order they went. */
static int gone[4096];
static size_t ngone;

static void obj_destroy(struct rb_res *r)
{
	struct obj *o = (struct obj *)r;

	if (ngone < sizeof(gone) / sizeof(gone[0]))
		gone[ngone] = o->id;
	ngone++;
	free(o);
}

static struct obj *obj_new(enum rb_res_type type, int id)
{
	struct obj *o = res_alloc(sizeof(*o), 0);

	assert_non_null(o);
	o->res.type = type;
	o->res.destroy = obj_destroy;
	o->id = id;
	return o;
}

static struct rb_daemon daemon_;

static void session_init(struct rb_session *s, uid_t uid)
{
	memset(s, 0, sizeof(*s));
	s->d = &daemon_;
	s->uid = uid;
	s->async_fd = -1;
	res_table_init(&s->res);
	s->usage = res_usage_get(&daemon_, uid);
	assert_non_null(s->usage);
}

static void session_fini(struct rb_session *s)
{
	res_table_fini(s);
	res_usage_put(&daemon_, s->usage);
}

static int setup(void **state)
{
	(void)state;
	memset(&daemon_, 0, sizeof(daemon_));
	cfg_defaults(&daemon_.cfg);
	LIST_INIT(&daemon_.usages);
	ngone = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_true(LIST_EMPTY(&daemon_.usages));
	free(daemon_.overrides);
	cfg_free(&daemon_.cfg);
	return 0;
}

static void test_type_names(void **state)
{
	(void)state;
	for (int t = 0; t < RB_RES_TYPE_COUNT; t++) {
		const char *n = res_type_name((enum rb_res_type)t);

		assert_string_not_equal(n, "?");
		assert_int_equal(res_type_parse(n), t);
	}
	assert_string_equal(res_type_name(RB_RES_PD), "pd");
	assert_string_equal(res_type_name(RB_RES_TYPE_COUNT), "?");
	assert_int_equal(res_type_parse("pds"), -1);
	assert_int_equal(res_type_parse(""), -1);
}

static void test_handles(void **state)
{
	struct rb_session s;
	struct rb_reply rep = { 0 };
	struct obj *a, *b;
	uint32_t ha, hb;

	(void)state;
	session_init(&s, 1000);
	a = obj_new(RB_RES_PD, 1);
	b = obj_new(RB_RES_CQ, 2);
	assert_int_equal(res_add(&s, &a->res), 0);
	assert_int_equal(res_add(&s, &b->res), 0);
	ha = a->res.handle;
	hb = b->res.handle;
	assert_int_not_equal(ha, 0);
	assert_int_not_equal(hb, 0);
	assert_int_not_equal(ha, hb);
	assert_ptr_equal(a->res.owner, &s);
	assert_int_equal(s.res.count[RB_RES_PD], 1);
	assert_int_equal(s.res.count[RB_RES_CQ], 1);

	assert_ptr_equal(res_lookup(&s, ha, RB_RES_PD, &rep), &a->res);
	assert_ptr_equal(res_lookup(&s, hb, RB_RES_CQ, &rep), &b->res);
	assert_string_equal(rep.error, "");

	/* The wrong type, handle 0, a slot past the table, a wrong
	 * generation: EINVAL said, nothing found. */
	assert_null(res_lookup(&s, ha, RB_RES_CQ, &rep));
	assert_non_null(strstr(rep.error, "no cq with handle"));
	assert_null(res_lookup(&s, 0, RB_RES_PD, &rep));
	assert_null(res_lookup(&s, 0xfffff, RB_RES_PD, &rep));
	assert_null(res_lookup(&s, ha ^ (1u << 20), RB_RES_PD, &rep));
	/* An internal lookup (no reply) finds the same. */
	assert_ptr_equal(res_lookup(&s, ha, RB_RES_PD, NULL), &a->res);
	assert_null(res_lookup(&s, ha, RB_RES_QP, NULL));

	/* Destroyed: the handle is stale, and the slot's next object gets
	 * another handle. */
	assert_int_equal(res_destroy(&s, ha, RB_RES_PD, &rep), 0);
	assert_int_equal(ngone, 1);
	assert_int_equal(gone[0], 1);
	assert_int_equal(s.res.count[RB_RES_PD], 0);
	assert_null(res_lookup(&s, ha, RB_RES_PD, &rep));
	assert_int_equal(res_destroy(&s, ha, RB_RES_PD, &rep), -EINVAL);
	a = obj_new(RB_RES_PD, 3);
	assert_int_equal(res_add(&s, &a->res), 0);
	assert_int_equal(a->res.handle & 0xfffff, ha & 0xfffff);
	assert_int_not_equal(a->res.handle, ha);
	assert_null(res_lookup(&s, ha, RB_RES_PD, &rep));
	assert_ptr_equal(res_lookup(&s, a->res.handle, RB_RES_PD, &rep), &a->res);
	session_fini(&s);
}

/* A handle of one session means nothing in another. */
static void test_foreign(void **state)
{
	struct rb_session s1, s2;
	struct rb_reply rep = { 0 };
	struct obj *a;

	(void)state;
	session_init(&s1, 1000);
	session_init(&s2, 1000);
	a = obj_new(RB_RES_QP, 1);
	assert_int_equal(res_add(&s1, &a->res), 0);
	assert_null(res_lookup(&s2, a->res.handle, RB_RES_QP, &rep));
	assert_int_equal(res_destroy(&s2, a->res.handle, RB_RES_QP, &rep), -EINVAL);
	assert_int_equal(ngone, 0);
	/* Both sessions share their uid's usage. */
	assert_ptr_equal(s1.usage, s2.usage);
	assert_int_equal(s1.usage->refs, 2);
	session_fini(&s2);
	session_fini(&s1);
	assert_int_equal(ngone, 1);
}

/* Thousands of objects: the table grows, every handle stays valid. */
static void test_grow(void **state)
{
	enum { N = 5000 };
	struct rb_session s;
	struct rb_reply rep = { 0 };
	static uint32_t h[N];
	static struct obj *o[N];

	(void)state;
	session_init(&s, 0);
	for (int i = 0; i < N; i++) {
		o[i] = obj_new(RB_RES_MR, i);
		assert_int_equal(res_add(&s, &o[i]->res), 0);
		h[i] = o[i]->res.handle;
	}
	assert_true(s.res.nslots >= N);
	assert_int_equal(s.res.count[RB_RES_MR], N);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(res_lookup(&s, h[i], RB_RES_MR, &rep), &o[i]->res);
	for (int i = 0; i < N; i += 2)
		assert_int_equal(res_destroy(&s, h[i], RB_RES_MR, &rep), 0);
	for (int i = 0; i < N; i++)
		assert_true((res_lookup(&s, h[i], RB_RES_MR, &rep) != NULL) == (i % 2 == 1));
	session_fini(&s);
	assert_int_equal(ngone, N);
}

/* A QP on a PD and a CQ: the PD and CQ are busy until it goes. */
static void test_deps(void **state)
{
	struct rb_session s;
	struct rb_reply rep = { 0 };
	struct obj *pd, *cq, *qp;

	(void)state;
	session_init(&s, 1000);
	pd = obj_new(RB_RES_PD, 1);
	cq = obj_new(RB_RES_CQ, 2);
	qp = obj_new(RB_RES_QP, 3);
	assert_int_equal(res_add(&s, &pd->res), 0);
	assert_int_equal(res_add(&s, &cq->res), 0);
	qp->res.deps[0] = &pd->res;
	qp->res.deps[1] = &cq->res;
	qp->res.deps[2] = &cq->res;		/* send and receive CQ */
	assert_int_equal(res_add(&s, &qp->res), 0);
	assert_int_equal(pd->res.users, 1);
	assert_int_equal(cq->res.users, 2);

	assert_int_equal(res_remove(&pd->res, &rep), -EBUSY);
	assert_non_null(strstr(rep.error, "still used by 1 object"));
	assert_int_equal(res_destroy(&s, cq->res.handle, RB_RES_CQ, &rep), -EBUSY);
	assert_int_equal(ngone, 0);
	assert_ptr_equal(res_lookup(&s, pd->res.handle, RB_RES_PD, &rep), &pd->res);

	assert_int_equal(res_remove(&qp->res, &rep), 0);
	assert_int_equal(pd->res.users, 0);
	assert_int_equal(cq->res.users, 0);
	assert_int_equal(res_remove(&cq->res, &rep), 0);
	assert_int_equal(res_remove(&pd->res, &rep), 0);
	assert_int_equal(ngone, 3);
	assert_int_equal(gone[0], 3);
	session_fini(&s);
}

/* The session's end takes its objects newest first: what an object
 * depends on is always older than it. */
static void test_fini_order(void **state)
{
	struct rb_session s;
	struct obj *o[6];

	(void)state;
	session_init(&s, 1000);
	for (int i = 0; i < 6; i++) {
		o[i] = obj_new(i < 3 ? RB_RES_PD : RB_RES_QP, i);
		if (i >= 3)
			o[i]->res.deps[0] = &o[i - 3]->res;
		assert_int_equal(res_add(&s, &o[i]->res), 0);
	}
	session_fini(&s);
	assert_int_equal(ngone, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(gone[i], 5 - i);
	assert_int_equal(s.res.nslots, 0);
	assert_null(s.res.slots);
}

/* Limits: charged per uid over its sessions, EDQUOT past the limit and
 * nothing charged, overrides per uid, uncharge never below zero. */
static void test_limits(void **state)
{
	struct rb_session s1, s2, other;
	struct rb_reply rep = { 0 };
	struct rb_limits lim;
	uint64_t used[RB_LIMIT_COUNT];

	(void)state;
	daemon_.cfg.limits.v[RB_LIMIT_PDS] = 3;
	session_init(&s1, 1000);
	session_init(&s2, 1000);
	session_init(&other, 1001);

	assert_int_equal(res_charge(&s1, RB_LIMIT_PDS, 2, &rep), 0);
	assert_int_equal(res_charge(&s2, RB_LIMIT_PDS, 1, &rep), 0);
	assert_int_equal(res_charge(&s2, RB_LIMIT_PDS, 1, &rep), -EDQUOT);
	assert_non_null(strstr(rep.error, "the pds limit of uid 1000 is 3 and 3 are in use"));
	res_usage_of(&daemon_, 1000, used);
	assert_int_equal(used[RB_LIMIT_PDS], 3);
	/* Another uid has its own count. */
	assert_int_equal(res_charge(&other, RB_LIMIT_PDS, 3, &rep), 0);
	/* A charge that would wrap is refused too. */
	assert_int_equal(res_charge(&other, RB_LIMIT_PDS, UINT64_MAX, &rep), -EDQUOT);

	/* An override raises uid 1000's limit only. */
	assert_int_equal(res_limit_override(&daemon_, 1000, RB_LIMIT_PDS, 5), 0);
	res_limits_for(&daemon_, 1000, &lim);
	assert_int_equal(lim.v[RB_LIMIT_PDS], 5);
	res_limits_for(&daemon_, 1001, &lim);
	assert_int_equal(lim.v[RB_LIMIT_PDS], 3);
	assert_int_equal(res_charge(&s1, RB_LIMIT_PDS, 2, &rep), 0);
	assert_int_equal(res_charge(&s1, RB_LIMIT_PDS, 1, &rep), -EDQUOT);
	/* A second override of the same uid replaces the first entry. */
	assert_int_equal(res_limit_override(&daemon_, 1000, RB_LIMIT_PDS, 0), 0);
	assert_int_equal(daemon_.noverrides, 1);
	assert_int_equal(res_charge(&s1, RB_LIMIT_PDS, 1000, &rep), 0);	/* 0: none */

	res_uncharge(&s1, RB_LIMIT_PDS, 2000);
	res_usage_of(&daemon_, 1000, used);
	assert_int_equal(used[RB_LIMIT_PDS], 0);
	res_usage_of(&daemon_, 4242, used);
	assert_int_equal(used[RB_LIMIT_PDS], 0);

	session_fini(&other);
	session_fini(&s2);
	session_fini(&s1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_type_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fini_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
