/* SPDX-License-Identifier: MIT */
/*
 * The data path of the soft device through librdmabroker and a real daemon
 * (tests/integration/data.sh), checked against the contract in librdmabroker(7)
 * (THE DATA PATH, COMPLETION ERRORS).  Every case uses two or more clients (device
 * contexts, i.e. daemon connections) with their own PD, MRs and CQs, QPs
 * brought to RTS, and checks data byte for byte and every defined field of
 * every completion on both sides.  A missing completion fails after
 * DT_TIMEOUT_MS; "nothing comes" is watched for DT_QUIET_MS.
 * RB_DATA_SOLICITED_EARLY: the device may raise a solicited-only event
 * for any receive (tests/integration/verbs-nest.sh, the verbs driver).
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

/* ------------------------------------------------------------ fixtures */

/*
 * Everything a case makes is recorded here, so the per-case teardown frees
 * it even when an assertion left the case half way.
 */
static struct {
	struct dt_node node[6];
	int nnode;
	struct dt_buf buf[64];
	int nbuf;
	struct ibv_qp *qp[16];
	int nqp;
	struct ibv_srq *srq[4];
	int nsrq;
	struct ibv_ah *ah[4];
	int nah;
	struct ibv_cq *cq[4];
	int ncq;
} T;

static int cleanup(void **state)
{
	(void)state;
	while (T.nqp)
		ibv_destroy_qp(T.qp[--T.nqp]);
	while (T.nsrq)
		ibv_destroy_srq(T.srq[--T.nsrq]);
	while (T.nah)
		ibv_destroy_ah(T.ah[--T.nah]);
	while (T.nbuf)
		dt_buf_free(&T.buf[--T.nbuf]);
	while (T.ncq)
		ibv_destroy_cq(T.cq[--T.ncq]);
	while (T.nnode)
		dt_node_close(&T.node[--T.nnode]);
	return 0;
}

static struct dt_node *node(int cqe, bool channel)
{
	struct dt_node *n;

	assert_true(T.nnode < (int)(sizeof(T.node) / sizeof(T.node[0])));
	n = &T.node[T.nnode];
	assert_int_equal(dt_node_open(n, cqe, channel), 0);
	T.nnode++;
	return n;
}

static struct dt_buf *buf(struct dt_node *n, size_t len, int access)
{
	struct dt_buf *b;

	assert_true(T.nbuf < (int)(sizeof(T.buf) / sizeof(T.buf[0])));
	b = &T.buf[T.nbuf];
	assert_int_equal(dt_buf_alloc(b, n->pd, len, access), 0);
	T.nbuf++;
	return b;
}

static struct ibv_qp *qp(struct dt_node *n, enum ibv_qp_type type,
			 struct ibv_qp_cap *cap, struct ibv_cq *rcq,
			 struct ibv_srq *srq, int sq_sig_all)
{
	struct ibv_qp *q;

	assert_true(T.nqp < (int)(sizeof(T.qp) / sizeof(T.qp[0])));
	q = dt_qp_create(n, type, cap, rcq, srq, sq_sig_all);
	assert_non_null(q);
	T.qp[T.nqp++] = q;
	return q;
}

static struct ibv_srq *srq_make(struct dt_node *n, uint32_t max_wr, uint32_t max_sge)
{
	struct ibv_srq_init_attr a = { .attr = { .max_wr = max_wr, .max_sge = max_sge } };
	struct ibv_srq *s = ibv_create_srq(n->pd, &a);

	assert_non_null(s);
	T.srq[T.nsrq++] = s;
	return s;
}

static struct ibv_ah *ah_make(struct dt_node *n, struct dt_node *to)
{
	struct ibv_ah *ah = dt_ah_create(n->pd, to->ctx);

	assert_non_null(ah);
	T.ah[T.nah++] = ah;
	return ah;
}

/* The capabilities most cases ask for. */
static struct ibv_qp_cap cap_std(void)
{
	struct ibv_qp_cap c = {
		.max_send_wr = 64, .max_recv_wr = 64, .max_send_sge = 4,
		.max_recv_sge = 4, .max_inline_data = 64,
	};

	return c;
}

/* Two clients, a QP of `type` on each, connected (RC, UC) or at RTS (UD). */
struct pair {
	struct dt_node *a, *b;
	struct ibv_qp *qa, *qb;
	struct ibv_qp_cap cap;		/* as granted to qa */
};

static struct pair pair_make(enum ibv_qp_type type, int cqe, struct ibv_qp_cap cap,
			     int sq_sig_all, const struct dt_qp_opts *o)
{
	struct pair p;
	struct ibv_qp_cap cb = cap;

	p.a = node(cqe, false);
	p.b = node(cqe, false);
	p.qa = qp(p.a, type, &cap, NULL, NULL, sq_sig_all);
	p.qb = qp(p.b, type, &cb, NULL, NULL, sq_sig_all);
	p.cap = cap;
	if (type == IBV_QPT_UD) {
		assert_int_equal(dt_qp_to_rts(p.qa, NULL, 0, o), 0);
		assert_int_equal(dt_qp_to_rts(p.qb, NULL, 0, o), 0);
	} else {
		assert_int_equal(dt_qp_connect(p.qa, p.qb, o), 0);
	}
	return p;
}

/* ------------------------------------------------------------ checks */

#define POLL(cq, wc, n) do {						\
		int want_ = (n);					\
		int got_ = dt_poll((cq), (wc), want_, DT_TIMEOUT_MS);	\
		if (got_ != want_)					\
			fail_msg("%s:%d: %d of %d completions within %d ms", \
				 __FILE__, __LINE__, got_, want_, DT_TIMEOUT_MS); \
	} while (0)

#define QUIET(cq) do {							\
		struct ibv_wc q_;					\
		char s_[256];						\
		if (dt_poll_quiet((cq), &q_, DT_QUIET_MS))		\
			fail_msg("%s:%d: unexpected completion %s", __FILE__, \
				 __LINE__, dt_wc_str(&q_, s_, sizeof(s_))); \
	} while (0)

#define CHECK_WC(got, want, mask) do {					\
		char why_[1024];					\
		struct ibv_wc w_ = (want);				\
		if (dt_wc_check((got), &w_, (mask), why_, sizeof(why_))) \
			fail_msg("%s:%d: completion %s", __FILE__, __LINE__, why_); \
	} while (0)

/* The data at p is dt_fill(seed) for len bytes. */
#define CHECK_DATA(p, len, seed) do {					\
		long at_ = dt_verify((p), (len), (seed));		\
		if (at_ >= 0)						\
			fail_msg("%s:%d: data differs at byte %ld of %zu", \
				 __FILE__, __LINE__, at_, (size_t)(len)); \
	} while (0)

/* Every byte of [p, p+len) is c. */
#define CHECK_BYTES(p, len, c) do {					\
		const uint8_t *p_ = (const uint8_t *)(p);		\
		for (size_t i_ = 0; i_ < (size_t)(len); i_++)		\
			if (p_[i_] != (uint8_t)(c))			\
				fail_msg("%s:%d: byte %zu is 0x%02x, want 0x%02x", \
					 __FILE__, __LINE__, i_, p_[i_], (uint8_t)(c)); \
	} while (0)

/* A requester's successful completion. */
static struct ibv_wc req_wc(uint64_t wr_id, enum ibv_wc_opcode op, uint32_t len,
			    const struct ibv_qp *q)
{
	struct ibv_wc w = {
		.wr_id = wr_id, .status = IBV_WC_SUCCESS, .opcode = op,
		.byte_len = len, .qp_num = q->qp_num, .wc_flags = 0,
	};

	return w;
}

/* A responder's successful completion (imm in host order). */
static struct ibv_wc resp_wc(uint64_t wr_id, enum ibv_wc_opcode op, uint32_t len,
			     unsigned int flags, uint32_t imm,
			     const struct ibv_qp *q, const struct ibv_qp *src)
{
	struct ibv_wc w = {
		.wr_id = wr_id, .status = IBV_WC_SUCCESS, .opcode = op,
		.byte_len = len, .qp_num = q->qp_num, .src_qp = src->qp_num,
		.wc_flags = flags, .imm_data = (flags & IBV_WC_WITH_IMM) ? htobe32(imm) : 0,
		.pkey_index = 0, .slid = 0, .sl = 0,
	};

	return w;
}

/* ------------------------------------------------------------ posting */

/*
 * One send WR of one SGE (none when len is 0); imm in host order.  The
 * return value is ibv_post_send's; *bad_ok says whether bad_wr was right
 * (untouched on success, this WR on failure).  No assertion: threads use it.
 */
static int post1_raw(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op,
		     unsigned int flags, void *addr, uint32_t len, uint32_t lkey,
		     uint64_t raddr, uint32_t rkey, uint32_t imm, bool *bad_ok)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id, .sg_list = &sge, .num_sge = len ? 1 : 0,
		.opcode = op, .send_flags = flags, .imm_data = htobe32(imm),
	}, *bad = NULL;
	int ret;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	ret = ibv_post_send(q, &wr, &bad);
	*bad_ok = ret ? bad == &wr : true;
	return ret;
}

static int post1(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op,
		 unsigned int flags, void *addr, uint32_t len, uint32_t lkey,
		 uint64_t raddr, uint32_t rkey, uint32_t imm)
{
	bool bad_ok;
	int ret = post1_raw(q, wr_id, op, flags, addr, len, lkey, raddr, rkey, imm, &bad_ok);

	if (!bad_ok)
		fail_msg("ibv_post_send: %s, bad_wr not the failing WR", strerror(ret));
	return ret;
}

