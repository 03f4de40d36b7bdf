/* SPDX-License-Identifier: MIT */
/*
 * The connection manager across hosts (docs/cm.md): the IB CM's messages
 * as CM MADs (management class 0x07, class version 2, method Send,
 * attribute ids 0x10..0x18, the field layout of IBTA 12.6, as the
 * kernel's ib_cm writes them), carried by a device's GSI (QP1) to the
 * daemon of the host that owns the destination GID (drivers/driver.h
 * gsi_send; the soft device sends them as RoCEv2 UD packets on UDP 4791).
 * cm_transport_rocev2 packs a struct cm_msg and sends it; what arrives
 * (rb_device_gsi_recv) is checked, unpacked and given to cm_msg_recv(),
 * so nothing above cm_msg_send() knows where the peer is.
 *
 * And the route to an address of another host (cm_mad_route): the
 * kernel's choice of source address for it (a UDP socket connected to
 * it, never sending), the device whose GID table holds that source (its
 * GID and index), the path MTU from the route's.
 */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/cm.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "drivers/driver.h"

#define MAD_HDR			24
#define MAD_BASE_VERSION	1
#define MAD_CLASS_CM		0x07
#define MAD_CM_CLASS_VERSION	2
#define MAD_METHOD_SEND		0x03
/* The kernel's rdma_cm: 4.096 us << 20 (about 4 s) to answer (the
 * tries: CM_MAX_RETRIES). */
#define CM_RESPONSE_TIMEOUT	20

/* The daemon the GSI's MADs go to (one per process, set by cm_init). */
static struct rb_daemon *cm_mad_daemon;

void cm_mad_init(struct rb_daemon *d)
{
	cm_mad_daemon = d;
}

/* ------------------------------------------------------------ fields */

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* Private data: where it starts in each message, and its size. */
static const struct {
	uint16_t off, len;
} cm_mad_pdata[] = {
	[CM_MSG_REQ] = { 140, 92 },
	[CM_MSG_MRA] = { 10, 222 },
	[CM_MSG_REJ] = { 84, 148 },
	[CM_MSG_REP] = { 36, 196 },
	[CM_MSG_RTU] = { 8, 224 },
	[CM_MSG_DREQ] = { 12, 220 },
	[CM_MSG_DREP] = { 8, 224 },
	[CM_MSG_SIDR_REQ] = { 16, 216 },
	[CM_MSG_SIDR_REP] = { 96, 136 },
};

static bool cm_mad_known(unsigned int type)
{
	return type < sizeof(cm_mad_pdata) / sizeof(cm_mad_pdata[0]) &&
	       cm_mad_pdata[type].len;
}

/* ------------------------------------------------------------ packing */

