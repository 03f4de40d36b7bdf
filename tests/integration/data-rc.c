/* SPDX-License-Identifier: MIT */
/*
 * The RC opcodes of the soft device through librdmabroker and a real
 * daemon (tests/integration/data-rc.sh), against librdmabroker(7) (THE DATA
 * PATH): SEND, RDMA WRITE (with immediate), RDMA READ, atomics.
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

/* ------------------------------------------------------------ RC opcodes */

/* SEND and SEND_WITH_IMM of 1 B, 3000 B (3 MTUs of 1024) and 1 MiB, and a
 * zero-length SEND_WITH_IMM. */
static void test_rc_send(void **state)
{
	static const uint32_t sizes[] = { 1, 3000, 1u << 20, 0 };
	struct dt_qp_opts o = dt_qp_opts_default();
	struct pair p;
	struct dt_buf *src, *dst;
	struct ibv_wc wc;
	const size_t cap = (1u << 20) + 4096;

	(void)state;
	o.mtu = IBV_MTU_1024;
	p = pair_make(IBV_QPT_RC, 64, cap_std(), 0, &o);
	src = buf(p.a, cap, IBV_ACCESS_LOCAL_WRITE);
	dst = buf(p.b, cap, IBV_ACCESS_LOCAL_WRITE);
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int imm = 0; imm < 2; imm++) {
			uint32_t n = sizes[i], seed = 10 + i * 2 + (uint32_t)imm;
			uint64_t id = 1000 + i * 2 + (uint64_t)imm;

			if (n == 0 && !imm)
				continue;
			dt_fill(src->p, n, seed);
			memset(dst->p, 0xee, cap);
			assert_int_equal(dt_post_recv(p.qb, id + 7, dst->p, (uint32_t)cap,
						      dst->mr->lkey), 0);
			assert_int_equal(post1(p.qa, id, imm ? IBV_WR_SEND_WITH_IMM : IBV_WR_SEND,
					       SIG, src->p, n, src->mr->lkey, 0, 0,
					       0x01020304u + i), 0);
			POLL(p.b->rcq, &wc, 1);
			CHECK_WC(&wc, resp_wc(id + 7, IBV_WC_RECV, n, imm ? IBV_WC_WITH_IMM : 0,
					      0x01020304u + i, p.qb, p.qa), DT_WC_RESP);
			POLL(p.a->scq, &wc, 1);
			CHECK_WC(&wc, req_wc(id, IBV_WC_SEND, n, p.qa), DT_WC_REQ);
			CHECK_DATA(dst->p, n, seed);
			CHECK_BYTES(dst->p + n, cap - n, 0xee);
		}
	}
	QUIET(p.a->scq);
	QUIET(p.b->rcq);
	QUIET(p.b->scq);
}

/* RDMA_WRITE lands at the offset, touches nothing else, consumes no
 * receive and completes nothing at the responder. */
