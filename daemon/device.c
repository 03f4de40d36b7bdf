/* SPDX-License-Identifier: MIT */
/* The daemon's devices and the device-query family of requests. */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/daemon.h"
#include "proto/conv.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/objects.h"

/*
 * A device a driver made (rb_driver_env.add_device): its limits read from
 * query_device and query_port, then it joins the list.
 */
static int device_add(void *ctx, struct rb_device *dev)
{
	struct rb_daemon *d = ctx;
	struct ibv_device_attr_ex attr;
	struct ibv_port_attr pa;
	union ibv_gid gid;
	enum ibv_gid_type type;
	char text[INET6_ADDRSTRLEN] = "?";
	int ret;

	if (d->ndevices >= RB_MAX_DEVICES) {
		log_err("device %s: more than %d devices", dev->name, RB_MAX_DEVICES);
		return -ENOSPC;
	}
	memset(&attr, 0, sizeof(attr));
	ret = dev->ops.query_device(dev, &attr);
	if (ret < 0) {
		log_err("device %s: query_device: %s", dev->name, strerror(-ret));
		return ret;
	}
	dev->base = d->base;
	dev->max_pd = (uint32_t)attr.orig_attr.max_pd;
	dev->max_cq = (uint32_t)attr.orig_attr.max_cq;
	dev->max_cqe = (uint32_t)attr.orig_attr.max_cqe;
	dev->max_qp = (uint32_t)attr.orig_attr.max_qp;
	dev->max_qp_wr = (uint32_t)attr.orig_attr.max_qp_wr;
	dev->max_sge = (uint32_t)attr.orig_attr.max_sge;
	dev->max_qp_rd_atom = (uint32_t)attr.orig_attr.max_qp_rd_atom;
	dev->max_qp_init_rd_atom = (uint32_t)attr.orig_attr.max_qp_init_rd_atom;
	dev->max_srq = (uint32_t)attr.orig_attr.max_srq;
	dev->max_srq_wr = (uint32_t)attr.orig_attr.max_srq_wr;
	dev->max_srq_sge = (uint32_t)attr.orig_attr.max_srq_sge;
	dev->max_ah = (uint32_t)attr.orig_attr.max_ah;
	dev->max_mr = (uint32_t)attr.orig_attr.max_mr;
	dev->max_mw = (uint32_t)attr.orig_attr.max_mw;
	dev->max_mr_size = attr.orig_attr.max_mr_size;
	memset(&pa, 0, sizeof(pa));
	if (dev->ops.query_port(dev, 1, &pa) == 0) {
		dev->pkey_tbl_len = pa.pkey_tbl_len;
		dev->gid_tbl_len = (uint16_t)pa.gid_tbl_len;
	}
	if (dev->ops.query_gid(dev, 1, 0, &gid, &type) == 0)
		inet_ntop(AF_INET6, gid.raw, text, sizeof(text));
	dev->index = d->ndevices;
	d->devices[d->ndevices++] = dev;
	log_info("device %s (%s): node GUID %016" PRIx64 ", GID[0] %s",
		 dev->name, dev->ops.name, dev->node_guid, text);
	return 0;
}

/* For device_async_event: the one daemon of this process. */
static struct rb_daemon *device_daemon;

int device_init(struct rb_daemon *d)
{
	const struct rb_driver_env env = {
		.base = d->base, .add_device = device_add, .ctx = d,
	};
	char err[256];
	int ret;

	device_daemon = d;
	/* Every driver built in makes what its section asks for. */
	for (size_t i = 0; rb_drivers[i] && i < RB_MAX_DRIVERS; i++) {
		const struct rb_driver *drv = rb_drivers[i];
		uint32_t before = d->ndevices;

		err[0] = '\0';
		ret = drv->create(d->cfg.drv[i], &env, err, sizeof(err));
		if (ret < 0) {
			log_err("%s", err[0] ? err : strerror(-ret));
			return ret;
		}
		for (uint32_t k = before; k < d->ndevices; k++)
			d->devices[k]->driver = drv;
	}
	if (d->ndevices == 0)
		log_warn("no devices: every driver is disabled or found none");
	return 0;
}

void device_async_event(struct rb_device *dev, enum ibv_event_type ev,
			uint8_t port_num)
{
	struct rb_session *s;

	if (!device_daemon)
		return;
	TAILQ_FOREACH(s, &device_daemon->sessions, link)
		if (s->device == dev && !s->killed)
			session_async_event(s, ev, port_num ? RB_ASYNC_PORT :
					    RB_ASYNC_DEVICE, port_num);
}

void device_fini(struct rb_daemon *d)
{
	for (uint32_t i = 0; i < d->ndevices; i++) {
		rb_device_destroy(d->devices[i]);
		d->devices[i] = NULL;
	}
	d->ndevices = 0;
}

