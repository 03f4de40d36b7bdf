/* SPDX-License-Identifier: MIT */
/* Helpers shared by the C tests of the connection manager (cmtest.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/cmtest.h"

void cmt_fail(int line, const char *fmt, ...)
{
	/* libtool runs an uninstalled program as .libs/lt-NAME. */
	const char *prog = program_invocation_short_name;
	va_list ap;

	if (strncmp(prog, "lt-", 3) == 0)
		prog += 3;
	fprintf(stderr, "%s: FAIL: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (line %d)\n", line);
	exit(1);
}

struct rdma_cm_event *cmt_expect(struct rdma_event_channel *ch,
				 enum rdma_cm_event_type want, int ms)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	if (poll(&p, 1, ms) != 1)
		FAIL("no event within %d ms, wanted %s", ms, rdma_event_str(want));
	if (rdma_get_cm_event(ch, &ev))
		FAIL("rdma_get_cm_event: %s", strerror(errno));
	if (ev->event != want)
		FAIL("got %s (status %d), wanted %s", rdma_event_str(ev->event),
		     ev->status, rdma_event_str(want));
	return ev;
}

struct rdma_cm_id *cmt_listen(struct rdma_event_channel *ch, uint16_t port,
			      struct sockaddr_in *sin)
{
	struct rdma_cm_id *id;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);
	if (rdma_create_id(ch, &id, NULL, RDMA_PS_TCP) ||
	    rdma_bind_addr(id, (struct sockaddr *)sin) || rdma_listen(id, 4))
		FAIL("listen on port %u: %s", port, strerror(errno));
	return id;
}

void cmt_resolve(struct rdma_event_channel *ch, struct rdma_cm_id *id,
		 struct sockaddr_in *dst)
{
	if (rdma_resolve_addr(id, NULL, (struct sockaddr *)dst, 2000))
		FAIL("rdma_resolve_addr: %s", strerror(errno));
	rdma_ack_cm_event(cmt_expect(ch, RDMA_CM_EVENT_ADDR_RESOLVED, 5000));
	if (rdma_resolve_route(id, 2000))
		FAIL("rdma_resolve_route: %s", strerror(errno));
	rdma_ack_cm_event(cmt_expect(ch, RDMA_CM_EVENT_ROUTE_RESOLVED, 5000));
}

void cmt_create_qp(struct rdma_cm_id *id, enum ibv_qp_type t)
{
	struct ibv_qp_init_attr qa = {
		.qp_type = t,
		.cap = { .max_send_wr = 8, .max_recv_wr = 8,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};

	if (rdma_create_qp(id, NULL, &qa))
		FAIL("rdma_create_qp: %s", strerror(errno));
}

struct rdma_cm_id *cmt_request(struct rdma_event_channel *ch)
{
	struct rdma_cm_event *ev = cmt_expect(ch, RDMA_CM_EVENT_CONNECT_REQUEST, 5000);
	struct rdma_cm_id *id = ev->id;

	rdma_ack_cm_event(ev);
	return id;
}
