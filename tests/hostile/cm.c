/* SPDX-License-Identifier: MIT */
/*
 * Hostile clients of the connection manager (issue 13), on the raw
 * protocol against a real private daemon (tests/hostile/cm.sh exports
 * RDMABROKER_SOCKET): addresses of every wrong length and family, other
 * sessions' and stale handles, requests in the wrong state, private data
 * past every limit, then thousands of CM requests with random fields.
 * Each must be answered (refused or not); afterwards a fresh client still
 * listens and binds.  Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>

#include "proto/rpc.h"

#define FAIL(...) do { fprintf(stderr, "hostile-cm: FAIL: " __VA_ARGS__); \
	fprintf(stderr, " (line %d)\n", __LINE__); exit(1); } while (0)

static uint64_t rng = 0x5eedcafe;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void conn(struct rb_rpc *r)
{
	char err[256];

	if (rb_rpc_connect(r, rb_rpc_socket_path(NULL), "hostile-cm", err, sizeof(err)) < 0)
		FAIL("connect: %s", err);
}

/* One request; its status (0 or a positive errno), never a transport
 * failure. */
static int call(struct rb_rpc *r, Rdmabroker__Request *req, Rdmabroker__Reply **out)
{
	Rdmabroker__Reply *rep;
	int fds[4], st;
	size_t nfds = 0;

	if (rb_rpc_call(r, req, &rep, fds, 4, &nfds) < 0)
		FAIL("no reply to body %d", (int)req->body_case);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	st = rep->status;
	if (out)
		*out = rep;
	else
		rb_rpc_reply_free(rep);
	return st;
}

static uint32_t channel(struct rb_rpc *r)
{
	Rdmabroker__CmChannelCreateReq b = RDMABROKER__CM_CHANNEL_CREATE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *rep;
	uint32_t h;

	req.body_case = RDMABROKER__REQUEST__BODY_CM_CHANNEL_CREATE;
	req.cm_channel_create = &b;
	if (call(r, &req, &rep))
		FAIL("channel create");
	h = rep->cm_channel_create->handle;
	rb_rpc_reply_free(rep);
	return h;
}

static uint32_t id_new(struct rb_rpc *r, uint32_t ch, uint32_t ps)
{
	Rdmabroker__CmIdCreateReq b = RDMABROKER__CM_ID_CREATE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *rep;
	uint32_t h;

	b.channel = ch;
	b.ps = ps;
	b.qp_type = ps == RDMA_PS_UDP ? IBV_QPT_UD : IBV_QPT_RC;
	req.body_case = RDMABROKER__REQUEST__BODY_CM_ID_CREATE;
	req.cm_id_create = &b;
	if (call(r, &req, &rep))
		FAIL("id create");
	h = rep->cm_id_create->info->handle;
	rb_rpc_reply_free(rep);
	return h;
}

static int bind_raw(struct rb_rpc *r, uint32_t id, const void *a, size_t len)
{
	Rdmabroker__CmBindReq b = RDMABROKER__CM_BIND_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;

	b.handle = id;
	b.addr.data = (uint8_t *)a;
	b.addr.len = len;
	req.body_case = RDMABROKER__REQUEST__BODY_CM_BIND;
	req.cm_bind = &b;
	return call(r, &req, NULL);
}

static void expect_refused(int st, const char *what)
{
	if (st == 0)
		FAIL("%s was accepted", what);
}

