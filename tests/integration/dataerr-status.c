/* SPDX-License-Identifier: MIT */
/*
 * Error completions of the soft device's RC data path, through a real
 * daemon (tests/integration/dataerr-status.sh): every case connects two
 * QPs of two contexts (two clients) and checks the error completion
 * (status, wr_id, qp_num), the flush of the WRs behind it, the QP states
 * from ibv_query_qp, and the async event the contract names:
 *   - local protection and length errors at the requester;
 *   - remote access errors (bad rkey, bounds, MR or QP access flags,
 *     another PD's MR) and misaligned atomics, which also move the
 *     responder to ERR with IBV_EVENT_QP_ACCESS_ERR / IBV_EVENT_QP_REQ_ERR;
 *   - receive errors at the responder (too small, bad SGE).
 * With RB_DATAERR_DEVICE_ONLY set (the verbs driver over a nested broker)
 * the receive cases with a bad SGE are left out: the broker refuses such
 * a WQE at post time, before any device sees it.
 * Every wait is bounded, so a missing completion or event fails the case.
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

/* ---- local errors at the requester ------------------------------------ */

struct local_case {
	const char *name;
	enum ibv_wr_opcode op;
	enum key_kind key;
	long off;
	uint32_t len;
	enum ibv_wc_status want;
};

static const struct local_case local_cases[] = {
	{ "send_bad_lkey", IBV_WR_SEND, KEY_BAD, 0, 64, IBV_WC_LOC_PROT_ERR },
	{ "send_past_mr_end", IBV_WR_SEND, KEY_GOOD, BUF_SIZE - 32, 64, IBV_WC_LOC_PROT_ERR },
	{ "send_before_mr_start", IBV_WR_SEND, KEY_GOOD, -64, 64, IBV_WC_LOC_PROT_ERR },
	{ "send_other_pd_mr", IBV_WR_SEND, KEY_OTHER_PD, 0, 64, IBV_WC_LOC_PROT_ERR },
	{ "write_bad_lkey", IBV_WR_RDMA_WRITE, KEY_BAD, 0, 64, IBV_WC_LOC_PROT_ERR },
	{ "read_into_mr_without_local_write", IBV_WR_RDMA_READ, KEY_NO_LOCAL_WRITE, 0, 64,
	  IBV_WC_LOC_PROT_ERR },
	{ "read_past_mr_end", IBV_WR_RDMA_READ, KEY_GOOD, BUF_SIZE - 32, 64, IBV_WC_LOC_PROT_ERR },
	{ "read_other_pd_mr", IBV_WR_RDMA_READ, KEY_OTHER_PD, 0, 64, IBV_WC_LOC_PROT_ERR },
	{ "faa_into_mr_without_local_write", IBV_WR_ATOMIC_FETCH_AND_ADD,
	  KEY_NO_LOCAL_WRITE, 0, 8, IBV_WC_LOC_PROT_ERR },
	{ "cas_bad_lkey", IBV_WR_ATOMIC_CMP_AND_SWP, KEY_BAD, 0, 8, IBV_WC_LOC_PROT_ERR },
	{ "faa_sge_len_4", IBV_WR_ATOMIC_FETCH_AND_ADD, KEY_GOOD, 0, 4, IBV_WC_LOC_LEN_ERR },
	{ "cas_sge_len_16", IBV_WR_ATOMIC_CMP_AND_SWP, KEY_GOOD, 0, 16, IBV_WC_LOC_LEN_ERR },
};

/*
 * The failing WR completes with the local error, the two behind it (one
 * unsignaled) flush, the requester is in ERR; nothing reached the
 * responder: no completion, no event, its memory unchanged, still RTS.
 */
