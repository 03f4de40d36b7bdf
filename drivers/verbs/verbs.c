/* SPDX-License-Identifier: MIT */
/*
 * The verbs pass-through driver: configuration, its devices, queries and
 * the real devices' async events (drivers/verbs/verbs.h).
 *
 * [verbs] enable = yes opens the devices libibverbs lists (devices = all,
 * or the names given) with the daemon's own context; each becomes one
 * device of the daemon, named name_prefix + the host's name.
 */
#include "config.h"

#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon/cfg.h"
#include "daemon/log.h"
#include "drivers/verbs/verbs.h"

/* The daemon's rings carry at most this many SGEs per WQE. */
#define VERBS_RING_MAX_SGE	32

static void verbs_config_defaults(void *p)
{
	struct verbs_config *c = p;

	c->enable = 0;
	snprintf(c->devices, sizeof(c->devices), "all");
	c->name_prefix[0] = '\0';
	c->spin_us = 200;
}

static int verbs_config_key(void *p, const char *key, const char *value,
			    char *err, size_t errlen)
{
	struct verbs_config *c = p;
	uint64_t v;

	if (!strcmp(key, "enable")) {
		if (cfg_parse_bool(value, &c->enable) < 0) {
			snprintf(err, errlen, "enable: expected yes or no");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "devices")) {
		if (!*value || strlen(value) >= sizeof(c->devices)) {
			snprintf(err, errlen, "devices: 'all' or NAME[,NAME...] of at most %zu bytes",
				 sizeof(c->devices) - 1);
			return -EINVAL;
		}
		snprintf(c->devices, sizeof(c->devices), "%s", value);
		return 0;
	}
	if (!strcmp(key, "name_prefix")) {
		if (strlen(value) >= sizeof(c->name_prefix) ||
		    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
		    strlen(value)) {
			snprintf(err, errlen, "name_prefix: at most %zu letters, digits, '_', '-' or '.'",
				 sizeof(c->name_prefix) - 1);
			return -EINVAL;
		}
		snprintf(c->name_prefix, sizeof(c->name_prefix), "%s", value);
		return 0;
	}
	if (!strcmp(key, "spin_us")) {
		if (cfg_parse_u64(value, false, &v) < 0 || v > 1000000) {
			snprintf(err, errlen, "spin_us: a number of microseconds, 0..1000000");
			return -EINVAL;
		}
		c->spin_us = (uint32_t)v;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' in [verbs]", key);
	return -EINVAL;
}

/* Is name in the comma-separated list (or the list "all")? */
static bool verbs_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!strcmp(list, "all"))
		return true;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (len == n && !strncmp(p, name, n))
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

/* ------------------------------------------------------------ queries */

int verbs_query_device(struct rb_device *dev, struct ibv_device_attr_ex *attr)
{
	struct verbs_dev *vd = verbs_dev(dev);
	int ret;

	memset(attr, 0, sizeof(*attr));
	ret = ibv_query_device_ex(vd->ctx, NULL, attr);
	if (ret)
		ret = ibv_query_device(vd->ctx, &attr->orig_attr);
	if (ret)
		return ret > 0 ? -ret : -EIO;
	/* What the daemon's rings carry, whatever the NIC could do. */
	if (attr->orig_attr.max_sge > VERBS_RING_MAX_SGE)
		attr->orig_attr.max_sge = VERBS_RING_MAX_SGE;
	if (attr->orig_attr.max_srq_sge > VERBS_RING_MAX_SGE)
		attr->orig_attr.max_srq_sge = VERBS_RING_MAX_SGE;
	/* Not relayed: the NIC's completion timestamps (its CQEs reach the
	 * rings through ibv_poll_cq, which has none). */
	attr->completion_timestamp_mask = 0;
	attr->hca_core_clock = 0;
	/* Not brokered (yet): XRC, memory windows, raw packet. */
	attr->orig_attr.max_mw = 0;
	attr->device_cap_flags_ex &= ~(RB_DEVICE_ATOMIC_WRITE | RB_DEVICE_FLUSH_GLOBAL |
					RB_DEVICE_FLUSH_PERSISTENT);
	attr->orig_attr.device_cap_flags &= ~(unsigned int)(IBV_DEVICE_XRC |
		IBV_DEVICE_MEM_WINDOW | IBV_DEVICE_MEM_WINDOW_TYPE_2A |
		IBV_DEVICE_MEM_WINDOW_TYPE_2B | IBV_DEVICE_MEM_MGT_EXTENSIONS);
	return 0;
}

int verbs_query_port(struct rb_device *dev, uint8_t port_num, struct ibv_port_attr *attr)
{
	int ret = ibv_query_port(verbs_dev(dev)->ctx, port_num, attr);

	return ret > 0 ? -ret : ret < 0 ? -EIO : 0;
}