static int post_atomic(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op,
		       unsigned int flags, void *addr, uint32_t lkey, uint64_t raddr,
		       uint32_t rkey, uint64_t compare_add, uint64_t swap)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = 8, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id, .sg_list = &sge, .num_sge = 1,
		.opcode = op, .send_flags = flags,
	}, *bad = NULL;

	wr.wr.atomic.remote_addr = raddr;
	wr.wr.atomic.rkey = rkey;
	wr.wr.atomic.compare_add = compare_add;
	wr.wr.atomic.swap = swap;
	return ibv_post_send(q, &wr, &bad);
}

static uint64_t raddr_of(const struct dt_buf *b, size_t off)
{
	return (uint64_t)(uintptr_t)(b->p + off);
}

#define SIG IBV_SEND_SIGNALED

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

/* ------------------------------------------------------------ ordering */

#define ORDER_N 2048	/* a multiple of ORDER_BATCH */
#define ORDER_BATCH 32

/*
 * ORDER_N numbered WRs cycling SEND, WRITE_WITH_IMM, RDMA_WRITE,
 * SEND_WITH_IMM, posted ORDER_BATCH per list: the requester's completions
 * come in posting order, the responder's receive completions in the order
 * of the WRs that consume them, each once, and every write is in place.
 */
static void order_run(enum ibv_qp_type type)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct ibv_qp_cap cap = cap_std();
	struct pair p;
	struct dt_buf *sb, *rb, *wb;
	struct ibv_send_wr wr[ORDER_BATCH], *bad;
	struct ibv_sge sge[ORDER_BATCH];
	struct ibv_wc wc[ORDER_BATCH];
	uint64_t *sv, *rv, *wv;
	int nrecv = 0, k = 0;

	if (type == IBV_QPT_UC)
		o.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	cap.max_send_wr = 2 * ORDER_BATCH;
	cap.max_recv_wr = ORDER_N;
	p = pair_make(type, 2 * ORDER_N, cap, 0, &o);
	sb = buf(p.a, ORDER_N * 8, IBV_ACCESS_LOCAL_WRITE);
	rb = buf(p.b, ORDER_N * 8, IBV_ACCESS_LOCAL_WRITE);
	wb = buf(p.b, ORDER_N * 8, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	sv = (uint64_t *)sb->p;
	rv = (uint64_t *)rb->p;
	wv = (uint64_t *)wb->p;
	for (int i = 0; i < ORDER_N; i++) {
		sv[i] = 0x5000000000ull + (uint64_t)i;
		rv[i] = wv[i] = UINT64_MAX;
		if (i % 4 != 2)
			nrecv++;
	}
	for (int i = 0; i < nrecv; i++)
		assert_int_equal(dt_post_recv(p.qb, (uint64_t)i, &rv[i], 8, rb->mr->lkey), 0);

	for (int base = 0; base < ORDER_N; base += ORDER_BATCH) {
		for (int j = 0; j < ORDER_BATCH; j++) {
			int i = base + j;
			static const enum ibv_wr_opcode ops[4] = {
				IBV_WR_SEND, IBV_WR_RDMA_WRITE_WITH_IMM,
				IBV_WR_RDMA_WRITE, IBV_WR_SEND_WITH_IMM,
			};

			sge[j] = (struct ibv_sge){ .addr = (uintptr_t)&sv[i], .length = 8,
						   .lkey = sb->mr->lkey };
			wr[j] = (struct ibv_send_wr){
				.wr_id = (uint64_t)i, .next = j + 1 < ORDER_BATCH ? &wr[j + 1] : NULL,
				.sg_list = &sge[j], .num_sge = 1, .opcode = ops[i % 4],
				.send_flags = SIG, .imm_data = htobe32((uint32_t)i),
			};
			wr[j].wr.rdma.remote_addr = (uintptr_t)&wv[i];
			wr[j].wr.rdma.rkey = wb->mr->rkey;
		}
		bad = NULL;
		assert_int_equal(ibv_post_send(p.qa, wr, &bad), 0);
		POLL(p.a->scq, wc, ORDER_BATCH);
		for (int j = 0; j < ORDER_BATCH; j++) {
			int i = base + j;

			CHECK_WC(&wc[j], req_wc((uint64_t)i,
						i % 4 == 1 || i % 4 == 2 ? IBV_WC_RDMA_WRITE : IBV_WC_SEND,
						8, p.qa), DT_WC_REQ);
		}
	}
	QUIET(p.a->scq);

	/* The k-th receive completion belongs to the k-th consuming WR. */
	for (int i = 0; i < ORDER_N; i++) {
		if (i % 4 == 2)
			continue;
		POLL(p.b->rcq, wc, 1);
		switch (i % 4) {
		case 0:
			CHECK_WC(wc, resp_wc((uint64_t)k, IBV_WC_RECV, 8, 0, 0, p.qb, p.qa),
				 DT_WC_RESP);
			assert_int_equal(rv[k], sv[i]);
			break;
		case 1:
			CHECK_WC(wc, resp_wc((uint64_t)k, IBV_WC_RECV_RDMA_WITH_IMM, 8,
					     IBV_WC_WITH_IMM, (uint32_t)i, p.qb, p.qa), DT_WC_RESP);
			assert_int_equal(rv[k], UINT64_MAX);
			break;
		case 3:
			CHECK_WC(wc, resp_wc((uint64_t)k, IBV_WC_RECV, 8, IBV_WC_WITH_IMM,
					     (uint32_t)i, p.qb, p.qa), DT_WC_RESP);
			assert_int_equal(rv[k], sv[i]);
			break;
		}
		k++;
	}
	assert_int_equal(k, nrecv);
	QUIET(p.b->rcq);
	for (int i = 0; i < ORDER_N; i++)
		assert_int_equal(wv[i], i % 4 == 1 || i % 4 == 2 ? sv[i] : UINT64_MAX);
}

static void test_rc_order(void **state)
{
	(void)state;
	order_run(IBV_QPT_RC);
}

/* The same on UC (all four opcodes are UC opcodes). */
static void test_uc_order(void **state)
{
	(void)state;
	order_run(IBV_QPT_UC);
}

/* ------------------------------------------------------------ SGE lists */

/*
 * A SEND gathered from max_send_sge SGEs of two MRs and scattered into
 * max_recv_sge SGEs of two MRs, an RDMA_WRITE gathered the same way and an
 * RDMA_READ scattered; one SGE too many is EINVAL at post with bad_wr on
 * that WR, and the WR before it in the list still runs.
 */