struct rb_device *device_by_index(struct rb_daemon *d, uint32_t index)
{
	return index < d->ndevices ? d->devices[index] : NULL;
}

/* ------------------------------------------------- protobuf fill helpers */

int device_fill_summary(struct rb_device *dev, struct rb_reply *rep,
			Rdmabroker__DeviceSummary **out)
{
	Rdmabroker__DeviceSummary *m = reply_alloc(rep, sizeof(*m));

	if (!m)
		return -ENOMEM;
	rdmabroker__device_summary__init(m);
	m->index = dev->index;
	m->name = dev->name;
	m->driver = (char *)dev->ops.name;
	m->has_node_guid = m->has_node_type = m->has_transport_type = true;
	m->has_phys_port_cnt = true;
	m->node_guid = dev->node_guid;
	m->node_type = dev->node_type;
	m->transport_type = dev->transport_type;
	m->phys_port_cnt = dev->phys_port_cnt;
	*out = m;
	return 0;
}

int device_fill_attr(struct rb_device *dev, struct rb_reply *rep,
		     Rdmabroker__DeviceAttr **out)
{
	struct ibv_device_attr_ex ex;
	Rdmabroker__DeviceAttr *m;
	int ret;

	ret = dev->ops.query_device(dev, &ex);
	if (ret < 0)
		return ret;
	m = reply_alloc(rep, sizeof(*m));
	if (!m)
		return -ENOMEM;
	rdmabroker__device_attr__init(m);
	rb_conv_device_attr_to_pb(m, &ex);
	m->fw_ver = reply_strdup(rep, ex.orig_attr.fw_ver);	/* ex goes */
	*out = m;
	return 0;
}

int device_fill_port(struct rb_device *dev, uint8_t port,
		     struct rb_reply *rep, Rdmabroker__PortAttr **out)
{
	struct ibv_port_attr a;
	Rdmabroker__PortAttr *m;
	int ret;

	ret = dev->ops.query_port(dev, port, &a);
	if (ret < 0)
		return ret;
	m = reply_alloc(rep, sizeof(*m));
	if (!m)
		return -ENOMEM;
	rdmabroker__port_attr__init(m);
	rb_conv_port_attr_to_pb(m, &a);
	*out = m;
	return 0;
}

int device_fill_gid(struct rb_device *dev, uint8_t port, int index,
		    struct rb_reply *rep, Rdmabroker__GidEntry **out)
{
	enum ibv_gid_type type;
	Rdmabroker__GidEntry *m;
	union ibv_gid gid;
	uint8_t *raw;
	int ret;

	ret = dev->ops.query_gid(dev, port, index, &gid, &type);
	if (ret < 0)
		return ret;
	m = reply_alloc(rep, sizeof(*m));
	raw = reply_alloc(rep, sizeof(gid.raw));
	if (!m || !raw)
		return -ENOMEM;
	rdmabroker__gid_entry__init(m);
	rb_conv_gid_to_pb(m, raw, (uint32_t)index, &gid, type);
	*out = m;
	return 0;
}

/* ------------------------------------------------------------ handlers */

/* The device a query names, or -ENODEV with the reason in the reply. */
static struct rb_device *device_lookup(struct rb_session *s, uint32_t index,
				       struct rb_reply *rep)
{
	struct rb_device *dev = device_by_index(s->d, index);

	if (!dev)
		reply_error(rep, "no device with index %u", index);
	return dev;
}

/* Port numbers are 1-based; the verbs return EINVAL for anything else. */
static int device_check_port(struct rb_device *dev, uint32_t port,
			     struct rb_reply *rep)
{
	if (port < 1 || port > dev->phys_port_cnt) {
		reply_error(rep, "%s has no port %u", dev->name, port);
		return -EINVAL;
	}
	return 0;
}

int device_list(struct rb_session *s, const Rdmabroker__Request *req,
		struct rb_reply *rep)
{
	struct rb_daemon *d = s->d;
	Rdmabroker__DeviceListReply *m = reply_alloc(rep, sizeof(*m));
	Rdmabroker__DeviceSummary **v = reply_alloc(rep, (d->ndevices + 1) * sizeof(*v));
	int ret;

	if (!m || !v)
		return -ENOMEM;
	rdmabroker__device_list_reply__init(m);
	for (uint32_t i = 0; i < d->ndevices; i++) {
		ret = device_fill_summary(d->devices[i], rep, &v[i]);
		if (ret < 0)
			return ret;
	}
	m->n_devices = d->ndevices;
	m->devices = v;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_DEVICE_LIST;
	rep->msg.device_list = m;
	return 0;
}

int device_open(struct rb_session *s, const Rdmabroker__Request *req,
		struct rb_reply *rep)
{
	struct rb_device *dev = device_lookup(s, req->device_open->dev_index, rep);
	Rdmabroker__DeviceOpenReply *m;
	int sv[2];