int verbs_query_gid(struct rb_device *dev, uint8_t port_num, int index,
		    union ibv_gid *gid, enum ibv_gid_type *type)
{
	struct ibv_gid_entry e;
	int ret;

	ret = ibv_query_gid_ex(verbs_dev(dev)->ctx, port_num, (uint32_t)index, &e, 0);
	if (ret == 0) {
		*gid = e.gid;
		*type = e.gid_type == IBV_GID_TYPE_ROCE_V2 ? IBV_GID_TYPE_ROCE_V2 :
			e.gid_type == IBV_GID_TYPE_ROCE_V1 ? IBV_GID_TYPE_ROCE_V1 :
			IBV_GID_TYPE_IB;
		return 0;
	}
	if (ret == ENODATA) {
		memset(gid, 0, sizeof(*gid));
		*type = IBV_GID_TYPE_IB;
		return -ENODATA;
	}
	/* An older provider: the plain query. */
	if (ibv_query_gid(verbs_dev(dev)->ctx, port_num, index, gid))
		return -EINVAL;
	*type = IBV_GID_TYPE_IB;
	return 0;
}

int verbs_query_pkey(struct rb_device *dev, uint8_t port_num, int index, uint16_t *pkey)
{
	__be16 p;

	if (ibv_query_pkey(verbs_dev(dev)->ctx, port_num, index, &p))
		return -EINVAL;
	*pkey = be16toh(p);
	return 0;
}

/* ------------------------------------------------------------ events */

void verbs_dev_fatal(struct verbs_dev *vd, const char *why)
{
	if (vd->fatal)
		return;
	vd->fatal = true;
	log_err("verbs: %s (%s): %s; its clients get IBV_EVENT_DEVICE_FATAL",
		vd->dev.name, vd->host_name, why);
	/* A dead device's fds stay readable: stop watching them. */
	event_del(vd->ev_async);
	if (vd->ev_chan)
		event_del(vd->ev_chan);
	/* Its engine, if it was one on this machine, is gone too. */
	verbs_keep_release();
	device_async_event(&vd->dev, IBV_EVENT_DEVICE_FATAL, 0);
}

/* The real device's async events, relayed to the owners of the objects. */
static void verbs_async_cb(int fd, short what, void *arg)
{
	struct verbs_dev *vd = arg;
	struct ibv_async_event ev;

	(void)fd;
	(void)what;
	while (!vd->fatal) {
		if (ibv_get_async_event(vd->ctx, &ev)) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				verbs_dev_fatal(vd, "its async event fd failed");
			return;
		}
		switch (ev.event_type) {
		case IBV_EVENT_QP_FATAL:
		case IBV_EVENT_QP_REQ_ERR:
		case IBV_EVENT_QP_ACCESS_ERR:
		case IBV_EVENT_COMM_EST:
		case IBV_EVENT_SQ_DRAINED:
		case IBV_EVENT_PATH_MIG:
		case IBV_EVENT_PATH_MIG_ERR:
		case IBV_EVENT_QP_LAST_WQE_REACHED: {
			struct verbs_qp *vq = ev.element.qp->qp_context;

			if (vq && vq->real == ev.element.qp && !res_owner_killed(&vq->qp.res)) {
				if (ev.event_type == IBV_EVENT_QP_FATAL ||
				    ev.event_type == IBV_EVENT_QP_REQ_ERR ||
				    ev.event_type == IBV_EVENT_QP_ACCESS_ERR)
					vq->qp.attr.qp_state = vq->qp.attr.cur_qp_state =
						IBV_QPS_ERR;
				qp_async_event(&vq->qp, ev.event_type);
			}
			break;
		}
		case IBV_EVENT_SRQ_ERR:
		case IBV_EVENT_SRQ_LIMIT_REACHED: {
			struct verbs_srq *vs = ev.element.srq->srq_context;

			if (vs && vs->real == ev.element.srq && !res_owner_killed(&vs->srq.res))
				srq_async_event(&vs->srq, ev.event_type);
			break;
		}
		case IBV_EVENT_CQ_ERR: {
			/* The real CQ is twice the client's ring, which
			 * reports its own overrun first (cq_push); if the
			 * real one overran too, completions are lost there. */
			struct verbs_cq *vc = ev.element.cq->cq_context;

			if (vc && vc->real == ev.element.cq && !res_owner_killed(&vc->cq.res))
				cq_overrun(&vc->cq);
			break;
		}
		case IBV_EVENT_DEVICE_FATAL:
			ibv_ack_async_event(&ev);
			verbs_dev_fatal(vd, "the device reported a fatal error");
			return;
		default:
			/* Port and GID events: every client of the device. */
			device_async_event(&vd->dev, ev.event_type, ev.element.port_num);
			break;
		}
		ibv_ack_async_event(&ev);
	}
}

