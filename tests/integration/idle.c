/* SPDX-License-Identifier: MIT */
/*
 * A client holding a connected RC pair, for tests/integration/idle.sh
 * (an idle broker costs no CPU): `idle hold idle` connects two QPs of two
 * contexts, does 1000 SEND round trips, prints "ready" and waits to be
 * killed.  Exit 1 if the pair or a round trip fails.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
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

#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"
#include "tests/integration/dataerr-lib.h"

/* n successful completions on cq within WAIT_MS each: 0, or -1. */
static int hold_wcs(struct ibv_cq *cq, int n)
{
	struct ibv_wc wc;

	while (n-- > 0)
		if (wc_wait(cq, &wc, WAIT_MS) != 1 || wc.status != IBV_WC_SUCCESS)
			return -1;
	return 0;
}

/* A connected pair, 1000 SEND round trips, then "ready" and wait. */
static int hold_idle(void)
{
	struct fix f;
	struct pair_opts o = pair_defaults();
	int i;

	memset(&f, 0, sizeof(f));
	if (ctx_open(&f) || end_open(&f.a, f.ctx[0], 64, ACCESS_ALL, PAT_A) ||
	    end_open(&f.b, f.ctx[1], 64, ACCESS_ALL, PAT_B) ||
	    pair_connect(&f.a, &f.b, &o)) {
		fprintf(stderr, "hold idle: setting up the pair failed\n");
		return 1;
	}
	for (i = 0; i < 1000; i++) {
		struct ibv_sge ra = sge_of(f.a.buf, 64, f.a.mr->lkey);
		struct ibv_sge rb = sge_of(f.b.buf, 64, f.b.mr->lkey);
		struct ibv_sge sa = sge_of(f.a.buf + 64, 64, f.a.mr->lkey);
		struct ibv_sge sb = sge_of(f.b.buf + 64, 64, f.b.mr->lkey);
		struct ibv_recv_wr rwa = { .wr_id = 1, .sg_list = &ra, .num_sge = 1 };
		struct ibv_recv_wr rwb = { .wr_id = 2, .sg_list = &rb, .num_sge = 1 };
		struct ibv_recv_wr *rbad;
		struct ibv_send_wr swa, swb, *sbad;

		/* a -> b (b's CQ: the receive), b -> a (a's CQ: a's send and
		 * the receive; b's CQ: b's send). */
		wr_set(&swa, 3, IBV_WR_SEND, &sa, 1);
		wr_set(&swb, 4, IBV_WR_SEND, &sb, 1);
		if (ibv_post_recv(f.a.qp, &rwa, &rbad) || ibv_post_recv(f.b.qp, &rwb, &rbad) ||
		    ibv_post_send(f.a.qp, &swa, &sbad) || hold_wcs(f.b.cq, 1) ||
		    ibv_post_send(f.b.qp, &swb, &sbad) || hold_wcs(f.a.cq, 2) ||
		    hold_wcs(f.b.cq, 1)) {
			fprintf(stderr, "hold idle: round trip %d failed\n", i);
			return 1;
		}
	}
	ct_ready_and_wait();
}

int main(int argc, char **argv)
{
	/* rb_holder_start (tests/lib/lib.sh) runs PROGRAM hold ARG. */
	if (argc < 2 || argc > 3 || strcmp(argv[1], "hold") != 0) {
		fprintf(stderr, "usage: %s hold [idle]\n", argv[0]);
		return 2;
	}
	return hold_idle();
}
