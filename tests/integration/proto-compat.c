/* SPDX-License-Identifier: MIT */
/*
 * The protocol evolves without breaking anyone (proto/version.h):
 *  - a version 1 client, built from the version 1 schema
 *    (proto/history/rdmabroker-v1.proto, whose decoder rejects a message
 *    that lacks a field version 1 required), handshakes as today's
 *    library did and works end to end: devices, a PD, a CQ, a QP moved to
 *    INIT and queried, the listings and the status;
 *  - feature bits the daemon does not know are masked off, not refused;
 *  - fields the daemon does not know are skipped, in the envelope and in
 *    a body; a body the daemon does not know is refused, and the
 *    connection goes on;
 *  - a client asking only for versions the daemon does not speak gets
 *    EPROTONOSUPPORT with a message naming both ranges;
 *  - a client that speaks only version 1 (a range 1..1) gets version 1.
 * Runs against the daemon of tests/integration/proto-compat.sh.
 *
 * `proto-compat fake-v1 PATH N` is an older daemon instead: it serves N
 * connections on PATH as a version 1 daemon does (exact version, the
 * version 1 schema, one page of listings, nothing counted), so the .sh
 * can check this library and rdmactl against it; `proto-compat lib-v1`
 * checks that our library then runs version 1 with no features.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "proto/rpc.h"
#include "tests/integration/rdmabroker-v1.pb-c.h"

#include "tests/lib/check.h"

/* Without this the rest cannot go on. */
#define REQUIRE(cond, ...) do {						\
	bool ok_ = (cond);						\
									\
	CHECK(ok_, __VA_ARGS__);					\
	if (!ok_)							\
		exit(1);						\
} while (0)

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0, "socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", rb_rpc_socket_path(NULL));
	REQUIRE(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
		"connect %s: %s", sa.sun_path, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* One reply frame's payload (events skipped); its fds closed or kept. */
static size_t recv_reply(int fd, uint8_t *buf, const uint8_t **payload,
			 int *fds, size_t max_fds, size_t *nfds)
{
	struct rb_wire_msg msg;
	int ret;

	do {
		ret = rb_wire_recv(fd, buf, &msg, RB_WIRE_MAX_FDS);
	} while (ret == 1 && msg.kind == RB_WIRE_EVENT);
	REQUIRE(ret == 1 && msg.kind == RB_WIRE_REPLY, "no reply (%d)", ret);
	for (size_t i = 0; i < msg.nfds; i++) {
		if (fds && i < max_fds)
			fds[i] = msg.fds[i];
		else
			close(msg.fds[i]);
	}
	if (nfds)
		*nfds = msg.nfds < max_fds ? msg.nfds : max_fds;
	*payload = msg.payload;
	return msg.len;
}

/* ------------------------------------------------ a version 1 client */

static uint8_t rxbuf[RB_WIRE_MAX_FRAME + 1];
static uint32_t v1_seq;

/*
 * req through the wire, its reply decoded with the version 1 schema; a
 * reply that lacks a field version 1 required does not decode.
 */
static RdmabrokerV1__Reply *v1_call(int fd, RdmabrokerV1__Request *req,
				    int *fds, size_t max_fds, size_t *nfds)
{
	RdmabrokerV1__Reply *r;
	const uint8_t *p;
	size_t len;

	req->seq = ++v1_seq;
	REQUIRE(rb_wire_send_pb(fd, RB_WIRE_REQUEST, &req->base, NULL, 0) == 0,
		"send");
	len = recv_reply(fd, rxbuf, &p, fds, max_fds, nfds);
	r = rdmabroker_v1__reply__unpack(NULL, len, p);
	REQUIRE(r, "request %d: the reply does not decode with the version 1 schema",
		(int)req->body_case);
	REQUIRE(r->seq == req->seq, "seq %u, not %u", r->seq, req->seq);
	return r;
}

#define V1_OK(r, body) ((r)->status == 0 && (r)->body_case == RDMABROKER_V1__REPLY__BODY_##body)

static void v1_client(void)
{
	RdmabrokerV1__Request req = RDMABROKER_V1__REQUEST__INIT;
	RdmabrokerV1__Hello hello = RDMABROKER_V1__HELLO__INIT;
	RdmabrokerV1__DeviceListReq dl = RDMABROKER_V1__DEVICE_LIST_REQ__INIT;
	RdmabrokerV1__DeviceOpenReq dopen = RDMABROKER_V1__DEVICE_OPEN_REQ__INIT;
	RdmabrokerV1__DeviceQueryReq dq = RDMABROKER_V1__DEVICE_QUERY_REQ__INIT;
	RdmabrokerV1__PortQueryReq pq = RDMABROKER_V1__PORT_QUERY_REQ__INIT;
	RdmabrokerV1__GidQueryReq gq = RDMABROKER_V1__GID_QUERY_REQ__INIT;
	RdmabrokerV1__PdAllocReq pa = RDMABROKER_V1__PD_ALLOC_REQ__INIT;
	RdmabrokerV1__CqCreateReq cc = RDMABROKER_V1__CQ_CREATE_REQ__INIT;
	RdmabrokerV1__QpCap cap = RDMABROKER_V1__QP_CAP__INIT;
	RdmabrokerV1__QpCreateReq qc = RDMABROKER_V1__QP_CREATE_REQ__INIT;
	RdmabrokerV1__AhAttr ah = RDMABROKER_V1__AH_ATTR__INIT, alt = RDMABROKER_V1__AH_ATTR__INIT;
	RdmabrokerV1__QpAttr qa = RDMABROKER_V1__QP_ATTR__INIT;
	RdmabrokerV1__QpModifyReq qm = RDMABROKER_V1__QP_MODIFY_REQ__INIT;
	RdmabrokerV1__QpQueryReq qq = RDMABROKER_V1__QP_QUERY_REQ__INIT;
	RdmabrokerV1__QpDestroyReq qd = RDMABROKER_V1__QP_DESTROY_REQ__INIT;
	RdmabrokerV1__CqDestroyReq cd = RDMABROKER_V1__CQ_DESTROY_REQ__INIT;
	RdmabrokerV1__PdDeallocReq pd = RDMABROKER_V1__PD_DEALLOC_REQ__INIT;
	RdmabrokerV1__StatusReq st = RDMABROKER_V1__STATUS_REQ__INIT;
	RdmabrokerV1__ClientListReq cl = RDMABROKER_V1__CLIENT_LIST_REQ__INIT;
	RdmabrokerV1__ResShowReq rs = RDMABROKER_V1__RES_SHOW_REQ__INIT;
	RdmabrokerV1__Reply *r;
	uint8_t zero_gid[16] = { 0 };
	uint32_t pd_h, cq_h, qp_h;
	int fds[4];
	size_t nfds;
	int fd = raw_connect();

	/* The Hello today's library sends: version 1 and nothing newer. */
	hello.proto_version = 1;
	hello.client_version = (char *)"0.1.0";
	hello.client_name = (char *)"v1-client";
	req.body_case = RDMABROKER_V1__REQUEST__BODY_HELLO;
	req.hello = &hello;
	r = v1_call(fd, &req, NULL, 0, NULL);
	REQUIRE(V1_OK(r, HELLO), "v1 hello: status %d %s", r->status,
		r->error ? r->error : "");
	CHECK(r->hello->proto_version == 1, "v1 hello: version %u chosen",
	      r->hello->proto_version);
	CHECK(r->hello->client_id > 0 && r->hello->limits, "v1 hello: id and limits");
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	req.body_case = RDMABROKER_V1__REQUEST__BODY_DEVICE_LIST;
	req.device_list = &dl;
	r = v1_call(fd, &req, NULL, 0, NULL);
	REQUIRE(V1_OK(r, DEVICE_LIST) && r->device_list->n_devices > 0,
		"v1 device list");
	dopen.dev_index = r->device_list->devices[0]->index;
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	req.body_case = RDMABROKER_V1__REQUEST__BODY_DEVICE_OPEN;
	req.device_open = &dopen;
	r = v1_call(fd, &req, NULL, 0, NULL);
	REQUIRE(V1_OK(r, DEVICE_OPEN), "v1 device open: %s", r->error ? r->error : "");
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	dq.dev_index = dopen.dev_index;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_DEVICE_QUERY;
	req.device_query = &dq;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, DEVICE_QUERY) && r->device_query->attr->max_qp > 0 &&
	      r->device_query->attr->phys_port_cnt >= 1, "v1 device query");
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	pq.dev_index = dopen.dev_index;
	pq.port_num = 1;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_PORT_QUERY;
	req.port_query = &pq;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, PORT_QUERY) && r->port_query->attr->state == IBV_PORT_ACTIVE,
	      "v1 port query");
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	gq.dev_index = dopen.dev_index;
	gq.port_num = 1;
	gq.index = 0;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_GID_QUERY;
	req.gid_query = &gq;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, GID_QUERY) && r->gid_query->gid->raw.len == 16, "v1 GID query");
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	req.body_case = RDMABROKER_V1__REQUEST__BODY_PD_ALLOC;
	req.pd_alloc = &pa;
	r = v1_call(fd, &req, NULL, 0, NULL);
	REQUIRE(V1_OK(r, PD_ALLOC), "v1 PD alloc");
	pd_h = r->pd_alloc->handle;
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	cc.cqe = 16;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_CQ_CREATE;
	req.cq_create = &cc;
	r = v1_call(fd, &req, fds, 4, &nfds);
	REQUIRE(V1_OK(r, CQ_CREATE) && nfds == 1, "v1 CQ create (%zu fds)", nfds);
	cq_h = r->cq_create->handle;
	close(fds[0]);
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	cap.max_send_wr = cap.max_recv_wr = 8;
	cap.max_send_sge = cap.max_recv_sge = 1;
	qc.pd = pd_h;
	qc.send_cq = qc.recv_cq = cq_h;
	qc.qp_type = IBV_QPT_RC;
	qc.cap = &cap;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_QP_CREATE;
	req.qp_create = &qc;
	r = v1_call(fd, &req, fds, 4, &nfds);
	REQUIRE(V1_OK(r, QP_CREATE), "v1 QP create: %s", r->error ? r->error : "");
	qp_h = r->qp_create->handle;
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	ah.dgid.data = alt.dgid.data = zero_gid;
	ah.dgid.len = alt.dgid.len = 16;
	qa.cap = &cap;
	qa.ah_attr = &ah;
	qa.alt_ah_attr = &alt;
	qa.qp_state = IBV_QPS_INIT;
	qa.port_num = 1;
	qa.qp_access_flags = IBV_ACCESS_REMOTE_WRITE;
	qm.handle = qp_h;
	qm.attr_mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS;
	qm.attr = &qa;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_QP_MODIFY;
	req.qp_modify = &qm;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, QP_MODIFY) && r->qp_modify->qp_state == IBV_QPS_INIT,
	      "v1 QP modify to INIT: %s", r->error ? r->error : "");
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	qq.handle = qp_h;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_QP_QUERY;
	req.qp_query = &qq;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, QP_QUERY) && r->qp_query->attr->qp_state == IBV_QPS_INIT &&
	      r->qp_query->attr->qp_access_flags == IBV_ACCESS_REMOTE_WRITE &&
	      r->qp_query->init_cap->max_send_wr >= 8, "v1 QP query");
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	/* Listings, as a version 1 rdmactl asks: one page, no cursor. */
	req.body_case = RDMABROKER_V1__REQUEST__BODY_RES_SHOW;
	req.res_show = &rs;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, RES_SHOW) && r->res_show->n_entries >= 3 &&
	      !r->res_show->truncated, "v1 res show (%zu entries)",
	      V1_OK(r, RES_SHOW) ? r->res_show->n_entries : 0);
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	req.body_case = RDMABROKER_V1__REQUEST__BODY_CLIENT_LIST;
	req.client_list = &cl;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, CLIENT_LIST) && r->client_list->n_clients >= 1, "v1 client list");
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	req.body_case = RDMABROKER_V1__REQUEST__BODY_DAEMON_STATUS;
	req.daemon_status = &st;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, DAEMON_STATUS) && r->daemon_status->proto_version == RB_PROTO_VERSION,
	      "v1 status");
	rdmabroker_v1__reply__free_unpacked(r, NULL);

	qd.handle = qp_h;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_QP_DESTROY;
	req.qp_destroy = &qd;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, QP_DESTROY), "v1 QP destroy");
	rdmabroker_v1__reply__free_unpacked(r, NULL);
	cd.handle = cq_h;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_CQ_DESTROY;
	req.cq_destroy = &cd;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, CQ_DESTROY), "v1 CQ destroy");
	rdmabroker_v1__reply__free_unpacked(r, NULL);
	pd.handle = pd_h;
	req.body_case = RDMABROKER_V1__REQUEST__BODY_PD_DEALLOC;
	req.pd_dealloc = &pd;
	r = v1_call(fd, &req, NULL, 0, NULL);
	CHECK(V1_OK(r, PD_DEALLOC), "v1 PD dealloc");
	rdmabroker_v1__reply__free_unpacked(r, NULL);
	close(fd);
}

