/* SPDX-License-Identifier: MIT */
/*
 * One end of an rdma_cm connection for tests/peers/cm-roce.sh (the CM
 * across hosts), through librdmabroker-cm and the daemon of its
 * namespace:
 *
 *   cm-roce-peer server ADDR PORT   print "pid N", listen, accept one
 *                                   connection (with an RC QP), print
 *                                   "connected", then wait for ever (the
 *                                   test kills it by that pid)
 *   cm-roce-peer client ADDR PORT   resolve, connect (an RC QP), print
 *                                   "connected" and then the next event
 *                                   ("event DISCONNECTED"), and exit 0
 *                                   when it is DISCONNECTED
 *   cm-roce-peer reject ADDR PORT   connect to a port nobody listens on:
 *                                   exit 0 on REJECTED within 2 s,
 *                                   printing the status and the time
 *   cm-roce-peer noroute ADDR PORT  resolve an address no route reaches:
 *                                   exit 0 on ADDR_ERROR within 2 s
 *   cm-roce-peer silent ADDR PORT   connect to a host whose broker does
 *                                   not answer: exit 0 on UNREACHABLE
 *                                   (-ETIMEDOUT) within 25 s
 *   cm-roce-peer slow ADDR PORT     as server, but accept SLOW_S seconds
 *                                   after the request (past the 16 s the
 *                                   peer's CM tries for without an MRA),
 *                                   then disconnect and exit 0 on
 *                                   DISCONNECTED
 *   cm-roce-peer slowrtu ADDR PORT  as client, but connect without a QP
 *                                   and answer CONNECT_RESPONSE with
 *                                   rdma_establish SLOW_S seconds later
 *   cm-roce-peer giveup ADDR PORT   as server, but no RTU ever comes
 *                                   (the link drops them): exit 0 on
 *                                   UNREACHABLE (-ETIMEDOUT) after the
 *                                   accept
 *   cm-roce-peer rejected ADDR PORT as client, connected, then its peer
 *                                   gives up: exit 0 on REJECTED with
 *                                   the timeout reason (1) and its QP in
 *                                   the error state
 *
 * Every event it waits for must come within 30 s.  Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>

#define FAIL(...) do { fprintf(stderr, "cm-roce-peer: FAIL: " __VA_ARGS__); \
	fprintf(stderr, "\n"); exit(1); } while (0)

static struct rdma_event_channel *ch;

/* Past the peer CM's 1 s resend period and 15 more tries. */
#define SLOW_S	18

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The next event within timeout_ms (copied, acked); fails otherwise. */
static struct rdma_cm_event next(int timeout_ms)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev, copy;

	if (poll(&p, 1, timeout_ms) != 1)
		FAIL("no event within %d ms", timeout_ms);
	if (rdma_get_cm_event(ch, &ev))
		FAIL("rdma_get_cm_event: %s", strerror(errno));
	copy = *ev;
	rdma_ack_cm_event(ev);
	return copy;
}

static struct rdma_cm_event expect(enum rdma_cm_event_type want)
{
	struct rdma_cm_event ev = next(30000);

	if (ev.event != want)
		FAIL("got %s (status %d), want %s", rdma_event_str(ev.event), ev.status,
		     rdma_event_str(want));
	return ev;
}

/* UNREACHABLE (-ETIMEDOUT) within timeout_ms, printed with the time
 * since t0 (the connect or the accept); fails otherwise. */
static void expect_unreachable(int timeout_ms, double t0)
{
	struct rdma_cm_event ev = next(timeout_ms);

	if (ev.event != RDMA_CM_EVENT_UNREACHABLE || ev.status != -ETIMEDOUT)
		FAIL("got %s status %d, want UNREACHABLE -ETIMEDOUT",
		     rdma_event_str(ev.event), ev.status);
	printf("event UNREACHABLE status %d after %.1f s\n", ev.status, now_s() - t0);
}

/* Exit 0 after freeing what a mode made: the accepted id (or NULL),
 * the id, the address, the channel; an id's QP with it. */
static int done(struct rdma_cm_id *child, struct rdma_cm_id *id, struct rdma_addrinfo *ai)
{
	if (child) {
		rdma_destroy_qp(child);
		rdma_destroy_id(child);
	}
	if (id->qp)
		rdma_destroy_qp(id);
	rdma_destroy_id(id);
	rdma_freeaddrinfo(ai);
	rdma_destroy_event_channel(ch);
	return 0;
}

