/* SPDX-License-Identifier: MIT */
/*
 * The soft device: a software RDMA device inside the daemon.
 *
 * This file holds its identity and attributes.  It presents itself like a
 * RoCE NIC: InfiniBand transport over an Ethernet link layer, one port,
 * and a GID derived from the host's IP address so that programs which
 * exchange LID/GID/QPN out of band work unchanged.
 */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/soft/ids.h"

/* Limits the engine is built for; the control verbs enforce them. */
#define SOFT_MAX_QP		16384
#define SOFT_MAX_QP_WR		16384
#define SOFT_MAX_SGE		32
#define SOFT_MAX_CQ		16384
#define SOFT_MAX_CQE		(1 << 20)
#define SOFT_MAX_MR		65536
#define SOFT_MAX_PD		16384
/* Inline send data per WQE: max_inline_data bytes pass, one more fails. */
#define SOFT_MAX_INLINE		512
#define SOFT_MAX_RD_ATOM	128
#define SOFT_MAX_SRQ		4096
#define SOFT_MAX_SRQ_WR		16384
#define SOFT_MAX_AH		65536
#define SOFT_MAX_MSG_SZ		(1u << 31)
#define SOFT_GID_TBL_LEN	1
#define SOFT_PKEY_TBL_LEN	1

struct soft_dev {
	union ibv_gid gid;		/* GID[0] */
	char gid_source[64];		/* for the log: where it came from */
};

static int soft_query_device(struct rb_device *dev,
			     struct ibv_device_attr_ex *ex)
{
	struct ibv_device_attr *a = &ex->orig_attr;

	memset(ex, 0, sizeof(*ex));
	snprintf(a->fw_ver, sizeof(a->fw_ver), "%s", PACKAGE_VERSION);
	a->node_guid = htobe64(dev->node_guid);
	a->sys_image_guid = htobe64(dev->node_guid);
	a->max_mr_size = 1ull << 40;
	a->page_size_cap = 0xfffff000;	/* 4 KiB and up */
	a->vendor_id = SOFT_VENDOR_ID;
	a->vendor_part_id = SOFT_VENDOR_PART_ID;
	a->hw_ver = 1;
	a->max_qp = SOFT_MAX_QP;
	a->max_qp_wr = SOFT_MAX_QP_WR;
	a->device_cap_flags = IBV_DEVICE_BAD_PKEY_CNTR |
			      IBV_DEVICE_BAD_QKEY_CNTR |
			      IBV_DEVICE_RC_RNR_NAK_GEN |
			      IBV_DEVICE_SRQ_RESIZE |
			      IBV_DEVICE_PORT_ACTIVE_EVENT |
			      IBV_DEVICE_SYS_IMAGE_GUID |
			      IBV_DEVICE_N_NOTIFY_CQ;
	a->max_sge = SOFT_MAX_SGE;
	a->max_sge_rd = SOFT_MAX_SGE;
	a->max_cq = SOFT_MAX_CQ;
	a->max_cqe = SOFT_MAX_CQE;
	a->max_mr = SOFT_MAX_MR;
	a->max_pd = SOFT_MAX_PD;
	a->max_qp_rd_atom = SOFT_MAX_RD_ATOM;
	a->max_res_rd_atom = SOFT_MAX_RD_ATOM * SOFT_MAX_QP;
	a->max_qp_init_rd_atom = SOFT_MAX_RD_ATOM;
	a->atomic_cap = IBV_ATOMIC_HCA;
	a->max_ah = SOFT_MAX_AH;
	a->max_srq = SOFT_MAX_SRQ;
	a->max_srq_wr = SOFT_MAX_SRQ_WR;
	a->max_srq_sge = SOFT_MAX_SGE;
	a->max_pkeys = SOFT_PKEY_TBL_LEN;
	a->local_ca_ack_delay = 15;
	a->phys_port_cnt = 1;
	/* The kernel reports the base flags in the low half of the ex flags. */
	ex->device_cap_flags_ex = a->device_cap_flags;
	ex->phys_port_cnt_ex = 1;
	return 0;
}

static int soft_query_port(struct rb_device *dev, uint8_t port_num,
			   struct ibv_port_attr *a)
{
	if (port_num != 1)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->state = IBV_PORT_ACTIVE;
	a->max_mtu = IBV_MTU_4096;
	a->active_mtu = IBV_MTU_4096;
	a->gid_tbl_len = SOFT_GID_TBL_LEN;
	a->port_cap_flags = IBV_PORT_CM_SUP | IBV_PORT_IP_BASED_GIDS;
	a->max_msg_sz = SOFT_MAX_MSG_SZ;
	a->pkey_tbl_len = SOFT_PKEY_TBL_LEN;
	a->lid = 0;			/* RoCE: no LIDs */
	a->sm_lid = 0;
	a->max_vl_num = 1;
	a->subnet_timeout = 0;
	a->active_width = 2;		/* 4X */
	a->active_speed = 32;		/* EDR, 25 Gb/s per lane */
	a->phys_state = 5;		/* LinkUp */
	a->link_layer = IBV_LINK_LAYER_ETHERNET;
	return 0;
}

static int soft_query_gid(struct rb_device *dev, uint8_t port_num, int index,
			  union ibv_gid *gid, enum ibv_gid_type *type)
{
	struct soft_dev *s = dev->priv;