static void test_sge_lists(void **state)
{
	struct ibv_qp_cap cap = cap_std();
	struct pair p;
	struct dt_buf *s1, *s2, *r1, *r2, *exp, *got;
	struct ibv_sge *ss, *rs;
	struct ibv_send_wr swr[2], *sbad;
	struct ibv_recv_wr rwr[2], *rbad;
	struct ibv_wc wc;
	uint32_t ns, nr, total = 0, rtotal = 0, off;

	(void)state;
	cap.max_send_sge = 8;
	cap.max_recv_sge = 8;
	p = pair_make(IBV_QPT_RC, 64, cap, 0, NULL);
	ns = p.cap.max_send_sge;
	nr = p.cap.max_recv_sge;
	assert_true(ns >= 8 && nr >= 8);
	s1 = buf(p.a, 65536, IBV_ACCESS_LOCAL_WRITE);
	s2 = buf(p.a, 65536, IBV_ACCESS_LOCAL_WRITE);
	r1 = buf(p.b, 65536, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		 IBV_ACCESS_REMOTE_READ);
	r2 = buf(p.b, 65536, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		 IBV_ACCESS_REMOTE_READ);
	exp = buf(p.a, 65536, -1);
	got = buf(p.a, 65536, -1);
	ss = calloc(ns + 1, sizeof(*ss));
	rs = calloc(nr + 1, sizeof(*rs));
	assert_non_null(ss);
	assert_non_null(rs);
	dt_fill(s1->p, s1->len, 51);
	dt_fill(s2->p, s2->len, 52);

	/* Gather list: odd lengths at odd offsets, alternating MRs. */
	for (uint32_t i = 0; i <= ns; i++) {
		struct dt_buf *b = i % 2 ? s2 : s1;
		uint32_t len = 1 + (i * 97) % 500, at = 3 + i * 601;

		ss[i] = (struct ibv_sge){ .addr = (uintptr_t)(b->p + at), .length = len,
					  .lkey = b->mr->lkey };
		if (i < ns) {
			memcpy(exp->p + total, b->p + at, len);
			total += len;
		}
	}
	/* Scatter list: room for all of it, split unevenly. */
	off = 0;
	for (uint32_t i = 0; i <= nr; i++) {
		struct dt_buf *b = i % 2 ? r2 : r1;
		uint32_t len = i + 1 < nr ? 1 + (i * 53) % 300 : total + 64;

		rs[i] = (struct ibv_sge){ .addr = (uintptr_t)(b->p + 7 + off), .length = len,
					  .lkey = b->mr->lkey };
		off += len + 11;
		if (i < nr)
			rtotal += len;
	}
	assert_true(rtotal > total);
	memset(r1->p, 0xee, r1->len);
	memset(r2->p, 0xee, r2->len);

	rwr[0] = (struct ibv_recv_wr){ .wr_id = 90, .sg_list = rs, .num_sge = (int)nr };
	rbad = NULL;
	assert_int_equal(ibv_post_recv(p.qb, rwr, &rbad), 0);
	swr[0] = (struct ibv_send_wr){ .wr_id = 1, .sg_list = ss, .num_sge = (int)ns,
				       .opcode = IBV_WR_SEND, .send_flags = SIG };
	sbad = NULL;
	assert_int_equal(ibv_post_send(p.qa, swr, &sbad), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(90, IBV_WC_RECV, total, 0, 0, p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_SEND, total, p.qa), DT_WC_REQ);
	/* Concatenate what landed in the scatter list. */
	off = 0;
	for (uint32_t i = 0; i < nr && off < total; i++) {
		uint32_t n = rs[i].length < total - off ? rs[i].length : total - off;

		memcpy(got->p + off, (void *)(uintptr_t)rs[i].addr, n);
		off += n;
	}
	assert_memory_equal(got->p, exp->p, total);

	/* RDMA_WRITE gathered from the same list into r1 at 100. */
	memset(r1->p, 0xee, r1->len);
	swr[0].wr_id = 2;
	swr[0].opcode = IBV_WR_RDMA_WRITE;
	swr[0].wr.rdma.remote_addr = raddr_of(r1, 100);
	swr[0].wr.rdma.rkey = r1->mr->rkey;
	assert_int_equal(ibv_post_send(p.qa, swr, &sbad), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_RDMA_WRITE, total, p.qa), DT_WC_REQ);
	CHECK_BYTES(r1->p, 100, 0xee);
	assert_memory_equal(r1->p + 100, exp->p, total);
	CHECK_BYTES(r1->p + 100 + total, r1->len - 100 - total, 0xee);

	/* RDMA_READ of r1[100..) scattered back into a fresh gather layout. */
	memset(s1->p, 0, s1->len);
	memset(s2->p, 0, s2->len);
	swr[0].wr_id = 3;
	swr[0].opcode = IBV_WR_RDMA_READ;
	assert_int_equal(ibv_post_send(p.qa, swr, &sbad), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(3, IBV_WC_RDMA_READ, total, p.qa), DT_WC_REQ);
	off = 0;
	for (uint32_t i = 0; i < ns; i++) {
		assert_memory_equal((void *)(uintptr_t)ss[i].addr, exp->p + off, ss[i].length);
		off += ss[i].length;
	}

	/* One SGE too many, second in a list: EINVAL, bad_wr on it. */
	swr[0] = (struct ibv_send_wr){ .wr_id = 4, .sg_list = ss, .num_sge = 1,
				       .opcode = IBV_WR_RDMA_WRITE, .send_flags = SIG,
				       .next = &swr[1] };
	swr[0].wr.rdma.remote_addr = raddr_of(r1, 0);
	swr[0].wr.rdma.rkey = r1->mr->rkey;
	swr[1] = swr[0];
	swr[1].wr_id = 5;
	swr[1].num_sge = (int)ns + 1;
	swr[1].next = NULL;
	sbad = NULL;
	assert_int_equal(ibv_post_send(p.qa, swr, &sbad), EINVAL);
	assert_ptr_equal(sbad, &swr[1]);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(4, IBV_WC_RDMA_WRITE, ss[0].length, p.qa), DT_WC_REQ);
	QUIET(p.a->scq);

	rwr[0] = (struct ibv_recv_wr){ .wr_id = 91, .sg_list = rs, .num_sge = 1,
				       .next = &rwr[1] };
	rwr[1] = (struct ibv_recv_wr){ .wr_id = 92, .sg_list = rs, .num_sge = (int)nr + 1 };
	rbad = NULL;
	assert_int_equal(ibv_post_recv(p.qb, rwr, &rbad), EINVAL);
	assert_ptr_equal(rbad, &rwr[1]);
	/* The first was posted: a SEND lands in it. */
	assert_int_equal(post1(p.qa, 6, IBV_WR_SEND, SIG, s1->p, 1, s1->mr->lkey, 0, 0, 0), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(91, IBV_WC_RECV, 1, 0, 0, p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(6, IBV_WC_SEND, 1, p.qa), DT_WC_REQ);
	QUIET(p.b->rcq);
	free(ss);
	free(rs);
}

/* ------------------------------------------------------------ inline */

/*
 * Asked for 512 inline bytes: exactly max_inline_data bytes inline (one
 * SGE, or two) pass from an unregistered buffer that is overwritten right
 * after the post, for SEND and RDMA_WRITE; one byte more is EINVAL.
 */
static void test_inline(void **state)
{
	struct ibv_qp_cap cap = cap_std();
	struct pair p;
	struct dt_buf *rb, *wb;
	uint8_t *src;
	uint32_t max;
	struct ibv_sge sge[2];
	struct ibv_send_wr wr, *bad;
	struct ibv_wc wc;

	(void)state;
	cap.max_inline_data = 512;
	p = pair_make(IBV_QPT_RC, 64, cap, 0, NULL);
	max = p.cap.max_inline_data;
	assert_true(max >= 512);
	rb = buf(p.b, max + 64, IBV_ACCESS_LOCAL_WRITE);
	wb = buf(p.b, max + 64, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	src = malloc(max + 1);
	assert_non_null(src);

	/* SEND, one SGE, lkey 0 (nothing registered there). */
	memset(rb->p, 0xee, rb->len);
	dt_fill(src, max, 61);
	assert_int_equal(dt_post_recv(p.qb, 80, rb->p, (uint32_t)rb->len, rb->mr->lkey), 0);
	assert_int_equal(post1(p.qa, 1, IBV_WR_SEND, SIG | IBV_SEND_INLINE, src, max, 0, 0, 0, 0), 0);
	memset(src, 0, max + 1);	/* inline: copied at post time */
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(80, IBV_WC_RECV, max, 0, 0, p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_SEND, max, p.qa), DT_WC_REQ);
	CHECK_DATA(rb->p, max, 61);
	CHECK_BYTES(rb->p + max, rb->len - max, 0xee);

	/* SEND_WITH_IMM, two SGEs adding up to max. */
	memset(rb->p, 0xee, rb->len);
	dt_fill(src, max, 62);
	sge[0] = (struct ibv_sge){ .addr = (uintptr_t)src, .length = 100, .lkey = 0 };
	sge[1] = (struct ibv_sge){ .addr = (uintptr_t)(src + 100), .length = max - 100,
				   .lkey = 0x1234 };
	wr = (struct ibv_send_wr){ .wr_id = 2, .sg_list = sge, .num_sge = 2,
				   .opcode = IBV_WR_SEND_WITH_IMM, .imm_data = htobe32(9),
				   .send_flags = SIG | IBV_SEND_INLINE };
	assert_int_equal(dt_post_recv(p.qb, 81, rb->p, (uint32_t)rb->len, rb->mr->lkey), 0);
	assert_int_equal(ibv_post_send(p.qa, &wr, &bad), 0);
	memset(src, 0, max + 1);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(81, IBV_WC_RECV, max, IBV_WC_WITH_IMM, 9, p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_SEND, max, p.qa), DT_WC_REQ);
	CHECK_DATA(rb->p, max, 62);

	/* RDMA_WRITE inline. */
	memset(wb->p, 0xee, wb->len);
	dt_fill(src, max, 63);
	assert_int_equal(post1(p.qa, 3, IBV_WR_RDMA_WRITE, SIG | IBV_SEND_INLINE, src, max, 0,
			       raddr_of(wb, 8), wb->mr->rkey, 0), 0);
	memset(src, 0, max + 1);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(3, IBV_WC_RDMA_WRITE, max, p.qa), DT_WC_REQ);
	CHECK_BYTES(wb->p, 8, 0xee);
	CHECK_DATA(wb->p + 8, max, 63);
	CHECK_BYTES(wb->p + 8 + max, wb->len - 8 - max, 0xee);

	/* One byte more: refused at post, in one SGE or in two. */
	assert_int_equal(post1(p.qa, 4, IBV_WR_SEND, SIG | IBV_SEND_INLINE, src, max + 1,
			       0, 0, 0, 0), EINVAL);
	assert_int_equal(post1(p.qa, 5, IBV_WR_RDMA_WRITE, SIG | IBV_SEND_INLINE, src, max + 1,
			       0, raddr_of(wb, 0), wb->mr->rkey, 0), EINVAL);
	sge[1].length = max + 1 - 100;
	wr.wr_id = 6;
	bad = NULL;
	assert_int_equal(ibv_post_send(p.qa, &wr, &bad), EINVAL);
	assert_ptr_equal(bad, &wr);
	QUIET(p.a->scq);
	QUIET(p.b->rcq);
	free(src);
}

/* ------------------------------------------------------------ signaling */

/*
 * sq_sig_all = 0: only IBV_SEND_SIGNALED WRs complete, and unsignaled ones
 * still free their slots (64 rounds of 16 WRs on a 64-deep SQ);
 * sq_sig_all = 1: every WR completes.
 */
