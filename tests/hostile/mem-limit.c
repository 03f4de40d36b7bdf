/* SPDX-License-Identifier: MIT */
/*
 * One user fills its memory limit (issue 14): `mem-limit WR CQE` creates
 * a CQ of CQE entries and an RC QP with WR send and receive slots on it,
 * pair after pair, until a create fails; prints
 *   "created N cqs M qps; then CQ|QP create failed: ERRNO"
 * and holds everything until stdin closes, so that the daemon's RSS can be
 * measured.  Exit 0 when the failure was EDQUOT (a limit), 1 otherwise.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>

int main(int argc, char **argv)
{
	struct ibv_device **list;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	int wr, cqe, ncq = 0, nqp = 0, err = 0;
	const char *what = "nothing";
	char c;

	if (argc != 3)
		return 99;
	wr = atoi(argv[1]);
	cqe = atoi(argv[2]);
	list = ibv_get_device_list(NULL);
	ctx = list && list[0] ? ibv_open_device(list[0]) : NULL;
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	if (!pd) {
		fprintf(stderr, "mem-limit: no device or PD: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		struct ibv_qp_init_attr a = {
			.qp_type = IBV_QPT_RC,
			.cap = { .max_send_wr = (uint32_t)wr, .max_recv_wr = (uint32_t)wr,
				 .max_send_sge = 1, .max_recv_sge = 1 },
		};
		struct ibv_cq *cq = ibv_create_cq(ctx, cqe, NULL, NULL, 0);

		if (!cq) {
			err = errno;
			what = "CQ";
			break;
		}
		ncq++;
		a.send_cq = a.recv_cq = cq;
		if (!ibv_create_qp(pd, &a)) {
			err = errno;
			what = "QP";
			break;
		}
		nqp++;
	}
	printf("created %d cqs %d qps; then %s create failed: %s\n", ncq, nqp, what,
	       strerrorname_np(err) ? strerrorname_np(err) : "?");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return err == EDQUOT ? 0 : 1;
}
