/* SPDX-License-Identifier: MIT */
/* What the soft device feature tests share (softfeat-lib.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"
#include "tests/integration/softfeat-lib.h"

uint64_t clock_ns(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}


/* One client, two RC QPs connected to each other (a -> b). */
struct softfeat_pair F;

int qp_extra_access;

int setup_pair(int cq_wc_flags, int dst_access)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct ibv_cq_init_attr_ex ca = {
		.cqe = 64, .wc_flags = IBV_WC_STANDARD_FLAGS | (uint64_t)cq_wc_flags,
	};
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 2, .max_recv_sge = 2 };
	struct ibv_qp_init_attr_ex qa = {
		.cap = cap, .qp_type = IBV_QPT_RC, .pd = F.n.pd,
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.send_ops_flags = IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_ATOMIC_WRITE |
				  IBV_QP_EX_WITH_BIND_MW | IBV_QP_EX_WITH_LOCAL_INV |
				  IBV_QP_EX_WITH_SEND_WITH_INV | QP_EX_WITH_FLUSH,
	};

	memset(&F, 0, sizeof(F));
	if (dt_node_open(&F.n, 64, false) < 0)
		return -1;
	F.cqx = ibv_create_cq_ex(F.n.ctx, &ca);
	if (!F.cqx)
		return -1;
	qa.pd = F.n.pd;
	qa.send_cq = ibv_cq_ex_to_cq(F.cqx);
	qa.recv_cq = F.n.rcq;
	F.a = ibv_create_qp_ex(F.n.ctx, &qa);
	qa.send_cq = F.n.scq;
	qa.recv_cq = ibv_cq_ex_to_cq(F.cqx);
	F.b = ibv_create_qp_ex(F.n.ctx, &qa);
	o.access |= qp_extra_access;
	if (!F.a || !F.b || dt_qp_connect(F.a, F.b, &o) < 0)
		return -1;
	if (dt_buf_alloc(&F.src, F.n.pd, 4096, DT_ACCESS_ALL) < 0 ||
	    dt_buf_alloc(&F.dst, F.n.pd, 4096, dst_access) < 0)
		return -1;
	return 0;
}

int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(F.mws) / sizeof(F.mws[0]); i++)
		if (F.mws[i])
			ibv_dealloc_mw(F.mws[i]);
	if (F.a)
		ibv_destroy_qp(F.a);
	if (F.b)
		ibv_destroy_qp(F.b);
	dt_buf_free(&F.src);
	dt_buf_free(&F.dst);
	if (F.cqx)
		ibv_destroy_cq(ibv_cq_ex_to_cq(F.cqx));
	dt_node_close(&F.n);
	memset(&F, 0, sizeof(F));
	qp_extra_access = 0;
	return 0;
}


int xpoll(struct xwc *w, int n, bool stamps)
{
	struct ibv_poll_cq_attr pa = { 0 };
	uint64_t end = dt_now_ms() + DT_TIMEOUT_MS;
	int got = 0, ret;

	while (got < n && dt_now_ms() < end) {
		ret = ibv_start_poll(F.cqx, &pa);
		if (ret == ENOENT)
			continue;
		assert_int_equal(ret, 0);
		do {
			w[got].wr_id = F.cqx->wr_id;
			w[got].status = F.cqx->status;
			w[got].opcode = ibv_wc_read_opcode(F.cqx);
			if (stamps) {
				w[got].ts = ibv_wc_read_completion_ts(F.cqx);
				w[got].wall = ibv_wc_read_completion_wallclock_ns(F.cqx);
			}
			got++;
		} while (got < n && ibv_next_poll(F.cqx) == 0);
		ibv_end_poll(F.cqx);
	}
	return got;
}
