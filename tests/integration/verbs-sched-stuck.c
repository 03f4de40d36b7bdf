/* SPDX-License-Identifier: MIT */
/*
 * Sends that never complete (tests/integration/verbs-sched.sh): two RC
 * QPs of one client connected to each other with rnr_retry 7 (retry for
 * ever); the receiving one never posts a receive, so COUNT SENDs of SIZE
 * bytes stay on the device for good.  Prints "stuck" once they are
 * posted and holds them until killed (or 600 s).  Exit 1 if anything
 * fails or a SEND completes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/lib/datatest.h"

int main(int argc, char **argv)
{
	struct ibv_qp_cap cap = { .max_send_wr = 64, .max_recv_wr = 1,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct dt_node n = { 0 };
	struct dt_buf b = { 0 };
	struct ibv_qp *a, *z;
	struct ibv_wc wc;
	unsigned long count, size;

	if (argc != 3 || !(count = strtoul(argv[1], NULL, 0)) || count > 64 ||
	    !(size = strtoul(argv[2], NULL, 0))) {
		fprintf(stderr, "usage: verbs-sched-stuck COUNT(1-64) SIZE\n");
		return 1;
	}
	if (dt_node_open(&n, 128, false) || dt_buf_alloc(&b, n.pd, size, DT_ACCESS_ALL)) {
		fprintf(stderr, "verbs-sched-stuck: no node or buffer\n");
		return 1;
	}
	a = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 0);
	z = a ? dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 0) : NULL;
	/* dt_qp_opts_default(): rnr_retry 7, the sender waits for ever. */
	if (!z || dt_qp_connect(a, z, NULL)) {
		fprintf(stderr, "verbs-sched-stuck: no connected QPs\n");
		return 1;
	}
	for (unsigned long i = 0; i < count; i++) {
		struct ibv_sge sge = { (uintptr_t)b.p, (uint32_t)size, b.mr->lkey };
		struct ibv_send_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1,
					  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED };
		struct ibv_send_wr *bad;

		if (ibv_post_send(a, &wr, &bad)) {
			perror("verbs-sched-stuck: ibv_post_send");
			return 1;
		}
	}
	printf("stuck\n");
	fflush(stdout);
	for (int s = 0; s < 600; s++) {
		if (dt_poll(n.scq, &wc, 1, 1000) > 0) {
			fprintf(stderr, "verbs-sched-stuck: a SEND completed (status %d)\n",
				(int)wc.status);
			return 1;
		}
	}
	return 0;
}
