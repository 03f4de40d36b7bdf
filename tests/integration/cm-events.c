/* SPDX-License-Identifier: MIT */
/*
 * The connection manager's events and failures through the broker
 * (issue 13), with librdmabroker-cm linked directly:
 *
 *   cm-events api       every event a connection goes through, private
 *                       data at the IB CM's sizes (56 on connect, 196 on
 *                       accept, 148 on reject, one more refused), backlog,
 *                       ports, options, rdma_init_qp_attr, O_NONBLOCK
 *                       channels, REJECTED for a port nobody listens on,
 *                       ADDR_ERROR for another host's address when
 *                       no device reaches other hosts,
 *                       DISCONNECTED and TIMEWAIT_EXIT, rsockets ENOSYS
 *   cm-events killed    a child connects and is SIGKILLed: its peer gets
 *                       DISCONNECTED
 *   cm-events removal   a connected pair, "ready" on stdout, then waits
 *                       for DEVICE_REMOVAL on both ids (the daemon stops)
 *
 * Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>
#include <rdma/rsocket.h>

#include "tests/lib/cmtest.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void expect_ack(struct rdma_event_channel *ch,
		       enum rdma_cm_event_type want)
{
	rdma_ack_cm_event(cmt_expect(ch, want, 2000));
}

static struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static struct rdma_cm_id *listener(struct rdma_event_channel *ch, uint16_t *port,
				   int backlog)
{
	struct sockaddr_in any = sin_of("0.0.0.0", 0);
	struct rdma_cm_id *l;

	CHECK(rdma_create_id(ch, &l, NULL, RDMA_PS_TCP) == 0);
	CHECK(rdma_bind_addr(l, (struct sockaddr *)&any) == 0);
	CHECK(rdma_listen(l, backlog) == 0);
	*port = ntohs(rdma_get_src_port(l));
	CHECK(*port != 0);
	return l;
}

/* An id with its route to 127.0.0.1:port resolved. */
static struct rdma_cm_id *resolved(struct rdma_event_channel *ch, uint16_t port)
{
	struct sockaddr_in dst = sin_of("127.0.0.1", port);
	struct rdma_cm_id *id;

	CHECK(rdma_create_id(ch, &id, NULL, RDMA_PS_TCP) == 0);
	CHECK(rdma_resolve_addr(id, NULL, (struct sockaddr *)&dst, 2000) == 0);
	expect_ack(ch, RDMA_CM_EVENT_ADDR_RESOLVED);
	CHECK(id->verbs != NULL);
	CHECK(rdma_resolve_route(id, 2000) == 0);
	expect_ack(ch, RDMA_CM_EVENT_ROUTE_RESOLVED);
	CHECK(id->route.num_paths == 1);
	return id;
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

/* A connected pair (no QPs: rdma_establish), client side c, server s. */
static void connect_pair(struct rdma_event_channel *cch,
			 struct rdma_event_channel *sch, uint16_t port,
			 struct rdma_cm_id **c, struct rdma_cm_id **s)
{
	struct rdma_conn_param p = { .responder_resources = 1,
				     .initiator_depth = 1, .retry_count = 7,
				     .qp_num = 0x1234 };
	struct rdma_cm_event *ev;

