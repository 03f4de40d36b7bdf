/* SPDX-License-Identifier: MIT */
/*
 * Per-user limits of CM ids and event channels (rdmabrokerd.conf(5)
 * cm_ids, cm_channels), run under a daemon whose [limits] gives
 * cm_ids = IDS and cm_channels = CHANNELS (both at least 2):
 *
 *   cm-limit IDS CHANNELS
 *
 * CHANNELS channels are made, the next rdma_create_event_channel()
 * returns NULL with errno EDQUOT; IDS ids are made, the next
 * rdma_create_id() returns -1 with errno EDQUOT; destroying one id lets
 * the next be made (uncharged).  Then, with one listening id and one
 * connecting id held and every other slot filled, a connection request
 * needs a third id on the listening side: the connecting id is told
 * RDMA_CM_EVENT_REJECTED, as a CM that cannot take a request answers.
 * Prints "refused: EDQUOT" for each refusal, then "holding" and holds
 * every id and channel until stdin reaches EOF.  Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rdma/rdma_cma.h>

#include "tests/lib/cmtest.h"

static void refused(const char *what, int err)
{
	if (err != EDQUOT)
		FAIL("%s past the limit: errno %d (%s), wanted EDQUOT", what,
		     err, strerror(err));
	printf("%s refused: EDQUOT\n", what);
}

int main(int argc, char **argv)
{
	struct rdma_conn_param cp = { .qp_num = 0x1234, .retry_count = 7 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rdma_event_channel **chs, *extra;
	struct rdma_cm_id **ids, *id, *l, *c;
	struct rdma_cm_event *ev;
	int nids, nchs;

	if (argc != 3 || (nids = atoi(argv[1])) < 2 || (nchs = atoi(argv[2])) < 2)
		FAIL("usage: cm-limit IDS CHANNELS (each at least 2)");
	chs = calloc((size_t)nchs, sizeof(*chs));
	ids = calloc((size_t)nids, sizeof(*ids));
	CHECK(chs && ids);

	for (int i = 0; i < nchs; i++)
		if (!(chs[i] = rdma_create_event_channel()))
			FAIL("channel %d of %d: %s", i + 1, nchs, strerror(errno));
	errno = 0;
	extra = rdma_create_event_channel();
	CHECK(extra == NULL);
	refused("rdma_create_event_channel", errno);

	for (int i = 0; i < nids; i++)
		if (rdma_create_id(chs[0], &ids[i], NULL, RDMA_PS_TCP))
			FAIL("id %d of %d: %s", i + 1, nids, strerror(errno));
	errno = 0;
	CHECK(rdma_create_id(chs[0], &id, NULL, RDMA_PS_TCP) == -1);
	refused("rdma_create_id", errno);
	/* A destroyed id is uncharged: its slot is free again. */
	CHECK(rdma_destroy_id(ids[nids - 1]) == 0);
	CHECK(rdma_create_id(chs[1], &ids[nids - 1], NULL, RDMA_PS_UDP) == 0);
	CHECK(rdma_create_id(chs[1], &id, NULL, RDMA_PS_TCP) == -1 && errno == EDQUOT);

	/* A listener and a connecting id in the last two slots. */
	CHECK(rdma_destroy_id(ids[nids - 1]) == 0);
	CHECK(rdma_destroy_id(ids[nids - 2]) == 0);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	CHECK(rdma_create_id(chs[1], &l, NULL, RDMA_PS_TCP) == 0);
	CHECK(rdma_bind_addr(l, (struct sockaddr *)&sin) == 0);
	CHECK(rdma_listen(l, 8) == 0);
	sin.sin_port = rdma_get_src_port(l);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(rdma_create_id(chs[0], &c, NULL, RDMA_PS_TCP) == 0);
	CHECK(rdma_resolve_addr(c, NULL, (struct sockaddr *)&sin, 2000) == 0);
	rdma_ack_cm_event(cmt_expect(chs[0], RDMA_CM_EVENT_ADDR_RESOLVED, 5000));
	CHECK(rdma_resolve_route(c, 2000) == 0);
	rdma_ack_cm_event(cmt_expect(chs[0], RDMA_CM_EVENT_ROUTE_RESOLVED, 5000));
	CHECK(rdma_connect(c, &cp) == 0);
	/* The request's id on the listening side is past the limit. */
	ev = cmt_expect(chs[0], RDMA_CM_EVENT_REJECTED, 5000);
	printf("connection request refused: REJECTED status %d\n", ev->status);
	rdma_ack_cm_event(ev);
	{
		struct pollfd p = { .fd = chs[1]->fd, .events = POLLIN };

		CHECK(poll(&p, 1, 100) == 0);	/* the listener saw nothing */
	}

	/* Held until stdin closes, for `rdmactl limits` to count. */
	printf("holding\n");
	fflush(stdout);
	while (getchar() != EOF)
		;
	CHECK(rdma_destroy_id(c) == 0);
	CHECK(rdma_destroy_id(l) == 0);
	for (int i = 0; i < nids - 2; i++)
		CHECK(rdma_destroy_id(ids[i]) == 0);
	for (int i = 0; i < nchs; i++)
		rdma_destroy_event_channel(chs[i]);
	free(ids);
	free(chs);
	printf("ok\n");
	return 0;
}
