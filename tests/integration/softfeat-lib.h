/* SPDX-License-Identifier: MIT */
/*
 * What the tests of the soft device's verbs features share
 * (tests/integration/softfeat-*.c): one client with two RC QPs connected
 * to each other, an extended CQ, buffers, and the values of IBV_WR_FLUSH
 * that rdma-core 44's headers lack.
 */
#ifndef RB_TESTS_INTEGRATION_SOFTFEAT_LIB_H
#define RB_TESTS_INTEGRATION_SOFTFEAT_LIB_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"

/*
 * IBV_WR_FLUSH's values in rdma-core 45 and the kernel uapi (rdma-core
 * 44's headers, which this is built with, do not have them).
 */
#define WR_FLUSH		14
#define WC_FLUSH		8
#define QP_EX_WITH_FLUSH	(1u << 11)
#define ACCESS_FLUSH_GLOBAL	(1 << 8)
#define ACCESS_FLUSH_PERSISTENT	(1 << 9)
#define FLUSH_GLOBAL		1
#define FLUSH_PERSISTENT	2
#define FLUSH_RANGE		0
#define FLUSH_MR		1
#define DEVICE_FLUSH_GLOBAL	(1ull << 38)
#define DEVICE_FLUSH_PERSISTENT	(1ull << 39)

/* One client, two RC QPs connected to each other (a -> b). */
struct softfeat_pair {
	struct dt_node n;
	struct ibv_cq_ex *cqx;		/* a's send CQ and b's receive CQ */
	struct ibv_qp *a, *b;
	struct dt_buf src, dst;
	struct ibv_mw *mws[64];		/* dealloc'd by teardown if still there */
};
extern struct softfeat_pair F;

/* qp_access_flags beyond dt_qp_opts_default()'s, for the next setup. */
extern int qp_extra_access;

uint64_t clock_ns(clockid_t id);
/* F with a CQ of cq_wc_flags and a destination buffer of dst_access:
 * 0, or -1. */
int setup_pair(int cq_wc_flags, int dst_access);
/* A cmocka teardown: whatever setup_pair made. */
int teardown(void **state);

/* What one extended completion said. */
struct xwc {
	uint64_t wr_id;
	enum ibv_wc_status status;
	enum ibv_wc_opcode opcode;
	uint64_t ts, wall;
};

/* Up to n completions of F.cqx within DT_TIMEOUT_MS; how many came. */
int xpoll(struct xwc *w, int n, bool stamps);

#endif /* RB_TESTS_INTEGRATION_SOFTFEAT_LIB_H */
