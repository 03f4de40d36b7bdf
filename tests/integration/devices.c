/* SPDX-License-Identifier: MIT */
/*
 * Device queries straight over the protocol: prints one line per device,
 * "NAME guid=HEX ports=N gid0=TEXT type=T mtu=M link=L pkey0=HEX", then
 * checks the error answers for a missing device, port, GID and P_Key index.
 * Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proto/rpc.h"

static struct rb_rpc rpc;

static int call(Rdmabroker__Request *req, Rdmabroker__Reply **rep)
{
	int ret = rb_rpc_call(&rpc, req, rep, NULL, 0, NULL);

	if (ret < 0) {
		fprintf(stderr, "daemon-devices: call: %s\n", strerror(-ret));
		return ret;
	}
	return (*rep)->status;
}

#define EXPECT(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "daemon-devices: " __VA_ARGS__);	\
		fputc('\n', stderr);					\
		return 1;						\
	}								\
} while (0)

static int check_errors(uint32_t ndev)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__PortQueryReq pq = RDMABROKER__PORT_QUERY_REQ__INIT;
	Rdmabroker__GidQueryReq gq = RDMABROKER__GID_QUERY_REQ__INIT;
	Rdmabroker__PkeyQueryReq kq = RDMABROKER__PKEY_QUERY_REQ__INIT;
	Rdmabroker__DeviceOpenReq oq = RDMABROKER__DEVICE_OPEN_REQ__INIT;
	Rdmabroker__DeviceShowReq sq = RDMABROKER__DEVICE_SHOW_REQ__INIT;
	Rdmabroker__Reply *rep;
	int st;

	req.body_case = RDMABROKER__REQUEST__BODY_PORT_QUERY;
	req.port_query = &pq;
	pq.dev_index = ndev;
	pq.port_num = 1;
	st = call(&req, &rep);
	EXPECT(st == ENODEV, "port query on missing device: status %d", st);
	rb_rpc_reply_free(rep);
	if (ndev == 0)
		return 0;
	for (uint32_t port = 0; port <= 2; port += 2) {
		pq.dev_index = 0;
		pq.port_num = port;
		st = call(&req, &rep);
		EXPECT(st == EINVAL, "port %u: status %d", port, st);
		EXPECT(rep->error && strstr(rep->error, "no port"), "port %u: error '%s'",
		       port, rep->error ? rep->error : "");
		rb_rpc_reply_free(rep);
	}
	req.body_case = RDMABROKER__REQUEST__BODY_GID_QUERY;
	req.gid_query = &gq;
	gq.port_num = 1;
	/* Past the table: 16 entries with gid_address auto (the host's
	 * addresses, drivers/soft/roce-gid.c), 1 when it is pinned. */
	gq.index = 16;
	st = call(&req, &rep);
	EXPECT(st == EINVAL, "gid index 16: status %d", st);
	rb_rpc_reply_free(rep);
	req.body_case = RDMABROKER__REQUEST__BODY_PKEY_QUERY;
	req.pkey_query = &kq;
	kq.port_num = 1;
	kq.index = 5;
	st = call(&req, &rep);
	EXPECT(st == EINVAL, "pkey index 5: status %d", st);
	rb_rpc_reply_free(rep);

	/* A connection opens one device, once. */
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_OPEN;
	req.device_open = &oq;
	oq.dev_index = 0;
	st = call(&req, &rep);
	EXPECT(st == 0, "open: status %d", st);
	rb_rpc_reply_free(rep);
	st = call(&req, &rep);
	EXPECT(st == EBUSY, "second open: status %d", st);
	rb_rpc_reply_free(rep);

	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_SHOW;
	req.device_show = &sq;
	sq.name = (char *)"nosuchdev";
	st = call(&req, &rep);
	EXPECT(st == ENODEV, "show nosuchdev: status %d", st);
	rb_rpc_reply_free(rep);
	return 0;
}

int main(void)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__DeviceListReq lq = RDMABROKER__DEVICE_LIST_REQ__INIT;
	Rdmabroker__Reply *list;
	char err[256];
	int st;

	if (rb_rpc_connect(&rpc, NULL, "daemon-devices", err, sizeof(err)) < 0) {
		fprintf(stderr, "daemon-devices: %s\n", err);
		return 1;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_LIST;
	req.device_list = &lq;
	st = call(&req, &list);
	EXPECT(st == 0, "device list: status %d", st);
	for (size_t i = 0; i < list->device_list->n_devices; i++) {
		const Rdmabroker__DeviceSummary *d = list->device_list->devices[i];
		Rdmabroker__DeviceQueryReq dq = RDMABROKER__DEVICE_QUERY_REQ__INIT;
		Rdmabroker__PortQueryReq pq = RDMABROKER__PORT_QUERY_REQ__INIT;
		Rdmabroker__GidQueryReq gq = RDMABROKER__GID_QUERY_REQ__INIT;
		Rdmabroker__PkeyQueryReq kq = RDMABROKER__PKEY_QUERY_REQ__INIT;
		Rdmabroker__Reply *a, *p, *g, *k;
		char text[INET6_ADDRSTRLEN];

		EXPECT(d->index == i, "device %zu has index %u", i, d->index);
		req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_QUERY;
		req.device_query = &dq;
		dq.dev_index = d->index;
		EXPECT(call(&req, &a) == 0, "device query");
		EXPECT(a->device_query->attr->node_guid == d->node_guid,
		       "summary and attributes disagree on the GUID");
		EXPECT(a->device_query->attr->phys_port_cnt == d->phys_port_cnt,
		       "port counts disagree");
		req.body_case = RDMABROKER__REQUEST__BODY_PORT_QUERY;
		req.port_query = &pq;
		pq.dev_index = d->index;
		pq.port_num = 1;
		EXPECT(call(&req, &p) == 0, "port query");
		req.body_case = RDMABROKER__REQUEST__BODY_GID_QUERY;
		req.gid_query = &gq;
		gq.dev_index = d->index;
		gq.port_num = 1;
		gq.index = 0;
		EXPECT(call(&req, &g) == 0, "gid query");
		EXPECT(g->gid_query->gid->raw.len == 16, "GID of %zu bytes",
		       g->gid_query->gid->raw.len);
		req.body_case = RDMABROKER__REQUEST__BODY_PKEY_QUERY;
		req.pkey_query = &kq;
		kq.dev_index = d->index;
		kq.port_num = 1;
		EXPECT(call(&req, &k) == 0, "pkey query");
		inet_ntop(AF_INET6, g->gid_query->gid->raw.data, text, sizeof(text));
		printf("%s driver=%s guid=%016" PRIx64 " ports=%u gid0=%s type=%u mtu=%u link=%u state=%u pkey0=%04x fw=%s\n",
		       d->name, d->driver, d->node_guid, d->phys_port_cnt, text,
		       g->gid_query->gid->gid_type, p->port_query->attr->active_mtu,
		       p->port_query->attr->link_layer, p->port_query->attr->state,
		       k->pkey_query->pkey, a->device_query->attr->fw_ver);
		rb_rpc_reply_free(a);
		rb_rpc_reply_free(p);
		rb_rpc_reply_free(g);
		rb_rpc_reply_free(k);
	}
	st = check_errors((uint32_t)list->device_list->n_devices);
	rb_rpc_reply_free(list);
	rb_rpc_close(&rpc);
	return st;
}