static void qp_make(struct rdma_cm_id *id)
{
	struct ibv_qp_init_attr a = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4, .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};

	if (rdma_create_qp(id, NULL, &a))
		FAIL("rdma_create_qp: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct rdma_conn_param cp = { .retry_count = 7, .rnr_retry_count = 7 };
	struct rdma_addrinfo hints = { .ai_port_space = RDMA_PS_TCP }, *ai;
	struct rdma_cm_id *id;
	struct rdma_cm_event ev;
	const char *mode;

	if (argc != 4)
		FAIL("usage: cm-roce-peer server|client|reject|noroute|silent|slow|slowrtu|giveup|rejected ADDR PORT");
	mode = argv[1];
	if (!strcmp(mode, "server") || !strcmp(mode, "slow") || !strcmp(mode, "giveup"))
		hints.ai_flags = RAI_PASSIVE;
	if (rdma_getaddrinfo(argv[2], argv[3], &hints, &ai))
		FAIL("rdma_getaddrinfo %s %s: %s", argv[2], argv[3], strerror(errno));
	ch = rdma_create_event_channel();
	if (!ch || rdma_create_id(ch, &id, NULL, RDMA_PS_TCP))
		FAIL("rdma_create_id: %s", strerror(errno));
	if (!strcmp(mode, "server") || !strcmp(mode, "slow") || !strcmp(mode, "giveup")) {
		bool slow = !strcmp(mode, "slow");
		struct rdma_cm_id *c;
		double t0;

		printf("pid %d\n", (int)getpid());
		fflush(stdout);
		if (rdma_bind_addr(id, ai->ai_src_addr) || rdma_listen(id, 4))
			FAIL("listen: %s", strerror(errno));
		printf("listening\n");
		fflush(stdout);
		ev = expect(RDMA_CM_EVENT_CONNECT_REQUEST);
		c = ev.id;
		t0 = now_s();
		if (slow)
			sleep(SLOW_S);
		qp_make(c);
		if (rdma_accept(c, &cp))
			FAIL("rdma_accept: %s", strerror(errno));
		if (!strcmp(mode, "giveup")) {
			expect_unreachable(30000, t0);
			return done(c, id, ai);
		}
		expect(RDMA_CM_EVENT_ESTABLISHED);
		printf("connected, accepted after %.1f s\n", now_s() - t0);
		fflush(stdout);
		if (!slow)
			for (;;)
				pause();
		if (rdma_disconnect(c))
			FAIL("rdma_disconnect: %s", strerror(errno));
		expect(RDMA_CM_EVENT_DISCONNECTED);
		printf("event DISCONNECTED\n");
		return done(c, id, ai);
	}
	if (rdma_resolve_addr(id, NULL, ai->ai_dst_addr, 2000))
		FAIL("rdma_resolve_addr: %s", strerror(errno));
	if (!strcmp(mode, "noroute")) {
		ev = next(2000);
		if (ev.event != RDMA_CM_EVENT_ADDR_ERROR)
			FAIL("got %s, want ADDR_ERROR", rdma_event_str(ev.event));
		printf("event ADDR_ERROR status %d\n", ev.status);
		return 0;
	}
	expect(RDMA_CM_EVENT_ADDR_RESOLVED);
	if (rdma_resolve_route(id, 2000))
		FAIL("rdma_resolve_route: %s", strerror(errno));
	expect(RDMA_CM_EVENT_ROUTE_RESOLVED);
	if (strcmp(mode, "slowrtu"))
		qp_make(id);
	{
		double t0 = now_s();

		if (rdma_connect(id, &cp))
			FAIL("rdma_connect: %s", strerror(errno));
		if (!strcmp(mode, "silent")) {
			expect_unreachable(25000, t0);
			return 0;
		}
		if (!strcmp(mode, "reject")) {
			ev = next(2000);
			if (ev.event != RDMA_CM_EVENT_REJECTED)
				FAIL("got %s, want REJECTED", rdma_event_str(ev.event));
			printf("event REJECTED status %d after %.0f ms\n", ev.status,
			       (now_s() - t0) * 1000);
			return 0;
		}
		if (!strcmp(mode, "slowrtu")) {
			/* No QP: the application completes the connection
			 * itself, late (the peer's REP waits for our RTU). */
			expect(RDMA_CM_EVENT_CONNECT_RESPONSE);
			sleep(SLOW_S);
			if (rdma_establish(id))
				FAIL("rdma_establish: %s", strerror(errno));
			printf("connected, established after %.1f s\n", now_s() - t0);
			fflush(stdout);
			ev = expect(RDMA_CM_EVENT_DISCONNECTED);
			printf("event DISCONNECTED\n");
			rdma_disconnect(id);
			return done(NULL, id, ai);
		}
	}
	expect(RDMA_CM_EVENT_ESTABLISHED);
	printf("connected\n");
	fflush(stdout);
	if (!strcmp(mode, "rejected")) {
		struct ibv_qp_attr qa;
		struct ibv_qp_init_attr qi;

		ev = expect(RDMA_CM_EVENT_REJECTED);
		if (ev.status != 1)
			FAIL("REJECTED with status %d, want 1 (timeout)", ev.status);
		if (ibv_query_qp(id->qp, &qa, IBV_QP_STATE, &qi))
			FAIL("ibv_query_qp: %s", strerror(errno));
		if (qa.qp_state != IBV_QPS_ERR)
			FAIL("the QP is in state %d after REJECTED, want ERR", (int)qa.qp_state);
		printf("event REJECTED status %d, QP in the error state\n", ev.status);
		rdma_disconnect(id);
		return done(NULL, id, ai);
	}
	ev = expect(RDMA_CM_EVENT_DISCONNECTED);
	printf("event DISCONNECTED\n");
	rdma_disconnect(id);
	return done(NULL, id, ai);
}