/* ------------------------------------------- current schema, by hand */

static Rdmabroker__Reply *call_raw(int fd, const uint8_t *payload, size_t len)
{
	Rdmabroker__Reply *r;
	const uint8_t *p;
	size_t n;

	REQUIRE(rb_wire_send(fd, RB_WIRE_REQUEST, payload, len, NULL, 0) == 0, "send");
	n = recv_reply(fd, rxbuf, &p, NULL, 0, NULL);
	r = rdmabroker__reply__unpack(NULL, n, p);
	REQUIRE(r, "reply does not decode");
	return r;
}

static Rdmabroker__Reply *call(int fd, Rdmabroker__Request *req)
{
	uint8_t buf[4096];
	size_t len = rdmabroker__request__pack(req, buf);

	return call_raw(fd, buf, len);
}

static Rdmabroker__Reply *hello(int fd, uint32_t lo, bool has_max, uint32_t hi,
				bool has_features, uint64_t features)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Hello h = RDMABROKER__HELLO__INIT;

	h.proto_version = lo;
	h.has_max_version = has_max;
	h.max_version = hi;
	h.has_features = has_features;
	h.features = features;
	h.client_version = (char *)"test";
	req.seq = 1;
	req.body_case = RDMABROKER__REQUEST__BODY_HELLO;
	req.hello = &h;
	return call(fd, &req);
}