	if (!dev)
		return -ENODEV;
	if (s->device) {
		reply_error(rep, "this connection has device %s open already",
			    s->device->name);
		return -EBUSY;
	}
	m = reply_alloc(rep, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* The context's async fd: the client reads events, we only write. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    shutdown(sv[0], SHUT_RD) < 0) {
		int err = errno;

		reply_error(rep, "async event socket: %s", strerror(err));
		return -err;
	}
	rdmabroker__device_open_reply__init(m);
	s->async_fd = sv[0];
	rep->fds[rep->nfds++] = sv[1];
	s->device = dev;
	log_info("client %" PRIu64 " (pid %d comm %s) opened %s", s->id,
		 (int)s->pid, s->comm, dev->name);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_DEVICE_OPEN;
	rep->msg.device_open = m;
	return 0;
}

int device_query(struct rb_session *s, const Rdmabroker__Request *req,
		 struct rb_reply *rep)
{
	struct rb_device *dev = device_lookup(s, req->device_query->dev_index, rep);
	Rdmabroker__DeviceQueryReply *m;
	int ret;

	if (!dev)
		return -ENODEV;
	m = reply_alloc(rep, sizeof(*m));
	if (!m)
		return -ENOMEM;
	rdmabroker__device_query_reply__init(m);
	ret = device_fill_attr(dev, rep, &m->attr);
	if (ret < 0)
		return ret;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_DEVICE_QUERY;
	rep->msg.device_query = m;
	return 0;
}

int device_port_query(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	const Rdmabroker__PortQueryReq *q = req->port_query;
	struct rb_device *dev = device_lookup(s, q->dev_index, rep);
	Rdmabroker__PortQueryReply *m;
	int ret;

	if (!dev)
		return -ENODEV;
	ret = device_check_port(dev, q->port_num, rep);
	if (ret < 0)
		return ret;
	m = reply_alloc(rep, sizeof(*m));
	if (!m)
		return -ENOMEM;
	rdmabroker__port_query_reply__init(m);
	ret = device_fill_port(dev, (uint8_t)q->port_num, rep, &m->attr);
	if (ret < 0)
		return ret;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_PORT_QUERY;
	rep->msg.port_query = m;
	return 0;
}

int device_gid_query(struct rb_session *s, const Rdmabroker__Request *req,
		     struct rb_reply *rep)
{
	const Rdmabroker__GidQueryReq *q = req->gid_query;
	struct rb_device *dev = device_lookup(s, q->dev_index, rep);
	Rdmabroker__GidQueryReply *m;
	int ret;

	if (!dev)
		return -ENODEV;
	ret = device_check_port(dev, q->port_num, rep);
	if (ret < 0)
		return ret;
	if (q->index > INT32_MAX) {
		reply_error(rep, "GID index %u out of range", q->index);
		return -EINVAL;
	}
	m = reply_alloc(rep, sizeof(*m));
	if (!m)
		return -ENOMEM;
	rdmabroker__gid_query_reply__init(m);
	ret = device_fill_gid(dev, (uint8_t)q->port_num, (int)q->index, rep,
			      &m->gid);
	if (ret < 0) {
		reply_error(rep, "%s port %u has no GID index %u", dev->name,
			    q->port_num, q->index);
		return ret;
	}
	rep->msg.body_case = RDMABROKER__REPLY__BODY_GID_QUERY;
	rep->msg.gid_query = m;
	return 0;
}

int device_pkey_query(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	const Rdmabroker__PkeyQueryReq *q = req->pkey_query;
	struct rb_device *dev = device_lookup(s, q->dev_index, rep);
	Rdmabroker__PkeyQueryReply *m;
	uint16_t pkey;
	int ret;

	if (!dev)
		return -ENODEV;
	ret = device_check_port(dev, q->port_num, rep);
	if (ret < 0)
		return ret;
	if (q->index > INT32_MAX ||
	    dev->ops.query_pkey(dev, (uint8_t)q->port_num, (int)q->index,
				&pkey) < 0) {
		reply_error(rep, "%s port %u has no P_Key index %u", dev->name,
			    q->port_num, q->index);
		return -EINVAL;
	}
	m = reply_alloc(rep, sizeof(*m));
	if (!m)
		return -ENOMEM;
	rdmabroker__pkey_query_reply__init(m);
	m->pkey = pkey;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_PKEY_QUERY;
	rep->msg.pkey_query = m;
	return 0;
}

/* The most QPs one reply lists per device: the reply stays one datagram. */
#define DEVICE_STAT_QPS_MAX	64

/* The counters of dev's QPs that s may see (its own uid's, or all for
 * an admin) into e; the driver's names are static strings. */