static void test_signaled(void **state)
{
	struct pair p = pair_make(IBV_QPT_RC, 256, cap_std(), 0, NULL);
	struct dt_buf *src = buf(p.a, 64, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *dst = buf(p.b, 64 * 8, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	struct dt_buf *rb = buf(p.b, 64, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_qp_cap cap = cap_std();
	struct ibv_qp *qa2, *qb2;
	struct ibv_send_wr wr[16], *bad;
	struct ibv_sge sge;
	struct ibv_wc wc[4];
	uint64_t *dv = (uint64_t *)dst->p;

	(void)state;
	assert_true(p.cap.max_send_wr >= 64);
	sge = (struct ibv_sge){ .addr = (uintptr_t)src->p, .length = 8, .lkey = src->mr->lkey };
	for (int j = 0; j < 16; j++) {
		wr[j] = (struct ibv_send_wr){ .wr_id = (uint64_t)j,
					      .next = j < 15 ? &wr[j + 1] : NULL,
					      .sg_list = &sge, .num_sge = 1,
					      .opcode = IBV_WR_RDMA_WRITE };
		wr[j].wr.rdma.remote_addr = raddr_of(dst, (size_t)j * 8);
		wr[j].wr.rdma.rkey = dst->mr->rkey;
	}
	/* Four WRs, the third signaled: one completion. */
	wr[2].send_flags = SIG;
	wr[3].next = NULL;
	*(uint64_t *)src->p = 0x77;
	assert_int_equal(ibv_post_send(p.qa, wr, &bad), 0);
	POLL(p.a->scq, wc, 1);
	CHECK_WC(&wc[0], req_wc(2, IBV_WC_RDMA_WRITE, 8, p.qa), DT_WC_REQ);
	QUIET(p.a->scq);
	for (int j = 0; j < 4; j++)
		assert_int_equal(dv[j], 0x77);

	/* 64 lists of 15 unsignaled and one signaled WR. */
	wr[2].send_flags = 0;
	wr[3].next = &wr[4];
	wr[15].send_flags = SIG;
	for (uint64_t round = 0; round < 64; round++) {
		for (int j = 0; j < 16; j++)
			wr[j].wr_id = round * 16 + (uint64_t)j;
		bad = NULL;
		assert_int_equal(ibv_post_send(p.qa, wr, &bad), 0);
		POLL(p.a->scq, wc, 1);
		CHECK_WC(&wc[0], req_wc(round * 16 + 15, IBV_WC_RDMA_WRITE, 8, p.qa), DT_WC_REQ);
	}
	QUIET(p.a->scq);

	/* sq_sig_all: every WR, with or without the flag, SEND or WRITE. */
	qa2 = qp(p.a, IBV_QPT_RC, &cap, NULL, NULL, 1);
	cap = cap_std();
	qb2 = qp(p.b, IBV_QPT_RC, &cap, NULL, NULL, 1);
	assert_int_equal(dt_qp_connect(qa2, qb2, NULL), 0);
	assert_int_equal(dt_post_recv(qb2, 9, rb->p, 64, rb->mr->lkey), 0);
	wr[0].send_flags = 0;
	wr[0].wr_id = 100;
	wr[1].send_flags = 0;
	wr[1].wr_id = 101;
	wr[2].send_flags = SIG;
	wr[2].wr_id = 102;
	wr[2].opcode = IBV_WR_SEND;
	wr[2].next = NULL;
	assert_int_equal(ibv_post_send(qa2, wr, &bad), 0);
	POLL(p.a->scq, wc, 3);
	CHECK_WC(&wc[0], req_wc(100, IBV_WC_RDMA_WRITE, 8, qa2), DT_WC_REQ);
	CHECK_WC(&wc[1], req_wc(101, IBV_WC_RDMA_WRITE, 8, qa2), DT_WC_REQ);
	CHECK_WC(&wc[2], req_wc(102, IBV_WC_SEND, 8, qa2), DT_WC_REQ);
	POLL(p.b->rcq, wc, 1);
	CHECK_WC(&wc[0], resp_wc(9, IBV_WC_RECV, 8, 0, 0, qb2, qa2), DT_WC_RESP);
	QUIET(p.a->scq);
	/* The responder's sq_sig_all does not make completions of its own. */
	QUIET(p.b->scq);
}

/* ------------------------------------------------------------ FENCE */

/*
 * One list {READ remote X -> local A, SEND from A}, of 4 KiB and of 64 KiB:
 * without FENCE the peer receives A's old contents, with FENCE on the SEND
 * it receives X.  The
 * same with {FETCH_AND_ADD -> A, SEND from A}.
 */
static void test_fence(void **state)
{
	struct pair p = pair_make(IBV_QPT_RC, 64, cap_std(), 0, NULL);
	const uint32_t nmax = 65536;	/* the largest response that lands late */
	struct dt_buf *la = buf(p.a, nmax, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *x = buf(p.b, nmax + 64, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
			       IBV_ACCESS_REMOTE_ATOMIC);
	struct dt_buf *rb = buf(p.b, nmax, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_sge rsge, asge, ssge;
	struct ibv_send_wr wr[2], *bad;
	struct ibv_wc wc[2];
	uint64_t *word = (uint64_t *)(x->p + nmax);

	(void)state;
	dt_fill(x->p, nmax, 71);
	asge = (struct ibv_sge){ .addr = (uintptr_t)la->p, .length = 8, .lkey = la->mr->lkey };
	/* 4 KiB and 64 KiB READs, each unfenced then fenced. */
	for (int run = 0; run < 4; run++) {
		uint32_t n = run < 2 ? 4096 : nmax;
		int fenced = run % 2;

		rsge = (struct ibv_sge){ .addr = (uintptr_t)la->p, .length = n,
					 .lkey = la->mr->lkey };
		/* READ then SEND. */
		dt_fill(la->p, n, 72);
		memset(rb->p, 0, n);
		ssge = rsge;
		wr[0] = (struct ibv_send_wr){ .wr_id = 1, .next = &wr[1], .sg_list = &rsge,
					      .num_sge = 1, .opcode = IBV_WR_RDMA_READ,
					      .send_flags = SIG };
		wr[0].wr.rdma.remote_addr = raddr_of(x, 0);
		wr[0].wr.rdma.rkey = x->mr->rkey;
		wr[1] = (struct ibv_send_wr){ .wr_id = 2, .sg_list = &ssge, .num_sge = 1,
					      .opcode = IBV_WR_SEND,
					      .send_flags = SIG | (fenced ? IBV_SEND_FENCE : 0) };
		assert_int_equal(dt_post_recv(p.qb, 10, rb->p, n, rb->mr->lkey), 0);
		assert_int_equal(ibv_post_send(p.qa, wr, &bad), 0);
		POLL(p.a->scq, wc, 2);
		CHECK_WC(&wc[0], req_wc(1, IBV_WC_RDMA_READ, n, p.qa), DT_WC_REQ);
		CHECK_WC(&wc[1], req_wc(2, IBV_WC_SEND, n, p.qa), DT_WC_REQ);
		POLL(p.b->rcq, wc, 1);
		CHECK_WC(&wc[0], resp_wc(10, IBV_WC_RECV, n, 0, 0, p.qb, p.qa), DT_WC_RESP);
		CHECK_DATA(la->p, n, 71);	/* the READ did land */
		if (fenced) {
			CHECK_DATA(rb->p, n, 71);
		} else {
			CHECK_DATA(rb->p, n, 72);
		}

		/* FETCH_AND_ADD then SEND of the fetched word. */
		*word = 1000;
		*(uint64_t *)la->p = 5;
		*(uint64_t *)rb->p = 0;
		ssge = asge;
		wr[0] = (struct ibv_send_wr){ .wr_id = 3, .next = &wr[1], .sg_list = &asge,
					      .num_sge = 1, .opcode = IBV_WR_ATOMIC_FETCH_AND_ADD,
					      .send_flags = SIG };
		wr[0].wr.atomic.remote_addr = raddr_of(x, nmax);
		wr[0].wr.atomic.rkey = x->mr->rkey;
		wr[0].wr.atomic.compare_add = 1;
		wr[1].wr_id = 4;
		assert_int_equal(dt_post_recv(p.qb, 11, rb->p, n, rb->mr->lkey), 0);
		assert_int_equal(ibv_post_send(p.qa, wr, &bad), 0);
		POLL(p.a->scq, wc, 2);
		CHECK_WC(&wc[0], req_wc(3, IBV_WC_FETCH_ADD, 8, p.qa), DT_WC_REQ);
		CHECK_WC(&wc[1], req_wc(4, IBV_WC_SEND, 8, p.qa), DT_WC_REQ);
		POLL(p.b->rcq, wc, 1);
		CHECK_WC(&wc[0], resp_wc(11, IBV_WC_RECV, 8, 0, 0, p.qb, p.qa), DT_WC_RESP);
		assert_int_equal(*(uint64_t *)la->p, 1000);
		assert_int_equal(*word, 1001);
		assert_int_equal(*(uint64_t *)rb->p, fenced ? 1000 : 5);
	}
}

/* ------------------------------------------------------------ UC */

/* UC: SEND, SEND_WITH_IMM, RDMA_WRITE, RDMA_WRITE_WITH_IMM work; READ
 * and atomics are EINVAL at post with bad_wr on the WR. */
static void test_uc(void **state)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct pair p;
	struct dt_buf *src, *dst, *rb;
	struct ibv_wc wc;

	(void)state;
	o.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	p = pair_make(IBV_QPT_UC, 64, cap_std(), 0, &o);
	src = buf(p.a, 8192, IBV_ACCESS_LOCAL_WRITE);
	dst = buf(p.b, 8192, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	rb = buf(p.b, 8192, IBV_ACCESS_LOCAL_WRITE);
	dt_fill(src->p, 8192, 81);

	memset(rb->p, 0xee, rb->len);
	assert_int_equal(dt_post_recv(p.qb, 20, rb->p, 8192, rb->mr->lkey), 0);
	assert_int_equal(dt_post_recv(p.qb, 21, rb->p, 8192, rb->mr->lkey), 0);
	assert_int_equal(dt_post_recv(p.qb, 22, rb->p, 8192, rb->mr->lkey), 0);
	assert_int_equal(post1(p.qa, 1, IBV_WR_SEND, SIG, src->p, 5000, src->mr->lkey, 0, 0, 0), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(20, IBV_WC_RECV, 5000, 0, 0, p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_SEND, 5000, p.qa), DT_WC_REQ);
	CHECK_DATA(rb->p, 5000, 81);
	CHECK_BYTES(rb->p + 5000, rb->len - 5000, 0xee);

	assert_int_equal(post1(p.qa, 2, IBV_WR_SEND_WITH_IMM, SIG, src->p, 10, src->mr->lkey,
			       0, 0, 0xabcdef01), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(21, IBV_WC_RECV, 10, IBV_WC_WITH_IMM, 0xabcdef01, p.qb, p.qa),
		 DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_SEND, 10, p.qa), DT_WC_REQ);

	memset(dst->p, 0xee, dst->len);
	assert_int_equal(post1(p.qa, 3, IBV_WR_RDMA_WRITE, SIG, src->p, 3000, src->mr->lkey,
			       raddr_of(dst, 1), dst->mr->rkey, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(3, IBV_WC_RDMA_WRITE, 3000, p.qa), DT_WC_REQ);
	CHECK_BYTES(dst->p, 1, 0xee);
	CHECK_DATA(dst->p + 1, 3000, 81);
	CHECK_BYTES(dst->p + 3001, dst->len - 3001, 0xee);
	QUIET(p.b->rcq);

	assert_int_equal(post1(p.qa, 4, IBV_WR_RDMA_WRITE_WITH_IMM, SIG, src->p, 2000,
			       src->mr->lkey, raddr_of(dst, 4000), dst->mr->rkey, 33), 0);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(22, IBV_WC_RECV_RDMA_WITH_IMM, 2000, IBV_WC_WITH_IMM, 33,
			      p.qb, p.qa), DT_WC_RESP);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(4, IBV_WC_RDMA_WRITE, 2000, p.qa), DT_WC_REQ);
	CHECK_DATA(dst->p + 4000, 2000, 81);

	/* Not UC opcodes. */
	assert_int_equal(post1(p.qa, 5, IBV_WR_RDMA_READ, SIG, src->p, 8, src->mr->lkey,
			       raddr_of(dst, 0), dst->mr->rkey, 0), EINVAL);
	assert_int_equal(post_atomic(p.qa, 6, IBV_WR_ATOMIC_FETCH_AND_ADD, SIG, src->p,
				     src->mr->lkey, raddr_of(dst, 0), dst->mr->rkey, 1, 0), EINVAL);
	assert_int_equal(post_atomic(p.qa, 7, IBV_WR_ATOMIC_CMP_AND_SWP, SIG, src->p,
				     src->mr->lkey, raddr_of(dst, 0), dst->mr->rkey, 1, 0), EINVAL);
	QUIET(p.a->scq);
}

/* ------------------------------------------------------------ UD */

static int post_ud(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op, void *addr,
		   uint32_t len, uint32_t lkey, struct ibv_ah *ah, uint32_t qpn,
		   uint32_t qkey, uint32_t imm)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = SIG, .imm_data = htobe32(imm),
	}, *bad = NULL;
	int ret;

	wr.wr.ud.ah = ah;
	wr.wr.ud.remote_qpn = qpn;
	wr.wr.ud.remote_qkey = qkey;
	ret = ibv_post_send(q, &wr, &bad);
	if (ret)
		assert_ptr_equal(bad, &wr);
	return ret;
}

/*
 * UD SEND between two clients: a 40-byte GRH first, byte_len 40 + n,
 * IBV_WC_GRH, src_qp and qp_num; remote_qkey with the high bit uses the
 * sender's qkey; a qkey mismatch is dropped (the sender completes OK);
 * 4096 bytes pass, 4097 are IBV_WC_LOC_LEN_ERR; RDMA opcodes are EINVAL.
 */
static void test_ud(void **state)
{
	struct pair p = pair_make(IBV_QPT_UD, 64, cap_std(), 0, NULL);
	const uint32_t room = 40 + 4096;
	struct dt_buf *src = buf(p.a, 8192, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rb = buf(p.b, 4 * room, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_ah *ah = ah_make(p.a, p.b);
	struct ibv_wc wc;
	uint8_t *r;

	(void)state;
	dt_fill(src->p, 8192, 91);
	memset(rb->p, 0xee, rb->len);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(dt_post_recv(p.qb, 30 + i, rb->p + i * room, room,
					      rb->mr->lkey), 0);

	/* 100 bytes into receive 30. */
	assert_int_equal(post_ud(p.qa, 1, IBV_WR_SEND, src->p, 100, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(1, IBV_WC_SEND, 100, p.qa), DT_WC_REQ);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(30, IBV_WC_RECV, 140, IBV_WC_GRH, 0, p.qb, p.qa), DT_WC_RESP);
	r = rb->p;
	CHECK_DATA(r + 40, 100, 91);
	CHECK_BYTES(r + 140, room - 140, 0xee);

	/* SEND_WITH_IMM, qkey from the sender's QP (high bit). */
	assert_int_equal(post_ud(p.qa, 2, IBV_WR_SEND_WITH_IMM, src->p, 1, src->mr->lkey, ah,
				 p.qb->qp_num, 0x80000000u, 0x600d), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_SEND, 1, p.qa), DT_WC_REQ);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(31, IBV_WC_RECV, 41, IBV_WC_GRH | IBV_WC_WITH_IMM, 0x600d,
			      p.qb, p.qa), DT_WC_RESP);
	CHECK_DATA(rb->p + room + 40, 1, 91);

	/* Wrong qkey: the sender is told nothing, nothing arrives. */
	assert_int_equal(post_ud(p.qa, 3, IBV_WR_SEND, src->p, 100, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY + 1, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(3, IBV_WC_SEND, 100, p.qa), DT_WC_REQ);
	QUIET(p.b->rcq);

	/* The MTU exactly: into receive 32, the one the dropped SEND left. */
	assert_int_equal(post_ud(p.qa, 4, IBV_WR_SEND, src->p, 4096, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(4, IBV_WC_SEND, 4096, p.qa), DT_WC_REQ);
	POLL(p.b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(32, IBV_WC_RECV, room, IBV_WC_GRH, 0, p.qb, p.qa), DT_WC_RESP);
	CHECK_DATA(rb->p + 2 * room + 40, 4096, 91);

	/* Not UD opcodes. */
	assert_int_equal(post_ud(p.qa, 5, IBV_WR_RDMA_WRITE, src->p, 8, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), EINVAL);
	assert_int_equal(post_ud(p.qa, 6, IBV_WR_RDMA_READ, src->p, 8, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), EINVAL);

	/* One byte over the MTU: a local length error (last: it may move
	 * the QP to ERR). */
	assert_int_equal(post_ud(p.qa, 7, IBV_WR_SEND, src->p, 4097, src->mr->lkey, ah,
				 p.qb->qp_num, DT_QKEY, 0), 0);
	POLL(p.a->scq, &wc, 1);
	CHECK_WC(&wc, ((struct ibv_wc){ .wr_id = 7, .status = IBV_WC_LOC_LEN_ERR,
					.qp_num = p.qa->qp_num }), DT_WC_ERR);
	QUIET(p.b->rcq);
}

/* ------------------------------------------------------------ SRQ */

#define SRQ_NQP 3

/*
 * One SRQ behind three RC QPs, each receiving from a sender in its own
 * client (the first shares the plain sender's), and a
 * plain-RQ QP receiving the same SEND, SEND_WITH_IMM and
 * RDMA_WRITE_WITH_IMM: the SRQ completions equal the plain ones field by
 * field, with qp_num the receiving QP and src_qp its sender.
 */
static void test_srq(void **state)
{
	static const enum ibv_wr_opcode ops[3] = {
		IBV_WR_SEND, IBV_WR_SEND_WITH_IMM, IBV_WR_RDMA_WRITE_WITH_IMM,
	};
	static const enum ibv_wc_opcode wcops[3] = {
		IBV_WC_RECV, IBV_WC_RECV, IBV_WC_RECV_RDMA_WITH_IMM,
	};
	struct dt_node *a = node(64, false), *b = node(64, false), *sn[SRQ_NQP];
	struct ibv_srq *srq = srq_make(b, 64, 1);
	struct ibv_qp *qa[SRQ_NQP], *qb[SRQ_NQP], *pa, *pb;
	struct dt_buf *src = buf(a, 4096, IBV_ACCESS_LOCAL_WRITE), *ssrc[SRQ_NQP];
	struct dt_buf *rb = buf(b, 16 * 4096, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *prb = buf(b, 4096, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *wb = buf(b, 4096, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	struct ibv_qp_cap cap;
	struct ibv_recv_wr rwr, *rbad;
	struct ibv_sge rsge;
	struct ibv_wc swc, pwc;
	bool used[16] = { false };

	(void)state;
	for (int i = 0; i < SRQ_NQP; i++) {
		sn[i] = i ? node(64, false) : a;
		ssrc[i] = i ? buf(sn[i], 4096, IBV_ACCESS_LOCAL_WRITE) : src;
		cap = cap_std();
		qa[i] = qp(sn[i], IBV_QPT_RC, &cap, NULL, NULL, 0);
		cap = cap_std();
		cap.max_recv_wr = 0;
		cap.max_recv_sge = 0;
		qb[i] = qp(b, IBV_QPT_RC, &cap, NULL, srq, 0);
		assert_ptr_equal(qb[i]->srq, srq);
		assert_int_equal(dt_qp_connect(qa[i], qb[i], NULL), 0);
	}
	cap = cap_std();
	pa = qp(a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	cap = cap_std();
	pb = qp(b, IBV_QPT_RC, &cap, NULL, NULL, 0);
	assert_int_equal(dt_qp_connect(pa, pb, NULL), 0);

	/* A QP on an SRQ takes no receives of its own. */
	rsge = (struct ibv_sge){ .addr = (uintptr_t)prb->p, .length = 64, .lkey = prb->mr->lkey };
	rwr = (struct ibv_recv_wr){ .wr_id = 1, .sg_list = &rsge, .num_sge = 1 };
	rbad = NULL;
	assert_int_equal(ibv_post_recv(qb[0], &rwr, &rbad), EINVAL);
	assert_ptr_equal(rbad, &rwr);

	for (int s = 0; s < 9; s++)
		assert_int_equal(dt_post_srq_recv(srq, 200 + (uint64_t)s, rb->p + s * 4096, 4096,
						  rb->mr->lkey), 0);
	for (int op = 0; op < 3; op++) {
		for (int i = 0; i < SRQ_NQP; i++) {
			uint32_t len = 100 + (uint32_t)(op * 10 + i), imm = 0x5150u + (uint32_t)i;
			unsigned int flags = op ? IBV_WC_WITH_IMM : 0;
			struct ibv_wc w;
			int slot;

			dt_fill(src->p, len, 100 + (uint32_t)(op * 3 + i));
			/* The plain RQ first. */
			memset(prb->p, 0, prb->len);
			assert_int_equal(dt_post_recv(pb, 300, prb->p, 4096, prb->mr->lkey), 0);
			assert_int_equal(post1(pa, 1, ops[op], SIG, src->p, len, src->mr->lkey,
					       raddr_of(wb, 0), wb->mr->rkey, imm), 0);
			POLL(b->rcq, &pwc, 1);
			CHECK_WC(&pwc, resp_wc(300, wcops[op], len, flags, imm, pb, pa), DT_WC_RESP);
			POLL(a->scq, &w, 1);
			CHECK_WC(&w, req_wc(1, op == 2 ? IBV_WC_RDMA_WRITE : IBV_WC_SEND, len, pa),
				 DT_WC_REQ);
			/* The same through the SRQ. */
			memcpy(ssrc[i]->p, src->p, len);
			assert_int_equal(post1(qa[i], 2, ops[op], SIG, ssrc[i]->p, len, ssrc[i]->mr->lkey,
					       raddr_of(wb, 0), wb->mr->rkey, imm), 0);
			POLL(b->rcq, &swc, 1);
			slot = (int)swc.wr_id - 200;
			if (slot < 0 || slot >= 9 || used[slot])
				fail_msg("SRQ completion with wr_id %llu", (unsigned long long)swc.wr_id);
			used[slot] = true;
			CHECK_WC(&swc, resp_wc(swc.wr_id, wcops[op], len, flags, imm, qb[i], qa[i]),
				 DT_WC_RESP);
			/* Field by field as the plain one, but for whose it is. */
			w = pwc;
			w.wr_id = swc.wr_id;
			w.qp_num = qb[i]->qp_num;
			w.src_qp = qa[i]->qp_num;
			CHECK_WC(&swc, w, DT_WC_RESP | DT_WC_DLID_BITS);
			POLL(sn[i]->scq, &w, 1);
			CHECK_WC(&w, req_wc(2, op == 2 ? IBV_WC_RDMA_WRITE : IBV_WC_SEND, len, qa[i]),
				 DT_WC_REQ);
			if (op < 2) {
				CHECK_DATA(prb->p, len, 100 + (uint32_t)(op * 3 + i));
				CHECK_DATA(rb->p + slot * 4096, len, 100 + (uint32_t)(op * 3 + i));
			}
		}
	}
	QUIET(b->rcq);
}

/*
 * SRQ limit: armed at 8 with 10 posted, the third receive taken raises
 * IBV_EVENT_SRQ_LIMIT_REACHED once (element.srq), the limit reads 0 after,
 * and a fourth raises nothing.
 */
static void test_srq_limit(void **state)
{
	struct dt_node *a = node(64, false), *b = node(64, false);
	struct ibv_srq *srq = srq_make(b, 16, 1);
	struct ibv_qp_cap cap = cap_std();
	struct ibv_qp *qa, *qb;
	struct dt_buf *src = buf(a, 64, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rb = buf(b, 16 * 64, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_srq_attr sa;
	struct ibv_async_event ev;
	struct pollfd pfd;
	struct ibv_wc wc;

	(void)state;
	qa = qp(a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	cap = cap_std();
	qb = qp(b, IBV_QPT_RC, &cap, NULL, srq, 0);
	assert_int_equal(dt_qp_connect(qa, qb, NULL), 0);
	assert_int_equal(fcntl(b->ctx->async_fd, F_SETFL,
			       fcntl(b->ctx->async_fd, F_GETFL) | O_NONBLOCK), 0);
	pfd = (struct pollfd){ .fd = b->ctx->async_fd, .events = POLLIN };

	for (int i = 0; i < 10; i++)
		assert_int_equal(dt_post_srq_recv(srq, (uint64_t)i, rb->p + i * 64, 64,
						  rb->mr->lkey), 0);
	sa = (struct ibv_srq_attr){ .srq_limit = 8 };
	assert_int_equal(ibv_modify_srq(srq, &sa, IBV_SRQ_LIMIT), 0);
	assert_int_equal(ibv_query_srq(srq, &sa), 0);
	assert_int_equal(sa.srq_limit, 8);

	for (uint64_t i = 0; i < 4; i++) {
		assert_int_equal(post1(qa, i, IBV_WR_SEND, SIG, src->p, 8, src->mr->lkey,
				       0, 0, 0), 0);
		POLL(b->rcq, &wc, 1);
		CHECK_WC(&wc, resp_wc(i, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);
		POLL(a->scq, &wc, 1);
		CHECK_WC(&wc, req_wc(i, IBV_WC_SEND, 8, qa), DT_WC_REQ);
		if (i != 2) {
			/* 9, 8 left: not fewer than 8; after the event: disarmed. */
			assert_int_equal(poll(&pfd, 1, DT_QUIET_MS), 0);
			continue;
		}
		/* 7 left. */
		assert_int_equal(poll(&pfd, 1, DT_TIMEOUT_MS), 1);
		assert_int_equal(ibv_get_async_event(b->ctx, &ev), 0);
		assert_int_equal(ev.event_type, IBV_EVENT_SRQ_LIMIT_REACHED);
		assert_ptr_equal(ev.element.srq, srq);
		ibv_ack_async_event(&ev);
		errno = 0;
		assert_int_equal(ibv_get_async_event(b->ctx, &ev), -1);
		assert_int_equal(errno, EAGAIN);
		assert_int_equal(ibv_query_srq(srq, &sa), 0);
		assert_int_equal(sa.srq_limit, 0);
	}
}

/* ------------------------------------------------------------ channels */

static void expect_cq_event(struct ibv_comp_channel *ch, struct ibv_cq *want, void *want_ctx)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
	struct ibv_cq *cq = NULL;
	void *cq_ctx = NULL;

	assert_int_equal(poll(&pfd, 1, DT_TIMEOUT_MS), 1);
	assert_int_equal(ibv_get_cq_event(ch, &cq, &cq_ctx), 0);
	assert_ptr_equal(cq, want);
	assert_ptr_equal(cq_ctx, want_ctx);
	ibv_ack_cq_events(cq, 1);
}

static void expect_no_cq_event(struct ibv_comp_channel *ch)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, DT_QUIET_MS), 0);
}

/*
 * ibv_req_notify_cq(cq, 0): the next completion (receive or send) makes one
 * event for that CQ, and only one until re-armed; (cq, 1): an unsolicited
 * receive makes none, a solicited one does; O_NONBLOCK gives EAGAIN.
 */
static void test_channel(void **state)
{
	struct dt_node *a = node(64, true), *b = node(64, true);
	struct ibv_qp_cap cap = cap_std();
	struct ibv_qp *qa, *qb;
	struct dt_buf *src = buf(a, 64, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rb = buf(b, 64, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_cq *cq;
	struct ibv_wc wc;
	void *cq_ctx;

	(void)state;
	qa = qp(a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	cap = cap_std();
	qb = qp(b, IBV_QPT_RC, &cap, NULL, NULL, 0);
	assert_int_equal(dt_qp_connect(qa, qb, NULL), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(dt_post_recv(qb, (uint64_t)i, rb->p, 64, rb->mr->lkey), 0);

	/* Receive side, any completion. */
	assert_int_equal(ibv_req_notify_cq(b->rcq, 0), 0);
	expect_no_cq_event(b->ch);
	assert_int_equal(post1(qa, 0, IBV_WR_SEND, 0, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	expect_cq_event(b->ch, b->rcq, b);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(0, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);
	/* Not re-armed: a completion, no event. */
	assert_int_equal(post1(qa, 1, IBV_WR_SEND, 0, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(1, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);
	expect_no_cq_event(b->ch);

	/* Send side: a signaled SEND's completion. */
	assert_int_equal(ibv_req_notify_cq(a->scq, 0), 0);
	assert_int_equal(post1(qa, 2, IBV_WR_SEND, SIG, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	expect_cq_event(a->ch, a->scq, a);
	POLL(a->scq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_SEND, 8, qa), DT_WC_REQ);
	POLL(b->rcq, &wc, 1);
	expect_no_cq_event(b->ch);

	/* Solicited only: an unsolicited receive is silent... */
	assert_int_equal(ibv_req_notify_cq(b->rcq, 1), 0);
	assert_int_equal(post1(qa, 3, IBV_WR_SEND, 0, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(3, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);
	if (getenv("RB_DATA_SOLICITED_EARLY")) {
		/*
		 * A device whose completions do not say whether the sender
		 * asked for an event (the verbs driver: ibv_wc has no such
		 * bit) counts every receive as solicited: early, never late.
		 */
		expect_cq_event(b->ch, b->rcq, b);
		assert_int_equal(ibv_req_notify_cq(b->rcq, 1), 0);
	} else {
		expect_no_cq_event(b->ch);
	}
	/* ...a solicited one is not (SEND_WITH_IMM, still the same arm). */
	assert_int_equal(post1(qa, 4, IBV_WR_SEND_WITH_IMM, IBV_SEND_SOLICITED, src->p, 8,
			       src->mr->lkey, 0, 0, 4), 0);
	expect_cq_event(b->ch, b->rcq, b);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(4, IBV_WC_RECV, 8, IBV_WC_WITH_IMM, 4, qb, qa), DT_WC_RESP);
	/* And a solicited SEND after re-arming solicited-only. */
	assert_int_equal(ibv_req_notify_cq(b->rcq, 1), 0);
	assert_int_equal(post1(qa, 5, IBV_WR_SEND, IBV_SEND_SOLICITED, src->p, 8,
			       src->mr->lkey, 0, 0, 0), 0);
	expect_cq_event(b->ch, b->rcq, b);
	POLL(b->rcq, &wc, 1);
	CHECK_WC(&wc, resp_wc(5, IBV_WC_RECV, 8, 0, 0, qb, qa), DT_WC_RESP);

	/* Non-blocking, nothing pending. */
	assert_int_equal(fcntl(b->ch->fd, F_SETFL, fcntl(b->ch->fd, F_GETFL) | O_NONBLOCK), 0);
	errno = 0;
	assert_int_equal(ibv_get_cq_event(b->ch, &cq, &cq_ctx), -1);
	assert_int_equal(errno, EAGAIN);
	/* ...and one pending, read without blocking. */
	assert_int_equal(ibv_req_notify_cq(b->rcq, 0), 0);
	assert_int_equal(post1(qa, 6, IBV_WR_SEND, 0, src->p, 8, src->mr->lkey, 0, 0, 0), 0);
	expect_cq_event(b->ch, b->rcq, b);
	POLL(b->rcq, &wc, 1);
	errno = 0;
	assert_int_equal(ibv_get_cq_event(b->ch, &cq, &cq_ctx), -1);
	assert_int_equal(errno, EAGAIN);
}

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

/* ------------------------------------------------------------ CQ ex */

/* Everything ibv_wc has that a CQ-ex poll can read. */
static int cqx_poll(struct ibv_cq_ex *cq, struct ibv_wc *wc, int n)
{
	struct ibv_poll_cq_attr attr = { .comp_mask = 0 };
	uint64_t end = dt_now_ms() + DT_TIMEOUT_MS;
	int got = 0, ret;

	while (got < n) {
		ret = ibv_start_poll(cq, &attr);
		if (ret == ENOENT) {
			if (dt_now_ms() > end)
				break;
			sched_yield();
			continue;
		}
		assert_int_equal(ret, 0);
		do {
			struct ibv_wc *w = &wc[got++];

			memset(w, 0, sizeof(*w));
			w->wr_id = cq->wr_id;
			w->status = cq->status;
			w->opcode = ibv_wc_read_opcode(cq);
			w->byte_len = ibv_wc_read_byte_len(cq);
			w->imm_data = ibv_wc_read_imm_data(cq);
			w->qp_num = ibv_wc_read_qp_num(cq);
			w->src_qp = ibv_wc_read_src_qp(cq);
			w->wc_flags = ibv_wc_read_wc_flags(cq);
			w->slid = ibv_wc_read_slid(cq);
			w->sl = ibv_wc_read_sl(cq);
			w->dlid_path_bits = ibv_wc_read_dlid_path_bits(cq);
		} while (got < n && ibv_next_poll(cq) == 0);
		ibv_end_poll(cq);
	}
	return got;
}

static struct ibv_cq_ex *cqx_make(struct dt_node *n)
{
	struct ibv_cq_init_attr_ex a = {
		.cqe = 64,
		.wc_flags = IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_IMM |
			    IBV_WC_EX_WITH_QP_NUM | IBV_WC_EX_WITH_SRC_QP |
			    IBV_WC_EX_WITH_SLID | IBV_WC_EX_WITH_SL |
			    IBV_WC_EX_WITH_DLID_PATH_BITS,
	};
	struct ibv_cq_ex *cq = ibv_create_cq_ex(n->ctx, &a);

	assert_non_null(cq);
	T.cq[T.ncq++] = ibv_cq_ex_to_cq(cq);
	return cq;
}

/*
 * The same SEND, SEND_WITH_IMM and RDMA_WRITE_WITH_IMM between QPs whose
 * CQs are extended (requester send CQ and responder receive CQ) and
 * between QPs with plain CQs: start_poll/next_poll/end_poll read the same
 * completions as ibv_poll_cq, field by field.
 */
static void test_cq_ex(void **state)
{
	static const enum ibv_wr_opcode ops[3] = {
		IBV_WR_SEND, IBV_WR_SEND_WITH_IMM, IBV_WR_RDMA_WRITE_WITH_IMM,
	};
	static const enum ibv_wc_opcode wcops[3] = {
		IBV_WC_RECV, IBV_WC_RECV, IBV_WC_RECV_RDMA_WITH_IMM,
	};
	struct dt_node *a = node(64, false), *b = node(64, false);
	struct ibv_cq_ex *xs = cqx_make(a), *xr = cqx_make(b);
	struct ibv_qp_cap cap = cap_std();
	struct ibv_qp *xa, *xb, *pa, *pb;
	struct dt_buf *src = buf(a, 4096, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *rb = buf(b, 6 * 4096, IBV_ACCESS_LOCAL_WRITE);
	struct dt_buf *wb = buf(b, 4096, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	struct ibv_qp_init_attr ia = {
		.send_cq = ibv_cq_ex_to_cq(xs), .recv_cq = a->rcq, .cap = cap_std(),
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_wc xw[3], pw[3], xsw[3], psw[3], w;

	(void)state;
	xa = ibv_create_qp(a->pd, &ia);
	assert_non_null(xa);
	T.qp[T.nqp++] = xa;
	xb = qp(b, IBV_QPT_RC, &cap, ibv_cq_ex_to_cq(xr), NULL, 0);
	cap = cap_std();
	pa = qp(a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	cap = cap_std();
	pb = qp(b, IBV_QPT_RC, &cap, NULL, NULL, 0);
	assert_int_equal(dt_qp_connect(xa, xb, NULL), 0);
	assert_int_equal(dt_qp_connect(pa, pb, NULL), 0);
	dt_fill(src->p, 4096, 111);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dt_post_recv(xb, 10 + (uint64_t)i, rb->p + i * 4096, 4096,
					      rb->mr->lkey), 0);
		assert_int_equal(dt_post_recv(pb, 10 + (uint64_t)i, rb->p + (3 + i) * 4096, 4096,
					      rb->mr->lkey), 0);
	}
	for (int i = 0; i < 3; i++) {
		uint32_t len = 500 + 100 * (uint32_t)i;

		assert_int_equal(post1(xa, (uint64_t)i, ops[i], SIG, src->p, len, src->mr->lkey,
				       raddr_of(wb, 0), wb->mr->rkey, 0x1000u + (uint32_t)i), 0);
		assert_int_equal(post1(pa, (uint64_t)i, ops[i], SIG, src->p, len, src->mr->lkey,
				       raddr_of(wb, 0), wb->mr->rkey, 0x1000u + (uint32_t)i), 0);
	}
	assert_int_equal(cqx_poll(xr, xw, 3), 3);
	assert_int_equal(cqx_poll(xs, xsw, 3), 3);
	POLL(b->rcq, pw, 3);
	POLL(a->scq, psw, 3);
	for (int i = 0; i < 3; i++) {
		uint32_t len = 500 + 100 * (uint32_t)i;
		unsigned int flags = i ? IBV_WC_WITH_IMM : 0;

		CHECK_WC(&xw[i], resp_wc(10 + (uint64_t)i, wcops[i], len, flags,
					 0x1000u + (uint32_t)i, xb, xa),
			 DT_WC_RESP & ~DT_WC_PKEY);
		CHECK_WC(&pw[i], resp_wc(10 + (uint64_t)i, wcops[i], len, flags,
					 0x1000u + (uint32_t)i, pb, pa), DT_WC_RESP);
		w = pw[i];
		w.qp_num = xb->qp_num;
		w.src_qp = xa->qp_num;
		CHECK_WC(&xw[i], w, (DT_WC_RESP | DT_WC_DLID_BITS) & ~DT_WC_PKEY);

		CHECK_WC(&xsw[i], req_wc((uint64_t)i, i == 2 ? IBV_WC_RDMA_WRITE : IBV_WC_SEND,
					 len, xa), DT_WC_REQ);
		w = psw[i];
		w.qp_num = xa->qp_num;
		CHECK_WC(&xsw[i], w, DT_WC_REQ);
	}
	for (int i = 0; i < 2; i++) {
		CHECK_DATA(rb->p + i * 4096, 500 + 100 * (uint32_t)i, 111);
		CHECK_DATA(rb->p + (3 + i) * 4096, 500 + 100 * (uint32_t)i, 111);
	}
	CHECK_DATA(wb->p, 700, 111);
	/* Drained: start_poll says ENOENT. */
	{
		struct ibv_poll_cq_attr attr = { .comp_mask = 0 };

		assert_int_equal(ibv_start_poll(xr, &attr), ENOENT);
		assert_int_equal(ibv_start_poll(xs, &attr), ENOENT);
	}
}

/* ------------------------------------------------------------ ibv_wr_* */

/*
 * The ibv_wr_* API on a QP made with send_ops_flags: a batch of SEND (SGE
 * list), WRITE_WITH_IMM (inline), READ and FETCH_AND_ADD posts together
 * and completes in order; a batch with one bad WR (an SGE too many, inline
 * past the limit) posts nothing and ibv_wr_complete says why; an aborted
 * batch posts nothing.
 */
static void test_wr_api(void **state)
{
	struct ibv_qp_init_attr_ex ax = {
		.qp_type = IBV_QPT_RC, .sq_sig_all = 0,
		.cap = { .max_send_wr = 16, .max_recv_wr = 16, .max_send_sge = 2,
			 .max_recv_sge = 1, .max_inline_data = 64 },
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.send_ops_flags = IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM |
				  IBV_QP_EX_WITH_RDMA_READ | IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD,
	};
	struct ibv_qp_cap cb = { .max_send_wr = 16, .max_recv_wr = 16,
				 .max_send_sge = 1, .max_recv_sge = 1 };
	struct dt_node *a = node(64, false), *b = node(64, false);
	struct dt_buf *sa, *rb, *wb;
	struct ibv_qp *qa, *qb;
	struct ibv_qp_ex *x;
	struct ibv_wc wc[4];
	uint8_t inl[64];
	uint64_t *cnt;

	(void)state;
	ax.pd = a->pd;
	ax.send_cq = a->scq;
	ax.recv_cq = a->rcq;
	qa = ibv_create_qp_ex(a->ctx, &ax);
	assert_non_null(qa);
	T.qp[T.nqp++] = qa;
	qb = qp(b, IBV_QPT_RC, &cb, NULL, NULL, 0);
	assert_int_equal(dt_qp_connect(qa, qb, NULL), 0);
	x = ibv_qp_to_qp_ex(qa);
	assert_non_null(x);
	sa = buf(a, 8192, IBV_ACCESS_LOCAL_WRITE);
	rb = buf(b, 8192, IBV_ACCESS_LOCAL_WRITE);
	wb = buf(b, 8192, DT_ACCESS_ALL);
	dt_fill(sa->p, 200, 7);
	dt_fill(wb->p + 4096, 300, 9);
	cnt = (uint64_t *)(void *)(wb->p + 8000);
	*cnt = 41;
	dt_fill(inl, sizeof(inl), 11);
	assert_int_equal(dt_post_recv(qb, 1, rb->p, 4096, rb->mr->lkey), 0);
	assert_int_equal(dt_post_recv(qb, 2, rb->p + 4096, 16, rb->mr->lkey), 0);

	ibv_wr_start(x);
	x->wr_id = 10;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send(x);
	{
		struct ibv_sge two[2] = {
			{ (uintptr_t)sa->p, 100, sa->mr->lkey },
			{ (uintptr_t)sa->p + 100, 100, sa->mr->lkey },
		};

		ibv_wr_set_sge_list(x, 2, two);
	}
	x->wr_id = 11;
	ibv_wr_rdma_write_imm(x, wb->mr->rkey, raddr_of(wb, 0), htobe32(0xabcd));
	ibv_wr_set_inline_data(x, inl, sizeof(inl));
	x->wr_id = 12;
	ibv_wr_rdma_read(x, wb->mr->rkey, raddr_of(wb, 4096));
	ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p + 4096, 300);
	x->wr_id = 13;
	ibv_wr_atomic_fetch_add(x, wb->mr->rkey, raddr_of(wb, 8000), 1);
	ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p + 8000, 8);
	assert_int_equal(ibv_wr_complete(x), 0);

	POLL(a->scq, wc, 4);
	CHECK_WC(&wc[0], req_wc(10, IBV_WC_SEND, 200, qa), DT_WC_REQ);
	CHECK_WC(&wc[1], req_wc(11, IBV_WC_RDMA_WRITE, 64, qa), DT_WC_REQ);
	CHECK_WC(&wc[2], req_wc(12, IBV_WC_RDMA_READ, 300, qa), DT_WC_REQ);
	CHECK_WC(&wc[3], req_wc(13, IBV_WC_FETCH_ADD, 8, qa), DT_WC_REQ);
	POLL(b->rcq, wc, 2);
	CHECK_WC(&wc[0], resp_wc(1, IBV_WC_RECV, 200, 0, 0, qb, qa), DT_WC_RESP);
	CHECK_WC(&wc[1], resp_wc(2, IBV_WC_RECV_RDMA_WITH_IMM, 64, IBV_WC_WITH_IMM,
				 0xabcd, qb, qa), DT_WC_RESP);
	CHECK_DATA(rb->p, 200, 7);
	CHECK_DATA(wb->p, 64, 11);
	CHECK_DATA(sa->p + 4096, 300, 9);
	assert_int_equal(*(uint64_t *)(void *)(sa->p + 8000), 41);
	assert_int_equal(*cnt, 42);

	/* One bad WR and the batch is not posted: SGEs past max, inline past max. */
	for (int bad = 0; bad < 2; bad++) {
		struct ibv_sge three[3] = {
			{ (uintptr_t)sa->p, 1, sa->mr->lkey },
			{ (uintptr_t)sa->p, 1, sa->mr->lkey },
			{ (uintptr_t)sa->p, 1, sa->mr->lkey },
		};
		uint8_t big[65] = { 0 };

		ibv_wr_start(x);
		x->wr_id = 20;
		x->wr_flags = IBV_SEND_SIGNALED;
		ibv_wr_rdma_write_imm(x, wb->mr->rkey, raddr_of(wb, 0), 0);
		ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p, 8);
		x->wr_id = 21;
		ibv_wr_send(x);
		if (bad)
			ibv_wr_set_inline_data(x, big, sizeof(big));
		else
			ibv_wr_set_sge_list(x, 3, three);
		assert_int_equal(ibv_wr_complete(x), EINVAL);
	}
	/* Aborted: nothing either. */
	ibv_wr_start(x);
	x->wr_id = 30;
	ibv_wr_send(x);
	ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p, 8);
	ibv_wr_abort(x);
	QUIET(a->scq);
	QUIET(b->rcq);

	/* The queue still works after all that. */
	assert_int_equal(dt_post_recv(qb, 3, rb->p, 64, rb->mr->lkey), 0);
	ibv_wr_start(x);
	x->wr_id = 40;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send(x);
	ibv_wr_set_sge(x, sa->mr->lkey, (uintptr_t)sa->p, 50);
	assert_int_equal(ibv_wr_complete(x), 0);
	POLL(a->scq, wc, 1);
	CHECK_WC(&wc[0], req_wc(40, IBV_WC_SEND, 50, qa), DT_WC_REQ);
	POLL(b->rcq, wc, 1);
	CHECK_WC(&wc[0], resp_wc(3, IBV_WC_RECV, 50, 0, 0, qb, qa), DT_WC_RESP);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, NULL, cleanup)
	const struct CMUnitTest tests[] = {
		T_(test_rc_send),
		T_(test_rc_write),
		T_(test_rc_write_imm),
		T_(test_rc_read),
		T_(test_rc_atomics),
		T_(test_rc_order),
		T_(test_sge_lists),
		T_(test_inline),
		T_(test_signaled),
		T_(test_fence),
		T_(test_uc),
		T_(test_uc_order),
		T_(test_ud),
		T_(test_srq),
		T_(test_srq_limit),
		T_(test_channel),
		T_(test_mt_post),
		T_(test_cq_ex),
		T_(test_wr_api),
	};
#undef T_
	uint64_t t0 = dt_now_ms();
	int ret;

	/* A hang anywhere fails the run instead of the suite's timeout. */
	alarm(120);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr, "client-data: %llu ms\n", (unsigned long long)(dt_now_ms() - t0));
	return ret;
}