int main(void)
{
	struct rb_rpc a, b;
	uint8_t junk[300];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint32_t cha, chb, ida, idb, idl;
	int n = 0;

	conn(&a);
	conn(&b);
	cha = channel(&a);
	chb = channel(&b);
	ida = id_new(&a, cha, RDMA_PS_TCP);
	/* Handles are per session: b's third id has a slot a never used. */
	id_new(&b, chb, RDMA_PS_TCP);
	id_new(&b, chb, RDMA_PS_TCP);
	idb = id_new(&b, chb, RDMA_PS_TCP);
	memset(junk, 0xa5, sizeof(junk));

	/* Addresses of every wrong shape. */
	expect_refused(bind_raw(&a, ida, junk, 0), "an empty address");
	expect_refused(bind_raw(&a, ida, junk, 1), "a 1-byte address");
	expect_refused(bind_raw(&a, ida, &sin, 4), "a truncated sockaddr_in");
	expect_refused(bind_raw(&a, ida, &sun, sizeof(sun)), "an AF_UNIX address");
	sin.sin_addr.s_addr = htonl(0xc0000201);	/* TEST-NET-1 */
	expect_refused(bind_raw(&a, ida, &sin, sizeof(sin)), "an address of no host here");
	/* Another session's id, a stale handle, a channel as an id. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	expect_refused(bind_raw(&a, idb, &sin, sizeof(sin)), "another session's id");
	expect_refused(bind_raw(&a, ida + 0x100000, &sin, sizeof(sin)), "a stale handle");
	expect_refused(bind_raw(&a, cha, &sin, sizeof(sin)), "a channel as an id");
	/* Wrong states and sizes. */
	{
		Rdmabroker__CmConnParam p = RDMABROKER__CM_CONN_PARAM__INIT;
		Rdmabroker__CmConnectReq c = RDMABROKER__CM_CONNECT_REQ__INIT;
		Rdmabroker__CmRejectReq rj = RDMABROKER__CM_REJECT_REQ__INIT;
		Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;

		c.handle = ida;
		c.param = &p;
		req.body_case = RDMABROKER__REQUEST__BODY_CM_CONNECT;
		req.cm_connect = &c;
		expect_refused(call(&a, &req, NULL), "connect before the route");
		req.body_case = RDMABROKER__REQUEST__BODY_CM_ACCEPT;
		req.cm_accept = &c;
		expect_refused(call(&a, &req, NULL), "accept without a request");
		p.has_private_data = 1;
		p.private_data.data = junk;
		p.private_data.len = sizeof(junk);
		expect_refused(call(&a, &req, NULL), "300 bytes of private data");
		rj.handle = ida;
		req.body_case = RDMABROKER__REQUEST__BODY_CM_REJECT;
		req.cm_reject = &rj;
		expect_refused(call(&a, &req, NULL), "reject without a request");
	}
	/* A listener to aim the random requests at. */
	idl = id_new(&a, cha, RDMA_PS_TCP);
	if (bind_raw(&a, idl, &sin, sizeof(sin)))
		FAIL("bind 127.0.0.1");

	/* Random CM requests: any field, any handle, any bytes. */
	for (int i = 0; i < 4000; i++) {
		Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
		Rdmabroker__CmIdReq idr = RDMABROKER__CM_ID_REQ__INIT;
		Rdmabroker__CmBindReq br = RDMABROKER__CM_BIND_REQ__INIT;
		Rdmabroker__CmResolveAddrReq ra = RDMABROKER__CM_RESOLVE_ADDR_REQ__INIT;
		Rdmabroker__CmListenReq lr = RDMABROKER__CM_LISTEN_REQ__INIT;
		Rdmabroker__CmConnParam p = RDMABROKER__CM_CONN_PARAM__INIT;
		Rdmabroker__CmConnectReq cr = RDMABROKER__CM_CONNECT_REQ__INIT;
		Rdmabroker__CmSetOptionReq so = RDMABROKER__CM_SET_OPTION_REQ__INIT;
		Rdmabroker__CmMigrateReq mg = RDMABROKER__CM_MIGRATE_REQ__INIT;
		Rdmabroker__CmJoinReq jr = RDMABROKER__CM_JOIN_REQ__INIT;
		Rdmabroker__CmNotifyReq nr = RDMABROKER__CM_NOTIFY_REQ__INIT;
		uint32_t ids[] = { ida, idb, idl, cha, rnd(), 0 };
		uint32_t h = ids[rnd() % 6];
		uint8_t addr[32];
		size_t alen = rnd() % sizeof(addr);

		for (size_t k = 0; k < sizeof(addr); k++)
			addr[k] = (uint8_t)rnd();
		if (rnd() % 2) {	/* often a plausible family */
			uint16_t fam = rnd() % 2 ? AF_INET : AF_INET6;

			memcpy(addr, &fam, 2);
			alen = fam == AF_INET ? 16 : 28;
		}
		switch (rnd() % 10) {
		case 0:
			br.handle = h;
			br.addr.data = addr;
			br.addr.len = alen;
			req.body_case = RDMABROKER__REQUEST__BODY_CM_BIND;
			req.cm_bind = &br;
			break;
		case 1:
			ra.handle = h;
			ra.dst_addr.data = addr;
			ra.dst_addr.len = alen;
			ra.timeout_ms = rnd();
			req.body_case = RDMABROKER__REQUEST__BODY_CM_RESOLVE_ADDR;
			req.cm_resolve_addr = &ra;
			break;
		case 2:
			lr.handle = h;
			lr.backlog = (int32_t)rnd();
			req.body_case = RDMABROKER__REQUEST__BODY_CM_LISTEN;
			req.cm_listen = &lr;
			break;
		case 3:
		case 4:
			cr.handle = h;
			cr.param = &p;
			p.has_private_data = rnd() % 2;
			p.private_data.data = junk;
			p.private_data.len = rnd() % sizeof(junk);
			p.responder_resources = rnd();
			p.initiator_depth = rnd();
			p.qp_num = rnd();
			/* A QP for the daemon to move that this process lacks. */
			cr.has_qp_handle = rnd() % 2;
			cr.qp_handle = rnd();
			req.body_case = rnd() % 2 ? RDMABROKER__REQUEST__BODY_CM_CONNECT :
						    RDMABROKER__REQUEST__BODY_CM_ACCEPT;
			req.cm_connect = &cr;	/* one union: either name */
			break;
		case 5:
			so.handle = h;
			so.level = rnd() % 3;
			so.optname = rnd() % 5;
			so.value = ((uint64_t)rnd() << 32) | rnd();
			req.body_case = RDMABROKER__REQUEST__BODY_CM_SET_OPTION;
			req.cm_set_option = &so;
			break;
		case 6:
			mg.handle = h;
			mg.channel = ids[rnd() % 6];
			req.body_case = RDMABROKER__REQUEST__BODY_CM_MIGRATE;
			req.cm_migrate = &mg;
			break;
		case 7:
			jr.handle = h;
			jr.addr.data = addr;
			jr.addr.len = alen;
			jr.join = rnd() % 2;
			req.body_case = RDMABROKER__REQUEST__BODY_CM_JOIN;
			req.cm_join = &jr;
			break;
		case 8:
			nr.handle = h;
			nr.event = rnd() % 24;
			req.body_case = RDMABROKER__REQUEST__BODY_CM_NOTIFY;
			req.cm_notify = &nr;
			break;
		default: {
			static const int simple[] = {
				RDMABROKER__REQUEST__BODY_CM_DISCONNECT,
				RDMABROKER__REQUEST__BODY_CM_ESTABLISH,
				RDMABROKER__REQUEST__BODY_CM_QUERY,
				RDMABROKER__REQUEST__BODY_CM_RESOLVE_ROUTE,
			};

			idr.handle = h;
			req.body_case = simple[rnd() % 4];
			req.cm_query = &idr;	/* CmIdReq and the route's share the handle */
			if (req.body_case == RDMABROKER__REQUEST__BODY_CM_RESOLVE_ROUTE) {
				static Rdmabroker__CmResolveRouteReq rr =
					RDMABROKER__CM_RESOLVE_ROUTE_REQ__INIT;

				rr.handle = h;
				req.cm_resolve_route = &rr;
			}
			break;
		}
		}
		call(&a, &req, NULL);
		n++;
	}
	rb_rpc_close(&a);
	rb_rpc_close(&b);

	/* The daemon still serves: a fresh client binds and listens. */
	{
		struct rb_rpc c;
		uint32_t ch, id;
		Rdmabroker__CmListenReq lr = RDMABROKER__CM_LISTEN_REQ__INIT;
		Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;

		conn(&c);
		ch = channel(&c);
		id = id_new(&c, ch, RDMA_PS_TCP);
		sin.sin_port = 0;
		if (bind_raw(&c, id, &sin, sizeof(sin)))
			FAIL("a fresh client cannot bind");
		lr.handle = id;
		lr.backlog = 4;
		req.body_case = RDMABROKER__REQUEST__BODY_CM_LISTEN;
		req.cm_listen = &lr;
		if (call(&c, &req, NULL))
			FAIL("a fresh client cannot listen");
		rb_rpc_close(&c);
	}
	printf("hostile-cm: %d random requests answered; the daemon still serves\n", n);
	return 0;
}
