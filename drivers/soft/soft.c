/* SPDX-License-Identifier: MIT */
/*
 * The soft device: a software RDMA device inside the daemon.
 *
 * This file holds its identity and attributes, its [soft] settings, its
 * entry in the driver registry and its ops table (soft-int.h lists the
 * other files).  It presents itself like a RoCE NIC: InfiniBand transport
 * over an Ethernet link layer, one port, and a GID derived from the
 * host's IP address so that programs which exchange LID/GID/QPN out of
 * band work unchanged.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
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

#include "daemon/cfg.h"
#include "daemon/log.h"
#include "drivers/soft/soft-int.h"
#include "drivers/soft/soft.h"
#include "drivers/soft/ids.h"
#include "drivers/soft/roce.h"

/* Limits the engine is built for; the control verbs enforce them. */
#define SOFT_MAX_QP		16384
#define SOFT_MAX_QP_WR		16384
#define SOFT_MAX_SGE		RB_MAX_SGE
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
#define SOFT_MAX_MW		65536
#define SOFT_MAX_MSG_SZ		(1u << 31)
#define SOFT_GID_TBL_LEN	ROCE_GID_TBL_LEN
#define SOFT_PKEY_TBL_LEN	1

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
			      IBV_DEVICE_N_NOTIFY_CQ |
			      IBV_DEVICE_MEM_WINDOW |
			      IBV_DEVICE_MEM_WINDOW_TYPE_2B |
			      IBV_DEVICE_XRC;
	a->max_sge = SOFT_MAX_SGE;
	a->max_sge_rd = SOFT_MAX_SGE;
	a->max_cq = SOFT_MAX_CQ;
	a->max_cqe = SOFT_MAX_CQE;
	a->max_mr = SOFT_MAX_MR;
	a->max_pd = SOFT_MAX_PD;
	a->max_mw = SOFT_MAX_MW;
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
	/* The kernel reports the base flags in the low half of the ex flags;
	 * above them, what the uapi (kernel 6.2, unknown to rdma-core 44's
	 * headers) says of IBV_WR_ATOMIC_WRITE and IBV_WR_FLUSH: global
	 * visibility only, as no memory behind this device persists. */
	ex->device_cap_flags_ex = a->device_cap_flags | RB_DEVICE_ATOMIC_WRITE |
				  RB_DEVICE_FLUSH_GLOBAL;
	ex->phys_port_cnt_ex = 1;
	/* Completions carry CLOCK_MONOTONIC ns (proto/shm.h): a 1 GHz clock
	 * (kHz here) that never wraps. */
	ex->completion_timestamp_mask = UINT64_MAX;
	ex->hca_core_clock = 1000000;
	return 0;
}

/* gid_address pins GID 0, the only one; else the host's addresses too. */
static uint16_t soft_gid_tbl_len(const struct soft_dev *s)
{
	return !s->roce || s->roce->pinned ? 1 : SOFT_GID_TBL_LEN;
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
	a->gid_tbl_len = soft_gid_tbl_len(dev->priv);
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

	if (port_num != 1 || index < 0 || index >= soft_gid_tbl_len(s))
		return -EINVAL;
	*type = IBV_GID_TYPE_ROCE_V2;
	if (index == 0 || !s->roce) {
		/* GID 0 is the one chosen at start; without the table, the
		 * only one. */
		if (index)
			memset(gid, 0, sizeof(*gid));
		else
			*gid = s->gid;
		return 0;
	}
	return roce_gid_query(s->roce, index, gid);
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
	struct soft_dev *s = dev->priv;

	roce_dev_destroy(s->roce);
	soft_req_stage_fini(s);
	soft_mcast_fini(s);
	free(s->qpns.b);
	free(s->lkeys.b);
	free(s->rkeys.b);
	free(s->mws.b);
	free(s->srqns.b);
	free(s);
	free(dev);
}

static unsigned int soft_stat_counters(struct rb_device *dev, struct rb_counter *out,
				       unsigned int max)
{
	struct soft_dev *s = dev->priv;

	return s->roce ? roce_dev_counters(s->roce, out, max) : 0;
}

static int soft_gsi_send(struct rb_device *dev, const union ibv_gid *sgid,
			 const union ibv_gid *dgid, const void *mad, size_t len)
{
	struct soft_dev *s = dev->priv;

	return roce_gsi_send(s->roce, sgid, dgid, mad, len);
}

/* The engine's pass, then the wire's (roce_io_poll says why). */
static unsigned int soft_progress(struct rb_device *dev, uint64_t now_ns, uint64_t idle_ns)
{
	struct soft_dev *s = dev->priv;
	unsigned int ret = soft_sched_progress(dev, now_ns, idle_ns);

	if (s->roce && roce_io_poll(s->roce))
		ret |= RB_PROGRESS_DID_WORK;
	if (s->roce && s->roce->qps.n)
		ret |= RB_PROGRESS_WIRE;
	return ret;
}