/* ------------------------------------------------------------ devices */

/* The largest inline send the device grants, tried downwards. */
static uint32_t verbs_probe_inline(struct ibv_context *ctx)
{
	static const uint32_t tries[] = { 512, 256, 220, 128, 64, 32, 0 };
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	struct ibv_cq *cq = pd ? ibv_create_cq(ctx, 1, NULL, NULL, 0) : NULL;
	uint32_t got = 0;

	for (size_t i = 0; cq && i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct ibv_qp_init_attr a = {
			.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
			.cap = { .max_send_wr = 1, .max_recv_wr = 1, .max_send_sge = 1,
				 .max_recv_sge = 1, .max_inline_data = tries[i] },
		};
		struct ibv_qp *qp = ibv_create_qp(pd, &a);

		if (qp) {
			got = tries[i];
			ibv_destroy_qp(qp);
			break;
		}
	}
	if (cq)
		ibv_destroy_cq(cq);
	if (pd)
		ibv_dealloc_pd(pd);
	return got;
}

int verbs_chan_open(struct verbs_dev *vd)
{
	int ret;

	if (vd->chan)
		return 0;
	vd->chan = ibv_create_comp_channel(vd->ctx);
	if (!vd->chan)
		return errno ? -errno : -ENOMEM;
	/* The loop reads it without ever blocking in libibverbs. */
	if (fcntl(vd->chan->fd, F_SETFL, fcntl(vd->chan->fd, F_GETFL) | O_NONBLOCK) < 0) {
		ret = -errno;
		goto err;
	}
	vd->ev_chan = event_new(vd->base, vd->chan->fd, EV_READ | EV_PERSIST,
				verbs_chan_cb, vd);
	if (!vd->ev_chan || event_add(vd->ev_chan, NULL) < 0) {
		ret = -ENOMEM;
		goto err;
	}
	return 0;

err:
	verbs_chan_close(vd);
	return ret;
}

void verbs_chan_close(struct verbs_dev *vd)
{
	if (vd->ev_chan)
		event_free(vd->ev_chan);
	vd->ev_chan = NULL;
	if (vd->chan && ibv_destroy_comp_channel(vd->chan))
		log_warn("verbs: %s: ibv_destroy_comp_channel failed", vd->dev.name);
	vd->chan = NULL;
}

void verbs_destroy(struct rb_device *dev)
{
	struct verbs_dev *vd = verbs_dev(dev);

	if (vd->ev_async)
		event_free(vd->ev_async);
	verbs_sched_fini(vd);
	verbs_chan_close(vd);
	if (vd->ctx)
		ibv_close_device(vd->ctx);
	free(vd->qps.b);
	free(vd->mrs.b);
	free(vd->rkeys.b);
	free(vd);
}