/* This connection's own ClientInfo, as the daemon lists it. */
static void own_info(int fd, uint64_t id, uint32_t *version, uint64_t *features)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ClientListReq q = RDMABROKER__CLIENT_LIST_REQ__INIT;
	Rdmabroker__Reply *r;

	*version = 0;
	*features = ~0ull;
	q.has_pid = 1;
	q.pid = (uint32_t)getpid();
	req.seq = 2;
	req.body_case = RDMABROKER__REQUEST__BODY_CLIENT_LIST;
	req.client_list = &q;
	r = call(fd, &req);
	REQUIRE(r->status == 0, "client list: %s", r->error ? r->error : "");
	for (size_t i = 0; i < r->client_list->n_clients; i++) {
		const Rdmabroker__ClientInfo *c = r->client_list->clients[i];

		if (c->id == id) {
			*version = c->proto_version;
			*features = c->features;
		}
	}
	rdmabroker__reply__free_unpacked(r, NULL);
}

/*
 * What the session's features allow: with paged listings a page of one
 * client and a cursor, and res_summary; without, everything in one page
 * (as version 1) and no res_summary.
 */
static void paging_follows_features(int fd, bool paged)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ClientListReq cl = RDMABROKER__CLIENT_LIST_REQ__INIT;
	Rdmabroker__ResSummaryReq rs = RDMABROKER__RES_SUMMARY_REQ__INIT;
	Rdmabroker__Reply *r;

	cl.has_pid = 1;
	cl.pid = (uint32_t)getpid();
	cl.has_page_size = 1;
	cl.page_size = 1;
	req.seq = 3;
	req.body_case = RDMABROKER__REQUEST__BODY_CLIENT_LIST;
	req.client_list = &cl;
	r = call(fd, &req);
	REQUIRE(r->status == 0, "client list: %s", r->error ? r->error : "");
	CHECK(r->client_list->total >= 2, "%u clients", r->client_list->total);
	if (paged)
		CHECK(r->client_list->n_clients == 1 && r->client_list->has_next_cursor,
		      "paged: %zu clients in a page of 1", r->client_list->n_clients);
	else
		CHECK(r->client_list->n_clients == r->client_list->total &&
		      !r->client_list->has_next_cursor,
		      "not paged: %zu of %u clients", r->client_list->n_clients,
		      r->client_list->total);
	rdmabroker__reply__free_unpacked(r, NULL);

	req.seq = 4;
	req.body_case = RDMABROKER__REQUEST__BODY_RES_SUMMARY;
	req.res_summary = &rs;
	r = call(fd, &req);
	CHECK(paged ? r->status == 0 : r->status == EOPNOTSUPP,
	      "res_summary with%s paged listings: status %d", paged ? "" : "out",
	      r->status);
	rdmabroker__reply__free_unpacked(r, NULL);
}