static void test_rc_write(void **state)
{
	struct pair p = pair_make(IBV_QPT_RC, 64, cap_std(), 0, NULL);
	struct dt_buf *src = buf(p.a, 8192, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *dst = buf(p.b, 3 * 8192, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	struct dt_buf *rb = buf(p.b, 64, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_wc wc;

	(void)state;
	memset(dst->p, 0xee, dst->len);
	dt_fill(src->p, 8192, 21);
	assert_int_equal(dt_post_recv(p.qb, 55, rb->p, 64, rb->mr->lkey), 0);
	/* Across a page boundary of the target. */
	assert_int_equal(post1(p.qa, 1, IBV_WR_RDMA_WRITE, SIG, src->p, 8000,
			       src->mr->lkey, raddr_of(dst, 4000), dst->mr->rkey, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_RDMA_WRITE, 8000, p.qa), DT_WC_REQ);
	CHECK_BYTES(dst->p, 4000, 0xee);
	CHECK_DATA(dst->p + 4000, 8000, 21);
	CHECK_BYTES(dst->p + 12000, dst->len - 12000, 0xee);
	QUIET(p.b->rcq);
	QUIET(p.b->scq);

	/* The receive posted before is still the first one there. */
	assert_int_equal(post1(p.qa, 2, IBV_WR_SEND, SIG, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(55, IBV_WC_RECV, 8, 0, 0, p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_SEND, 8, p.qa), DT_WC_REQ);
}

/* RDMA_WRITE_WITH_IMM consumes a receive (whose buffer stays untouched):
 * IBV_WC_RECV_RDMA_WITH_IMM, byte_len written, imm; also zero-length. */
static void test_rc_write_imm(void **state)
{
	struct pair p = pair_make(IBV_QPT_RC, 64, cap_std(), 0, NULL);
	struct dt_buf *src = buf(p.a, 8192, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *dst = buf(p.b, 8192, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	struct dt_buf *rb = buf(p.b, 4096, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_wc wc;

	(void)state;
	memset(dst->p, 0xee, dst->len);
	memset(rb->p, 0xcc, rb->len);
	dt_fill(src->p, 4000, 31);
	assert_int_equal(dt_post_recv(p.qb, 70, rb->p, 4096, rb->mr->lkey), 0);
	assert_int_equal(dt_post_recv(p.qb, 71, rb->p, 4096, rb->mr->lkey), 0);
	assert_int_equal(post1(p.qa, 1, IBV_WR_RDMA_WRITE_WITH_IMM, SIG, src->p, 4000,
			       src->mr->lkey, raddr_of(dst, 16), dst->mr->rkey, 0xdeadbeef), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(70, IBV_WC_RECV_RDMA_WITH_IMM, 4000, IBV_WC_WITH_IMM,
			      0xdeadbeef, p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_RDMA_WRITE, 4000, p.qa), DT_WC_REQ);
	CHECK_BYTES(dst->p, 16, 0xee);
	CHECK_DATA(dst->p + 16, 4000, 31);
	CHECK_BYTES(dst->p + 4016, dst->len - 4016, 0xee);
	CHECK_BYTES(rb->p, rb->len, 0xcc);

	/* Zero bytes: only the immediate. */
	assert_int_equal(post1(p.qa, 2, IBV_WR_RDMA_WRITE_WITH_IMM, SIG, NULL, 0, 0,
			       raddr_of(dst, 0), dst->mr->rkey, 7), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(71, IBV_WC_RECV_RDMA_WITH_IMM, 0, IBV_WC_WITH_IMM, 7,
			      p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_RDMA_WRITE, 0, p.qa), DT_WC_REQ);
	CHECK_BYTES(dst->p, 16, 0xee);
	CHECK_BYTES(rb->p, rb->len, 0xcc);
	QUIET(p.b->rcq);
}

/* RDMA_READ of 6000 B and of 256 KiB: data, byte_len; the responder sees
 * nothing. */
static void test_rc_read(void **state)
{
	struct pair p = pair_make(IBV_QPT_RC, 64, cap_std(), 0, NULL);
	struct dt_buf *loc = buf(p.a, 300000, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rem = buf(p.b, 300000, IBV_ACCESS_REMOTE_READ);
	struct ibv_wc wc;

	(void)state;
	dt_fill(rem->p, rem->len, 41);
	memset(loc->p, 0xee, loc->len);
	assert_int_equal(post1(p.qa, 1, IBV_WR_RDMA_READ, SIG, loc->p + 10, 6000,
			       loc->mr->lkey, raddr_of(rem, 0), rem->mr->rkey, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_RDMA_READ, 6000, p.qa), DT_WC_REQ);
	CHECK_BYTES(loc->p, 10, 0xee);
	CHECK_DATA(loc->p + 10, 6000, 41);
	CHECK_BYTES(loc->p + 6010, loc->len - 6010, 0xee);

	memset(loc->p, 0xee, loc->len);
	assert_int_equal(post1(p.qa, 2, IBV_WR_RDMA_READ, SIG, loc->p, 256 * 1024,
			       loc->mr->lkey, raddr_of(rem, 0), rem->mr->rkey, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_RDMA_READ, 256 * 1024, p.qa), DT_WC_REQ);
	CHECK_DATA(loc->p, 256 * 1024, 41);
	CHECK_BYTES(loc->p + 256 * 1024, loc->len - 256 * 1024, 0xee);
	QUIET(p.b->rcq);
	QUIET(p.b->scq);
	/* The source was only read. */
	CHECK_DATA(rem->p, rem->len, 41);
}

/*
 * Transfers of 1 MiB and more, which the engine moves in steps (256 KiB
 * for a QP alone, drivers/soft/soft-sched.c) whose edges fall inside the
 * SGEs: a WRITE from three SGEs of odd lengths at odd offsets to an odd
 * remote offset, a READ into two SGEs, and a SEND into a receive of two
 * SGEs; every byte lands, none around it is touched.
 */
static struct ibv_sge sge_at(const struct dt_buf *b, size_t off, uint32_t len)
{
	return (struct ibv_sge){ .addr = (uintptr_t)(b->p + off), .length = len,
				 .lkey = b->mr->lkey };
}

/* A signaled RDMA WR of n SGEs to rem + off. */
static struct ibv_send_wr rdma_wr(uint64_t id, enum ibv_wr_opcode op, struct ibv_sge *sge,
				  int n, const struct dt_buf *rem, size_t off)
{
	struct ibv_send_wr wr = { .wr_id = id, .sg_list = sge, .num_sge = n, .opcode = op,
				  .send_flags = SIG };

	wr.wr.rdma.remote_addr = raddr_of(rem, off);
	wr.wr.rdma.rkey = rem->mr->rkey;
	return wr;
}

static void test_rc_large_odd(void **state)
{
	const uint32_t big = (1u << 20) + 4099, len = 3 * big + 64;
	struct pair p = pair_make(IBV_QPT_RC, 64, cap_std(), 0, NULL);
	struct dt_buf *loc = buf(p.a, len, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rem = buf(p.b, len, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
					     IBV_ACCESS_REMOTE_READ);
	uint32_t l[3] = { 17, big - 40, 23 }, total = l[0] + l[1] + l[2];
	struct ibv_sge sge[3];
	struct ibv_send_wr wr, *bad = NULL;
	struct ibv_recv_wr rwr, *rbad = NULL;
	struct ibv_wc wc;

	(void)state;
	/* WRITE: loc + 5 (17 B), loc + 1000 (big - 40), loc + 2 * big (23 B)
	 * -> rem + 13, one run of total bytes. */
	dt_fill(loc->p, loc->len, 51);
	memset(rem->p, 0xee, rem->len);
	sge[0] = sge_at(loc, 5, l[0]);
	sge[1] = sge_at(loc, 1000, l[1]);
	sge[2] = sge_at(loc, 2 * big, l[2]);
	wr = rdma_wr(1, IBV_WR_RDMA_WRITE, sge, 3, rem, 13);
	assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_RDMA_WRITE, total, p.qa), DT_WC_REQ);
	CHECK_BYTES(rem->p, 13, 0xee);
	for (int i = 0, at = 13; i < 3; at += (int)l[i], i++)
		assert_int_equal(memcmp(rem->p + at, (const void *)(uintptr_t)sge[i].addr, l[i]), 0);
	CHECK_BYTES(rem->p + 13 + total, rem->len - 13 - total, 0xee);

	/* READ: rem + 3 (big + 9 B) -> loc + 7 (big - 1) and loc + big + 61 (10). */
	dt_fill(rem->p, rem->len, 52);
	memset(loc->p, 0xee, loc->len);
	sge[0] = sge_at(loc, 7, big - 1);
	sge[1] = sge_at(loc, big + 61, 10);
	wr = rdma_wr(2, IBV_WR_RDMA_READ, sge, 2, rem, 3);
	assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_RDMA_READ, big + 9, p.qa), DT_WC_REQ);
	CHECK_BYTES(loc->p, 7, 0xee);
	assert_int_equal(memcmp(loc->p + 7, rem->p + 3, big - 1), 0);
	CHECK_BYTES(loc->p + 6 + big, 55, 0xee);
	assert_int_equal(memcmp(loc->p + big + 61, rem->p + 2 + big, 10), 0);
	CHECK_BYTES(loc->p + big + 71, loc->len - big - 71, 0xee);

	/* SEND: loc + 1 (2 * big + 1 B) -> receive of rem + 9 (big) and
	 * rem + big + 200 (the rest and 50 B to spare). */
	dt_fill(loc->p, loc->len, 53);
	memset(rem->p, 0xee, rem->len);
	sge[0] = sge_at(rem, 9, big);
	sge[1] = sge_at(rem, big + 200, big + 51);
	rwr = (struct ibv_recv_wr){ .wr_id = 30, .sg_list = sge, .num_sge = 2 };
	assert_int_equal(ibv_post_recv(p.qb, &rwr, &rbad), 0);
	assert_int_equal(post1(p.qa, 3, IBV_WR_SEND, SIG, loc->p + 1, 2 * big + 1,
			       loc->mr->lkey, 0, 0, 0), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(30, IBV_WC_RECV, 2 * big + 1, 0, 0, p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(3, IBV_WC_SEND, 2 * big + 1, p.qa), DT_WC_REQ);
	CHECK_BYTES(rem->p, 9, 0xee);
	assert_int_equal(memcmp(rem->p + 9, loc->p + 1, big), 0);
	CHECK_BYTES(rem->p + 9 + big, 191, 0xee);
	assert_int_equal(memcmp(rem->p + big + 200, loc->p + 1 + big, big + 1), 0);
	CHECK_BYTES(rem->p + 2 * big + 201, rem->len - 2 * big - 201, 0xee);
	QUIET(p.a->scq);
	QUIET(p.b->rcq);
}

/* Compare-and-swap (match and mismatch) and fetch-and-add on a 64-bit
 * word between two others: the old value comes back, byte_len 8. */
static void test_rc_atomics(void **state)
{
	struct pair p = pair_make(IBV_QPT_RC, 64, cap_std(), 0, NULL);
	struct dt_buf *res = buf(p.a, 64, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rem = buf(p.b, 64, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_ATOMIC);
	uint64_t *word = (uint64_t *)(rem->p + 8), *out = (uint64_t *)(res->p + 16);
	const uint64_t v0 = 0x1111222233334444ull, v1 = 0xaaaabbbbccccddddull;
	struct ibv_wc wc;

	(void)state;
	memset(rem->p, 0x5a, rem->len);
	memset(res->p, 0xee, res->len);
	*word = v0;

	/* Match: swapped. */
	assert_int_equal(post_atomic(p.qa, 1, IBV_WR_ATOMIC_CMP_AND_SWP, SIG, out,
				     res->mr->lkey, raddr_of(rem, 8), rem->mr->rkey, v0, v1), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_COMP_SWAP, 8, p.qa), DT_WC_REQ);
	assert_int_equal(*out, v0);
	assert_int_equal(*word, v1);

	/* Mismatch: unchanged, the current value comes back. */
	*out = 0;
	assert_int_equal(post_atomic(p.qa, 2, IBV_WR_ATOMIC_CMP_AND_SWP, SIG, out,
				     res->mr->lkey, raddr_of(rem, 8), rem->mr->rkey, v0, 77), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_COMP_SWAP, 8, p.qa), DT_WC_REQ);
	assert_int_equal(*out, v1);
	assert_int_equal(*word, v1);

	/* Fetch and add, twice (the second sees the first). */
	assert_int_equal(post_atomic(p.qa, 3, IBV_WR_ATOMIC_FETCH_AND_ADD, SIG, out,
				     res->mr->lkey, raddr_of(rem, 8), rem->mr->rkey, 0x10, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(3, IBV_WC_FETCH_ADD, 8, p.qa), DT_WC_REQ);
	assert_int_equal(*out, v1);
	assert_int_equal(*word, v1 + 0x10);
	assert_int_equal(post_atomic(p.qa, 4, IBV_WR_ATOMIC_FETCH_AND_ADD, SIG, out,
				     res->mr->lkey, raddr_of(rem, 8), rem->mr->rkey,
				     (uint64_t)-1, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(4, IBV_WC_FETCH_ADD, 8, p.qa), DT_WC_REQ);
	assert_int_equal(*out, v1 + 0x10);
	assert_int_equal(*word, v1 + 0xf);

	/* Nothing around the words moved. */
	CHECK_BYTES(rem->p, 8, 0x5a);
	CHECK_BYTES(rem->p + 16, rem->len - 16, 0x5a);
	CHECK_BYTES(res->p, 16, 0xee);
	CHECK_BYTES(res->p + 24, res->len - 24, 0xee);
	QUIET(p.b->rcq);
	QUIET(p.b->scq);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, NULL, cleanup)
	const struct CMUnitTest tests[] = {
		T_(test_rc_send),
		T_(test_rc_write),
		T_(test_rc_write_imm),
		T_(test_rc_read),
		T_(test_rc_large_odd),
		T_(test_rc_atomics),
	};
#undef T_
	uint64_t t0 = dt_now_ms();
	int ret;

	/* A hang anywhere fails the run instead of the suite's timeout. */
	alarm(120);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr, "data-rc: %llu ms\n", (unsigned long long)(dt_now_ms() - t0));
	return ret;
}
