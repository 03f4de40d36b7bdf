/* SPDX-License-Identifier: MIT */
/*
 * Flushes and overruns of the soft device's RC data path, through a real
 * daemon (tests/integration/dataerr-flush.sh), with two QPs of two
 * contexts (two clients): flush on ibv_modify_qp(ERR), and of WRs posted
 * in ERR; a SEND posted right before that modify still goes out; CQ
 * overrun as IBV_EVENT_CQ_ERR; a peer QP destroyed, before and after
 * sends are posted.  Every wait is bounded, so a missing completion or
 * event fails the case.
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

/* ---- flush --------------------------------------------------------------- */

static void expect_flush_in_order(struct ibv_cq *cq, uint32_t qpn,
				  const uint64_t *recv_ids, int nrecv,
				  const uint64_t *send_ids, int nsend)
{
	struct ibv_wc wc;
	int r = 0, s = 0, n;

	while (r < nrecv || s < nsend) {
		n = wc_wait(cq, &wc, WAIT_MS);
		if (n != 1)
			fail_msg("flush: %d of %d receives and %d of %d sends came", r,
				 nrecv, s, nsend);
		if (wc.status != IBV_WC_WR_FLUSH_ERR || wc.qp_num != qpn)
			fail_msg("flush: wr_id %" PRIu64 " %s on QP %#x, want %s on %#x",
				 wc.wr_id, ibv_wc_status_str(wc.status), wc.qp_num,
				 ibv_wc_status_str(IBV_WC_WR_FLUSH_ERR), qpn);
		/* Each queue completes in posting order. */
		if (r < nrecv && wc.wr_id == recv_ids[r])
			r++;
		else if (s < nsend && wc.wr_id == send_ids[s])
			s++;
		else
			fail_msg("flush: wr_id %" PRIu64 " out of order (next receive %"
				 PRIu64 ", next send %" PRIu64 ")", wc.wr_id,
				 r < nrecv ? recv_ids[r] : 0, s < nsend ? send_ids[s] : 0);
	}
	expect_no_wc(cq, 0);
}

/*
 * Five receives and three sends outstanding (the first SEND retrying RNR
 * forever, so the WRITE and SEND behind it wait): ibv_modify_qp(ERR)
 * flushes all of them in order, unsignaled ones too; WRs posted in ERR
 * flush as well.
 */
static void test_flush(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	struct ibv_qp_attr err = { .qp_state = IBV_QPS_ERR };
	static const uint64_t recvs[] = { 100, 101, 102, 103, 104 };
	static const uint64_t sends[] = { 200, 201, 202 };
	static const uint64_t recvs2[] = { 110, 111 };
	static const uint64_t sends2[] = { 210, 211, 212 };
	struct ibv_send_wr wr;
	struct ibv_sge s;
	int i;

	o.rnr_retry[0] = 7;
	o.min_rnr_timer[1] = 0;	/* 655 ms between retries */
	pair_open(f, &o);
	for (i = 0; i < 5; i++)
		post_recv1(&f->a, recvs[i], (size_t)i * 1024, 1024);
	post_send1(&f->a, 200, 0, 64, 1);
	s = sge_of(f->a.buf, 64, f->a.mr->lkey);
	wr_set(&wr, 201, IBV_WR_RDMA_WRITE, &s, 0);
	wr_remote(&wr, (uintptr_t)f->b.buf, f->b.mr->rkey);
	post_send_ok(f->a.qp, &wr);
	post_send1(&f->a, 202, 0, 64, 1);
	expect_no_wc(f->a.cq, 50);
	expect_state(f->a.qp, IBV_QPS_RTS);

	assert_int_equal(ibv_modify_qp(f->a.qp, &err, IBV_QP_STATE), 0);
	expect_flush_in_order(f->a.cq, f->a.qp->qp_num, recvs, 5, sends, 3);
	expect_state(f->a.qp, IBV_QPS_ERR);

	post_recv1(&f->a, 110, 0, 64);
	post_send1(&f->a, 210, 0, 64, 1);
	post_send1(&f->a, 211, 0, 64, 0);
	post_recv1(&f->a, 111, 0, 64);
	s = sge_of(f->a.buf, 64, f->a.mr->lkey);
	wr_set(&wr, 212, IBV_WR_RDMA_READ, &s, 0);
	wr_remote(&wr, (uintptr_t)f->b.buf, f->b.mr->rkey);
	post_send_ok(f->a.qp, &wr);
	expect_flush_in_order(f->a.cq, f->a.qp->qp_num, recvs2, 2, sends2, 3);
	expect_state(f->a.qp, IBV_QPS_ERR);
	/* Nothing went out: the delayed WRITE never landed. */
	assert_true(all_bytes(f->b.buf, BUF_SIZE, PAT_B));
}

/* ---- CQ overrun ----------------------------------------------------------- */

/*
 * A CQ of 4 entries nobody polls gets 10 signaled completions: one
 * IBV_EVENT_CQ_ERR for that CQ; the CQ then holds the first completions,
 * in order, and the rest are lost.
 */