static void features_masked(void)
{
	struct rb_rpc other;	/* a second client, for pages of one */
	char err[256];
	const uint64_t unknown = 0xfff0000000000000ull;
	struct { uint64_t asked, session; } cases[] = {
		{ ~0ull, RB_PROTO_FEATURES },			/* every bit */
		{ unknown, 0 },					/* only unknown ones */
		{ unknown | RB_PROTO_FEAT_PAGED_LISTS, RB_PROTO_FEAT_PAGED_LISTS },
	};

	REQUIRE(rb_rpc_connect(&other, NULL, "proto-compat", err, sizeof(err)) == 0,
		"connect: %s", err);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = raw_connect();
		Rdmabroker__Reply *r = hello(fd, 1, true, RB_PROTO_VERSION, true,
					     cases[i].asked);
		uint64_t id, f;
		uint32_t v;

		REQUIRE(r->status == 0 && r->body_case == RDMABROKER__REPLY__BODY_HELLO,
			"hello with features %#llx refused: %s",
			(unsigned long long)cases[i].asked, r->error ? r->error : "");
		CHECK(r->hello->proto_version == RB_PROTO_VERSION, "version %u",
		      r->hello->proto_version);
		CHECK(r->hello->has_features && r->hello->features == RB_PROTO_FEATURES,
		      "the daemon states its own bits (%#llx), not the client's",
		      (unsigned long long)r->hello->features);
		id = r->hello->client_id;
		rdmabroker__reply__free_unpacked(r, NULL);
		own_info(fd, id, &v, &f);
		CHECK(v == RB_PROTO_VERSION && f == cases[i].session,
		      "asked %#llx: session has version %u features %#llx, not %#llx",
		      (unsigned long long)cases[i].asked, v, (unsigned long long)f,
		      (unsigned long long)cases[i].session);
		paging_follows_features(fd, cases[i].session & RB_PROTO_FEAT_PAGED_LISTS);
		close(fd);
	}
	rb_rpc_close(&other);
}