static void test_local(void **state)
{
	struct fix *f = *state;
	const struct local_case *c = f->row;
	struct pair_opts o = pair_defaults();
	struct ibv_send_wr wr[3];
	struct ibv_sge s[3];

	pair_open(f, &o);
	post_recv1(&f->b, 50, 8192, 1024);
	s[0] = sge_kind(&f->a, c->key, c->off, c->len);
	wr_set(&wr[0], 10, c->op, &s[0], 1);
	wr_remote(&wr[0], (uintptr_t)f->b.buf, f->b.mr->rkey);
	s[1] = sge_of(f->a.buf + 4096, 64, f->a.mr->lkey);
	wr_set(&wr[1], 11, IBV_WR_SEND, &s[1], 1);
	s[2] = s[1];
	wr_set(&wr[2], 12, IBV_WR_RDMA_WRITE, &s[2], 0);
	wr_remote(&wr[2], (uintptr_t)f->b.buf + 4096, f->b.mr->rkey);
	wr[0].next = &wr[1];
	wr[1].next = &wr[2];
	post_send_ok(f->a.qp, wr);

	expect_wc(f->a.cq, 10, c->want, f->a.qp->qp_num);
	expect_wc(f->a.cq, 11, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_wc(f->a.cq, 12, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_no_wc(f->a.cq, 0);
	expect_state(f->a.qp, IBV_QPS_ERR);

	expect_no_wc(f->b.cq, QUIET_MS);
	expect_no_async(f->b.ctx, 0);
	expect_state(f->b.qp, IBV_QPS_RTS);
	assert_true(all_bytes(f->b.buf, BUF_SIZE, PAT_B));
	/* The local destinations of READ and atomics stay as they were. */
	assert_true(all_bytes(f->a.buf, BUF_SIZE, PAT_A));
	assert_true(all_bytes(f->a.ro, BUF_SIZE, PAT_A));
	assert_true(all_bytes(f->a.buf2, BUF_SIZE, PAT_A));
}

/* ---- remote errors: the requester and the responder ------------------- */

struct remote_case {
	const char *name;
	enum ibv_wr_opcode op;
	int mr_access;			/* the responder's MR */
	int qp_access;			/* the responder's qp_access_flags */
	enum key_kind rkey;		/* KEY_GOOD, KEY_BAD or KEY_OTHER_PD */
	long off;			/* remote_addr - the MR's start */
	uint32_t len;
	enum ibv_wc_status want;
	enum ibv_event_type event;	/* at the responder */
};

#define NO_RW	(ACCESS_ALL & ~IBV_ACCESS_REMOTE_WRITE)
#define NO_RR	(ACCESS_ALL & ~IBV_ACCESS_REMOTE_READ)
#define NO_RA	(ACCESS_ALL & ~IBV_ACCESS_REMOTE_ATOMIC)
#define REM_ACC	IBV_WC_REM_ACCESS_ERR, IBV_EVENT_QP_ACCESS_ERR

static const struct remote_case remote_cases[] = {
	{ "write_bad_rkey", IBV_WR_RDMA_WRITE, ACCESS_ALL, ACCESS_ALL, KEY_BAD, 0, 64, REM_ACC },
	{ "read_bad_rkey", IBV_WR_RDMA_READ, ACCESS_ALL, ACCESS_ALL, KEY_BAD, 0, 64, REM_ACC },
	{ "faa_bad_rkey", IBV_WR_ATOMIC_FETCH_AND_ADD, ACCESS_ALL, ACCESS_ALL, KEY_BAD, 0, 8,
	  REM_ACC },
	{ "cas_bad_rkey", IBV_WR_ATOMIC_CMP_AND_SWP, ACCESS_ALL, ACCESS_ALL, KEY_BAD, 0, 8,
	  REM_ACC },
	{ "write_mr_without_remote_write", IBV_WR_RDMA_WRITE, NO_RW, ACCESS_ALL, KEY_GOOD, 0, 64,
	  REM_ACC },
	{ "read_mr_without_remote_read", IBV_WR_RDMA_READ, NO_RR, ACCESS_ALL, KEY_GOOD, 0, 64,
	  REM_ACC },
	{ "faa_mr_without_remote_atomic", IBV_WR_ATOMIC_FETCH_AND_ADD, NO_RA, ACCESS_ALL,
	  KEY_GOOD, 0, 8, REM_ACC },
	{ "write_past_mr_end", IBV_WR_RDMA_WRITE, ACCESS_ALL, ACCESS_ALL, KEY_GOOD,
	  BUF_SIZE - 32, 64, REM_ACC },
	{ "read_before_mr_start", IBV_WR_RDMA_READ, ACCESS_ALL, ACCESS_ALL, KEY_GOOD, -64, 64,
	  REM_ACC },
	{ "cas_past_mr_end", IBV_WR_ATOMIC_CMP_AND_SWP, ACCESS_ALL, ACCESS_ALL, KEY_GOOD,
	  BUF_SIZE, 8, REM_ACC },
	{ "write_other_pd_mr", IBV_WR_RDMA_WRITE, ACCESS_ALL, ACCESS_ALL, KEY_OTHER_PD, 0, 64,
	  REM_ACC },
	{ "faa_other_pd_mr", IBV_WR_ATOMIC_FETCH_AND_ADD, ACCESS_ALL, ACCESS_ALL, KEY_OTHER_PD,
	  0, 8, REM_ACC },
	{ "write_qp_without_remote_write", IBV_WR_RDMA_WRITE, ACCESS_ALL, NO_RW, KEY_GOOD, 0, 64,
	  REM_ACC },
	{ "read_qp_without_remote_read", IBV_WR_RDMA_READ, ACCESS_ALL, NO_RR, KEY_GOOD, 0, 64,
	  REM_ACC },
	{ "cas_qp_without_remote_atomic", IBV_WR_ATOMIC_CMP_AND_SWP, ACCESS_ALL, NO_RA,
	  KEY_GOOD, 0, 8, REM_ACC },
	{ "faa_misaligned", IBV_WR_ATOMIC_FETCH_AND_ADD, ACCESS_ALL, ACCESS_ALL, KEY_GOOD, 4, 8,
	  IBV_WC_REM_INV_REQ_ERR, IBV_EVENT_QP_REQ_ERR },
	{ "cas_misaligned", IBV_WR_ATOMIC_CMP_AND_SWP, ACCESS_ALL, ACCESS_ALL, KEY_GOOD, 12, 8,
	  IBV_WC_REM_INV_REQ_ERR, IBV_EVENT_QP_REQ_ERR },
};

/*
 * The requester gets the remote error, the WRs behind it flush, and it is
 * in ERR; the responder gets the async event, goes to ERR and flushes its
 * posted receive; no memory on either side changed.
 */
static void test_remote(void **state)
{
	struct fix *f = *state;
	const struct remote_case *c = f->row;
	struct pair_opts o = pair_defaults();
	struct ibv_send_wr wr[3];
	struct ibv_sge s[3];
	uintptr_t base;
	uint32_t rkey;

	o.mr_access[1] = c->mr_access;
	o.qp_access[1] = c->qp_access;
	pair_open(f, &o);
	post_recv1(&f->b, 50, 8192, 1024);
	base = (uintptr_t)(c->rkey == KEY_OTHER_PD ? f->b.buf2 : f->b.buf);
	rkey = c->rkey == KEY_BAD ? BAD_KEY :
	       c->rkey == KEY_OTHER_PD ? f->b.mr2->rkey : f->b.mr->rkey;
	s[0] = sge_of(f->a.buf, c->len, f->a.mr->lkey);
	wr_set(&wr[0], 10, c->op, &s[0], 1);
	wr_remote(&wr[0], base + (uintptr_t)c->off, rkey);
	s[1] = sge_of(f->a.buf + 4096, 64, f->a.mr->lkey);
	wr_set(&wr[1], 11, IBV_WR_RDMA_WRITE, &s[1], 1);
	wr_remote(&wr[1], (uintptr_t)f->b.buf + 4096, f->b.mr->rkey);
	s[2] = s[1];
	wr_set(&wr[2], 12, IBV_WR_SEND, &s[2], 0);
	wr[0].next = &wr[1];
	wr[1].next = &wr[2];
	post_send_ok(f->a.qp, wr);

	expect_wc(f->a.cq, 10, c->want, f->a.qp->qp_num);
	expect_wc(f->a.cq, 11, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_wc(f->a.cq, 12, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_no_wc(f->a.cq, 0);
	expect_state(f->a.qp, IBV_QPS_ERR);

	expect_async(f->b.ctx, c->event, f->b.qp);
	expect_wc(f->b.cq, 50, IBV_WC_WR_FLUSH_ERR, f->b.qp->qp_num);
	expect_no_wc(f->b.cq, 0);
	expect_state(f->b.qp, IBV_QPS_ERR);

	assert_true(all_bytes(f->b.buf, BUF_SIZE, PAT_B));
	assert_true(all_bytes(f->b.buf2, BUF_SIZE, PAT_B));
	assert_true(all_bytes(f->a.buf, BUF_SIZE, PAT_A));
}

/* ---- receive errors at the responder ---------------------------------- */

struct recv_case {
	const char *name;
	enum key_kind key;
	long off;
	uint32_t len;			/* of the receive; the SEND is 64 bytes */
	enum ibv_wc_status want_resp;
	enum ibv_wc_status want_req;
};

static const struct recv_case recv_cases[] = {
	{ "recv_too_small", KEY_GOOD, 0, 16, IBV_WC_LOC_LEN_ERR, IBV_WC_REM_INV_REQ_ERR },
	{ "recv_bad_lkey", KEY_BAD, 0, 1024, IBV_WC_LOC_PROT_ERR, IBV_WC_REM_OP_ERR },
	{ "recv_mr_without_local_write", KEY_NO_LOCAL_WRITE, 0, 1024, IBV_WC_LOC_PROT_ERR,
	  IBV_WC_REM_OP_ERR },
	{ "recv_past_mr_end", KEY_GOOD, BUF_SIZE - 32, 64, IBV_WC_LOC_PROT_ERR,
	  IBV_WC_REM_OP_ERR },
	{ "recv_other_pd_mr", KEY_OTHER_PD, 0, 1024, IBV_WC_LOC_PROT_ERR, IBV_WC_REM_OP_ERR },
};

/* Both ends complete with their error, flush what is behind, and go to ERR. */
static void test_recv(void **state)
{
	struct fix *f = *state;
	const struct recv_case *c = f->row;
	struct pair_opts o = pair_defaults();
	struct ibv_sge s;

	pair_open(f, &o);
	s = sge_kind(&f->b, c->key, c->off, c->len);
	post_recv_sge(f->b.qp, 50, &s);
	post_recv1(&f->b, 51, 8192, 1024);
	post_send1(&f->a, 10, 0, 64, 1);
	post_send1(&f->a, 11, 0, 64, 1);

	expect_wc(f->b.cq, 50, c->want_resp, f->b.qp->qp_num);
	expect_wc(f->b.cq, 51, IBV_WC_WR_FLUSH_ERR, f->b.qp->qp_num);
	expect_no_wc(f->b.cq, 0);
	expect_wc(f->a.cq, 10, c->want_req, f->a.qp->qp_num);
	expect_wc(f->a.cq, 11, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_no_wc(f->a.cq, 0);
	expect_state(f->a.qp, IBV_QPS_ERR);
	expect_state(f->b.qp, IBV_QPS_ERR);
	/* The good receive behind the bad one got nothing. */
	assert_true(all_bytes(f->b.buf + 8192, 1024, PAT_B));
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
	struct CMUnitTest t[NELEM(local_cases) + NELEM(remote_cases) + NELEM(recv_cases)];
	size_t n = 0;

	if (argc == 2)
		cmocka_set_test_filter(argv[1]);	/* a case by name, for debugging */
	else if (argc != 1) {
		fprintf(stderr, "usage: %s [CASE-PATTERN]\n", argv[0]);
		return 2;
	}
	ROWS(local_cases, test_local);
	ROWS(remote_cases, test_remote);
	if (getenv("RB_DATAERR_DEVICE_ONLY")) {
		/*
		 * Through the verbs driver (tests/integration/verbs-nest.sh): a receive
		 * WQE with an SGE outside the client's MRs is refused by the
		 * broker when it is posted, before the device sees it, so
		 * the sender meets a responder in ERR rather than a NAK.
		 * Only the receive error the device itself makes stays.
		 */
		t[n++] = (struct CMUnitTest){ recv_cases[0].name, test_recv, fix_setup,
					      fix_teardown, (void *)&recv_cases[0] };
	} else {
		ROWS(recv_cases, test_recv);
	}
	return _cmocka_run_group_tests("dataerr-status", t, n, NULL, NULL);
}
