/* SPDX-License-Identifier: MIT */
/*
 * The two words the engine and its pollers leave each other in a CQ
 * ring's header (proto/shm.h): `producer_asleep`, which the engine sets
 * in the rings it published into lately while it sleeps and clears when
 * it wakes (daemon/cq.c cq_asleep), and `consumer_cpu`, where a poller
 * that yields says which CPU it polls on (libclient/cq.c rbc_poll_yield).
 * For tests/integration/engine-signs.sh; one process, two clients of the
 * soft device with an RC QP between them:
 *   - once a SEND has completed and the engine has nothing left to do,
 *     both CQs it published into say asleep (within 5 s);
 *   - within 200 us of a completion the engine's word reads awake, in
 *     one of up to 500 SENDs (it is not stuck asleep: beside the other
 *     tests of the suite the engine may nap between passes, flagged, and
 *     50 reads made at once each met a nap);
 *   - a thread that polls an empty CQ on CPU k says k in the ring, for
 *     each of the first two CPUs it may use.
 *
 * This test reaches into librdmabroker's objects (libclient/client.h) to
 * find the rings; nothing else may.
 */
#include "config.h"

#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "libclient/client.h"
#include "tests/lib/datatest.h"

struct pair {
	struct dt_node a, b;
	struct ibv_qp *qa, *qb;
	struct dt_buf ba, bb;
};

static struct pair p;

static int pair_setup(void **state)
{
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_qp_cap cap2 = cap;

	(void)state;
	if (dt_node_open(&p.a, 64, false) || dt_node_open(&p.b, 64, false) ||
	    dt_buf_alloc(&p.ba, p.a.pd, 4096, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&p.bb, p.b.pd, 4096, DT_ACCESS_ALL))
		return -1;
	p.qa = dt_qp_create(&p.a, IBV_QPT_RC, &cap, NULL, NULL, 1);
	p.qb = dt_qp_create(&p.b, IBV_QPT_RC, &cap2, NULL, NULL, 1);
	if (!p.qa || !p.qb)
		return -1;
	return dt_qp_connect(p.qa, p.qb, NULL);
}

static int pair_teardown(void **state)
{
	(void)state;
	if (p.qa)
		ibv_destroy_qp(p.qa);
	if (p.qb)
		ibv_destroy_qp(p.qb);
	dt_buf_free(&p.ba);
	dt_buf_free(&p.bb);
	dt_node_close(&p.a);
	dt_node_close(&p.b);
	return 0;
}

static struct rb_ring *ring_of(struct ibv_cq *cq)
{
	return ((struct rbc_cq *)cq)->ring;
}

static uint32_t asleep(struct ibv_cq *cq)
{
	return __atomic_load_n(&ring_of(cq)->producer_asleep, __ATOMIC_RELAXED);
}

/* One 8-byte SEND from a to b, both completions polled. */
static void send_one(uint64_t id)
{
	struct ibv_sge sge = { .addr = (uintptr_t)p.ba.p, .length = 8, .lkey = p.ba.mr->lkey };
	struct ibv_send_wr wr = { .wr_id = id, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED };
	struct ibv_send_wr *bad;
	struct ibv_wc wc;

	assert_int_equal(dt_post_recv(p.qb, id, p.bb.p, 64, p.bb.mr->lkey), 0);
	assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
	assert_int_equal(dt_poll(p.a.scq, &wc, 1, 5000), 1);
	assert_int_equal(wc.status, IBV_WC_SUCCESS);
	assert_int_equal(dt_poll(p.b.rcq, &wc, 1, 5000), 1);
	assert_int_equal(wc.status, IBV_WC_SUCCESS);
	assert_int_equal(wc.wr_id, id);
}

static void test_asleep_when_idle(void **state)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	(void)state;
	send_one(1);
	/* Idle, the engine sleeps in libevent; both CQs had a completion. */
	for (i = 0; i < 5000 && !(asleep(p.a.scq) && asleep(p.b.rcq)); i++)
		nanosleep(&ms, NULL);
	if (i == 5000)
		fail_msg("the idle engine's CQs say asleep %u and %u after 5 s",
			 asleep(p.a.scq), asleep(p.b.rcq));
}

/* The word reads awake at least once within ns. */
static bool awake_within(struct ibv_cq *cq, uint64_t ns)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (!asleep(cq))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t.tv_nsec -
		 (uint64_t)t0.tv_nsec < ns);
	return false;
}

static void test_awake_after_completion(void **state)
{
	bool awake = false;

	(void)state;
	for (int i = 0; i < 500 && !awake; i++) {
		send_one(100 + (uint64_t)i);
		awake = awake_within(p.b.rcq, 200000);
	}
	if (!awake)
		fail_msg("the engine's word said asleep for 200 us after each of 500 completions");
}

static void test_poller_cpu(void **state)
{
	cpu_set_t mine, one;
	struct ibv_wc wc;
	int tried = 0;

	(void)state;
	unsetenv(RB_POLL_SLEEP_ENV);
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (int cpu = 0; cpu < CPU_SETSIZE && tried < 2; cpu++) {
		uint32_t said = 0;

		if (!CPU_ISSET(cpu, &mine))
			continue;
		tried++;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
		/* Empty polls yield every RBC_POLL_YIELD-th; a window after a
		 * late yield (a loaded machine) skips the yields for up to
		 * RBC_YIELD_SPIN_MAX_NS: poll up to a second. */
		for (int i = 0; i < 100 && said != (uint32_t)cpu + 1; i++) {
			assert_int_equal(dt_poll_quiet(p.a.rcq, &wc, 10), 0);
			said = __atomic_load_n(&ring_of(p.a.rcq)->consumer_cpu, __ATOMIC_RELAXED);
		}
		if (said != (uint32_t)cpu + 1)
			fail_msg("polling on CPU %d, the ring says %u (1 + the CPU)", cpu, said);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(mine), &mine), 0);
	assert_true(tried >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_asleep_when_idle),
		cmocka_unit_test(test_awake_after_completion),
		cmocka_unit_test(test_poller_cpu),
	};

	return cmocka_run_group_tests(tests, pair_setup, pair_teardown);
}