/* A protobuf varint. */
static size_t varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			p[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* An unknown varint field and an unknown length-delimited one, at p. */
static size_t unknown_fields(uint8_t *p)
{
	static const char junk[] = "a field from the future";
	size_t n = 0;

	n += varint(p + n, (1000u << 3) | 0);	/* field 1000, varint */
	n += varint(p + n, 123456789);
	n += varint(p + n, (4242u << 3) | 2);	/* field 4242, bytes */
	n += varint(p + n, sizeof(junk));
	memcpy(p + n, junk, sizeof(junk));
	return n + sizeof(junk);
}

/* Request{seq; body field `num` = msg + unknown fields; unknown fields}. */
static size_t request_with_unknowns(uint8_t *out, uint32_t seq, uint32_t num,
				    const ProtobufCMessage *body)
{
	uint8_t inner[1024];
	size_t ilen = protobuf_c_message_pack(body, inner), n = 0;

	ilen += unknown_fields(inner + ilen);
	n += varint(out + n, (1u << 3) | 0);	/* seq */
	n += varint(out + n, seq);
	n += unknown_fields(out + n);		/* in the envelope too */
	n += varint(out + n, (num << 3) | 2);
	n += varint(out + n, ilen);
	memcpy(out + n, inner, ilen);
	return n + ilen;
}

static void unknown_fields_skipped(void)
{
	Rdmabroker__Hello h = RDMABROKER__HELLO__INIT;
	Rdmabroker__DeviceListReq dl = RDMABROKER__DEVICE_LIST_REQ__INIT;
	Rdmabroker__DeviceOpenReq dopen = RDMABROKER__DEVICE_OPEN_REQ__INIT;
	Rdmabroker__PdAllocReq pa = RDMABROKER__PD_ALLOC_REQ__INIT;
	Rdmabroker__StatusReq st = RDMABROKER__STATUS_REQ__INIT;
	Rdmabroker__Reply *r;
	uint8_t buf[4096];
	size_t len;
	int fd = raw_connect();

	h.proto_version = 1;
	h.has_max_version = 1;
	h.max_version = RB_PROTO_VERSION;
	h.client_version = (char *)"test";
	len = request_with_unknowns(buf, 1, RDMABROKER__REQUEST__BODY_HELLO, &h.base);
	r = call_raw(fd, buf, len);
	CHECK(r->seq == 1 && r->status == 0 &&
	      r->body_case == RDMABROKER__REPLY__BODY_HELLO,
	      "a Hello with unknown fields: %s", r->error ? r->error : "refused");
	rdmabroker__reply__free_unpacked(r, NULL);

	len = request_with_unknowns(buf, 2, RDMABROKER__REQUEST__BODY_DEVICE_LIST, &dl.base);
	r = call_raw(fd, buf, len);
	REQUIRE(r->status == 0 && r->device_list->n_devices > 0, "device list with unknown fields");
	dopen.dev_index = r->device_list->devices[0]->index;
	rdmabroker__reply__free_unpacked(r, NULL);
	len = request_with_unknowns(buf, 3, RDMABROKER__REQUEST__BODY_DEVICE_OPEN, &dopen.base);
	r = call_raw(fd, buf, len);
	CHECK(r->status == 0, "device open with unknown fields: %s", r->error ? r->error : "");
	rdmabroker__reply__free_unpacked(r, NULL);
	len = request_with_unknowns(buf, 4, RDMABROKER__REQUEST__BODY_PD_ALLOC, &pa.base);
	r = call_raw(fd, buf, len);
	CHECK(r->seq == 4 && r->status == 0 && r->body_case == RDMABROKER__REPLY__BODY_PD_ALLOC &&
	      r->pd_alloc->handle, "PD alloc with unknown fields: %s", r->error ? r->error : "");
	rdmabroker__reply__free_unpacked(r, NULL);

	/* A body this daemon does not know (a number no block uses yet). */
	len = request_with_unknowns(buf, 5, 250, &st.base);
	r = call_raw(fd, buf, len);
	CHECK(r->seq == 5 && r->status == EOPNOTSUPP,
	      "an unknown request body: status %d", r->status);
	rdmabroker__reply__free_unpacked(r, NULL);
	/* ... and the connection goes on. */
	len = request_with_unknowns(buf, 6, RDMABROKER__REQUEST__BODY_DAEMON_STATUS, &st.base);
	r = call_raw(fd, buf, len);
	CHECK(r->seq == 6 && r->status == 0, "status after an unknown body");
	rdmabroker__reply__free_unpacked(r, NULL);
	close(fd);
}

static void no_common_version(void)
{
	struct { uint32_t lo; bool has_max; uint32_t hi; } cases[] = {
		{ RB_PROTO_VERSION + 1, true, RB_PROTO_VERSION + 5 },	/* all newer */
		{ RB_PROTO_VERSION + 7, false, 0 },			/* one, newer */
		{ 0, true, 0 },						/* all older */
	};
	char want[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = raw_connect();
		Rdmabroker__Reply *r = hello(fd, cases[i].lo, cases[i].has_max,
					     cases[i].hi, false, 0);
		uint32_t hi = cases[i].has_max ? cases[i].hi : cases[i].lo;
		char buf[8];

		CHECK(r->status == EPROTONOSUPPORT, "versions %u..%u: status %d",
		      cases[i].lo, hi, r->status);
		snprintf(want, sizeof(want), "%u..%u", cases[i].lo, hi);
		CHECK(r->error && strstr(r->error, want), "error names the client's range %s: %s",
		      want, r->error ? r->error : "(none)");
		snprintf(want, sizeof(want), "%u..%u", RB_PROTO_VERSION_MIN, RB_PROTO_VERSION);
		CHECK(r->error && strstr(r->error, want), "error names the daemon's range %s: %s",
		      want, r->error ? r->error : "(none)");
		rdmabroker__reply__free_unpacked(r, NULL);
		/* ... and the daemon hangs up. */
		CHECK(recv(fd, buf, sizeof(buf), 0) == 0, "connection not closed");
		close(fd);
	}
}

static void version1_only(void)
{
	int fd = raw_connect();
	Rdmabroker__Reply *r = hello(fd, 1, true, 1, true, RB_PROTO_FEATURES);
	uint32_t v;
	uint64_t f;

	REQUIRE(r->status == 0, "a 1..1 client refused: %s", r->error ? r->error : "");
	CHECK(r->hello->proto_version == 1, "a 1..1 client got version %u",
	      r->hello->proto_version);
	own_info(fd, r->hello->client_id, &v, &f);
	CHECK(v == 1 && f == 0, "a version 1 session has version %u features %#llx",
	      v, (unsigned long long)f);
	rdmabroker__reply__free_unpacked(r, NULL);
	close(fd);
}

/* Our own library negotiates the newest version and every feature. */
static void library_negotiates(void)
{
	struct rb_rpc rpc;
	char err[256];
	int ret = rb_rpc_connect(&rpc, NULL, "proto-compat", err, sizeof(err));

	REQUIRE(ret == 0, "rb_rpc_connect: %s", err);
	CHECK(rpc.proto_version == RB_PROTO_VERSION && rpc.features == RB_PROTO_FEATURES,
	      "library session: version %u features %#llx", rpc.proto_version,
	      (unsigned long long)rpc.features);
	rb_rpc_close(&rpc);
}

/* ----------------------------------------- an older daemon, simulated */

static void fake_reply(int fd, RdmabrokerV1__Reply *rep)
{
	REQUIRE(rb_wire_send_pb(fd, RB_WIRE_REPLY, &rep->base, NULL, 0) == 0,
		"fake daemon: send");
}

/* One connection, served as a version 1 daemon would. */
static void fake_serve(int fd, uint64_t id)
{
	RdmabrokerV1__Reply rep = RDMABROKER_V1__REPLY__INIT;
	RdmabrokerV1__HelloReply hr = RDMABROKER_V1__HELLO_REPLY__INIT;
	RdmabrokerV1__Limits lim = RDMABROKER_V1__LIMITS__INIT;
	RdmabrokerV1__ResShowReply rs = RDMABROKER_V1__RES_SHOW_REPLY__INIT;
	RdmabrokerV1__ResEntry e = RDMABROKER_V1__RES_ENTRY__INIT, *ev = &e;
	RdmabrokerV1__ClientListReply cl = RDMABROKER_V1__CLIENT_LIST_REPLY__INIT;
	RdmabrokerV1__ClientInfo ci = RDMABROKER_V1__CLIENT_INFO__INIT, *cv = &ci;
	char err[160];
	struct rb_wire_msg msg;

	while (rb_wire_recv(fd, rxbuf, &msg, RB_WIRE_MAX_FDS) == 1) {
		RdmabrokerV1__Request *q = rdmabroker_v1__request__unpack(NULL, msg.len,
									  msg.payload);

		rb_wire_msg_close_fds(&msg);
		REQUIRE(q, "fake daemon: a request that version 1 cannot decode");
		rdmabroker_v1__reply__init(&rep);
		rep.seq = q->seq;
		switch (q->body_case) {
		case RDMABROKER_V1__REQUEST__BODY_HELLO:
			if (q->hello->proto_version != 1) {
				snprintf(err, sizeof(err), "protocol version %u not supported: rdmabrokerd 0.0.9 speaks version 1",
					 q->hello->proto_version);
				rep.status = EPROTONOSUPPORT;
				rep.error = err;
				fake_reply(fd, &rep);
				rdmabroker_v1__request__free_unpacked(q, NULL);
				return;
			}
			hr.proto_version = 1;
			hr.daemon_version = (char *)"0.0.9";
			hr.client_id = id;
			hr.limits = &lim;
			hr.admin = 1;
			rep.body_case = RDMABROKER_V1__REPLY__BODY_HELLO;
			rep.hello = &hr;
			break;
		case RDMABROKER_V1__REQUEST__BODY_RES_SHOW:
			/* One page, cut, as version 1 answers a long listing. */
			e.type = (char *)"pd";
			e.handle = 1;
			e.client_id = id;
			e.pid = 1;
			e.comm = (char *)"fake";
			e.device = (char *)"rbsoft0";
			rs.n_entries = 1;
			rs.entries = &ev;
			rs.has_truncated = rs.truncated = 1;
			rep.body_case = RDMABROKER_V1__REPLY__BODY_RES_SHOW;
			rep.res_show = &rs;
			break;
		case RDMABROKER_V1__REQUEST__BODY_CLIENT_LIST:
			ci.id = id;
			ci.pid = 1;
			ci.comm = (char *)"fake";
			cl.n_clients = 1;
			cl.clients = &cv;
			rep.body_case = RDMABROKER_V1__REPLY__BODY_CLIENT_LIST;
			rep.client_list = &cl;
			break;
		default:
			rep.status = EOPNOTSUPP;
			rep.error = (char *)"unknown request type";
			break;
		}
		fake_reply(fd, &rep);
		rdmabroker_v1__request__free_unpacked(q, NULL);
	}
}

static int fake_v1(const char *path, int n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	REQUIRE(ls >= 0 && bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		listen(ls, 8) == 0, "fake daemon: listen on %s: %s", path,
		strerror(errno));
	printf("listening\n");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

		REQUIRE(fd >= 0, "fake daemon: accept: %s", strerror(errno));
		fake_serve(fd, (uint64_t)i + 1);
		close(fd);
	}
	close(ls);
	return failures ? 1 : 0;
}

/* This library against the fake: version 1, no features. */
static int lib_v1(void)
{
	struct rb_rpc rpc;
	char err[256];
	int ret = rb_rpc_connect(&rpc, NULL, "proto-compat", err, sizeof(err));

	REQUIRE(ret == 0, "rb_rpc_connect to a version 1 daemon: %s", err);
	CHECK(rpc.proto_version == 1 && rpc.features == 0,
	      "against a version 1 daemon: version %u features %#llx",
	      rpc.proto_version, (unsigned long long)rpc.features);
	rb_rpc_close(&rpc);
	printf("proto-compat lib-v1: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "fake-v1"))
		return fake_v1(argv[2], atoi(argv[3]));
	if (argc == 2 && !strcmp(argv[1], "lib-v1"))
		return lib_v1();
	v1_client();
	features_masked();
	unknown_fields_skipped();
	no_common_version();
	version1_only();
	library_negotiates();
	printf("proto-compat: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