static void test_cq_overrun(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	struct ibv_send_wr wr[16];
	struct ibv_sge s;
	struct ibv_wc wc;
	int i, n, cqe;

	o.cqe[0] = 4;
	pair_open(f, &o);
	cqe = f->a.cq->cqe;
	assert_true(cqe >= 4 && cqe <= 8);
	n = cqe + 6;
	assert_true(n <= 16);
	s = sge_of(f->a.buf, 8, f->a.mr->lkey);
	for (i = 0; i < n; i++) {
		wr_set(&wr[i], (uint64_t)i, IBV_WR_RDMA_WRITE, &s, 1);
		wr_remote(&wr[i], (uintptr_t)f->b.buf + 8 * (unsigned)i, f->b.mr->rkey);
		wr[i].next = i + 1 < n ? &wr[i + 1] : NULL;
	}
	post_send_ok(f->a.qp, wr);
	expect_async(f->a.ctx, IBV_EVENT_CQ_ERR, f->a.cq);
	/* Once per overrun episode. */
	expect_no_async(f->a.ctx, QUIET_MS);
	for (i = 0; ibv_poll_cq(f->a.cq, 1, &wc) == 1; i++) {
		if (wc.wr_id != (uint64_t)i || wc.status != IBV_WC_SUCCESS ||
		    wc.opcode != IBV_WC_RDMA_WRITE)
			fail_msg("completion %d: wr_id %" PRIu64 " %s opcode %d", i,
				 wc.wr_id, ibv_wc_status_str(wc.status), wc.opcode);
	}
	if (i != cqe)
		fail_msg("a CQ of %d entries held %d of %d completions after the overrun",
			 cqe, i, n);
	/* Every WRITE executed; only completions were lost. */
	assert_true(all_bytes(f->b.buf, 8 * (size_t)n, PAT_A));
}

/* ---- a peer QP destroyed -------------------------------------------------- */

/*
 * The peer of a QP is destroyed while that QP has a SEND retrying RNR, a
 * SEND behind it and two receives: IBV_EVENT_QP_FATAL after its transport
 * timeout (no RNR NAK comes any more), the first SEND completes
 * IBV_WC_RETRY_EXC_ERR, the rest flush, state ERR.
 */
static void test_peer_destroyed(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	static const uint64_t recvs[] = { 30, 31 };
	struct ibv_wc wc;
	int r = 0, sends = 0, i;

	o.rnr_retry[0] = 7;
	o.min_rnr_timer[1] = 0;
	pair_open(f, &o);
	post_recv1(&f->a, 30, 0, 1024);
	post_recv1(&f->a, 31, 1024, 1024);
	post_send1(&f->a, 1, 4096, 64, 1);
	post_send1(&f->a, 2, 4096, 64, 0);
	expect_no_wc(f->a.cq, 50);

	assert_int_equal(ibv_destroy_qp(f->b.qp), 0);
	f->b.qp = NULL;
	expect_async(f->a.ctx, IBV_EVENT_QP_FATAL, f->a.qp);
	for (i = 0; i < 4; i++) {
		if (wc_wait(f->a.cq, &wc, WAIT_MS) != 1)
			fail_msg("%d of 4 completions after the peer's destroy", i);
		assert_int_equal(wc.qp_num, f->a.qp->qp_num);
		if (r < 2 && wc.wr_id == recvs[r]) {
			assert_int_equal(wc.status, IBV_WC_WR_FLUSH_ERR);
			r++;
		} else if (sends == 0 && wc.wr_id == 1) {
			if (wc.status != IBV_WC_RETRY_EXC_ERR)
				fail_msg("first send: %s, want %s", ibv_wc_status_str(wc.status),
					 ibv_wc_status_str(IBV_WC_RETRY_EXC_ERR));
			sends++;
		} else if (sends == 1 && wc.wr_id == 2) {
			assert_int_equal(wc.status, IBV_WC_WR_FLUSH_ERR);
			sends++;
		} else {
			fail_msg("wr_id %" PRIu64 " %s out of order", wc.wr_id,
				 ibv_wc_status_str(wc.status));
		}
	}
	expect_no_wc(f->a.cq, 0);
	expect_state(f->a.qp, IBV_QPS_ERR);
}

/*
 * Sends posted after the peer QP was destroyed wait, as on a NIC where
 * nobody acknowledges them, for the transport timeout (timeout 16,
 * retry_cnt 7: about 2.1 s, far past the 100 ms looked at, even on a
 * loaded machine), not failing at once; then the first
 * completes IBV_WC_RETRY_EXC_ERR, the second flushes, state ERR.  (A
 * ping-pong partner that exits with one of our replies still posted
 * must not fail us before we polled what we needed: ibv_srq_pingpong.)
 */
