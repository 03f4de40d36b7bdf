/* SPDX-License-Identifier: MIT */
/*
 * A client that holds objects on one device until its daemon goes away
 * (tests/integration/verbs-nest.sh): verbs-holder DEVICE.  It opens DEVICE, makes a
 * PD, a 1 MiB MR, a CQ and an RC QP in INIT, prints "ready" and waits
 * for async events.  Exit 0 once IBV_EVENT_DEVICE_FATAL came and a new
 * verb on the context then fails; 1 on anything else, or after 60 s.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

int main(int argc, char **argv)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_async_event ev;
	struct pollfd pfd;
	void *buf;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: verbs-holder DEVICE\n");
		return 1;
	}
	list = ibv_get_device_list(&n);
	for (int i = 0; list && i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), argv[1]))
			ctx = ibv_open_device(list[i]);
	if (!ctx) {
		fprintf(stderr, "verbs-holder: cannot open %s\n", argv[1]);
		return 1;
	}
	buf = calloc(1, 1 << 20);
	pd = ibv_alloc_pd(ctx);
	mr = pd && buf ? ibv_reg_mr(pd, buf, 1 << 20, IBV_ACCESS_LOCAL_WRITE) : NULL;
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	{
		struct ibv_qp_init_attr a = {
			.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
			.cap = { .max_send_wr = 8, .max_recv_wr = 8,
				 .max_send_sge = 1, .max_recv_sge = 1 },
		};
		struct ibv_qp_attr m = { .qp_state = IBV_QPS_INIT, .port_num = 1,
					 .qp_access_flags = IBV_ACCESS_REMOTE_WRITE };

		qp = pd && cq ? ibv_create_qp(pd, &a) : NULL;
		if (!mr || !qp || ibv_modify_qp(qp, &m, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
						IBV_QP_PORT | IBV_QP_ACCESS_FLAGS)) {
			fprintf(stderr, "verbs-holder: objects: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	pfd = (struct pollfd){ .fd = ctx->async_fd, .events = POLLIN };
	for (;;) {
		if (poll(&pfd, 1, 60000) != 1) {
			fprintf(stderr, "verbs-holder: no DEVICE_FATAL within 60 s\n");
			return 1;
		}
		if (ibv_get_async_event(ctx, &ev)) {
			fprintf(stderr, "verbs-holder: ibv_get_async_event: %s\n", strerror(errno));
			return 1;
		}
		ibv_ack_async_event(&ev);
		printf("event %s\n", ibv_event_type_str(ev.event_type));
		fflush(stdout);
		if (ev.event_type == IBV_EVENT_DEVICE_FATAL)
			break;
	}
	if (ibv_alloc_pd(ctx)) {
		fprintf(stderr, "verbs-holder: ibv_alloc_pd works after DEVICE_FATAL\n");
		return 1;
	}
	/* Destroys still free what the library holds, as with libibverbs. */
	ibv_destroy_qp(qp);
	ibv_destroy_cq(cq);
	ibv_dereg_mr(mr);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	ibv_free_device_list(list);
	free(buf);
	printf("fatal\n");
	return 0;
}