static unsigned int soft_stat_qp_counters(struct rb_device *dev, unsigned int skip,
					  struct rb_qp_counters *out, unsigned int max)
{
	struct soft_dev *s = dev->priv;

	return s->roce ? roce_dev_qp_counters(s->roce, skip, out, max) : 0;
}

/* A PD, a CQ, an SRQ, an AH: the daemon's bookkeeping is all there is. */
static int soft_alloc_pd(struct rb_device *dev, struct rb_pd *pd)
{
	return 0;
}

static int soft_create_cq(struct rb_device *dev, struct rb_cq *cq)
{
	return 0;
}

/* An XRC SRQ gets a number senders name, unique, not 0. */
static int soft_create_srq(struct rb_device *dev, struct rb_srq *srq)
{
	struct soft_dev *sd = dev->priv;
	struct soft_srq *ss = rb_container_of(srq, struct soft_srq, srq);
	uint32_t n;

	if (!srq->xrc)
		return 0;
	do
		n = soft_keys_random32() & 0xffffff;
	while (!n || hash_first(&sd->srqns, n));
	srq->srq_num = n;
	return hash_insert(&sd->srqns, &ss->node, n) < 0 ? -ENOMEM : 0;
}

static void soft_destroy_srq(struct rb_srq *srq)
{
	struct soft_dev *sd = srq->dev->priv;

	/* An XRC SRQ is no QP's dependency: a SEND in parts may hold one
	 * of its receives. */
	soft_resp_srq_gone(sd, srq);
	if (srq->xrc)
		hash_remove(&sd->srqns, &rb_container_of(srq, struct soft_srq, srq)->node);
}

/* An XRC domain: the daemon's object is all there is. */
static int soft_open_xrcd(struct rb_device *dev, struct rb_xrcd *xrcd)
{
	(void)dev;
	(void)xrcd;
	return 0;
}

static int soft_create_ah(struct rb_device *dev, struct rb_ah *ah)
{
	return 0;
}

/* A window never outlives, nor reaches past, the memory it lends. */
static void soft_dereg_mr(struct rb_mr *mr)
{
	soft_mw_mr_gone(mr);
	soft_keys_dereg_mr(mr);
}

/* No memory behind this device persists: FLUSH_PERSISTENT is refused,
 * as rxe refuses it for memory that is not pmem. */
static int soft_check_access(struct rb_mr *mr)
{
	if (mr->access & RB_ACCESS_FLUSH_PERSISTENT) {
		rb_device_error(mr->dev, "%s: no persistent memory (IBV_ACCESS_FLUSH_PERSISTENT)",
				mr->dev->name);
		return -EINVAL;
	}
	return 0;
}

static int soft_reg_mr(struct rb_device *dev, struct rb_mr *mr)
{
	int ret = soft_check_access(mr);

	return ret < 0 ? ret : soft_keys_reg_mr(dev, mr);
}

static int soft_rereg_mr(struct rb_mr *mr, int flags, const struct rb_mr *old)
{
	int ret = soft_check_access(mr);

	(void)flags;
	(void)old;
	if (ret < 0)
		return ret;
	soft_mw_mr_gone(mr);
	return 0;
}