static void test_peer_destroyed_then_send(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();

	o.timeout[0] = 16;
	pair_open(f, &o);
	assert_int_equal(ibv_destroy_qp(f->b.qp), 0);
	f->b.qp = NULL;
	post_send1(&f->a, 1, 4096, 64, 1);
	post_send1(&f->a, 2, 4096, 64, 1);
	expect_no_wc(f->a.cq, QUIET_MS);
	expect_state(f->a.qp, IBV_QPS_RTS);
	expect_async(f->a.ctx, IBV_EVENT_QP_FATAL, f->a.qp);
	expect_wc(f->a.cq, 1, IBV_WC_RETRY_EXC_ERR, f->a.qp->qp_num);
	expect_wc(f->a.cq, 2, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_no_wc(f->a.cq, 0);
	expect_state(f->a.qp, IBV_QPS_ERR);
}

/*
 * A SEND posted right before ibv_modify_qp(ERR), as rdma_disconnect
 * follows a program's last send, goes out: a NIC has taken it long
 * before the modify reaches its firmware, and the modify flushes only
 * what is left (the receive behind it).  Across hosts it may complete
 * flushed, unacknowledged, and is received all the same.  The race it
 * was lost in: the QP asleep (past spin_us) and the engine busy with
 * another QP's long WRITE, so that it reads doorbells and requests
 * together at its next poll of the loop; it then served the modify
 * before its next pass took the SEND.
 */
#define BIG_WRITE	(64u << 20)

static void test_err_takes_posted(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	struct ibv_qp_attr err = { .qp_state = IBV_QPS_ERR };
	static const uint64_t left[] = { 301 };
	struct end c = { 0 }, d = { 0 };
	struct ibv_mr *cm, *dm;
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	struct ibv_sge s;
	uint8_t *cb, *db;
	int i;

	cb = calloc(1, BIG_WRITE);
	db = calloc(1, BIG_WRITE);
	assert_non_null(cb);
	assert_non_null(db);
	assert_int_equal(end_open(&c, f->ctx[0], 16, ACCESS_ALL, PAT_A), 0);
	assert_int_equal(end_open(&d, f->ctx[1], 16, ACCESS_ALL, PAT_B), 0);
	assert_int_equal(pair_connect(&c, &d, &o), 0);
	cm = ibv_reg_mr(c.pd, cb, BIG_WRITE, ACCESS_ALL);
	dm = ibv_reg_mr(d.pd, db, BIG_WRITE, ACCESS_ALL);
	assert_non_null(cm);
	assert_non_null(dm);
	for (i = 0; i < 10; i++) {
		if (i)
			pair_close(f);
		pair_open(f, &o);
		post_recv1(&f->b, 300, 0, 64);
		post_recv1(&f->a, 301, 0, 64);
		usleep(20000);			/* both asleep */
		s = sge_of(cb, BIG_WRITE, cm->lkey);
		wr_set(&wr, 500, IBV_WR_RDMA_WRITE, &s, 1);
		wr_remote(&wr, (uintptr_t)db, dm->rkey);
		post_send_ok(c.qp, &wr);
		usleep(100);			/* the engine in the WRITE */
		post_send1(&f->a, 400, 64, 64, 1);
		assert_int_equal(ibv_modify_qp(f->a.qp, &err, IBV_QP_STATE), 0);
		/* Across hosts (two daemons) it went out unacknowledged: it
		 * flushes, as on a NIC, and is received all the same. */
		assert_int_equal(wc_wait(f->a.cq, &wc, WAIT_MS), 1);
		if (wc.wr_id != 400 || wc.qp_num != f->a.qp->qp_num ||
		    (wc.status != IBV_WC_SUCCESS &&
		     (!f->list2 || wc.status != IBV_WC_WR_FLUSH_ERR)))
			fail_msg("round %d: the SEND completed wr_id %" PRIu64 " %s", i,
				 wc.wr_id, ibv_wc_status_str(wc.status));
		expect_flush_in_order(f->a.cq, f->a.qp->qp_num, left, 1, NULL, 0);
		expect_wc(f->b.cq, 300, IBV_WC_SUCCESS, f->b.qp->qp_num);
		assert_true(all_bytes(f->b.buf, 64, PAT_A));
		assert_true(all_bytes(f->b.buf + 64, BUF_SIZE - 64, PAT_B));
		expect_wc(c.cq, 500, IBV_WC_SUCCESS, c.qp->qp_num);
	}
	ibv_dereg_mr(cm);
	ibv_dereg_mr(dm);
	end_close(&c);
	end_close(&d);
	free(cb);
	free(db);
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
	struct CMUnitTest t[5];
	size_t n = 0;

	if (argc == 2)
		cmocka_set_test_filter(argv[1]);	/* a case by name, for debugging */
	else if (argc != 1) {
		fprintf(stderr, "usage: %s [CASE-PATTERN]\n", argv[0]);
		return 2;
	}
	ONE(test_flush);
	ONE(test_cq_overrun);
	ONE(test_peer_destroyed);
	ONE(test_peer_destroyed_then_send);
	ONE(test_err_takes_posted);
	return _cmocka_run_group_tests("dataerr-flush", t, n, NULL, NULL);
}