/* m as a CM MAD (RB_MAD_SIZE bytes) from a device with node GUID guid. */
static void cm_mad_pack(const struct cm_msg *m, uint64_t guid, uint8_t *mad)
{
	static uint32_t tid_next;
	uint8_t *b = mad + MAD_HDR;
	size_t n;

	memset(mad, 0, RB_MAD_SIZE);
	mad[0] = MAD_BASE_VERSION;
	mad[1] = MAD_CLASS_CM;
	mad[2] = MAD_CM_CLASS_VERSION;
	mad[3] = MAD_METHOD_SEND;
	/* Transaction ids: ours, unique; the CM matches by comm ids. */
	put64(mad + 8, (uint64_t)m->local_comm_id << 32 | ++tid_next);
	put16(mad + 16, (uint16_t)m->type);
	switch (m->type) {
	case CM_MSG_REQ:
		put32(b + 0, m->local_comm_id);
		put64(b + 8, m->service_id);
		put64(b + 16, guid);
		put32(b + 32, m->qpn << 8 | m->resp_res);
		put32(b + 36, m->init_depth);
		/* remote CM response timeout, transport RC (0), flow control */
		put32(b + 40, CM_RESPONSE_TIMEOUT << 3 | (m->flow_control & 1));
		put32(b + 44, (m->psn & 0xffffff) << 8 | CM_RESPONSE_TIMEOUT << 3 |
			      (m->retry & 7));
		put16(b + 48, 0xffff);
		b[50] = (uint8_t)((m->mtu & 0xf) << 4 | (m->rnr_retry & 7));
		b[51] = (uint8_t)(CM_MAX_RETRIES << 4 | (m->srq & 1) << 3);
		/* The primary path: RoCE has no LIDs (permissive). */
		put16(b + 52, 0xffff);
		put16(b + 54, 0xffff);
		memcpy(b + 56, m->sgid.raw, 16);
		memcpy(b + 72, m->dgid.raw, 16);
		b[92] = m->tclass;
		b[93] = 64;			/* hop limit */
		b[95] = 14 << 3;		/* local ACK timeout */
		break;
	case CM_MSG_REP:
		put32(b + 0, m->local_comm_id);
		put32(b + 4, m->remote_comm_id);
		put32(b + 12, m->qpn << 8);
		put32(b + 20, (m->psn & 0xffffff) << 8);
		b[24] = m->resp_res;
		b[25] = m->init_depth;
		b[26] = (uint8_t)(m->flow_control & 1);
		b[27] = (uint8_t)((m->rnr_retry & 7) << 5 | (m->srq & 1) << 4);
		put64(b + 28, guid);
		break;
	case CM_MSG_REJ:
		put32(b + 0, m->local_comm_id);
		put32(b + 4, m->remote_comm_id);
		/* What is refused: a REQ (0) unless we knew the peer's REP. */
		b[8] = 0;
		put16(b + 10, m->reason);
		break;
	case CM_MSG_DREQ:
		put32(b + 0, m->local_comm_id);
		put32(b + 4, m->remote_comm_id);
		put32(b + 8, m->qpn << 8);
		break;
	case CM_MSG_MRA:
		put32(b + 0, m->local_comm_id);
		put32(b + 4, m->remote_comm_id);
		b[8] = (uint8_t)((m->mraed & 3) << 6);
		b[9] = (uint8_t)((m->service_timeout & 31) << 3);
		break;
	case CM_MSG_RTU:
	case CM_MSG_DREP:
		put32(b + 0, m->local_comm_id);
		put32(b + 4, m->remote_comm_id);
		break;
	case CM_MSG_SIDR_REQ:
		put32(b + 0, m->local_comm_id);	/* request id */
		put16(b + 4, 0xffff);
		put64(b + 8, m->service_id);
		break;
	case CM_MSG_SIDR_REP:
		put32(b + 0, m->remote_comm_id);	/* the request's id */
		b[4] = m->reason;
		put32(b + 8, m->qpn << 8);
		put64(b + 12, m->service_id);
		put32(b + 20, m->qkey);
		break;
	}
	n = m->pdata_len < cm_mad_pdata[m->type].len ? m->pdata_len :
	    cm_mad_pdata[m->type].len;
	memcpy(b + cm_mad_pdata[m->type].off, m->pdata, n);
}

