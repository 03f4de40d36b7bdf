/* SPDX-License-Identifier: MIT */
/* What the data-path tests share (data-lib.h). */
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

/* ------------------------------------------------------------ fixtures */

struct data_fixture T;

int cleanup(void **state)
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

struct dt_node *node(int cqe, bool channel)
{
	struct dt_node *n;

	assert_true(T.nnode < (int)(sizeof(T.node) / sizeof(T.node[0])));
	n = &T.node[T.nnode];
	assert_int_equal(dt_node_open(n, cqe, channel), 0);
	T.nnode++;
	return n;
}

struct dt_buf *buf(struct dt_node *n, size_t len, int access)
{
	struct dt_buf *b;

	assert_true(T.nbuf < (int)(sizeof(T.buf) / sizeof(T.buf[0])));
	b = &T.buf[T.nbuf];
	assert_int_equal(dt_buf_alloc(b, n->pd, len, access), 0);
	T.nbuf++;
	return b;
}

struct ibv_qp *qp(struct dt_node *n, enum ibv_qp_type type,
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

struct ibv_srq *srq_make(struct dt_node *n, uint32_t max_wr, uint32_t max_sge)
{
	struct ibv_srq_init_attr a = { .attr = { .max_wr = max_wr, .max_sge = max_sge } };
	struct ibv_srq *s = ibv_create_srq(n->pd, &a);

	assert_non_null(s);
	T.srq[T.nsrq++] = s;
	return s;
}

struct ibv_ah *ah_make(struct dt_node *n, struct dt_node *to)
{
	struct ibv_ah *ah = dt_ah_create(n->pd, to->ctx);

	assert_non_null(ah);
	T.ah[T.nah++] = ah;
	return ah;
}

/* The capabilities most cases ask for. */
struct ibv_qp_cap cap_std(void)
{
	struct ibv_qp_cap c = {
		.max_send_wr = 64, .max_recv_wr = 64, .max_send_sge = 4,
		.max_recv_sge = 4, .max_inline_data = 64,
	};

	return c;
}

struct pair pair_make(enum ibv_qp_type type, int cqe, struct ibv_qp_cap cap,
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

/* A requester's successful completion. */
struct ibv_wc req_wc(uint64_t wr_id, enum ibv_wc_opcode op, uint32_t len,
		     const struct ibv_qp *q)
{
	struct ibv_wc w = {
		.wr_id = wr_id, .status = IBV_WC_SUCCESS, .opcode = op,
		.byte_len = len, .qp_num = q->qp_num, .wc_flags = 0,
	};

	return w;
}

/* A responder's successful completion (imm in host order). */
struct ibv_wc resp_wc(uint64_t wr_id, enum ibv_wc_opcode op, uint32_t len,
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
int post1_raw(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op,
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

int post1(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op,
	  unsigned int flags, void *addr, uint32_t len, uint32_t lkey,
	  uint64_t raddr, uint32_t rkey, uint32_t imm)
{
	bool bad_ok;
	int ret = post1_raw(q, wr_id, op, flags, addr, len, lkey, raddr, rkey, imm, &bad_ok);

	if (!bad_ok)
		fail_msg("ibv_post_send: %s, bad_wr not the failing WR", strerror(ret));
	return ret;
}

int post_atomic(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op,
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

uint64_t raddr_of(const struct dt_buf *b, size_t off)
{
	return (uint64_t)(uintptr_t)(b->p + off);
}