	*c = resolved(cch, port);
	CHECK(rdma_connect(*c, &p) == 0);
	ev = cmt_expect(sch, RDMA_CM_EVENT_CONNECT_REQUEST, 2000);
	*s = ev->id;
	rdma_ack_cm_event(ev);
	memset(&p, 0, sizeof(p));
	p.qp_num = 0x5678;
	CHECK(rdma_accept(*s, &p) == 0);
	expect_ack(cch, RDMA_CM_EVENT_CONNECT_RESPONSE);
	CHECK(rdma_establish(*c) == 0);
	expect_ack(sch, RDMA_CM_EVENT_ESTABLISHED);
}

static void test_api(void)
{
	struct rdma_event_channel *sch = rdma_create_event_channel();
	struct rdma_event_channel *cch = rdma_create_event_channel();
	struct rdma_conn_param p;
	struct rdma_cm_event *ev;
	struct rdma_cm_id *l, *c, *s, *c2, *c3;
	struct ibv_qp_attr qa;
	uint8_t buf[256];
	uint16_t port;
	double t0;
	int mask, one = 1;
	uint8_t tos = 32, to = 16;

	CHECK(sch && cch);
	l = listener(sch, &port, 1);

	/* O_NONBLOCK: nothing queued is EAGAIN, as ucma. */
	fcntl(cch->fd, F_SETFL, fcntl(cch->fd, F_GETFL) | O_NONBLOCK);
	CHECK(rdma_get_cm_event(cch, &ev) == -1 && errno == EAGAIN);
	fcntl(cch->fd, F_SETFL, fcntl(cch->fd, F_GETFL) & ~O_NONBLOCK);

	/* Options. */
	c = resolved(cch, port);
	CHECK(rdma_set_option(c, RDMA_OPTION_ID, RDMA_OPTION_ID_TOS, &tos, 1) == 0);
	CHECK(rdma_set_option(c, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &to, 1) == 0);
	CHECK(rdma_set_option(c, RDMA_OPTION_ID, RDMA_OPTION_ID_REUSEADDR, &one,
			      sizeof(one)) == -1 && errno == EINVAL);	/* bound */

	/* Private data: 56 bytes on connect pass, 57 do not. */
	memset(&p, 0, sizeof(p));
	fill(buf, sizeof(buf), 1);
	p.private_data = buf;
	p.private_data_len = 57;
	p.qp_num = 0xabcd;
	p.responder_resources = 2;
	p.initiator_depth = 3;
	CHECK(rdma_connect(c, &p) == -1 && errno == EINVAL);
	p.private_data_len = 56;
	CHECK(rdma_connect(c, &p) == 0);
	ev = cmt_expect(sch, RDMA_CM_EVENT_CONNECT_REQUEST, 2000);
	CHECK(ev->listen_id == l);
	CHECK(ev->param.conn.private_data_len == 56);
	CHECK(!memcmp(ev->param.conn.private_data, buf, 56));
	/* The peer's view: its initiator depth is our responder resources. */
	CHECK(ev->param.conn.responder_resources == 3);
	CHECK(ev->param.conn.initiator_depth == 2);
	CHECK(ev->param.conn.qp_num == 0xabcd);
	s = ev->id;
	CHECK(s->verbs == c->verbs);
	CHECK(rdma_get_dst_port(s) == rdma_get_src_port(c));
	CHECK(rdma_get_src_port(s) == htons(port));
	rdma_ack_cm_event(ev);
	/* rdma_init_qp_attr: RTR points at the peer's QP. */
	qa.qp_state = IBV_QPS_RTR;
	CHECK(rdma_init_qp_attr(s, &qa, &mask) == 0);
	CHECK(qa.dest_qp_num == 0xabcd && (mask & IBV_QP_DEST_QPN) && (mask & IBV_QP_AV));
	CHECK(qa.ah_attr.is_global == 1);

	/* Backlog 1: a second request while one waits is rejected. */
	c2 = resolved(cch, port);
	memset(&p, 0, sizeof(p));
	CHECK(rdma_connect(c2, &p) == 0);
	ev = cmt_expect(cch, RDMA_CM_EVENT_REJECTED, 2000);
	CHECK(ev->id == c2 && ev->status == 28);
	rdma_ack_cm_event(ev);

	/* Accept with 196 bytes; 197 refused. */
	memset(&p, 0, sizeof(p));
	fill(buf, sizeof(buf), 9);
	p.private_data = buf;
	p.private_data_len = 197;
	CHECK(rdma_accept(s, &p) == -1 && errno == EINVAL);
	p.private_data_len = 196;
	p.qp_num = 0x4321;
	CHECK(rdma_accept(s, &p) == 0);
	ev = cmt_expect(cch, RDMA_CM_EVENT_CONNECT_RESPONSE, 2000);
	CHECK(ev->id == c && ev->param.conn.private_data_len == 196);
	CHECK(!memcmp(ev->param.conn.private_data, buf, 196));
	CHECK(ev->param.conn.qp_num == 0x4321);
	rdma_ack_cm_event(ev);
	qa.qp_state = IBV_QPS_RTS;
	CHECK(rdma_init_qp_attr(c, &qa, &mask) == 0);
	CHECK(qa.timeout == 16 && (mask & IBV_QP_SQ_PSN));
	CHECK(rdma_establish(c) == 0);
	expect_ack(sch, RDMA_CM_EVENT_ESTABLISHED);

	/* Disconnect: both DISCONNECTED, then both TIMEWAIT_EXIT. */
	CHECK(rdma_disconnect(c) == 0);
	expect_ack(sch, RDMA_CM_EVENT_DISCONNECTED);
	CHECK(rdma_disconnect(s) == 0);
	expect_ack(cch, RDMA_CM_EVENT_DISCONNECTED);
	expect_ack(cch, RDMA_CM_EVENT_TIMEWAIT_EXIT);
	expect_ack(sch, RDMA_CM_EVENT_TIMEWAIT_EXIT);

	/* Reject with 148 bytes. */
	c3 = resolved(cch, port);
	memset(&p, 0, sizeof(p));
	CHECK(rdma_connect(c3, &p) == 0);
	ev = cmt_expect(sch, RDMA_CM_EVENT_CONNECT_REQUEST, 2000);
	fill(buf, sizeof(buf), 77);
	CHECK(rdma_reject(ev->id, buf, 149) == -1 && errno == EINVAL);
	CHECK(rdma_reject(ev->id, buf, 148) == 0);
	rdma_ack_cm_event(ev);
	ev = cmt_expect(cch, RDMA_CM_EVENT_REJECTED, 2000);
	CHECK(ev->status == 28 && ev->param.conn.private_data_len == 148);
	CHECK(!memcmp(ev->param.conn.private_data, buf, 148));
	rdma_ack_cm_event(ev);

	/* Nobody listens: REJECTED promptly (IB_CM_REJ_INVALID_SERVICE_ID,
	 * after the daemon's 100 ms wait for a racing listen). */
	CHECK(rdma_destroy_id(l) == 0);
	rdma_destroy_id(c2);
	c2 = resolved(cch, port);
	memset(&p, 0, sizeof(p));
	t0 = now_ms();
	CHECK(rdma_connect(c2, &p) == 0);
	ev = cmt_expect(cch, RDMA_CM_EVENT_REJECTED, 1000);
	CHECK(ev->status == 8);
	rdma_ack_cm_event(ev);
	printf("REJECTED for an unlistened port after %.2f ms\n", now_ms() - t0);

	/* Another host's address, and no RoCEv2 wire to reach it
	 * (cm-events.sh: [soft] roce = no): ADDR_ERROR, nothing sent. */
	{
		struct sockaddr_in far = sin_of("192.0.2.1", 7);
		struct rdma_cm_id *x;

		CHECK(rdma_create_id(cch, &x, NULL, RDMA_PS_TCP) == 0);
		CHECK(rdma_resolve_addr(x, NULL, (struct sockaddr *)&far, 500) == 0);
		ev = cmt_expect(cch, RDMA_CM_EVENT_ADDR_ERROR, 2000);
		CHECK(ev->status < 0);
		rdma_ack_cm_event(ev);
		CHECK(rdma_destroy_id(x) == 0);
	}

	/* Binding: a port in use, and one of no address here. */
	{
		struct sockaddr_in a = sin_of("127.0.0.1", 0), b;
		struct rdma_cm_id *x, *y;

		CHECK(rdma_create_id(cch, &x, NULL, RDMA_PS_TCP) == 0);
		CHECK(rdma_create_id(cch, &y, NULL, RDMA_PS_TCP) == 0);
		CHECK(rdma_bind_addr(x, (struct sockaddr *)&a) == 0);
		CHECK(rdma_listen(x, 4) == 0);
		b = sin_of("127.0.0.1", ntohs(rdma_get_src_port(x)));
		CHECK(rdma_bind_addr(y, (struct sockaddr *)&b) == -1 && errno == EADDRINUSE);
		rdma_destroy_id(y);
		CHECK(rdma_create_id(cch, &y, NULL, RDMA_PS_TCP) == 0);
		b = sin_of("192.0.2.1", 0);
		CHECK(rdma_bind_addr(y, (struct sockaddr *)&b) == -1 &&
		      errno == EADDRNOTAVAIL);
		rdma_destroy_id(y);
		rdma_destroy_id(x);
	}

	/* Not served: rsockets and multicast say ENOSYS. */
	CHECK(rsocket(AF_INET, SOCK_STREAM, 0) == -1 && errno == ENOSYS);

	CHECK(rdma_destroy_id(c) == 0);
	CHECK(rdma_destroy_id(s) == 0);
	CHECK(rdma_destroy_id(c2) == 0);
	CHECK(rdma_destroy_id(c3) == 0);
	rdma_destroy_event_channel(cch);
	rdma_destroy_event_channel(sch);
	printf("api: ok\n");
}

static void test_killed(void)
{
	struct rdma_event_channel *sch = rdma_create_event_channel();
	struct rdma_cm_event *ev;
	struct rdma_cm_id *l, *s;
	uint16_t port;
	pid_t pid;
	int st;

	CHECK(sch);
	l = listener(sch, &port, 8);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct rdma_event_channel *cch = rdma_create_event_channel();
		struct rdma_conn_param p = { .qp_num = 1 };
		struct rdma_cm_id *c;

		if (!cch)
			_exit(2);
		c = resolved(cch, port);
		if (rdma_connect(c, &p))
			_exit(3);
		rdma_ack_cm_event(cmt_expect(cch, RDMA_CM_EVENT_CONNECT_RESPONSE, 5000));
		rdma_establish(c);
		pause();
		_exit(4);
	}
	ev = cmt_expect(sch, RDMA_CM_EVENT_CONNECT_REQUEST, 5000);
	s = ev->id;
	rdma_ack_cm_event(ev);
	CHECK(rdma_accept(s, NULL) == 0);
	expect_ack(sch, RDMA_CM_EVENT_ESTABLISHED);
	printf("child %d connected\n", (int)pid);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st));
	/* Its ids die with its connection; we hear of it as of a peer's DREQ. */
	expect_ack(sch, RDMA_CM_EVENT_DISCONNECTED);
	CHECK(rdma_disconnect(s) == 0);
	expect_ack(sch, RDMA_CM_EVENT_TIMEWAIT_EXIT);
	printf("killed: child %d's peer saw DISCONNECTED\n", (int)pid);
	rdma_destroy_id(s);
	rdma_destroy_id(l);
	rdma_destroy_event_channel(sch);
}

static void test_removal(void)
{
	struct rdma_event_channel *sch = rdma_create_event_channel();
	struct rdma_event_channel *cch = rdma_create_event_channel();
	struct rdma_cm_event *ev;
	struct rdma_cm_id *l, *c, *s;
	uint16_t port;

	CHECK(sch && cch);
	l = listener(sch, &port, 8);
	connect_pair(cch, sch, port, &c, &s);
	printf("ready\n");
	fflush(stdout);
	/* The daemon stops: every id hears DEVICE_REMOVAL. */
	ev = cmt_expect(cch, RDMA_CM_EVENT_DEVICE_REMOVAL, 30000);
	CHECK(ev->id == c);
	rdma_ack_cm_event(ev);
	for (int i = 0; i < 2; i++) {
		ev = cmt_expect(sch, RDMA_CM_EVENT_DEVICE_REMOVAL, 5000);
		CHECK(ev->id == l || ev->id == s);
		rdma_ack_cm_event(ev);
	}
	printf("removal: ok\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "api";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "api"))
		test_api();
	else if (!strcmp(mode, "killed"))
		test_killed();
	else if (!strcmp(mode, "removal"))
		test_removal();
	else
		FAIL("unknown mode %s", mode);
	return 0;
}