/* A received MAD into m: 0, or -EINVAL for what the CM does not take. */
static int cm_mad_unpack(const uint8_t *mad, size_t len, struct cm_msg *m)
{
	const uint8_t *b = mad + MAD_HDR;
	unsigned int type;

	if (len < RB_MAD_SIZE || mad[0] != MAD_BASE_VERSION || mad[1] != MAD_CLASS_CM ||
	    mad[2] != MAD_CM_CLASS_VERSION || mad[3] != MAD_METHOD_SEND)
		return -EINVAL;
	type = get16(mad + 16);
	if (!cm_mad_known(type))
		return -EINVAL;		/* LAP, APR, ...: not ours to act on */
	memset(m, 0, sizeof(*m));
	m->type = (enum cm_msg_type)type;
	switch (m->type) {
	case CM_MSG_REQ:
		m->local_comm_id = get32(b + 0);
		m->service_id = get64(b + 8);
		m->qpn = get32(b + 32) >> 8;
		m->resp_res = b[35];
		m->init_depth = b[39];
		m->flow_control = b[43] & 1;
		if ((b[43] >> 1 & 3) != 0)
			return -EINVAL;	/* UC, RD: rdma_cm connects RC */
		m->psn = get32(b + 44) >> 8;
		m->retry = b[47] & 7;
		m->mtu = b[50] >> 4;
		m->rnr_retry = b[50] & 7;
		m->srq = b[51] >> 3 & 1;
		m->tclass = b[92];
		break;
	case CM_MSG_REP:
		m->local_comm_id = get32(b + 0);
		m->remote_comm_id = get32(b + 4);
		m->qpn = get32(b + 12) >> 8;
		m->psn = get32(b + 20) >> 8;
		m->resp_res = b[24];
		m->init_depth = b[25];
		m->flow_control = b[26] & 1;
		m->rnr_retry = b[27] >> 5;
		m->srq = b[27] >> 4 & 1;
		break;
	case CM_MSG_REJ:
		m->local_comm_id = get32(b + 0);
		m->remote_comm_id = get32(b + 4);
		/* The IB CM's reasons fit in 16 bits; ours in 8. */
		m->reason = (uint8_t)(get16(b + 10) > 0xff ? CM_REJ_CONSUMER_DEFINED :
				      get16(b + 10));
		break;
	case CM_MSG_DREQ:
		m->local_comm_id = get32(b + 0);
		m->remote_comm_id = get32(b + 4);
		m->qpn = get32(b + 8) >> 8;
		break;
	case CM_MSG_MRA:
		m->local_comm_id = get32(b + 0);
		m->remote_comm_id = get32(b + 4);
		m->mraed = b[8] >> 6;
		m->service_timeout = b[9] >> 3;
		break;
	case CM_MSG_RTU:
	case CM_MSG_DREP:
		m->local_comm_id = get32(b + 0);
		m->remote_comm_id = get32(b + 4);
		break;
	case CM_MSG_SIDR_REQ:
		m->local_comm_id = get32(b + 0);
		m->service_id = get64(b + 8);
		break;
	case CM_MSG_SIDR_REP:
		m->remote_comm_id = get32(b + 0);
		m->reason = b[4];
		m->qpn = get32(b + 8) >> 8;
		m->service_id = get64(b + 12);
		m->qkey = get32(b + 20);
		break;
	}
	m->pdata_len = cm_mad_pdata[type].len;
	memcpy(m->pdata, b + cm_mad_pdata[type].off, m->pdata_len);
	return 0;
}

/* ------------------------------------------------------------ transport */

/* The device whose GID table holds gid, and its index there; NULL if none. */
struct rb_device *cm_mad_dev_of_gid(struct rb_daemon *d, const uint8_t gid[16], int *index)
{
	for (uint32_t i = 0; i < d->ndevices; i++) {
		struct rb_device *dev = d->devices[i];
		unsigned int n;

		if (!dev)
			continue;
		n = dev->gid_tbl_len < 16 ? dev->gid_tbl_len : 16;
		for (unsigned int k = 0; k < n; k++) {
			enum ibv_gid_type t;
			union ibv_gid g;

			if (dev->ops.query_gid(dev, 1, (int)k, &g, &t) == 0 &&
			    !memcmp(g.raw, gid, 16)) {
				if (index)
					*index = (int)k;
				return dev;
			}
		}
	}
	return NULL;
}

static int cm_rocev2_send(struct rb_daemon *d, const struct cm_msg *m)
{
	struct rb_device *dev = cm_mad_dev_of_gid(d, m->sgid.raw, NULL);
	uint8_t mad[RB_MAD_SIZE];

	if (!dev)
		return -ENETUNREACH;
	cm_mad_pack(m, dev->node_guid, mad);
	return dev->ops.gsi_send(dev, &m->sgid, &m->dgid, mad, sizeof(mad));
}

const struct cm_transport cm_transport_rocev2 = {
	.name = "rocev2",
	.send = cm_rocev2_send,
};

