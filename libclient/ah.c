/* SPDX-License-Identifier: MIT */
/*
 * Address handles, and building one from a received work completion
 * (ibv_init_ah_from_wc): on a RoCE port the 40 bytes before a UD payload
 * hold either an IPv6 header (a GRH) or, for RoCE v2 over IPv4, 20 unused
 * bytes and an IPv4 header, told apart as libibverbs does.
 */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/ip.h>
#include <stdlib.h>
#include <string.h>

#include "libclient/client.h"

RB_EXPORT struct ibv_ah *ibv_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr)
{
	struct rbc_context *c = to_rbc_context(pd->context);
	Rdmabroker__AhCreateReq body = RDMABROKER__AH_CREATE_REQ__INIT;
	Rdmabroker__AhAttr pa = RDMABROKER__AH_ATTR__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	uint8_t gid[16];
	struct ibv_ah *ah;
	int ret;

	ah = calloc(1, sizeof(*ah));
	if (!ah) {
		errno = ENOMEM;
		return NULL;
	}
	rb_conv_ah_attr_to_pb(&pa, gid, attr);
	body.pd = pd->handle;
	body.attr = &pa;
	req.body_case = RDMABROKER__REQUEST__BODY_AH_CREATE;
	req.ah_create = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret) {
		free(ah);
		errno = ret;
		return NULL;
	}
	ah->context = pd->context;
	ah->pd = pd;
	ah->handle = reply->ah_create->handle;
	rb_rpc_reply_free(reply);
	return ah;
}

RB_EXPORT int ibv_destroy_ah(struct ibv_ah *ah)
{
	struct rbc_context *c = to_rbc_context(ah->context);
	Rdmabroker__AhDestroyReq body = RDMABROKER__AH_DESTROY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	int ret;

	body.handle = ah->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_AH_DESTROY;
	req.ah_destroy = &body;
	ret = rbc_call_destroy(c, &req);
	if (ret)
		return ret;
	free(ah);
	return 0;
}

/* The index of gid (of RoCE v2 type if v2) on the port, or -1 (errno). */
static int rbc_find_gid(struct ibv_context *context, uint8_t port,
			const union ibv_gid *gid, bool v2)
{
	struct ibv_port_attr pa;

	if (ibv_query_port(context, port, &pa)) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < pa.gid_tbl_len; i++) {
		struct ibv_gid_entry e;

		if (ibv_query_gid_ex(context, port, (uint32_t)i, &e, 0))
			continue;
		if (!memcmp(e.gid.raw, gid->raw, 16) &&
		    (e.gid_type == IBV_GID_TYPE_ROCE_V2) == v2)
			return i;
	}
	errno = ENOENT;
	return -1;
}

/* The one's complement sum of an IPv4 header of 5 words, as sent. */
static uint16_t rbc_ipv4_csum(const struct iphdr *h)
{
	struct iphdr c = *h;
	const uint16_t *w = (const uint16_t *)&c;
	uint32_t sum = 0;

	c.check = 0;
	for (size_t i = 0; i < sizeof(c) / 2; i++)
		sum += w[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* 4 or 6 for the header in the GRH space, -1 if neither. */
static int rbc_grh_version(const struct ibv_grh *grh)
{
	const struct iphdr *ip4 = (const struct iphdr *)((const char *)grh + 20);
	int v6 = (int)((be32toh(grh->version_tclass_flow) >> 28) & 0xf);

	if (v6 != 6)
		return ip4->version == 4 ? 4 : -1;
	/* A valid IPv4 header there wins over a stray 6 in byte 0. */
	if (ip4->ihl == 5 && ip4->check == rbc_ipv4_csum(ip4))
		return 4;
	return 6;
}

RB_EXPORT int ibv_init_ah_from_wc(struct ibv_context *context, uint8_t port_num,
				  struct ibv_wc *wc, struct ibv_grh *grh,
				  struct ibv_ah_attr *ah_attr)
{
	union ibv_gid sgid;
	int idx;

	memset(ah_attr, 0, sizeof(*ah_attr));
	ah_attr->dlid = wc->slid;
	ah_attr->sl = wc->sl;
	ah_attr->src_path_bits = wc->dlid_path_bits;
	ah_attr->port_num = port_num;
	if (!(wc->wc_flags & IBV_WC_GRH))
		return 0;
	ah_attr->is_global = 1;
	switch (rbc_grh_version(grh)) {
	case 4: {
		const struct iphdr *ip4 = (const struct iphdr *)((const char *)grh + 20);

		/* RoCE v2 over IPv4: GIDs are IPv4-mapped IPv6 addresses. */
		memset(ah_attr->grh.dgid.raw, 0, 10);
		memset(ah_attr->grh.dgid.raw + 10, 0xff, 2);
		memcpy(ah_attr->grh.dgid.raw + 12, &ip4->saddr, 4);
		memset(sgid.raw, 0, 10);
		memset(sgid.raw + 10, 0xff, 2);
		memcpy(sgid.raw + 12, &ip4->daddr, 4);
		idx = rbc_find_gid(context, port_num, &sgid, true);
		ah_attr->grh.hop_limit = 0xff;
		ah_attr->grh.traffic_class = ip4->tos;
		break;
	}
	case 6: {
		uint32_t flow = be32toh(grh->version_tclass_flow);

		ah_attr->grh.dgid = grh->sgid;
		idx = rbc_find_gid(context, port_num, &grh->dgid, false);
		if (idx < 0)
			idx = rbc_find_gid(context, port_num, &grh->dgid, true);
		ah_attr->grh.flow_label = flow & 0xfffff;
		ah_attr->grh.hop_limit = 0xff;
		ah_attr->grh.traffic_class = (uint8_t)((flow >> 20) & 0xff);
		break;
	}
	default:
		errno = EPROTONOSUPPORT;
		return -1;
	}
	if (idx < 0)
		return -1;
	ah_attr->grh.sgid_index = (uint8_t)idx;
	return 0;
}

RB_EXPORT struct ibv_ah *ibv_create_ah_from_wc(struct ibv_pd *pd, struct ibv_wc *wc,
					       struct ibv_grh *grh, uint8_t port_num)
{
	struct ibv_ah_attr attr;

	if (ibv_init_ah_from_wc(pd->context, port_num, wc, grh, &attr))
		return NULL;
	return ibv_create_ah(pd, &attr);
}
