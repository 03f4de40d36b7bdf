/* SPDX-License-Identifier: MIT */
/*
 * A client that writes its shared rings by hand, as a broken or hostile
 * program could: WQEs the library would never produce, indices far past
 * the ring, another client's keys, a WQE changed after the doorbell.
 * The engine must answer each with the completion a NIC gives (or with
 * nothing), or disconnect a client whose indices no honest client writes;
 * never reach memory the client does not own; and keep serving everyone
 * else: after each case a fresh pair of clients must still work.
 *
 * This test reaches into librdmabroker's objects (libclient/client.h) to
 * find the rings; nothing else may.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "libclient/client.h"
#include "tests/lib/datatest.h"

struct pair {
	struct dt_node a, b;
	struct ibv_qp *qa, *qb;
	struct dt_buf ba, bb;
};

static int pair_open(struct pair *p, enum ibv_qp_type type)
{
	struct ibv_qp_cap cap = {
		.max_send_wr = 16, .max_recv_wr = 16,
		.max_send_sge = 2, .max_recv_sge = 2, .max_inline_data = 64,
	};
	struct ibv_qp_cap cap2 = cap;

	memset(p, 0, sizeof(*p));
	if (dt_node_open(&p->a, 64, false) || dt_node_open(&p->b, 64, false) ||
	    dt_buf_alloc(&p->ba, p->a.pd, 8192, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&p->bb, p->b.pd, 8192, DT_ACCESS_ALL))
		return -1;
	p->qa = dt_qp_create(&p->a, type, &cap, NULL, NULL, 1);
	p->qb = dt_qp_create(&p->b, type, &cap2, NULL, NULL, 1);
	if (!p->qa || !p->qb)
		return -1;
	if (type == IBV_QPT_UD)
		return dt_qp_to_rts(p->qa, NULL, 0, NULL) ||
		       dt_qp_to_rts(p->qb, NULL, 0, NULL) ? -1 : 0;
	return dt_qp_connect(p->qa, p->qb, NULL);
}

static void pair_close(struct pair *p)
{
	if (p->qa)
		ibv_destroy_qp(p->qa);
	if (p->qb)
		ibv_destroy_qp(p->qb);
	dt_buf_free(&p->ba);
	dt_buf_free(&p->bb);
	dt_node_close(&p->a);
	dt_node_close(&p->b);
}

/* The daemon still serves: a new pair moves one SEND. */
static void daemon_serves(void)
{
	struct pair p;
	struct ibv_wc wc;

	assert_int_equal(pair_open(&p, IBV_QPT_RC), 0);
	assert_int_equal(dt_post_recv(p.qb, 1, p.bb.p, 64, p.bb.mr->lkey), 0);
	{
		struct ibv_sge sge = { (uintptr_t)p.ba.p, 5, p.ba.mr->lkey };
		struct ibv_send_wr wr = { .wr_id = 2, .sg_list = &sge, .num_sge = 1,
					  .opcode = IBV_WR_SEND }, *bad;

		memcpy(p.ba.p, "alive", 5);
		assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
	}
	assert_int_equal(dt_poll(p.b.rcq, &wc, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(wc.status, IBV_WC_SUCCESS);
	assert_memory_equal(p.bb.p, "alive", 5);
	pair_close(&p);
}

/* Write a send WQE straight into qp's SQ slot at prod + k. */
static struct rb_send_wqe *sq_slot(struct ibv_qp *qp, uint32_t k)
{
	struct rb_ring *r = ((struct rbc_qp *)qp)->sq;

	return rb_ring_slot(r, r->prod + k);
}

/* Publish n more slots of qp's ring r and ring the doorbell regardless. */
static void publish(struct ibv_qp *qp, struct rb_ring *r, uint32_t n)
{
	uint64_t one = 1;

	__atomic_store_n(&r->prod, r->prod + n, __ATOMIC_RELEASE);
	assert_int_equal(write(((struct rbc_qp *)qp)->doorbell, &one, 8), 8);
}

static struct ibv_wc expect_error(struct ibv_cq *cq, uint64_t wr_id,
				  enum ibv_wc_status status)
{
	struct ibv_wc wc;

	assert_int_equal(dt_poll(cq, &wc, 1, DT_TIMEOUT_MS), 1);
	if (wc.wr_id != wr_id || wc.status != status)
		fail_msg("wr_id %llu %s, want %llu %s", (unsigned long long)wc.wr_id,
			 ibv_wc_status_str(wc.status), (unsigned long long)wr_id,
			 ibv_wc_status_str(status));
	return wc;
}

/* WQEs no library would write: each gets its error, then the QP flushes. */
static void test_malformed_wqes(void **state)
{
	static const struct {
		uint32_t opcode, flags, num_sge, inline_len;
		enum ibv_wc_status want;
	} bad[] = {
		{ 99, 0, 0, 0, IBV_WC_LOC_QP_OP_ERR },		/* no such opcode */
		{ IBV_WR_SEND, 0, 1000, 0, IBV_WC_LOC_QP_OP_ERR },	/* SGEs past max */
		{ IBV_WR_SEND, IBV_SEND_INLINE, 0, 100000, IBV_WC_LOC_LEN_ERR },
		{ IBV_WR_SEND, IBV_SEND_INLINE, 0, 65, IBV_WC_LOC_LEN_ERR },	/* cap 64 */
		{ IBV_WR_ATOMIC_FETCH_AND_ADD, 0, 0, 0, IBV_WC_LOC_LEN_ERR },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pair p;
		struct rb_send_wqe *w;

		assert_int_equal(pair_open(&p, IBV_QPT_RC), 0);
		w = sq_slot(p.qa, 0);
		memset(w, 0, sizeof(*w));
		w->wr_id = 100 + i;
		w->opcode = bad[i].opcode;
		w->send_flags = bad[i].flags | IBV_SEND_SIGNALED;
		w->num_sge = bad[i].num_sge;
		w->inline_len = bad[i].inline_len;
		w = sq_slot(p.qa, 1);
		memset(w, 0, sizeof(*w));
		w->wr_id = 200;
		w->opcode = IBV_WR_SEND;
		publish(p.qa, ((struct rbc_qp *)p.qa)->sq, 2);
		expect_error(p.a.scq, 100 + i, bad[i].want);
		expect_error(p.a.scq, 200, IBV_WC_WR_FLUSH_ERR);
		pair_close(&p);
	}
	daemon_serves();
}

/* Another client's lkey and rkey are as good as random numbers. */
static void test_foreign_keys(void **state)
{
	struct pair p, other;
	struct ibv_sge sge;
	struct ibv_send_wr wr = { .num_sge = 1, .sg_list = &sge,
				  .send_flags = IBV_SEND_SIGNALED }, *bad;

	(void)state;
	assert_int_equal(pair_open(&p, IBV_QPT_RC), 0);
	assert_int_equal(pair_open(&other, IBV_QPT_RC), 0);
	memset(other.ba.p, 0x5a, other.ba.len);
	/* Gather from the other client's memory with its lkey. */
	sge = (struct ibv_sge){ (uintptr_t)other.ba.p, 64, other.ba.mr->lkey };
	wr.wr_id = 1;
	wr.opcode = IBV_WR_SEND;
	assert_int_equal(dt_post_recv(p.qb, 9, p.bb.p, 64, p.bb.mr->lkey), 0);
	assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
	expect_error(p.a.scq, 1, IBV_WC_LOC_PROT_ERR);
	pair_close(&p);

	/* Write into the other client's memory with its rkey. */
	assert_int_equal(pair_open(&p, IBV_QPT_RC), 0);
	sge = (struct ibv_sge){ (uintptr_t)p.ba.p, 64, p.ba.mr->lkey };
	wr.wr_id = 2;
	wr.opcode = IBV_WR_RDMA_WRITE;
	wr.wr.rdma.remote_addr = (uintptr_t)other.bb.p;
	wr.wr.rdma.rkey = other.bb.mr->rkey;
	assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
	expect_error(p.a.scq, 2, IBV_WC_REM_ACCESS_ERR);
	/* Read it, likewise. */
	pair_close(&p);
	assert_int_equal(pair_open(&p, IBV_QPT_RC), 0);
	sge = (struct ibv_sge){ (uintptr_t)p.ba.p, 64, p.ba.mr->lkey };
	wr.wr_id = 3;
	wr.opcode = IBV_WR_RDMA_READ;
	wr.wr.rdma.remote_addr = (uintptr_t)other.ba.p;
	wr.wr.rdma.rkey = other.ba.mr->rkey;
	memset(p.ba.p, 0, 64);
	assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
	expect_error(p.a.scq, 3, IBV_WC_REM_ACCESS_ERR);
	for (int i = 0; i < 64; i++)
		assert_int_equal(p.ba.p[i], 0);
	for (size_t i = 0; i < other.bb.len; i++)
		assert_int_equal(other.bb.p[i], 0);
	pair_close(&p);
	pair_close(&other);
	daemon_serves();
}

/*
 * In a child: an SQ producer index a million slots past the ring, which
 * no honest client writes.  The daemon disconnects that client (its
 * context gets IBV_EVENT_DEVICE_FATAL); its peer, in another client of
 * the same process, loses the connection (IBV_EVENT_QP_FATAL).
 */
static int wild_child(void)
{
	struct pair p;
	struct rbc_qp *qa;
	struct ibv_async_event ev;
	bool fatal = false, peer_fatal = false;
	struct pollfd pfd[2];
	uint64_t t0;

	if (pair_open(&p, IBV_QPT_RC))
		return 2;
	qa = (struct rbc_qp *)p.qa;
	memset((char *)qa->sq + RB_RING_HDR_SIZE, 0xa5, qa->sq_bytes - RB_RING_HDR_SIZE);
	publish(p.qa, qa->sq, 1000000);
	pfd[0] = (struct pollfd){ .fd = p.a.ctx->async_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = p.b.ctx->async_fd, .events = POLLIN };
	t0 = dt_now_ms();
	while ((!fatal || !peer_fatal) && dt_now_ms() - t0 < DT_TIMEOUT_MS) {
		if (poll(pfd, 2, 100) <= 0)
			continue;
		if ((pfd[0].revents & POLLIN) && !fatal &&
		    ibv_get_async_event(p.a.ctx, &ev) == 0) {
			fatal = ev.event_type == IBV_EVENT_DEVICE_FATAL;
			ibv_ack_async_event(&ev);
		}
		if ((pfd[1].revents & POLLIN) &&
		    ibv_get_async_event(p.b.ctx, &ev) == 0) {
			peer_fatal = ev.event_type == IBV_EVENT_QP_FATAL &&
				     ev.element.qp == p.qb;
			ibv_ack_async_event(&ev);
		}
	}
	/* Exit without cleaning up: the daemon holds nothing of a dead client. */
	return fatal && peer_fatal ? 0 : 1;
}

static void test_wild_indices(void **state)
{
	struct pair p;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(wild_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("the child got %s", WEXITSTATUS(status) == 2 ? "no pair" :
			 "no DEVICE_FATAL on its own context or no QP_FATAL on its peer");
	daemon_serves();

	/* A CQ whose consumer claims to be ahead of the producer: full. */
	assert_int_equal(pair_open(&p, IBV_QPT_RC), 0);
	{
		struct rbc_cq *cq = (struct rbc_cq *)p.a.scq;
		struct ibv_sge sge = { (uintptr_t)p.ba.p, 8, p.ba.mr->lkey };
		struct ibv_send_wr wr = { .wr_id = 7, .sg_list = &sge, .num_sge = 1,
					  .opcode = IBV_WR_RDMA_WRITE,
					  .send_flags = IBV_SEND_SIGNALED }, *bad;
		struct ibv_async_event ev;

		wr.wr.rdma.remote_addr = (uintptr_t)p.bb.p;
		wr.wr.rdma.rkey = p.bb.mr->rkey;
		memset(p.ba.p, 0x11, 8);
		__atomic_store_n(&cq->ring->cons, cq->ring->prod + 12345, __ATOMIC_RELEASE);
		assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
		/* The WRITE happens; its completion is lost to the overrun. */
		for (int i = 0; i < 5000 && p.bb.p[7] != 0x11; i++)
			usleep(1000);
		assert_int_equal(p.bb.p[7], 0x11);
		assert_int_equal(ibv_get_async_event(p.a.ctx, &ev), 0);
		assert_int_equal(ev.event_type, IBV_EVENT_CQ_ERR);
		assert_ptr_equal(ev.element.cq, p.a.scq);
		ibv_ack_async_event(&ev);
		__atomic_store_n(&cq->ring->cons, cq->ring->prod, __ATOMIC_RELEASE);
	}
	pair_close(&p);
	daemon_serves();
}

/* A WQE rewritten with garbage while the engine may be reading it. */
static void test_wqe_changed_after_doorbell(void **state)
{
	struct pair p;
	struct ibv_wc wc;

	(void)state;
	for (int round = 0; round < 50; round++) {
		struct ibv_sge sge;
		struct ibv_send_wr wr = { .wr_id = 1, .sg_list = &sge, .num_sge = 1,
					  .opcode = IBV_WR_RDMA_WRITE,
					  .send_flags = IBV_SEND_SIGNALED }, *bad;
		struct rb_send_wqe *w;

		assert_int_equal(pair_open(&p, IBV_QPT_RC), 0);
		sge = (struct ibv_sge){ (uintptr_t)p.ba.p, 4096, p.ba.mr->lkey };
		wr.wr.rdma.remote_addr = (uintptr_t)p.bb.p;
		wr.wr.rdma.rkey = p.bb.mr->rkey;
		w = sq_slot(p.qa, 0);
		assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
		for (int i = 0; i < 1000; i++) {
			w->num_sge = (uint32_t)rand();
			w->opcode = (uint32_t)rand() % 16;
			((struct rb_sge *)(w + 1))->length = (uint32_t)rand();
			((struct rb_sge *)(w + 1))->lkey = (uint32_t)rand();
		}
		/* Whatever the engine read, it answered once, with something. */
		assert_int_equal(dt_poll(p.a.scq, &wc, 1, DT_TIMEOUT_MS), 1);
		assert_int_equal(wc.wr_id, 1);
		pair_close(&p);
	}
	daemon_serves();
}

/* UD: an AH handle that names nothing, or another client's AH. */
static void test_ud_bad_ah(void **state)
{
	struct pair p;
	struct rb_send_wqe *w;

	(void)state;
	assert_int_equal(pair_open(&p, IBV_QPT_UD), 0);
	w = sq_slot(p.qa, 0);
	memset(w, 0, sizeof(*w));
	w->wr_id = 5;
	w->opcode = IBV_WR_SEND;
	w->send_flags = IBV_SEND_SIGNALED;
	w->ah_handle = 0xdeadbeef;
	w->remote_qpn = p.qb->qp_num;
	w->remote_qkey = DT_QKEY;
	publish(p.qa, ((struct rbc_qp *)p.qa)->sq, 1);
	expect_error(p.a.scq, 5, IBV_WC_LOC_QP_OP_ERR);
	pair_close(&p);
	daemon_serves();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_wqes),
		cmocka_unit_test(test_foreign_keys),
		cmocka_unit_test(test_wild_indices),
		cmocka_unit_test(test_wqe_changed_after_doorbell),
		cmocka_unit_test(test_ud_bad_ah),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
