/* SPDX-License-Identifier: MIT */
/*
 * The live connection of tests/hostile/roce-live.sh: an RC pair whose
 * two QPs are on two daemons in two network namespaces (RB_DT_SOCKETS,
 * tests/lib/datatest.c), path MTU 1024, PSNs from 0.  It writes the two
 * QP numbers to QPN_FILE, then runs rounds of a 4 KiB SEND, a 3000-byte
 * WRITE, a 5000-byte READ and a FETCH_AND_ADD, every byte and value
 * checked, until STOP_FILE exists (the hostile sender is done) and at
 * least 100 rounds are done (first, once, a SEND with invalidate of a
 * type 2 window bound at b), at most 20000 (so that the PSNs stay below
 * 2^20: the sender aims outside that); the QPs then stay until STOP_FILE
 * exists (30 s at most), for their counters to be read.  Exits 0 with "ROUNDS rounds", 1
 * on the first wrong byte, value or completion.
 *
 *   roce-live QPN_FILE STOP_FILE
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"

#define ROUNDS_MIN	100
#define ROUNDS_MAX	20000

static int fail(const char *what, unsigned int round)
{
	fprintf(stderr, "roce-live: round %u: %s\n", round, what);
	return 1;
}

/* One signaled WR of one SGE; its completion must be a success. */
static int run_wr(struct ibv_qp *qp, struct ibv_cq *cq, enum ibv_wr_opcode op, void *addr,
		  uint32_t len, uint32_t lkey, uint64_t raddr, uint32_t rkey, uint64_t add)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = { .wr_id = op, .sg_list = &sge, .num_sge = 1, .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED }, *bad;
	struct ibv_wc wc;
	char s[256];

	if (op == IBV_WR_ATOMIC_FETCH_AND_ADD) {
		wr.wr.atomic.remote_addr = raddr;
		wr.wr.atomic.rkey = rkey;
		wr.wr.atomic.compare_add = add;
	} else {
		wr.wr.rdma.remote_addr = raddr;
		wr.wr.rdma.rkey = rkey;
	}
	if (ibv_post_send(qp, &wr, &bad))
		return -1;
	if (dt_poll(cq, &wc, 1, DT_TIMEOUT_MS) != 1) {
		fprintf(stderr, "roce-live: no completion of opcode %d\n", op);
		return -1;
	}
	if (wc.status != IBV_WC_SUCCESS) {
		fprintf(stderr, "roce-live: %s\n", dt_wc_str(&wc, s, sizeof(s)));
		return -1;
	}
	return 0;
}

/*
 * SEND with invalidate across hosts: b binds a type 2 window through qb,
 * a sends with its rkey to invalidate (IETH), b's receive completes with
 * IBV_WC_WITH_INV and that rkey, and the window is unbound (binding it
 * again with the same key byte works only once it is free).
 */
static int send_inv(struct ibv_qp *qa, struct ibv_qp *qb, struct dt_node *a,
		    struct dt_node *b, struct dt_buf *la, struct dt_buf *lb)
{
	struct ibv_mw *mw = ibv_alloc_mw(b->pd, IBV_MW_TYPE_2);
	struct ibv_send_wr wr = { 0 }, *bad;
	struct ibv_sge sge = { .addr = (uintptr_t)la->p, .length = 64, .lkey = la->mr->lkey };
	struct ibv_wc wc;
	uint32_t rkey;
	char s[256];

	if (!mw)
		return -1;
	rkey = ibv_inc_rkey(mw->rkey);
	wr.wr_id = 1;
	wr.opcode = IBV_WR_BIND_MW;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.bind_mw.mw = mw;
	wr.bind_mw.rkey = rkey;
	wr.bind_mw.bind_info.mr = lb->mr;
	wr.bind_mw.bind_info.addr = (uintptr_t)lb->p + 40960;
	wr.bind_mw.bind_info.length = 4096;
	wr.bind_mw.bind_info.mw_access_flags = IBV_ACCESS_REMOTE_WRITE;
	if (ibv_post_send(qb, &wr, &bad) || dt_poll(b->scq, &wc, 1, DT_TIMEOUT_MS) != 1 ||
	    wc.status != IBV_WC_SUCCESS) {
		fprintf(stderr, "roce-live: bind: %s\n", dt_wc_str(&wc, s, sizeof(s)));
		return -1;
	}
	if (dt_post_recv(qb, 77, lb->p, 4096, lb->mr->lkey))
		return -1;
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 2;
	wr.opcode = IBV_WR_SEND_WITH_INV;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.invalidate_rkey = rkey;
	if (ibv_post_send(qa, &wr, &bad) || dt_poll(a->scq, &wc, 1, DT_TIMEOUT_MS) != 1 ||
	    wc.status != IBV_WC_SUCCESS) {
		fprintf(stderr, "roce-live: SEND_WITH_INV: %s\n", dt_wc_str(&wc, s, sizeof(s)));
		return -1;
	}
	if (dt_poll(b->rcq, &wc, 1, DT_TIMEOUT_MS) != 1 || wc.status != IBV_WC_SUCCESS ||
	    wc.wr_id != 77 || !(wc.wc_flags & IBV_WC_WITH_INV) || wc.invalidated_rkey != rkey) {
		fprintf(stderr, "roce-live: the receive of SEND_WITH_INV: %s\n",
			dt_wc_str(&wc, s, sizeof(s)));
		return -1;
	}
	ibv_dealloc_mw(mw);
	printf("SEND_WITH_INV invalidated rkey 0x%x\n", rkey);
	return 0;
}