static int verbs_open(struct ibv_device *idev, const struct verbs_config *c,
		      const struct rb_driver_env *env, char *err, size_t errlen)
{
	const char *hname = ibv_get_device_name(idev);
	struct verbs_dev *vd = calloc(1, sizeof(*vd));
	struct ibv_device_attr a;
	int ret;

	if (!vd)
		return -ENOMEM;
	TAILQ_INIT(&vd->active);
	TAILQ_INIT(&vd->active_srqs);
	TAILQ_INIT(&vd->hot);
	verbs_sched_init(vd);
	vd->dev.priv = vd;
	rb_device_set_ops(&vd->dev, &verbs_ops);
	snprintf(vd->host_name, sizeof(vd->host_name), "%s", hname ? hname : "?");
	if ((size_t)snprintf(vd->dev.name, sizeof(vd->dev.name), "%s%s", c->name_prefix,
			     vd->host_name) >= sizeof(vd->dev.name)) {
		snprintf(err, errlen, "[verbs] name_prefix + %s is too long", vd->host_name);
		ret = -EINVAL;
		goto err;
	}
	vd->ctx = ibv_open_device(idev);
	if (!vd->ctx) {
		ret = errno ? -errno : -ENODEV;
		snprintf(err, errlen, "[verbs] cannot open %s: %s", vd->host_name,
			 strerror(-ret));
		goto err;
	}
	if (ibv_query_device(vd->ctx, &a)) {
		ret = -EIO;
		snprintf(err, errlen, "[verbs] cannot query %s", vd->host_name);
		goto err;
	}
	/* The loop reads it without ever blocking in libibverbs. */
	if (fcntl(vd->ctx->async_fd, F_SETFL,
		  fcntl(vd->ctx->async_fd, F_GETFL) | O_NONBLOCK) < 0) {
		ret = -errno;
		snprintf(err, errlen, "[verbs] %s: %s", vd->host_name, strerror(-ret));
		goto err;
	}
	vd->base = env->base;
	vd->ev_async = event_new(env->base, vd->ctx->async_fd, EV_READ | EV_PERSIST,
				 verbs_async_cb, vd);
	if (!vd->ev_async || event_add(vd->ev_async, NULL) < 0) {
		ret = -ENOMEM;
		snprintf(err, errlen, "[verbs] %s: cannot watch its events", vd->host_name);
		goto err;
	}
	vd->dev.node_guid = be64toh(ibv_get_device_guid(idev));
	vd->dev.node_type = idev->node_type;
	vd->dev.transport_type = idev->transport_type;
	vd->dev.phys_port_cnt = a.phys_port_cnt;
	vd->dev.max_inline_data = verbs_probe_inline(vd->ctx);
	vd->dev.poll_idle_ns = (uint64_t)c->spin_us * 1000;
	ret = env->add_device(env->ctx, &vd->dev);
	if (ret < 0) {
		snprintf(err, errlen, "[verbs] %s: the daemon takes no more devices",
			 vd->dev.name);
		goto err;
	}
	log_info("verbs: %s is %s (node GUID %016" PRIx64 ", inline %" PRIu32 ")",
		 vd->dev.name, vd->host_name, vd->dev.node_guid, vd->dev.max_inline_data);
	return 0;

err:
	verbs_destroy(&vd->dev);
	return ret;
}

/*
 * Nested over another rdmabrokerd, its library tells where its engine
 * runs (keep_off_engine, verbs-post.c): rdmab_cq_engine_cpu, when the
 * object that defines it is the one our ibv_create_cq comes from (so
 * that the CQs it is given are that library's).
 */
static int (*verbs_engine_cpu_fn(void))(struct ibv_cq *)
{
	void *fn = dlsym(RTLD_DEFAULT, "rdmab_cq_engine_cpu");
	void *create = dlsym(RTLD_DEFAULT, "ibv_create_cq");
	Dl_info a, b;

	if (!fn || !create || !dladdr(fn, &a) || !dladdr(create, &b) ||
	    a.dli_fbase != b.dli_fbase)
		return NULL;
	log_debug("[verbs] nested over another rdmabrokerd (%s): keeps off its engine's CPU",
		  a.dli_fname ? a.dli_fname : "?");
	return (int (*)(struct ibv_cq *))fn;
}

static int verbs_create(const void *cfg, const struct rb_driver_env *env,
			char *err, size_t errlen)
{
	const struct verbs_config *c = cfg;
	struct ibv_device **list;
	int n, ret = 0, made = 0;

	if (!c->enable)
		return 0;
	/*
	 * This daemon polls its real CQs between everything else its loop
	 * does: an ibv_poll_cq that sleeps would stall all of it.  Nested
	 * over another rdmabrokerd, whose library may sleep in a poll of an
	 * empty CQ (librdmabroker(7), RDMABROKER_POLL_SLEEP_US), say never;
	 * a NIC's own provider does not read it.
	 */
	if (setenv(RB_POLL_SLEEP_ENV, "0", 1) < 0)
		log_warn("[verbs] cannot set %s: %s", RB_POLL_SLEEP_ENV, strerror(errno));
	verbs_engine_cpu = verbs_engine_cpu_fn();
	list = ibv_get_device_list(&n);
	if (!list) {
		ret = errno ? -errno : -ENODEV;
		snprintf(err, errlen, "[verbs] libibverbs lists no devices: %s", strerror(-ret));
		return ret;
	}
	for (int i = 0; i < n && ret == 0; i++) {
		if (!verbs_listed(c->devices, ibv_get_device_name(list[i])))
			continue;
		ret = verbs_open(list[i], c, env, err, errlen);
		if (ret == 0)
			made++;
	}
	ibv_free_device_list(list);
	if (ret == 0 && made == 0) {
		snprintf(err, errlen, "[verbs] enable = yes, but libibverbs has %s%s",
			 strcmp(c->devices, "all") ? "none of " : "no device",
			 strcmp(c->devices, "all") ? c->devices : "");
		ret = -ENODEV;
	}
	return ret;
}

const struct rb_driver rb_verbs_driver = {
	.name = "verbs",
	.section = "verbs",
	.config_size = sizeof(struct verbs_config),
	.config_defaults = verbs_config_defaults,
	.config_key = verbs_config_key,
	.create = verbs_create,
};
