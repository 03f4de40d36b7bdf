/* SPDX-License-Identifier: MIT */
/*
 * Threads posting on the soft device through librdmabroker and a real
 * daemon (tests/integration/data-threads.sh), against librdmabroker(7)
 * (THE DATA PATH).
 * Every case uses two or more clients (device contexts, i.e. daemon
 * connections) and checks data byte for byte and every defined field of
 * every completion on both sides (tests/integration/data-lib.h).
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
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

#include "tests/lib/datatest.h"
#include "tests/integration/data-lib.h"

/* ------------------------------------------------------------ threads */

#define MT_THREADS 4
#define MT_PER 1000
#define MT_RECVS 512

struct mt_arg {
	struct ibv_qp *qp;
	struct dt_buf *src;
	int t;
	int err;		/* first ibv_post_send error other than ENOMEM */
	volatile int *stop;
};

static void *mt_poster(void *p)
{
	struct mt_arg *m = p;
	uint64_t *v = (uint64_t *)m->src->p;
	uint64_t end = dt_now_ms() + 20000;

	for (int s = 0; s < MT_PER && !*m->stop; s++) {
		int i = m->t * MT_PER + s, ret;
		bool bad_ok;

		v[i] = ((uint64_t)m->t << 32) | (uint64_t)s;
		while ((ret = post1_raw(m->qp, (uint64_t)i, IBV_WR_SEND, SIG, &v[i], 8,
					m->src->mr->lkey, 0, 0, 0, &bad_ok)) == ENOMEM) {
			if (*m->stop || dt_now_ms() > end) {
				m->err = ETIMEDOUT;
				return NULL;
			}
			sched_yield();
		}
		if (ret) {
			m->err = ret;
			return NULL;
		}
	}
	return NULL;
}

/*
 * Four threads post 1000 signaled SENDs each to one RC QP while the peer
 * reposts its 512 receives as they complete: all 4000 arrive exactly once,
 * each thread's in its posting order, and 4000 send completions come.
 */
static void test_mt_post(void **state)
{
	struct ibv_qp_cap cap = cap_std();
	struct pair p;
	struct dt_buf *src, *rb;
	struct mt_arg arg[MT_THREADS];
	pthread_t th[MT_THREADS];
	volatile int stop = 0;
	static bool seen[MT_THREADS * MT_PER], sdone[MT_THREADS * MT_PER];
	int last[MT_THREADS], got = 0, bad = 0, nsend = 0;
	uint64_t *rv, idle_since;
	struct ibv_wc wc[64];
	char why[1024] = "";

	(void)state;
	memset(seen, 0, sizeof(seen));
	memset(sdone, 0, sizeof(sdone));
	cap.max_send_wr = 256;
	cap.max_recv_wr = MT_RECVS;
	p = pair_make(IBV_QPT_RC, 8192, cap, 0, NULL);
	src = buf(p.a, MT_THREADS * MT_PER * 8, IBV_ACCESS_LOCAL_WRITE);
	rb = buf(p.b, MT_RECVS * 8, IBV_ACCESS_LOCAL_WRITE);
	rv = (uint64_t *)rb->p;
	for (int i = 0; i < MT_RECVS; i++)
		assert_int_equal(dt_post_recv(p.qb, (uint64_t)i, &rv[i], 8, rb->mr->lkey), 0);
	for (int t = 0; t < MT_THREADS; t++) {
		last[t] = -1;
		arg[t] = (struct mt_arg){ .qp = p.qa, .src = src, .t = t, .stop = &stop };
		assert_int_equal(pthread_create(&th[t], NULL, mt_poster, &arg[t]), 0);
	}

	/* No assertion until the threads are joined: collect, then judge. */
	idle_since = dt_now_ms();
	while (got < MT_THREADS * MT_PER && !bad) {
		int n = ibv_poll_cq(p.b->rcq, 64, wc);

		if (n <= 0) {
			if (dt_now_ms() - idle_since > DT_TIMEOUT_MS) {
				snprintf(why, sizeof(why), "no receive for %d ms after %d",
					 DT_TIMEOUT_MS, got);
				bad = 1;
			}
			sched_yield();
			continue;
		}
		idle_since = dt_now_ms();
		for (int j = 0; j < n && !bad; j++) {
			uint64_t v;
			uint32_t t, s;

			if (wc[j].status != IBV_WC_SUCCESS || wc[j].opcode != IBV_WC_RECV ||
			    wc[j].byte_len != 8 || wc[j].qp_num != p.qb->qp_num ||
			    wc[j].src_qp != p.qa->qp_num || wc[j].wc_flags != 0 ||
			    wc[j].wr_id >= MT_RECVS) {
				dt_wc_str(&wc[j], why, sizeof(why));
				bad = 1;
				break;
			}
			v = rv[wc[j].wr_id];
			t = (uint32_t)(v >> 32);
			s = (uint32_t)v;
			if (t >= MT_THREADS || s >= MT_PER) {
				snprintf(why, sizeof(why), "receive %llu holds 0x%llx",
					 (unsigned long long)wc[j].wr_id, (unsigned long long)v);
				bad = 1;
				break;
			}
			if (seen[t * MT_PER + s] || (int)s <= last[t]) {
				snprintf(why, sizeof(why), "thread %u send %u: %s", t, s,
					 seen[t * MT_PER + s] ? "twice" : "out of order");
				bad = 1;
				break;
			}
			seen[t * MT_PER + s] = true;
			last[t] = (int)s;
			got++;
			rv[wc[j].wr_id] = UINT64_MAX;
			if (dt_post_recv(p.qb, wc[j].wr_id, &rv[wc[j].wr_id], 8, rb->mr->lkey)) {
				snprintf(why, sizeof(why), "repost failed");
				bad = 1;
			}
		}
	}
	if (bad)
		stop = 1;
	for (int t = 0; t < MT_THREADS; t++)
		pthread_join(th[t], NULL);
	if (bad)
		fail_msg("after %d receives: %s", got, why);
	for (int t = 0; t < MT_THREADS; t++)
		if (arg[t].err)
			fail_msg("thread %d: post: %s", t, strerror(arg[t].err));
	assert_int_equal(got, MT_THREADS * MT_PER);

	/* The requester side: every WR completed once, per thread in order. */
	for (int t = 0; t < MT_THREADS; t++)
		last[t] = -1;
	while (nsend < MT_THREADS * MT_PER) {
		int n = dt_poll(p.a->scq, wc, 64, DT_TIMEOUT_MS);

		if (n == 0)
			break;
		for (int j = 0; j < n; j++) {
			int i = (int)wc[j].wr_id, t = i / MT_PER;

			CHECK_WC(&wc[j], req_wc(wc[j].wr_id, IBV_WC_SEND, 8, p.qa), DT_WC_REQ);
			assert_true(i >= 0 && i < MT_THREADS * MT_PER && !sdone[i]);
			assert_true(i % MT_PER > last[t]);
			last[t] = i % MT_PER;
			sdone[i] = true;
			nsend++;
		}
	}
	assert_int_equal(nsend, MT_THREADS * MT_PER);
	QUIET(p.a->scq);
	QUIET(p.b->rcq);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, NULL, cleanup)
	const struct CMUnitTest tests[] = {
		T_(test_mt_post),
	};
#undef T_
	uint64_t t0 = dt_now_ms();
	int ret;

	/* A hang anywhere fails the run instead of the suite's timeout. */
	alarm(120);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr, "data-threads: %llu ms\n", (unsigned long long)(dt_now_ms() - t0));
	return ret;
}