static const struct rb_driver_ops soft_ops = {
	.name = "soft",
	.mr_size = sizeof(struct soft_mr),
	.qp_size = sizeof(struct soft_qp),
	.destroy = soft_destroy,
	.query_device = soft_query_device,
	.query_port = soft_query_port,
	.query_gid = soft_query_gid,
	.query_pkey = soft_query_pkey,
	.alloc_pd = soft_alloc_pd,
	.mw_size = sizeof(struct soft_mw),
	.reg_mr = soft_reg_mr,
	.rereg_mr = soft_rereg_mr,
	.dereg_mr = soft_dereg_mr,
	.alloc_mw = soft_mw_alloc,
	.dealloc_mw = soft_mw_dealloc,
	.create_cq = soft_create_cq,
	.create_qp = soft_qp_create,
	.modify_qp = soft_qp_modify,
	.qp_doorbell = soft_qp_doorbell,
	.qp_take_posted = soft_sched_take_posted,
	.destroy_qp = soft_qp_destroy,
	.attach_mcast = soft_mcast_attach,
	.detach_mcast = soft_mcast_detach,
	.srq_size = sizeof(struct soft_srq),
	.create_srq = soft_create_srq,
	.destroy_srq = soft_destroy_srq,
	.open_xrcd = soft_open_xrcd,
	.create_ah = soft_create_ah,
	.progress = soft_progress,
	.stat_counters = soft_stat_counters,
	.gsi_send = soft_gsi_send,
	.stat_qp_counters = soft_stat_qp_counters,
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

/* spin_us takes effect on reload: the idle budget the daemon polls by. */
static void soft_config_apply(struct rb_device *dev, const void *config)
{
	const struct rb_soft_config *cfg = config;

	dev->poll_idle_ns = (uint64_t)cfg->spin_us * 1000;
	dev->cpu_copies = true;		/* the engine's memmove (soft-mem.c) */
}

static int soft_create(const void *config, const struct rb_driver_env *env,
		       char *err, size_t errlen)
{
	const struct rb_soft_config *cfg = config;
	struct rb_device *dev;
	struct soft_dev *s;
	int ret;

	if (!cfg->enable)
		return 0;
	dev = calloc(1, sizeof(*dev));
	s = calloc(1, sizeof(*s));
	if (!dev || !s) {
		free(dev);
		free(s);
		snprintf(err, errlen, "soft device: out of memory");
		return -ENOMEM;
	}
	soft_sched_init(s);
	TAILQ_INIT(&s->mw_list);
	LIST_INIT(&s->claims);
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
	soft_config_apply(dev, cfg);
	dev->priv = s;
	log_info("device %s: GID[0] from %s", dev->name, s->gid_source);
	s->roce = roce_dev_create(dev, env->base, &s->gid,
				  strcmp(cfg->gid_address, "auto") && cfg->gid_address[0],
				  cfg->roce);
	if (!s->roce) {
		snprintf(err, errlen, "soft device %s: out of memory", dev->name);
		soft_destroy(dev);
		return -ENOMEM;
	}
	ret = env->add_device(env->ctx, dev);
	if (ret < 0) {
		snprintf(err, errlen, "soft device %s: %s", dev->name, strerror(-ret));
		soft_destroy(dev);
	}
	return ret;
}

/* ------------------------------------------------------------ [soft] */

_Static_assert(sizeof(struct rb_soft_config) <= RB_DRIVER_CONFIG_MAX,
	       "[soft] settings too large for the daemon's config");

static void soft_config_defaults(void *config)
{
	struct rb_soft_config *cfg = config;

	cfg->enable = 1;
	snprintf(cfg->name, sizeof(cfg->name), "rbsoft0");
	snprintf(cfg->gid_address, sizeof(cfg->gid_address), "auto");
	cfg->node_guid = 0;
	cfg->spin_us = 200;
	cfg->roce = 1;
}

static int soft_config_str(char *dst, size_t dstlen, const char *key,
			   const char *val, char *err, size_t errlen)
{
	if (strlen(val) >= dstlen) {
		snprintf(err, errlen, "%s: value too long (at most %zu bytes)",
			 key, dstlen - 1);
		return -EINVAL;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

#define SOFT_CONFIG_ERR(...) \
	do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

static int soft_config_key(void *config, const char *key, const char *val,
			   char *err, size_t errlen)
{
	struct rb_soft_config *cfg = config;
	uint64_t v;

	if (!strcmp(key, "enable")) {
		if (cfg_parse_bool(val, &cfg->enable) < 0)
			SOFT_CONFIG_ERR("enable: '%s' is not yes or no", val);
		return 0;
	}
	if (!strcmp(key, "roce")) {
		if (cfg_parse_bool(val, &cfg->roce) < 0)
			SOFT_CONFIG_ERR("roce: '%s' is not yes or no", val);
		return 0;
	}
	if (!strcmp(key, "name")) {
		if (!*val)
			SOFT_CONFIG_ERR("name: must not be empty");
		for (const char *c = val; *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
				SOFT_CONFIG_ERR("name: '%s' may hold only letters, digits, '-' and '_'", val);
		return soft_config_str(cfg->name, sizeof(cfg->name), key, val,
				       err, errlen);
	}
	if (!strcmp(key, "gid_address")) {
		unsigned char buf[16];

		if (strcmp(val, "auto") && inet_pton(AF_INET, val, buf) != 1 &&
		    inet_pton(AF_INET6, val, buf) != 1)
			SOFT_CONFIG_ERR("gid_address: '%s' is neither 'auto' nor an IPv4/IPv6 address", val);
		return soft_config_str(cfg->gid_address, sizeof(cfg->gid_address),
				       key, val, err, errlen);
	}
	if (!strcmp(key, "node_guid")) {
		if (!strcmp(val, "auto")) {
			cfg->node_guid = 0;
			return 0;
		}
		if (cfg_parse_u64(val, false, &v) < 0 || v == 0)
			SOFT_CONFIG_ERR("node_guid: '%s' is neither 'auto' nor a non-zero number (e.g. 0x0002c9fffe000001)", val);
		cfg->node_guid = v;
		return 0;
	}
	if (!strcmp(key, "spin_us")) {
		if (cfg_parse_u64(val, false, &v) < 0 || v > 1000000)
			SOFT_CONFIG_ERR("spin_us: '%s' is not a count of microseconds up to 1000000", val);
		cfg->spin_us = (uint32_t)v;
		return 0;
	}
	SOFT_CONFIG_ERR("unknown key '%s' in [soft]", key);
}

const struct rb_driver rb_soft_driver = {
	.name = "soft",
	.section = "soft",
	.config_size = sizeof(struct rb_soft_config),
	.config_defaults = soft_config_defaults,
	.config_key = soft_config_key,
	.create = soft_create,
	.config_apply = soft_config_apply,
};