int main(int argc, char **argv)
{
	struct dt_node a, b;
	struct dt_qp_opts o = dt_qp_opts_default();
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct dt_buf la, lb;
	struct ibv_qp *qa, *qb;
	uint64_t counter = 0, *word;
	unsigned int round;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: roce-live QPN_FILE STOP_FILE\n");
		return 2;
	}
	o.mtu = IBV_MTU_1024;
	if (dt_node_open(&a, 64, false) < 0 || dt_node_open(&b, 64, false) < 0 ||
	    dt_buf_alloc(&la, a.pd, 65536, DT_ACCESS_ALL) < 0 ||
	    dt_buf_alloc(&lb, b.pd, 65536, DT_ACCESS_ALL | IBV_ACCESS_MW_BIND) < 0)
		return 1;
	qa = dt_qp_create(&a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	qb = dt_qp_create(&b, IBV_QPT_RC, &cap, NULL, NULL, 0);
	if (!qa || !qb || dt_qp_connect(qa, qb, &o) < 0)
		return fail("connecting the pair", 0);
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%u %u\n", qa->qp_num, qb->qp_num) < 0 || fclose(f))
		return fail("writing the QP numbers", 0);
	if (send_inv(qa, qb, &a, &b, &la, &lb) < 0)
		return fail("SEND_WITH_INV", 0);
	word = (uint64_t *)(void *)(lb.p + 60000);
	*word = 0;
	for (round = 0; round < ROUNDS_MAX; round++) {
		struct ibv_wc wc;
		char s[256];
		long off;

		if (round >= ROUNDS_MIN && access(argv[2], F_OK) == 0)
			break;
		/* SEND: 4 packets, into a receive at b. */
		dt_fill(la.p, 4096, round * 4 + 1);
		memset(lb.p, 0, 4096);
		if (dt_post_recv(qb, round, lb.p, 4096, lb.mr->lkey) ||
		    run_wr(qa, a.scq, IBV_WR_SEND, la.p, 4096, la.mr->lkey, 0, 0, 0) < 0)
			return fail("SEND", round);
		if (dt_poll(b.rcq, &wc, 1, DT_TIMEOUT_MS) != 1 || wc.status != IBV_WC_SUCCESS ||
		    wc.byte_len != 4096 || wc.wr_id != round)
			return fail(dt_wc_str(&wc, s, sizeof(s)), round);
		if ((off = dt_verify(lb.p, 4096, round * 4 + 1)) >= 0)
			return fail("SEND data differs", round);
		/* WRITE: 3 packets into b's memory. */
		dt_fill(la.p + 8192, 3000, round * 4 + 2);
		if (run_wr(qa, a.scq, IBV_WR_RDMA_WRITE, la.p + 8192, 3000, la.mr->lkey,
			   (uintptr_t)lb.p + 8192, lb.mr->rkey, 0) < 0)
			return fail("WRITE", round);
		if (dt_verify(lb.p + 8192, 3000, round * 4 + 2) >= 0)
			return fail("WRITE data differs", round);
		/* READ: 5 response packets from b's memory. */
		dt_fill(lb.p + 16384, 5000, round * 4 + 3);
		memset(la.p + 16384, 0, 5000);
		if (run_wr(qa, a.scq, IBV_WR_RDMA_READ, la.p + 16384, 5000, la.mr->lkey,
			   (uintptr_t)lb.p + 16384, lb.mr->rkey, 0) < 0)
			return fail("READ", round);
		if (dt_verify(la.p + 16384, 5000, round * 4 + 3) >= 0)
			return fail("READ data differs", round);
		/* FETCH_AND_ADD: the value before, once. */
		if (run_wr(qa, a.scq, IBV_WR_ATOMIC_FETCH_AND_ADD, la.p + 32768, 8, la.mr->lkey,
			   (uintptr_t)word, lb.mr->rkey, round + 1) < 0)
			return fail("FETCH_AND_ADD", round);
		if (*(uint64_t *)(void *)(la.p + 32768) != counter)
			return fail("FETCH_AND_ADD returned a wrong value", round);
		counter += round + 1;
		if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != counter)
			return fail("FETCH_AND_ADD added twice or not at all", round);
	}
	/* The QPs stay until the runner has read their counters. */
	for (int i = 0; i < 3000 && access(argv[2], F_OK) != 0; i++)
		usleep(10000);
	printf("%u rounds\n", round);
	ibv_destroy_qp(qa);
	ibv_destroy_qp(qb);
	dt_buf_free(&la);
	dt_buf_free(&lb);
	dt_node_close(&a);
	dt_node_close(&b);
	return 0;
}