static int device_transport_stat_qps(struct rb_session *s, struct rb_device *dev,
				     Rdmabroker__TransportStatDevice *e, struct rb_reply *rep)
{
	struct rb_qp_counters *c = calloc(DEVICE_STAT_QPS_MAX, sizeof(*c));
	Rdmabroker__TransportStatQp **v = reply_alloc(rep, (DEVICE_STAT_QPS_MAX + 1) * sizeof(*v));
	unsigned int skip = 0, got, n = 0;
	int ret = 0;

	if (!c || !v) {
		ret = -ENOMEM;
		goto out;
	}
	/* Page through the driver's QPs until the reply holds the most. */
	while (n < DEVICE_STAT_QPS_MAX &&
	       (got = dev->ops.stat_qp_counters(dev, skip, c, DEVICE_STAT_QPS_MAX)) > 0) {
		skip += got;
		for (unsigned int i = 0; i < got; i++) {
			const struct rb_session *o = c[i].qp->res.owner;
			Rdmabroker__TransportStatQp *q;
			Rdmabroker__TransportCounter *cv, **cp;
			unsigned int nc = c[i].n < RB_QP_COUNTERS_MAX ? c[i].n : RB_QP_COUNTERS_MAX;

			if (!s->admin && (!o || o->uid != s->uid))
				continue;
			if (n == DEVICE_STAT_QPS_MAX) {
				e->has_qps_truncated = e->qps_truncated = true;
				break;
			}
			q = reply_alloc(rep, sizeof(*q));
			cv = reply_alloc(rep, (nc + 1) * sizeof(*cv));
			cp = reply_alloc(rep, (nc + 1) * sizeof(*cp));
			if (!q || !cv || !cp) {
				ret = -ENOMEM;
				goto out;
			}
			rdmabroker__transport_stat_qp__init(q);
			q->qp_num = c[i].qp->qp_num;
			if (o) {
				q->has_pid = true;
				q->pid = (uint32_t)o->pid;
			}
			for (unsigned int k = 0; k < nc; k++) {
				rdmabroker__transport_counter__init(&cv[k]);
				cv[k].name = (char *)c[i].c[k].name;
				cv[k].value = c[i].c[k].value;
				cp[k] = &cv[k];
			}
			q->n_counters = nc;
			q->counters = cp;
			v[n++] = q;
		}
	}
	e->n_qps = n;
	e->qps = v;
out:
	free(c);
	return ret;
}

/*
 * Each device's transport counters (rdmactl dev stat), or one device's
 * by name; with qps, each QP's too.  The names are the driver's (static strings), the values as
 * the driver reads them now.
 */
int device_transport_stat(struct rb_session *s, const Rdmabroker__Request *req,
			  struct rb_reply *rep)
{
	const Rdmabroker__TransportStatReq *q = req->transport_stat;
	struct rb_daemon *d = s->d;
	Rdmabroker__TransportStatReply *m = reply_alloc(rep, sizeof(*m));
	Rdmabroker__TransportStatDevice **v =
		reply_alloc(rep, (d->ndevices + 1) * sizeof(*v));
	size_t n = 0;

	if (!m || !v)
		return -ENOMEM;
	rdmabroker__transport_stat_reply__init(m);
	for (uint32_t i = 0; i < d->ndevices; i++) {
		struct rb_device *dev = d->devices[i];
		struct rb_counter c[RB_COUNTERS_MAX];
		Rdmabroker__TransportStatDevice *e;
		Rdmabroker__TransportCounter *cv, **cp;
		unsigned int nc;

		if (q->name && strcmp(q->name, dev->name))
			continue;
		nc = dev->ops.stat_counters(dev, c, RB_COUNTERS_MAX);
		if (nc > RB_COUNTERS_MAX)
			nc = RB_COUNTERS_MAX;
		e = reply_alloc(rep, sizeof(*e));
		cv = reply_alloc(rep, (nc + 1) * sizeof(*cv));
		cp = reply_alloc(rep, (nc + 1) * sizeof(*cp));
		if (!e || !cv || !cp)
			return -ENOMEM;
		rdmabroker__transport_stat_device__init(e);
		e->name = dev->name;
		for (unsigned int k = 0; k < nc; k++) {
			rdmabroker__transport_counter__init(&cv[k]);
			cv[k].name = (char *)c[k].name;
			cv[k].value = c[k].value;
			cp[k] = &cv[k];
		}
		e->n_counters = nc;
		e->counters = cp;
		if (q->has_qps && q->qps) {
			int ret = device_transport_stat_qps(s, dev, e, rep);

			if (ret < 0)
				return ret;
		}
		v[n++] = e;
	}
	if (q->name && n == 0) {
		reply_error(rep, "no device named %s", q->name);
		return -ENODEV;
	}
	m->n_devices = n;
	m->devices = v;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_TRANSPORT_STAT;
	rep->msg.transport_stat = m;
	return 0;
}