	if (port_num != 1 || index < 0 || index >= SOFT_GID_TBL_LEN)
		return -EINVAL;
	*gid = s->gid;
	*type = IBV_GID_TYPE_ROCE_V2;
	return 0;
}

static int soft_query_pkey(struct rb_device *dev, uint8_t port_num, int index,
			   uint16_t *pkey)
{
	if (port_num != 1 || index < 0 || index >= SOFT_PKEY_TBL_LEN)
		return -EINVAL;
	*pkey = 0xffff;			/* the default full-membership key */
	return 0;
}

static void soft_destroy(struct rb_device *dev)
{
	free(dev->priv);
	free(dev);
}

static const struct rb_driver_ops soft_ops = {
	.name = "soft",
	.destroy = soft_destroy,
	.query_device = soft_query_device,
	.query_port = soft_query_port,
	.query_gid = soft_query_gid,
	.query_pkey = soft_query_pkey,
};

/* RoCE v2 GIDs of IPv4 addresses are IPv4-mapped IPv6 addresses. */
static void soft_gid_from_v4(union ibv_gid *gid, const struct in_addr *a)
{
	memset(gid, 0, sizeof(*gid));
	gid->raw[10] = 0xff;
	gid->raw[11] = 0xff;
	memcpy(&gid->raw[12], a, 4);
}

/*
 * "auto": the first up, non-loopback IPv4 address; else a global IPv6
 * address; else 127.0.0.1, which still lets peers on this host connect.
 */
static void soft_gid_auto(struct soft_dev *s)
{
	struct ifaddrs *ifa, *i;
	bool have6 = false;
	struct in6_addr a6 = IN6ADDR_ANY_INIT;
	struct in_addr lo = { .s_addr = htonl(INADDR_LOOPBACK) };

	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) ||
			    (i->ifa_flags & IFF_LOOPBACK))
				continue;
			if (i->ifa_addr->sa_family == AF_INET) {
				struct sockaddr_in *sin = (void *)i->ifa_addr;

				soft_gid_from_v4(&s->gid, &sin->sin_addr);
				snprintf(s->gid_source, sizeof(s->gid_source),
					 "%s", i->ifa_name);
				freeifaddrs(ifa);
				return;
			}
			if (i->ifa_addr->sa_family == AF_INET6 && !have6) {
				struct sockaddr_in6 *sin6 = (void *)i->ifa_addr;

				if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
					continue;
				a6 = sin6->sin6_addr;
				have6 = true;
				snprintf(s->gid_source, sizeof(s->gid_source),
					 "%s", i->ifa_name);
			}
		}
		freeifaddrs(ifa);
	}
	if (have6) {
		memcpy(s->gid.raw, &a6, 16);
		return;
	}
	soft_gid_from_v4(&s->gid, &lo);
	snprintf(s->gid_source, sizeof(s->gid_source), "loopback");
}

static int soft_gid_configured(struct soft_dev *s, const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1) {
		soft_gid_from_v4(&s->gid, &a4);
	} else if (inet_pton(AF_INET6, addr, &a6) == 1) {
		memcpy(s->gid.raw, &a6, 16);
	} else {
		return -EINVAL;
	}
	snprintf(s->gid_source, sizeof(s->gid_source), "config");
	return 0;
}

/*
 * A node GUID that survives restarts: FNV-1a over /etc/machine-id and the
 * device name, marked as a locally administered unicast EUI-64.
 */
static uint64_t soft_stable_guid(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char id[128] = "";
	FILE *f = fopen("/etc/machine-id", "re");

	if (f) {
		if (!fgets(id, sizeof(id), f))
			id[0] = '\0';
		fclose(f);
	}
	if (!id[0])
		gethostname(id, sizeof(id) - 1);
	for (const char *p = id; *p && *p != '\n'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	h = (h ^ '/') * 0x100000001b3ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	h &= ~(1ull << 56);		/* unicast */
	h |= 1ull << 57;		/* locally administered */
	return h;
}

int rb_soft_create(const struct rb_soft_config *cfg, struct rb_device **devp,
		   char *err, size_t errlen)
{
	struct rb_device *dev;
	struct soft_dev *s;

	dev = calloc(1, sizeof(*dev));
	s = calloc(1, sizeof(*s));
	if (!dev || !s) {
		free(dev);
		free(s);
		snprintf(err, errlen, "soft device: out of memory");
		return -ENOMEM;
	}
	if (!strcmp(cfg->gid_address, "auto") || !cfg->gid_address[0]) {
		soft_gid_auto(s);
	} else if (soft_gid_configured(s, cfg->gid_address) < 0) {
		snprintf(err, errlen, "soft device: bad gid_address '%s'",
			 cfg->gid_address);
		free(dev);
		free(s);
		return -EINVAL;
	}
	rb_device_set_ops(dev, &soft_ops);
	snprintf(dev->name, sizeof(dev->name), "%s", cfg->name);
	dev->node_guid = cfg->node_guid ? cfg->node_guid :
			 soft_stable_guid(cfg->name);
	dev->node_type = IBV_NODE_CA;
	dev->transport_type = IBV_TRANSPORT_IB;
	dev->phys_port_cnt = 1;
	dev->max_inline_data = SOFT_MAX_INLINE;
	dev->priv = s;
	*devp = dev;
	return 0;
}

const char *rb_soft_gid_source(const struct rb_device *dev)
{
	const struct soft_dev *s = dev->priv;

	return s->gid_source;
}