void rb_device_gsi_recv(struct rb_device *dev, const uint8_t sgid[16],
			const uint8_t dgid[16], const void *mad, size_t len)
{
	struct rb_daemon *d = cm_mad_daemon;
	struct cm_msg m;

	(void)dev;
	if (!d || cm_mad_unpack(mad, len, &m) < 0)
		return;		/* not a CM message we take: dropped, as by a CM */
	/* The path is what the packet came over, whatever it says. */
	memcpy(m.sgid.raw, sgid, 16);
	memcpy(m.dgid.raw, dgid, 16);
	cm_msg_recv(d, &m);
}

/* ------------------------------------------------------------ routes */

/* The IB MTU that fits an IP path MTU with RoCEv2's headers. */
static enum ibv_mtu cm_mad_ib_mtu(int ip_mtu, bool v6)
{
	/* IP, UDP, BTH, RETH, ImmDt, ICRC */
	int room = ip_mtu - (v6 ? 40 : 20) - 8 - 12 - 16 - 4 - 4;

	if (room >= 4096)
		return IBV_MTU_4096;
	if (room >= 2048)
		return IBV_MTU_2048;
	if (room >= 1024)
		return IBV_MTU_1024;
	if (room >= 512)
		return IBV_MTU_512;
	return IBV_MTU_256;
}

int cm_mad_route(struct rb_daemon *d, const struct sockaddr *dst,
		 struct sockaddr_storage *src, struct cm_route *rt)
{
	struct sockaddr_storage to;
	socklen_t sl = sizeof(*src);
	bool v6 = dst->sa_family == AF_INET6;
	int fd, ip_mtu = 0, ret = 0;
	socklen_t ml = sizeof(ip_mtu);
	uint8_t ip[16];

	memset(&to, 0, sizeof(to));
	memcpy(&to, dst, v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	if (v6)
		((struct sockaddr_in6 *)&to)->sin6_port = htons(4791);
	else
		((struct sockaddr_in *)&to)->sin_port = htons(4791);
	fd = socket(dst->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A UDP connect sends nothing: the kernel picks the route and the
	 * source address it would send from. */
	if (connect(fd, (struct sockaddr *)&to, v6 ? sizeof(struct sockaddr_in6) :
			 sizeof(struct sockaddr_in)) < 0 ||
	    getsockname(fd, (struct sockaddr *)src, &sl) < 0) {
		ret = -errno;
		goto out;
	}
	if (getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU,
		       &ip_mtu, &ml) < 0)
		ip_mtu = 1500;
	memset(ip, 0, sizeof(ip));
	if (v6) {
		memcpy(ip, &((struct sockaddr_in6 *)src)->sin6_addr, 16);
	} else {
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &((struct sockaddr_in *)src)->sin_addr, 4);
	}
	rt->dev = cm_mad_dev_of_gid(d, ip, &rt->sgid_index);
	if (!rt->dev) {
		ret = -ENETUNREACH;	/* no device of ours on that route */
		goto out;
	}
	memcpy(rt->sgid.raw, ip, 16);
	memset(rt->dgid.raw, 0, 16);
	if (v6) {
		memcpy(rt->dgid.raw, &((const struct sockaddr_in6 *)dst)->sin6_addr, 16);
	} else {
		rt->dgid.raw[10] = rt->dgid.raw[11] = 0xff;
		memcpy(rt->dgid.raw + 12, &((const struct sockaddr_in *)dst)->sin_addr, 4);
	}
	rt->mtu = cm_mad_ib_mtu(ip_mtu, v6);
	/* The device must reach other hosts (the soft device: its RoCEv2
	 * socket is up), as the kernel's route must leave by a RoCE netdev. */
	ret = rt->dev->ops.gsi_send(rt->dev, &rt->sgid, &rt->dgid, NULL, 0);
	if (ret < 0)
		ret = -ENETUNREACH;
out:
	close(fd);
	return ret;
}
