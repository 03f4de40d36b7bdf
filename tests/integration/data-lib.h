/* SPDX-License-Identifier: MIT */
/*
 * What the data-path tests share (tests/integration/data-*.c): clients
 * (device contexts) with their PD, MRs and CQs, QPs brought to RTS, every
 * object recorded so the per-case teardown (cleanup) frees it, the
 * completions a case expects, and posting.  A missing completion fails
 * after DT_TIMEOUT_MS; "nothing comes" is watched for DT_QUIET_MS.
 */
#ifndef RB_TESTS_INTEGRATION_DATA_LIB_H
#define RB_TESTS_INTEGRATION_DATA_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"

/*
 * Everything a case makes is recorded here, so the per-case teardown frees
 * it even when an assertion left the case half way.
 */
struct data_fixture {
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
};
extern struct data_fixture T;

int cleanup(void **state);

struct dt_node *node(int cqe, bool channel);

struct dt_buf *buf(struct dt_node *n, size_t len, int access);

struct ibv_qp *qp(struct dt_node *n, enum ibv_qp_type type,
		  struct ibv_qp_cap *cap, struct ibv_cq *rcq,
		  struct ibv_srq *srq, int sq_sig_all);

struct ibv_srq *srq_make(struct dt_node *n, uint32_t max_wr, uint32_t max_sge);

struct ibv_ah *ah_make(struct dt_node *n, struct dt_node *to);

/* The capabilities most cases ask for. */
struct ibv_qp_cap cap_std(void);

/* Two clients, a QP of `type` on each, connected (RC, UC) or at RTS (UD). */
struct pair {
	struct dt_node *a, *b;
	struct ibv_qp *qa, *qb;
	struct ibv_qp_cap cap;		/* as granted to qa */
};

struct pair pair_make(enum ibv_qp_type type, int cqe, struct ibv_qp_cap cap,
		      int sq_sig_all, const struct dt_qp_opts *o);

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
struct ibv_wc req_wc(uint64_t wr_id, enum ibv_wc_opcode op, uint32_t len,
		     const struct ibv_qp *q);

/* A responder's successful completion (imm in host order). */
struct ibv_wc resp_wc(uint64_t wr_id, enum ibv_wc_opcode op, uint32_t len,
		      unsigned int flags, uint32_t imm,
		      const struct ibv_qp *q, const struct ibv_qp *src);

/*
 * One send WR of one SGE (none when len is 0); imm in host order.  The
 * return value is ibv_post_send's; *bad_ok says whether bad_wr was right
 * (untouched on success, this WR on failure).  No assertion: threads use it.
 */
int post1_raw(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op,
	      unsigned int flags, void *addr, uint32_t len, uint32_t lkey,
	      uint64_t raddr, uint32_t rkey, uint32_t imm, bool *bad_ok);

int post1(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op,
	  unsigned int flags, void *addr, uint32_t len, uint32_t lkey,
	  uint64_t raddr, uint32_t rkey, uint32_t imm);

int post_atomic(struct ibv_qp *q, uint64_t wr_id, enum ibv_wr_opcode op,
		unsigned int flags, void *addr, uint32_t lkey, uint64_t raddr,
		uint32_t rkey, uint64_t compare_add, uint64_t swap);

uint64_t raddr_of(const struct dt_buf *b, size_t off);

#define SIG IBV_SEND_SIGNALED

#endif /* RB_TESTS_INTEGRATION_DATA_LIB_H */
