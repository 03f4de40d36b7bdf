/* SPDX-License-Identifier: MIT */
/*
 * The connection manager's ids, event channels, addresses and ports, and
 * the requests of the librdmacm API (cm.h, docs/cm.md).  What passes
 * between two ids is cm-msg.c's.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <rdma/rdma_cma.h>

#include "daemon/cm.h"
#include "proto/cm-qp.h"
#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/objects.h"

/* Events a channel keeps for a client that does not read them; past
 * this the client is disconnected (as a session's outq). */
#define CM_CHANNEL_HIGH_WATER	4096
/* What one connection may hold: with the per-user connections limit,
 * this bounds a user's ids, listens and ports (no limit of its own in
 * rdmabrokerd.conf yet). */
#define CM_MAX_IDS		65536
#define CM_MAX_CHANNELS		4096
/* ucma's max_backlog default. */
#define CM_MAX_BACKLOG		1024
/* The ephemeral ports, as ip_local_port_range's default. */
#define CM_PORT_LO		32768
#define CM_PORT_HI		60999

struct cm_frame {
	STAILQ_ENTRY(cm_frame) link;
	size_t len;
	uint8_t frame[];
};

static const char *const cm_state_names[CM_STATE_COUNT] = {
	[CM_IDLE] = "IDLE",
	[CM_ADDR_QUERY] = "ADDR_QUERY",
	[CM_ADDR_RESOLVED] = "ADDR_RESOLVED",
	[CM_ROUTE_QUERY] = "ROUTE_QUERY",
	[CM_ROUTE_RESOLVED] = "ROUTE_RESOLVED",
	[CM_ADDR_BOUND] = "ADDR_BOUND",
	[CM_LISTEN] = "LISTEN",
	[CM_REQ_SENT] = "CONNECT",
	[CM_REQ_RCVD] = "CONNECT",
	[CM_REP_SENT] = "CONNECT",
	[CM_REP_RCVD] = "CONNECT",
	[CM_ESTABLISHED] = "CONNECT",
	[CM_DREQ_SENT] = "DISCONNECT",
	[CM_DREQ_RCVD] = "DISCONNECT",
	[CM_TIMEWAIT] = "DISCONNECT",
	[CM_DISCONNECTED] = "DISCONNECT",
	[CM_UD] = "CONNECT",
};

const char *cm_state_name(enum cm_state st)
{
	return (unsigned int)st < CM_STATE_COUNT ? cm_state_names[st] : "?";
}

/* ------------------------------------------------------------ addresses */

static socklen_t cm_sa_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	       sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
}

/* A client's address bytes as a sockaddr; -EAFNOSUPPORT or -EINVAL. */
static int cm_sa_parse(const ProtobufCBinaryData *b, struct sockaddr_storage *ss)
{
	sa_family_t fam;

	if (b->len < sizeof(fam))
		return -EINVAL;
	memcpy(&fam, b->data, sizeof(fam));
	if (fam != AF_INET && fam != AF_INET6)
		return -EAFNOSUPPORT;
	memset(ss, 0, sizeof(*ss));
	if (b->len < cm_sa_len((struct sockaddr *)&(struct sockaddr_storage){ .ss_family = fam }))
		return -EINVAL;
	memcpy(ss, b->data, fam == AF_INET ? sizeof(struct sockaddr_in) :
	       sizeof(struct sockaddr_in6));
	return 0;
}

static uint16_t cm_sa_port(const struct sockaddr *sa)
{
	return ntohs(sa->sa_family == AF_INET ?
		     ((const struct sockaddr_in *)sa)->sin_port :
		     ((const struct sockaddr_in6 *)sa)->sin6_port);
}

static void cm_sa_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

/* The address as 16 bytes, IPv4 mapped into IPv6 (as a RoCE GID). */
static void cm_sa_ip16(const struct sockaddr *sa, uint8_t ip[16])
{
	memset(ip, 0, 16);
	if (sa->sa_family == AF_INET) {
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static bool cm_sa_any(const struct sockaddr *sa)
{
	uint8_t ip[16], any4[16] = { [10] = 0xff, [11] = 0xff };

	cm_sa_ip16(sa, ip);
	return !memcmp(ip, any4, 16) || !memcmp(ip, &in6addr_any, 16);
}

static bool cm_sa_loopback(const struct sockaddr *sa)
{
	uint8_t ip[16];

	cm_sa_ip16(sa, ip);
	if (sa->sa_family == AF_INET)
		return ip[12] == 127;
	return !memcmp(ip, &in6addr_loopback, 16) ||
	       (ip[10] == 0xff && ip[11] == 0xff && ip[12] == 127);
}

static bool cm_sa_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	uint8_t x[16], y[16];

	cm_sa_ip16(a, x);
	cm_sa_ip16(b, y);
	return !memcmp(x, y, 16);
}

/* Is sa one of this host's addresses (loopback included)? */
static bool cm_sa_local(const struct sockaddr *sa)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (cm_sa_loopback(sa))
		return true;
	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next)
		if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET ||
				    i->ifa_addr->sa_family == AF_INET6))
			found = cm_sa_same_ip(i->ifa_addr, sa);
	freeifaddrs(ifa);
	return found;
}

static bool cm_sa_mcast(const struct sockaddr *sa)
{
	uint8_t ip[16];

	cm_sa_ip16(sa, ip);
	return sa->sa_family == AF_INET ? (ip[12] & 0xf0) == 0xe0 : ip[0] == 0xff;
}

/* The group GID of an IP multicast address on a RoCE port, as the
 * kernel's rdma_cm maps it (cma_iboe_set_mgid): IPv6 as it is, IPv4
 * into ff0e::ffff:a.b.c.d. */
static void cm_mgid(const struct sockaddr *sa, union ibv_gid *mgid)
{
	cm_sa_ip16(sa, mgid->raw);
	if (sa->sa_family == AF_INET) {
		mgid->raw[0] = 0xff;
		mgid->raw[1] = 0x0e;
	}
}

/* "1.2.3.4:5" or "[::1]:5" into buf. */
static void cm_sa_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, cm_sa_port(sa));
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
			  ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, cm_sa_port(sa));
	} else {
		snprintf(buf, len, "-");
	}
}

uint64_t cm_service_id(uint32_t ps, const struct sockaddr *sa)
{
	return ((uint64_t)ps << 16) | cm_sa_port(sa);
}

/* ------------------------------------------------------------ devices */

/*
 * The device that owns ip: the one whose GID table holds it (a NIC the
 * verbs driver brokers), else, for this host's addresses, the soft
 * device.  Across hosts this is where a route lookup would choose the
 * RoCEv2 netdev.
 */
static struct rb_device *cm_dev_for(struct rb_daemon *d, const struct sockaddr *sa,
				    union ibv_gid *gid)
{
	struct rb_device *soft = NULL;
	uint8_t ip[16];

	cm_sa_ip16(sa, ip);
	for (uint32_t i = 0; i < d->ndevices; i++) {
		struct rb_device *dev = d->devices[i];
		unsigned int n = dev->gid_tbl_len < 16 ? dev->gid_tbl_len : 16;

		if (!dev)
			continue;
		for (unsigned int k = 0; k < n; k++) {
			enum ibv_gid_type type;
			union ibv_gid g;

			if (dev->ops.query_gid(dev, 1, (int)k, &g, &type) == 0 &&
			    !memcmp(g.raw, ip, 16)) {
				*gid = g;
				return dev;
			}
		}
		if (!soft && !strcmp(dev->driver->name, "soft"))
			soft = dev;
	}
	if (!soft || !(cm_sa_any(sa) || cm_sa_local(sa)))
		return NULL;
	if (soft->ops.query_gid(soft, 1, 0, gid, &(enum ibv_gid_type){ 0 }) < 0)
		memset(gid, 0, sizeof(*gid));
	return soft;
}

static enum ibv_mtu cm_dev_mtu(struct rb_device *dev, uint8_t port)
{
	struct ibv_port_attr pa;

	memset(&pa, 0, sizeof(pa));
	if (dev->ops.query_port(dev, port, &pa) < 0 || !pa.active_mtu)
		return IBV_MTU_1024;
	return pa.active_mtu;
}

/* ------------------------------------------------------------ events */

static void cm_channel_flush(struct cm_channel *ch)
{
	struct cm_frame *f;

	while ((f = STAILQ_FIRST(&ch->outq))) {
		int ret = rb_wire_send_frame(ch->fd, f->frame, f->len, NULL, 0);

		if (ret == -EAGAIN) {
			event_add(ch->ev_write, NULL);
			return;
		}
		/* Any other error: the client closed its end; drop. */
		STAILQ_REMOVE_HEAD(&ch->outq, link);
		ch->outq_len--;
		free(f);
	}
}

static void cm_channel_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cm_channel_flush(arg);
}

struct cm_info_buf {
	Rdmabroker__CmIdInfo info;
	struct sockaddr_storage src, dst;
	union ibv_gid sgid, dgid;
};

static void cm_info_fill(const struct cm_id *id, struct cm_info_buf *b)
{
	Rdmabroker__CmIdInfo *m = &b->info;

	rdmabroker__cm_id_info__init(m);
	m->handle = id->res.handle;
	m->state = id->state;
	if (id->src.ss_family) {
		b->src = id->src;
		m->has_src_addr = 1;
		m->src_addr.data = (uint8_t *)&b->src;
		m->src_addr.len = cm_sa_len((struct sockaddr *)&b->src);
	}
	if (id->dst.ss_family) {
		b->dst = id->dst;
		m->has_dst_addr = 1;
		m->dst_addr.data = (uint8_t *)&b->dst;
		m->dst_addr.len = cm_sa_len((struct sockaddr *)&b->dst);
	}
	if (id->dev) {
		m->has_dev_index = 1;
		m->dev_index = id->dev->index;
		m->has_port_num = 1;
		m->port_num = id->port_num;
		b->sgid = id->sgid;
		b->dgid = id->dgid;
		m->has_sgid = m->has_dgid = 1;
		m->has_sgid_index = 1;
		m->sgid_index = id->sgid_index;
		m->sgid.data = b->sgid.raw;
		m->sgid.len = 16;
		m->dgid.data = b->dgid.raw;
		m->dgid.len = 16;
		m->has_pkey = 1;
		m->pkey = 0xffff;
		m->has_path_mtu = 1;
		m->path_mtu = id->mtu;
	}
#define CM_INFO(f, v) do { m->has_##f = 1; m->f = (v); } while (0)
	CM_INFO(remote_qpn, id->remote_qpn);
	CM_INFO(remote_psn, id->remote_psn);
	CM_INFO(local_psn, id->psn);
	CM_INFO(qkey, id->qkey);
	CM_INFO(responder_resources, id->resp_res);
	CM_INFO(initiator_depth, id->init_depth);
	CM_INFO(retry_count, id->retry);
	CM_INFO(rnr_retry_count, id->rnr_retry);
	CM_INFO(tos, id->tos);
	CM_INFO(timeout, id->timeout);
	CM_INFO(qp_num, id->qpn);
	CM_INFO(srq, id->srq);
#undef CM_INFO
}

void cm_event(struct cm_id *id, uint32_t event, int32_t status,
	      const struct cm_msg *m, size_t skip, struct cm_id *child)
{
	Rdmabroker__Event ev = RDMABROKER__EVENT__INIT;
	Rdmabroker__CmEvent ce = RDMABROKER__CM_EVENT__INIT;
	Rdmabroker__CmConnParam p = RDMABROKER__CM_CONN_PARAM__INIT;
	struct cm_channel *ch = id->ch;
	struct cm_info_buf ib;
	struct cm_frame *f;
	ssize_t len;

	if (!ch)
		return;		/* its channel is gone: nobody to tell */
	ce.id = id->res.handle;
	ce.event = event;
	ce.status = status;
	cm_info_fill(child ? child : id, &ib);
	ce.info = &ib.info;
	if (m) {
		/* The peer's view, as the kernel turns it for the receiver:
		 * what it can read is what we may answer with. */
		p.has_private_data = 1;
		p.private_data.data = (uint8_t *)m->pdata + skip;
		p.private_data.len = m->pdata_len > skip ? m->pdata_len - skip : 0;
		p.has_responder_resources = p.has_initiator_depth = 1;
		p.responder_resources = m->init_depth;
		p.initiator_depth = m->resp_res;
		p.has_flow_control = p.has_retry_count = 1;
		p.flow_control = m->flow_control;
		p.retry_count = m->retry;
		p.has_rnr_retry_count = p.has_srq = 1;
		p.rnr_retry_count = m->rnr_retry;
		p.srq = m->srq;
		p.has_qp_num = p.has_qkey = 1;
		p.qp_num = m->qpn;
		p.qkey = m->qkey;
		if (event == RDMA_CM_EVENT_MULTICAST_JOIN) {
			p.has_mgid = 1;
			p.mgid.data = (uint8_t *)m->sgid.raw;
			p.mgid.len = 16;
		}
		ce.param = &p;
	}
	ev.body_case = RDMABROKER__EVENT__BODY_CM_EVENT;
	ev.cm_event = &ce;
	if (ch->outq_len >= CM_CHANNEL_HIGH_WATER) {
		session_kill(ch->res.owner, "CM events unread past the high-water mark");
		return;
	}
	f = malloc(sizeof(*f) + RB_WIRE_MAX_FRAME);
	if (!f) {
		log_err("CM event %u for client %" PRIu64 " lost: out of memory",
			event, ch->res.owner->id);
		return;
	}
	len = rb_wire_pack(f->frame, RB_WIRE_EVENT, &ev.base);
	if (len < 0) {
		free(f);
		return;
	}
	f->len = (size_t)len;
	STAILQ_INSERT_TAIL(&ch->outq, f, link);
	if (++ch->outq_len == 1)
		cm_channel_flush(ch);
}

/* ------------------------------------------------------------ objects */

struct rb_cm {
	TAILQ_HEAD(, cm_id) ids;
	/* Lookups that walked every id walk less: a REQ looks among the
	 * listening ids only, and a port no bound id holds is free without
	 * a walk (bound ids by port number; NULL: always walk).  cmtime
	 * holds 2,000 ids, and each connect binds a port and sends a REQ. */
	TAILQ_HEAD(, cm_id) listens;
	uint32_t *port_refs;
	struct rb_hash comm;		/* by local_comm_id */
	uint32_t next_comm;
};

/* The daemon's CM, made on first use (NULL: out of memory). */
static struct rb_cm *cm_of(struct rb_daemon *d)
{
	if (!d->cm)
		cm_init(d);
	return d->cm;
}

struct cm_id *cm_id_by_comm(struct rb_daemon *d, uint32_t comm_id)
{
	struct rb_hnode *n = hash_first(&cm_of(d)->comm, comm_id);

	return n ? container_of(n, struct cm_id, comm_node) : NULL;
}

struct cm_id *cm_id_by_remote(struct rb_daemon *d, uint32_t comm_id)
{
	struct cm_id *id;

	TAILQ_FOREACH(id, &cm_of(d)->ids, all_link)
		if (id->remote_comm_id == comm_id && id->local_comm_id)
			return id;
	return NULL;
}

/* Give id a connection identifier and starting PSN (at connect/REQ). */
static int cm_id_comm(struct cm_id *id)
{
	struct rb_cm *cm = cm_of(id->d);
	uint32_t r = 0;

	if (id->local_comm_id)
		return 0;
	do {
		if (++cm->next_comm == 0)
			cm->next_comm = 1;
	} while (cm_id_by_comm(id->d, cm->next_comm));
	if (hash_insert(&cm->comm, &id->comm_node, cm->next_comm) < 0)
		return -ENOMEM;
	id->local_comm_id = cm->next_comm;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)rand();
	id->psn = r & 0xffffff;
	return 0;
}

static void cm_channel_destroy(struct rb_res *r)
{
	struct cm_channel *ch = (struct cm_channel *)r;
	struct cm_frame *f;
	struct cm_id *id;

	while ((id = LIST_FIRST(&ch->ids))) {
		LIST_REMOVE(id, ch_link);
		id->ch = NULL;
	}
	while ((f = STAILQ_FIRST(&ch->outq))) {
		STAILQ_REMOVE_HEAD(&ch->outq, link);
		free(f);
	}
	if (ch->ev_write)
		event_free(ch->ev_write);
	if (ch->fd >= 0)
		close(ch->fd);
	res_uncharge(r->owner, RB_LIMIT_CM_CHANNELS, 1);
	free(ch);
}

static void cm_id_set_channel(struct cm_id *id, struct cm_channel *ch)
{
	if (id->ch)
		LIST_REMOVE(id, ch_link);
	id->ch = ch;
	if (ch)
		LIST_INSERT_HEAD(&ch->ids, id, ch_link);
}

static void cm_id_destroy(struct rb_res *r)
{
	struct cm_id *id = (struct cm_id *)r, *o;
	struct rb_cm *cm = cm_of(id->d);

	/* The peer learns it as from a NIC's CM: REJ, DREQ or DREP. */
	cm_conn_abort(id);
	if (id->listener)
		id->listener->pending--;
	if (id->state == CM_LISTEN)
		TAILQ_FOREACH(o, &cm->ids, all_link)
			if (o->listener == id)
				o->listener = NULL;
	if (id->listed)
		TAILQ_REMOVE(&cm->listens, id, listen_link);
	if (id->bound && cm->port_refs)
		cm->port_refs[cm_sa_port((struct sockaddr *)&id->src)]--;
	cm_id_set_channel(id, NULL);
	res_uncharge(r->owner, RB_LIMIT_CM_IDS, 1);
	TAILQ_REMOVE(&cm->ids, id, all_link);
	if (id->local_comm_id)
		hash_remove(&cm->comm, &id->comm_node);
	if (id->timer)
		event_free(id->timer);
	if (id->mra_timer)
		event_free(id->mra_timer);
	cm_resend_stop(id);
	free(id);
}

/*
 * A new id of s on ch, charged to its user's cm_ids (rep NULL: a child
 * made for a REQ, whose refusal the peer learns as a REJ).  NULL with
 * *err: -EDQUOT past the user's limit (logged by res_charge), -EMFILE
 * past the connection's cap, -ENOMEM.
 */
static struct cm_id *cm_id_new(struct rb_session *s, struct cm_channel *ch,
			       uint32_t ps, uint32_t qp_type,
			       struct rb_reply *rep, int *err)
{
	struct cm_id *id;

	if (s->res.count[RB_RES_CM_ID] >= CM_MAX_IDS) {
		log_notice("client %" PRIu64 " (pid %d): %d CM ids: no more",
			   s->id, (int)s->pid, CM_MAX_IDS);
		reply_error(rep, "%d CM ids on this connection already", CM_MAX_IDS);
		*err = -EMFILE;
		return NULL;
	}
	*err = res_charge(s, RB_LIMIT_CM_IDS, 1, rep);
	if (*err < 0)
		return NULL;
	*err = -ENOMEM;
	id = res_alloc(sizeof(*id), 0);
	if (!id)
		goto out;
	id->res.type = RB_RES_CM_ID;
	id->res.destroy = cm_id_destroy;
	if (res_add(s, &id->res) < 0) {
		free(id);
		goto out;
	}
	id->d = s->d;
	id->ps = ps;
	id->qp_type = qp_type;
	id->timeout = 14;	/* the IB CM's default: 4.096 us * 2^14 = 67 ms */
	id->retry = 7;
	id->rnr_retry = 7;
	id->qkey = ps == RDMA_PS_UDP || ps == RDMA_PS_IB ? RDMA_UDP_QKEY : 0;
	TAILQ_INSERT_TAIL(&cm_of(s->d)->ids, id, all_link);
	cm_id_set_channel(id, ch);
	*err = 0;
	return id;
out:
	res_uncharge(s, RB_LIMIT_CM_IDS, 1);
	return NULL;
}

struct cm_id *cm_id_child(struct cm_id *listen)
{
	struct cm_id *id;
	int err;

	if (!listen->ch)
		return NULL;
	id = cm_id_new(listen->res.owner, listen->ch, listen->ps,
		       listen->qp_type, NULL, &err);
	if (!id)
		return NULL;
	id->tos = listen->tos;
	id->timeout = listen->timeout;
	if (cm_id_comm(id) < 0) {
		res_remove(&id->res, NULL);
		return NULL;
	}
	id->listener = listen;
	listen->pending++;
	return id;
}

/* ------------------------------------------------------------ ports */

static bool cm_addr_conflict(const struct cm_id *a, const struct sockaddr *sa,
			     const struct cm_id *self)
{
	const struct sockaddr *b = (const struct sockaddr *)&a->src;

	if (a == self || !a->bound || a->ps != self->ps ||
	    cm_sa_port(b) != cm_sa_port(sa))
		return false;
	if (a->reuseaddr && self->reuseaddr && a->state != CM_LISTEN)
		return false;
	/* The IPv6 wildcard takes IPv4 too unless AFONLY. */
	if (b->sa_family != sa->sa_family &&
	    !((b->sa_family == AF_INET6 && cm_sa_any(b) && !a->afonly) ||
	      (sa->sa_family == AF_INET6 && cm_sa_any(sa) && !self->afonly)))
		return false;
	return cm_sa_any(b) || cm_sa_any(sa) || cm_sa_same_ip(b, sa);
}

static bool cm_port_taken(struct rb_daemon *d, const struct sockaddr *sa,
			  const struct cm_id *self)
{
	struct rb_cm *cm = cm_of(d);
	struct cm_id *o;

	/* Only a bound id conflicts, and only on its own port. */
	if (cm->port_refs && !cm->port_refs[cm_sa_port(sa)])
		return false;
	TAILQ_FOREACH(o, &cm->ids, all_link)
		if (cm_addr_conflict(o, sa, self))
			return true;
	return false;
}

/* Take addr (port 0: an ephemeral one) for id.  -EADDRINUSE. */
static int cm_bind(struct cm_id *id, const struct sockaddr_storage *addr,
		   struct rb_reply *rep)
{
	struct sockaddr_storage ss = *addr;
	struct sockaddr *sa = (struct sockaddr *)&ss;

	if (cm_sa_port(sa) == 0) {
		uint32_t r = 0, span = CM_PORT_HI - CM_PORT_LO + 1;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (uint32_t)rand();
		for (uint32_t i = 0; i < span; i++) {
			cm_sa_set_port(sa, (uint16_t)(CM_PORT_LO + (r + i) % span));
			if (!cm_port_taken(id->d, sa, id))
				goto take;
		}
		reply_error(rep, "no free port");
		return -EADDRINUSE;
	}
	if (cm_sa_port(sa) < 1024 && id->res.owner->uid != 0) {
		reply_error(rep, "port %u is privileged", cm_sa_port(sa));
		return -EACCES;
	}
	if (cm_port_taken(id->d, sa, id)) {
		reply_error(rep, "port %u is in use", cm_sa_port(sa));
		return -EADDRINUSE;
	}
take:
	if (id->bound && cm_of(id->d)->port_refs)
		cm_of(id->d)->port_refs[cm_sa_port((struct sockaddr *)&id->src)]--;
	id->src = ss;
	id->bound = true;
	if (cm_of(id->d)->port_refs)
		cm_of(id->d)->port_refs[cm_sa_port(sa)]++;
	return 0;
}

static bool cm_sa_matches(const struct cm_id *l, const struct sockaddr *dst)
{
	const struct sockaddr *b = (const struct sockaddr *)&l->src;

	if (b->sa_family != dst->sa_family &&
	    !(b->sa_family == AF_INET6 && cm_sa_any(b) && !l->afonly))
		return false;
	return cm_sa_any(b) || cm_sa_same_ip(b, dst);
}

struct cm_id *cm_listener_find(struct rb_daemon *d, uint64_t service_id,
			       const struct sockaddr *dst)
{
	struct cm_id *id, *any = NULL;

	TAILQ_FOREACH(id, &cm_of(d)->listens, listen_link) {
		if (id->state != CM_LISTEN ||
		    cm_service_id(id->ps, (const struct sockaddr *)&id->src) != service_id ||
		    !cm_sa_matches(id, dst))
			continue;
		if (!cm_sa_any((const struct sockaddr *)&id->src))
			return id;	/* a specific address wins */
		any = id;
	}
	return any;
}

/* ------------------------------------------------------------ handlers */

static int cm_reply_info(struct cm_id *id, struct rb_reply *rep,
			 Rdmabroker__CmIdReply **out)
{
	struct cm_info_buf *b = reply_alloc(rep, sizeof(*b));
	Rdmabroker__CmIdReply *m = reply_alloc(rep, sizeof(*m));

	if (!b || !m)
		return -ENOMEM;
	cm_info_fill(id, b);
	rdmabroker__cm_id_reply__init(m);
	m->info = &b->info;
	*out = m;
	return 0;
}

#define CM_REPLY(rep, field, BODY, id) do { \
	int ret_ = cm_reply_info((id), (rep), &(rep)->msg.field); \
	if (ret_ < 0) \
		return ret_; \
	(rep)->msg.body_case = RDMABROKER__REPLY__BODY_##BODY; \
} while (0)

static int cm_reply_empty(struct rb_reply *rep, Rdmabroker__CmEmptyReply **field,
			  int body)
{
	Rdmabroker__CmEmptyReply *m = reply_alloc(rep, sizeof(*m));

	if (!m)
		return -ENOMEM;
	rdmabroker__cm_empty_reply__init(m);
	*field = m;
	rep->msg.body_case = body;
	return 0;
}

static struct cm_id *cm_id_lookup(struct rb_session *s, uint32_t handle,
				  struct rb_reply *rep)
{
	return (struct cm_id *)res_lookup(s, handle, RB_RES_CM_ID, rep);
}

int cm_channel_create(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	Rdmabroker__CmChannelCreateReply *m = reply_alloc(rep, sizeof(*m));
	struct cm_channel *ch;
	int sv[2], ret, big = 1 << 20;

	(void)req;
	if (!m || !cm_of(s->d))
		return -ENOMEM;
	if (s->res.count[RB_RES_CM_CHANNEL] >= CM_MAX_CHANNELS) {
		reply_error(rep, "%d CM event channels on this connection already",
			    CM_MAX_CHANNELS);
		return -EMFILE;
	}
	ret = res_charge(s, RB_LIMIT_CM_CHANNELS, 1, rep);
	if (ret < 0)
		return ret;
	ch = res_alloc(sizeof(*ch), 0);
	if (!ch) {
		res_uncharge(s, RB_LIMIT_CM_CHANNELS, 1);
		return -ENOMEM;
	}
	/* Charged to s from here: cm_channel_destroy() uncharges. */
	ch->res.owner = s;
	ch->fd = -1;
	STAILQ_INIT(&ch->outq);
	LIST_INIT(&ch->ids);
	ch->res.type = RB_RES_CM_CHANNEL;
	ch->res.destroy = cm_channel_destroy;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		cm_channel_destroy(&ch->res);
		reply_error(rep, "event channel socket: %s", strerror(-ret));
		return ret;
	}
	/* Ours only writes, without ever blocking the loop. */
	shutdown(sv[0], SHUT_RD);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	ch->fd = sv[0];
	ch->ev_write = event_new(s->d->base, sv[0], EV_WRITE, cm_channel_write_cb, ch);
	if (!ch->ev_write) {
		close(sv[1]);
		cm_channel_destroy(&ch->res);	/* closes sv[0] */
		return -ENOMEM;
	}
	ret = res_add(s, &ch->res);
	if (ret < 0) {
		close(sv[1]);
		cm_channel_destroy(&ch->res);
		return ret;
	}
	rep->fds[rep->nfds++] = sv[1];	/* transferred */
	rdmabroker__cm_channel_create_reply__init(m);
	m->handle = ch->res.handle;
	rep->msg.cm_channel_create = m;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_CM_CHANNEL_CREATE;
	return 0;
}

int cm_channel_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
			   struct rb_reply *rep)
{
	struct rb_res *r = res_lookup(s, req->cm_channel_destroy->handle,
				      RB_RES_CM_CHANNEL, rep);
	int ret;

	if (!r)
		return -EINVAL;
	if (LIST_FIRST(&((struct cm_channel *)r)->ids)) {
		reply_error(rep, "the channel still has ids");
		return -EBUSY;
	}
	ret = res_remove(r, rep);
	if (ret < 0)
		return ret;
	return cm_reply_empty(rep, &rep->msg.cm_channel_destroy,
			      RDMABROKER__REPLY__BODY_CM_CHANNEL_DESTROY);
}

int cm_id_create(struct rb_session *s, const Rdmabroker__Request *req,
		 struct rb_reply *rep)
{
	const Rdmabroker__CmIdCreateReq *q = req->cm_id_create;
	struct cm_channel *ch;
	struct cm_id *id;
	int ret;

	ch = (struct cm_channel *)res_lookup(s, q->channel, RB_RES_CM_CHANNEL, rep);
	if (!ch)
		return -EINVAL;
	if (q->ps != RDMA_PS_TCP && q->ps != RDMA_PS_UDP && q->ps != RDMA_PS_IB &&
	    q->ps != RDMA_PS_IPOIB) {
		reply_error(rep, "port space %#x unknown", q->ps);
		return -EINVAL;
	}
	if (q->qp_type != IBV_QPT_RC && q->qp_type != IBV_QPT_UC &&
	    q->qp_type != IBV_QPT_UD) {
		reply_error(rep, "QP type %u has no CM", q->qp_type);
		return -EINVAL;
	}
	id = cm_id_new(s, ch, q->ps, q->qp_type, rep, &ret);
	if (!id)
		return ret;
	CM_REPLY(rep, cm_id_create, CM_ID_CREATE, id);
	return 0;
}

int cm_id_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	int ret = res_destroy(s, req->cm_id_destroy->handle, RB_RES_CM_ID, rep);

	if (ret < 0)
		return ret;
	return cm_reply_empty(rep, &rep->msg.cm_id_destroy,
			      RDMABROKER__REPLY__BODY_CM_ID_DESTROY);
}

/* Bind id to the device owning its (specific) source address. */
static void cm_id_attach_dev(struct cm_id *id)
{
	union ibv_gid gid;
	struct rb_device *dev;

	if (cm_sa_any((struct sockaddr *)&id->src))
		return;
	dev = cm_dev_for(id->d, (struct sockaddr *)&id->src, &gid);
	if (!dev)
		return;
	id->dev = dev;
	id->port_num = 1;
	id->sgid = gid;
	id->mtu = cm_dev_mtu(dev, 1);
}

int cm_bind_req(struct rb_session *s, const Rdmabroker__Request *req,
		struct rb_reply *rep)
{
	const Rdmabroker__CmBindReq *q = req->cm_bind;
	struct cm_id *id = cm_id_lookup(s, q->handle, rep);
	struct sockaddr_storage ss;
	int ret;

	if (!id)
		return -EINVAL;
	if (id->state != CM_IDLE) {
		reply_error(rep, "the id is bound already");
		return -EINVAL;
	}
	ret = cm_sa_parse(&q->addr, &ss);
	if (ret < 0)
		return ret;
	if (!cm_sa_any((struct sockaddr *)&ss) && !cm_sa_local((struct sockaddr *)&ss)) {
		reply_error(rep, "not an address of this host");
		return -EADDRNOTAVAIL;
	}
	ret = cm_bind(id, &ss, rep);
	if (ret < 0)
		return ret;
	cm_id_attach_dev(id);
	id->state = CM_ADDR_BOUND;
	CM_REPLY(rep, cm_bind, CM_BIND, id);
	return 0;
}

/*
 * The end of a request that may be asynchronous (RB_PROTO_FEAT_CM_ASYNC):
 * one whose outcome is an event anyway.  Asynchronous, it has no reply,
 * and its failure reaches the id's channel as the event fail with the
 * errno as status, as an asynchronous failure comes from the kernel's
 * CM; a request naming no id of the session is only logged.  The library
 * saves a round trip to the daemon per step (cmtime's connect rate).
 */
static int cm_async_end(struct rb_session *s, uint32_t handle, bool async,
			uint32_t fail, int ret, struct rb_reply *rep)
{
	struct cm_id *id;

	if (!async)
		return ret;
	rep->no_reply = true;
	if (ret < 0 && (id = cm_id_lookup(s, handle, NULL)))
		cm_event(id, fail, ret, NULL, 0, NULL);
	return ret;
}

/*
 * dst is another host's: the route gives the source address (the id's,
 * if it had none), its device and GID, the destination's GID (RoCEv2:
 * its IP address) and the path MTU, and the id's messages go there as
 * CM MADs (cm-mad.c).  0 with ADDR_RESOLVED given, or -errno with
 * nothing done (the caller gives ADDR_ERROR).
 */
static int cm_resolve_remote(struct cm_id *id, const struct sockaddr *dst)
{
	struct sockaddr_storage src;
	struct cm_route rt;
	int ret = cm_mad_route(id->d, dst, &src, &rt);

	if (ret < 0)
		return ret;
	if (cm_sa_any((struct sockaddr *)&id->src)) {
		uint16_t port = cm_sa_port((struct sockaddr *)&id->src);

		memcpy(&id->src, &src, sizeof(src));
		cm_sa_set_port((struct sockaddr *)&id->src, port);
	} else if (!cm_sa_same_ip((struct sockaddr *)&id->src, (struct sockaddr *)&src)) {
		return -ENETUNREACH;	/* bound elsewhere than the route leaves */
	}
	id->dev = rt.dev;
	id->port_num = 1;
	id->sgid = rt.sgid;
	id->sgid_index = (uint8_t)rt.sgid_index;
	id->dgid = rt.dgid;
	id->mtu = rt.mtu < cm_dev_mtu(rt.dev, 1) ? rt.mtu : cm_dev_mtu(rt.dev, 1);
	id->state = CM_ADDR_RESOLVED;
	cm_event(id, RDMA_CM_EVENT_ADDR_RESOLVED, 0, NULL, 0, NULL);
	return 0;
}

static int cm_resolve_addr_do(struct rb_session *s, const Rdmabroker__Request *req,
			      struct rb_reply *rep)
{
	const Rdmabroker__CmResolveAddrReq *q = req->cm_resolve_addr;
	struct cm_id *id = cm_id_lookup(s, q->handle, rep);
	struct sockaddr_storage dst, src;
	struct rb_device *dev;
	union ibv_gid gid;
	int ret;

	if (!id)
		return -EINVAL;
	ret = cm_sa_parse(&q->dst_addr, &dst);
	if (ret < 0)
		return ret;
	if (id->state == CM_IDLE) {
		if (q->has_src_addr) {
			ret = cm_sa_parse(&q->src_addr, &src);
			if (ret < 0)
				return ret;
		} else {
			memset(&src, 0, sizeof(src));
			src.ss_family = dst.ss_family;
		}
		if (src.ss_family != dst.ss_family) {
			reply_error(rep, "source and destination families differ");
			return -EINVAL;
		}
		if (!cm_sa_any((struct sockaddr *)&src) &&
		    !cm_sa_local((struct sockaddr *)&src))
			return -EADDRNOTAVAIL;
		ret = cm_bind(id, &src, rep);
		if (ret < 0)
			return ret;
		id->state = CM_ADDR_BOUND;
	} else if (id->state != CM_ADDR_BOUND && id->state != CM_ADDR_RESOLVED) {
		reply_error(rep, "the id is %s", cm_state_name(id->state));
		return -EINVAL;
	}
	id->dst = dst;
	CM_REPLY(rep, cm_resolve_addr, CM_RESOLVE_ADDR, id);
	/* The answer is an event, as from the kernel's address resolution
	 * (it is known at once on one host; a remote one would ask ARP).
	 * A group is reached through the source's device. */
	if (cm_sa_mcast((struct sockaddr *)&dst)) {
		union ibv_gid mgid;

		dev = cm_dev_for(s->d, (struct sockaddr *)&id->src, &gid);
		if (!dev) {
			id->state = CM_ADDR_BOUND;
			cm_event(id, RDMA_CM_EVENT_ADDR_ERROR, -EHOSTUNREACH, NULL, 0, NULL);
			return 0;
		}
		cm_mgid((struct sockaddr *)&dst, &mgid);
		id->dev = dev;
		id->port_num = 1;
		id->sgid = gid;
		id->dgid = mgid;
		id->mtu = cm_dev_mtu(dev, 1);
		id->state = CM_ADDR_RESOLVED;
		cm_event(id, RDMA_CM_EVENT_ADDR_RESOLVED, 0, NULL, 0, NULL);
		return 0;
	}
	dev = cm_dev_for(s->d, (struct sockaddr *)&dst, &gid);
	if (!dev && !cm_sa_any((struct sockaddr *)&dst) &&
	    cm_resolve_remote(id, (struct sockaddr *)&dst) == 0)
		return 0;
	if (!dev || cm_sa_any((struct sockaddr *)&dst)) {
		id->state = CM_ADDR_BOUND;
		cm_event(id, RDMA_CM_EVENT_ADDR_ERROR, -EHOSTUNREACH, NULL, 0, NULL);
		return 0;
	}
	if (cm_sa_any((struct sockaddr *)&id->src)) {
		/* The source the route to dst would take: dst itself here. */
		uint16_t port = cm_sa_port((struct sockaddr *)&id->src);

		memcpy(&id->src, &dst, sizeof(dst));
		cm_sa_set_port((struct sockaddr *)&id->src, port);
	}
	id->dev = dev;
	id->port_num = 1;
	id->sgid = gid;
	id->dgid = gid;
	id->mtu = cm_dev_mtu(dev, 1);
	id->state = CM_ADDR_RESOLVED;
	cm_event(id, RDMA_CM_EVENT_ADDR_RESOLVED, 0, NULL, 0, NULL);
	return 0;
}

int cm_resolve_addr_req(struct rb_session *s, const Rdmabroker__Request *req,
			struct rb_reply *rep)
{
	const Rdmabroker__CmResolveAddrReq *q = req->cm_resolve_addr;

	return cm_async_end(s, q->handle, q->async, RDMA_CM_EVENT_ADDR_ERROR,
			    cm_resolve_addr_do(s, req, rep), rep);
}

static int cm_resolve_route_do(struct rb_session *s, const Rdmabroker__Request *req,
			       struct rb_reply *rep)
{
	struct cm_id *id = cm_id_lookup(s, req->cm_resolve_route->handle, rep);

	if (!id)
		return -EINVAL;
	if (id->state != CM_ADDR_RESOLVED && id->state != CM_ROUTE_RESOLVED) {
		reply_error(rep, "the address is not resolved");
		return -EINVAL;
	}
	/* One device owns both ends here: the path is the port's. */
	id->state = CM_ROUTE_RESOLVED;
	CM_REPLY(rep, cm_resolve_route, CM_RESOLVE_ROUTE, id);
	cm_event(id, RDMA_CM_EVENT_ROUTE_RESOLVED, 0, NULL, 0, NULL);
	return 0;
}

int cm_resolve_route_req(struct rb_session *s, const Rdmabroker__Request *req,
			 struct rb_reply *rep)
{
	const Rdmabroker__CmResolveRouteReq *q = req->cm_resolve_route;

	return cm_async_end(s, q->handle, q->async, RDMA_CM_EVENT_ROUTE_ERROR,
			    cm_resolve_route_do(s, req, rep), rep);
}

int cm_listen_req(struct rb_session *s, const Rdmabroker__Request *req,
		  struct rb_reply *rep)
{
	const Rdmabroker__CmListenReq *q = req->cm_listen;
	struct cm_id *id = cm_id_lookup(s, q->handle, rep);
	int ret;

	if (!id)
		return -EINVAL;
	if (id->state == CM_IDLE) {
		struct sockaddr_storage any = { .ss_family = AF_INET };

		ret = cm_bind(id, &any, rep);
		if (ret < 0)
			return ret;
		id->state = CM_ADDR_BOUND;
	}
	if (id->state != CM_ADDR_BOUND && id->state != CM_LISTEN) {
		reply_error(rep, "the id is %s", cm_state_name(id->state));
		return -EINVAL;
	}
	id->state = CM_LISTEN;
	/* Another listener on the same port now conflicts. */
	if (cm_port_taken(s->d, (struct sockaddr *)&id->src, id)) {
		id->state = CM_ADDR_BOUND;
		reply_error(rep, "port %u is in use",
			    cm_sa_port((struct sockaddr *)&id->src));
		return -EADDRINUSE;
	}
	id->backlog = q->backlog > 0 && q->backlog < CM_MAX_BACKLOG ?
		      q->backlog : CM_MAX_BACKLOG;
	if (!id->listed) {
		TAILQ_INSERT_TAIL(&cm_of(s->d)->listens, id, listen_link);
		id->listed = true;
	}
	CM_REPLY(rep, cm_listen, CM_LISTEN, id);
	cm_listen_ready(s->d);
	return 0;
}

/* The connection parameters of connect and accept, as the IB CM
 * bounds them. */
static void cm_take_param(struct cm_id *id, const Rdmabroker__CmConnParam *p)
{
	uint32_t max_rd = id->dev ? id->dev->max_qp_rd_atom : 16;
	uint32_t max_init = id->dev ? id->dev->max_qp_init_rd_atom : 16;

	id->resp_res = (uint8_t)(p->responder_resources < max_rd ?
				 p->responder_resources : max_rd);
	id->init_depth = (uint8_t)(p->initiator_depth < max_init ?
				   p->initiator_depth : max_init);
	id->retry = (uint8_t)(p->retry_count < 7 ? p->retry_count : 7);
	id->rnr_retry = (uint8_t)(p->rnr_retry_count < 7 ? p->rnr_retry_count : 7);
	id->srq = p->srq;
	id->qpn = p->qp_num & 0xffffff;
	if (p->has_qkey && p->qkey)
		id->qkey = p->qkey;
}

static bool cm_ip_ps(const struct cm_id *id)
{
	return id->ps != RDMA_PS_IB || true;	/* no AF_IB: always a cma_hdr */
}

/*
 * The start rdma_connect and rdma_accept share: the id, in state want
 * (else "what (its state)"), with private data within max_ud or max
 * bytes as its QP is UD or not; its connection parameters taken.
 */
static struct cm_id *cm_conn_take(struct rb_session *s, const Rdmabroker__CmConnectReq *q,
				  enum cm_state want, const char *what, size_t max_ud,
				  size_t max, struct rb_reply *rep)
{
	struct cm_id *id = cm_id_lookup(s, q->handle, rep);
	const Rdmabroker__CmConnParam *p = q->param;

	if (!id)
		return NULL;
	if (id->state != want) {
		reply_error(rep, "%s (%s)", what, cm_state_name(id->state));
		return NULL;
	}
	if (id->qp_type == IBV_QPT_UD)
		max = max_ud;
	if (p->has_private_data && p->private_data.len > max) {
		reply_error(rep, "private data over %zu bytes", max);
		return NULL;
	}
	cm_take_param(id, p);
	return id;
}

static int cm_connect_do(struct rb_session *s, const Rdmabroker__Request *req,
			 struct rb_reply *rep)
{
	const Rdmabroker__CmConnectReq *q = req->cm_connect;
	const Rdmabroker__CmConnParam *p = q->param;
	struct cm_id *id = cm_conn_take(s, q, CM_ROUTE_RESOLVED,
					"the route is not resolved",
					216 - CM_CMA_HDR, CM_REQ_PDATA - CM_CMA_HDR, rep);
	int ret;

	if (!id)
		return -EINVAL;
	id->qp_handle = q->has_qp_handle && id->qp_type != IBV_QPT_UD ?
			q->qp_handle : 0;
	ret = cm_id_comm(id);
	if (ret < 0)
		return ret;
	ret = cm_send_req(id, p->has_private_data ? p->private_data.data : NULL,
			  p->has_private_data ? p->private_data.len : 0);
	if (ret < 0)
		return ret;
	id->state = CM_REQ_SENT;
	CM_REPLY(rep, cm_connect, CM_CONNECT, id);
	return 0;
}

int cm_connect_req(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep)
{
	const Rdmabroker__CmConnectReq *q = req->cm_connect;

	return cm_async_end(s, q->handle, q->async, RDMA_CM_EVENT_CONNECT_ERROR,
			    cm_connect_do(s, req, rep), rep);
}

/* id's QP, named by the library, in a session of the same process. */
static struct rb_qp *cm_qp_of(struct cm_id *id, struct rb_session **owner)
{
	const struct rb_session *s = id->res.owner;
	struct rb_session *o;

	TAILQ_FOREACH(o, &id->d->sessions, link) {
		struct rb_res *r;

		if (o->pid != s->pid || o->uid != s->uid || o->closing)
			continue;
		r = res_lookup(o, id->qp_handle, RB_RES_QP, NULL);
		if (r && ((struct rb_qp *)res_target(r))->qp_num == id->qpn) {
			*owner = o;
			return (struct rb_qp *)res_target(r);
		}
	}
	return NULL;
}

int cm_qp_ready(struct cm_id *id, struct rb_reply *rep)
{
	struct rb_cm_qp_params c = {
		.qp_type = (enum ibv_qp_type)id->qp_type, .port_num = id->port_num,
		.qkey = id->qkey, .dgid = id->dgid, .sgid_index = id->sgid_index,
		.tos = id->tos, .mtu = id->mtu,
		.remote_qpn = id->remote_qpn, .remote_psn = id->remote_psn,
		.local_psn = id->psn, .resp_res = id->resp_res,
		.init_depth = id->init_depth, .retry = id->retry,
		.rnr_retry = id->rnr_retry, .timeout = id->timeout,
	};
	struct rb_session *o = NULL;
	struct ibv_qp_attr a;
	struct rb_qp *qp;
	int mask, ret;

	qp = cm_qp_of(id, &o);
	if (!qp) {
		reply_error(rep, "QP %#x of the connection is gone", id->qpn);
		return -ENOENT;
	}
	rb_cm_qp_attr_rtr(&c, &a, &mask);
	ret = qp_modify_attr(o, qp, &a, mask, rep);
	if (ret < 0)
		return ret;
	a.qp_state = IBV_QPS_RTS;
	rb_cm_qp_attr(&c, &a, &mask);
	return qp_modify_attr(o, qp, &a, mask, rep);
}

static int cm_accept_do(struct rb_session *s, const Rdmabroker__Request *req,
			struct rb_reply *rep)
{
	const Rdmabroker__CmConnectReq *q = req->cm_accept;
	const Rdmabroker__CmConnParam *p = q->param;
	struct cm_id *id = cm_conn_take(s, q, CM_REQ_RCVD,
					"no connection request to accept",
					136, 196, rep);
	int ret;

	if (!id)
		return -EINVAL;
	id->qp_handle = q->has_qp_handle && id->qp_type != IBV_QPT_UD ?
			q->qp_handle : 0;
	/* Ours must receive before the REP can make the peer send; a QP
	 * that cannot is refused to the peer as librdmacm refuses it. */
	if (id->qp_handle && (ret = cm_qp_ready(id, rep)) < 0) {
		cm_send_rej(id, CM_REJ_CONSUMER_DEFINED, NULL, 0);
		if (id->listener) {
			id->listener->pending--;
			id->listener = NULL;
		}
		id->state = CM_DISCONNECTED;
		return ret;
	}
	ret = cm_send_rep(id, p->has_private_data ? p->private_data.data : NULL,
			  p->has_private_data ? p->private_data.len : 0);
	if (ret < 0)
		return ret;
	if (id->listener) {
		id->listener->pending--;
		id->listener = NULL;
	}
	id->state = id->qp_type == IBV_QPT_UD ? CM_UD : CM_REP_SENT;
	CM_REPLY(rep, cm_accept, CM_ACCEPT, id);
	return 0;
}

int cm_accept_req(struct rb_session *s, const Rdmabroker__Request *req,
		  struct rb_reply *rep)
{
	const Rdmabroker__CmConnectReq *q = req->cm_accept;

	return cm_async_end(s, q->handle, q->async, RDMA_CM_EVENT_CONNECT_ERROR,
			    cm_accept_do(s, req, rep), rep);
}

int cm_reject_req(struct rb_session *s, const Rdmabroker__Request *req,
		  struct rb_reply *rep)
{
	const Rdmabroker__CmRejectReq *q = req->cm_reject;
	struct cm_id *id = cm_id_lookup(s, q->handle, rep);
	size_t max = id && id->qp_type == IBV_QPT_UD ? 136 : 148;
	int ret;

	if (!id)
		return -EINVAL;
	if (id->state != CM_REQ_RCVD && id->state != CM_REP_RCVD) {
		reply_error(rep, "nothing to reject (%s)", cm_state_name(id->state));
		return -EINVAL;
	}
	if (q->has_private_data && q->private_data.len > max) {
		reply_error(rep, "private data over %zu bytes", max);
		return -EINVAL;
	}
	ret = cm_send_rej(id, CM_REJ_CONSUMER_DEFINED,
			  q->has_private_data ? q->private_data.data : NULL,
			  q->has_private_data ? q->private_data.len : 0);
	if (ret < 0)
		return ret;
	if (id->listener) {
		id->listener->pending--;
		id->listener = NULL;
	}
	id->state = CM_DISCONNECTED;
	return cm_reply_empty(rep, &rep->msg.cm_reject,
			      RDMABROKER__REPLY__BODY_CM_REJECT);
}

int cm_disconnect_req(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	struct cm_id *id = cm_id_lookup(s, req->cm_disconnect->handle, rep);
	int ret;

	if (!id)
		return -EINVAL;
	ret = cm_conn_disconnect(id);
	if (ret < 0) {
		reply_error(rep, "not connected (%s)", cm_state_name(id->state));
		return ret;
	}
	return cm_reply_empty(rep, &rep->msg.cm_disconnect,
			      RDMABROKER__REPLY__BODY_CM_DISCONNECT);
}

static int cm_establish_do(struct rb_session *s, const Rdmabroker__Request *req,
			   struct rb_reply *rep)
{
	struct cm_id *id = cm_id_lookup(s, req->cm_establish->handle, rep);
	int ret;

	if (!id)
		return -EINVAL;
	if (id->state != CM_REP_RCVD) {
		reply_error(rep, "no connect response to establish (%s)",
			    cm_state_name(id->state));
		return -EINVAL;
	}
	ret = cm_send_rtu(id);
	if (ret < 0)
		return ret;
	id->state = CM_ESTABLISHED;
	return cm_reply_empty(rep, &rep->msg.cm_establish,
			      RDMABROKER__REPLY__BODY_CM_ESTABLISH);
}

int cm_establish_req(struct rb_session *s, const Rdmabroker__Request *req,
		     struct rb_reply *rep)
{
	const Rdmabroker__CmIdReq *q = req->cm_establish;

	return cm_async_end(s, q->handle, q->async, RDMA_CM_EVENT_CONNECT_ERROR,
			    cm_establish_do(s, req, rep), rep);
}

int cm_notify_req(struct rb_session *s, const Rdmabroker__Request *req,
		  struct rb_reply *rep)
{
	const Rdmabroker__CmNotifyReq *q = req->cm_notify;
	struct cm_id *id = cm_id_lookup(s, q->handle, rep);

	if (!id)
		return -EINVAL;
	/* Data before the RTU: the connection is up (ib_cm_notify). */
	if (q->event == IBV_EVENT_COMM_EST && id->state == CM_REP_SENT) {
		id->state = CM_ESTABLISHED;
		cm_event(id, RDMA_CM_EVENT_ESTABLISHED, 0, NULL, 0, NULL);
	} else if (q->event != IBV_EVENT_COMM_EST &&
		   q->event != IBV_EVENT_PATH_MIG) {
		reply_error(rep, "event %u is not one the CM takes", q->event);
		return -EINVAL;
	}
	return cm_reply_empty(rep, &rep->msg.cm_notify,
			      RDMABROKER__REPLY__BODY_CM_NOTIFY);
}

int cm_migrate_req(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep)
{
	const Rdmabroker__CmMigrateReq *q = req->cm_migrate;
	struct cm_id *id = cm_id_lookup(s, q->handle, rep);
	struct cm_channel *ch;

	if (!id)
		return -EINVAL;
	ch = (struct cm_channel *)res_lookup(s, q->channel, RB_RES_CM_CHANNEL, rep);
	if (!ch)
		return -EINVAL;
	cm_id_set_channel(id, ch);
	CM_REPLY(rep, cm_migrate, CM_MIGRATE, id);
	return 0;
}

int cm_set_option_req(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	const Rdmabroker__CmSetOptionReq *q = req->cm_set_option;
	struct cm_id *id = cm_id_lookup(s, q->handle, rep);

	if (!id)
		return -EINVAL;
	if (q->level != RDMA_OPTION_ID) {
		/* RDMA_OPTION_IB_PATH: path records are the SA's; none here. */
		reply_error(rep, "option level %u not served", q->level);
		return -ENOSYS;
	}
	switch (q->optname) {
	case RDMA_OPTION_ID_TOS:
		id->tos = (uint8_t)q->value;
		id->tos_set = true;
		break;
	case RDMA_OPTION_ID_REUSEADDR:
		if (id->state != CM_IDLE)
			return -EINVAL;
		id->reuseaddr = q->value != 0;
		break;
	case RDMA_OPTION_ID_AFONLY:
		if (id->state != CM_IDLE)
			return -EINVAL;
		id->afonly = q->value != 0;
		break;
	case RDMA_OPTION_ID_ACK_TIMEOUT:
		id->timeout = (uint8_t)(q->value < 31 ? q->value : 31);
		break;
	default:
		reply_error(rep, "option %u unknown", q->optname);
		return -ENOSYS;
	}
	return cm_reply_empty(rep, &rep->msg.cm_set_option,
			      RDMABROKER__REPLY__BODY_CM_SET_OPTION);
}

int cm_query_req(struct rb_session *s, const Rdmabroker__Request *req,
		 struct rb_reply *rep)
{
	struct cm_id *id = cm_id_lookup(s, req->cm_query->handle, rep);

	if (!id)
		return -EINVAL;
	CM_REPLY(rep, cm_query, CM_QUERY, id);
	return 0;
}

static const char *cm_ps_name(uint32_t ps)
{
	return ps == RDMA_PS_TCP ? "TCP" : ps == RDMA_PS_UDP ? "UDP" :
	       ps == RDMA_PS_IB ? "IB" : ps == RDMA_PS_IPOIB ? "IPOIB" : "?";
}

void cm_describe(const struct rb_res *r, Rdmabroker__ResEntry *e,
		 struct rb_reply *rep)
{
	const struct cm_id *id = (const struct cm_id *)r;
	char buf[80];

	e->state = (char *)cm_state_name(id->state);
	e->cm_ps = (char *)cm_ps_name(id->ps);
	e->qp_type = (char *)(id->qp_type == IBV_QPT_UD ? "UD" :
			      id->qp_type == IBV_QPT_UC ? "UC" : "RC");
	if (id->qpn) {
		e->has_qp_num = 1;
		e->qp_num = id->qpn;
	}
	if (id->dev)
		e->device = id->dev->name;
	cm_sa_str((const struct sockaddr *)&id->src, buf, sizeof(buf));
	e->cm_src = reply_strdup(rep, buf);
	cm_sa_str((const struct sockaddr *)&id->dst, buf, sizeof(buf));
	e->cm_dst = reply_strdup(rep, buf);
}

/* ------------------------------------------------------------ lifetime */

int cm_init(struct rb_daemon *d)
{
	struct rb_cm *cm;

	if (d->cm)
		return 0;
	cm = calloc(1, sizeof(*cm));
	if (!cm)
		return -ENOMEM;
	TAILQ_INIT(&cm->ids);
	TAILQ_INIT(&cm->listens);
	/* 256 KiB; without it every bind walks every id, as before. */
	cm->port_refs = calloc(65536, sizeof(*cm->port_refs));
	/* Comm ids go out on the wire to other hosts: they start anywhere. */
	if (getrandom(&cm->next_comm, sizeof(cm->next_comm), GRND_NONBLOCK) !=
	    sizeof(cm->next_comm))
		cm->next_comm = (uint32_t)rand();
	d->cm = cm;
	if (cm_local_init(d) < 0) {
		free(cm->port_refs);
		free(cm);
		d->cm = NULL;
		return -ENOMEM;
	}
	cm_mad_init(d);
	(void)cm_ip_ps;
	return 0;
}

void cm_fini(struct rb_daemon *d)
{
	if (!d->cm)
		return;
	cm_local_fini(d);
	free(d->cm->comm.b);
	free(d->cm->port_refs);
	free(d->cm);
	d->cm = NULL;
}

/* ------------------------------------------------------------ multicast */

/* A QP joins or leaves a group (ibv_attach_mcast, ibv_detach_mcast). */
int cm_qp_mcast_req(struct rb_session *s, const Rdmabroker__Request *req,
		    struct rb_reply *rep)
{
	const Rdmabroker__QpMcastReq *q = req->qp_mcast;
	struct rb_qp *qp = (struct rb_qp *)res_lookup(s, q->qp, RB_RES_QP, rep);
	union ibv_gid gid;
	int ret;

	if (!qp)
		return -EINVAL;
	if (q->gid.len != 16 || q->gid.data[0] != 0xff || q->lid > 0xffff) {
		reply_error(rep, "not a multicast GID");
		return -EINVAL;
	}
	if (qp->type != IBV_QPT_UD) {
		reply_error(rep, "only UD QPs join groups");
		return -EINVAL;
	}
	memcpy(gid.raw, q->gid.data, 16);
	ret = q->attach ? qp->dev->ops.attach_mcast(qp, &gid, (uint16_t)q->lid) :
	      qp->dev->ops.detach_mcast(qp, &gid, (uint16_t)q->lid);
	if (ret < 0)
		return ret;
	return cm_reply_empty(rep, &rep->msg.qp_mcast, RDMABROKER__REPLY__BODY_QP_MCAST);
}

int cm_join_req(struct rb_session *s, const Rdmabroker__Request *req,
		struct rb_reply *rep)
{
	const Rdmabroker__CmJoinReq *q = req->cm_join;
	struct cm_id *id = cm_id_lookup(s, q->handle, rep);
	Rdmabroker__CmJoinReply *m = reply_alloc(rep, sizeof(*m));
	uint8_t *raw = reply_alloc(rep, 16);
	struct sockaddr_storage ss;
	struct cm_msg ev;
	union ibv_gid mgid;
	int ret;

	if (!id)
		return -EINVAL;
	if (!m || !raw)
		return -ENOMEM;
	ret = cm_sa_parse(&q->addr, &ss);
	if (ret < 0)
		return ret;
	if (!cm_sa_mcast((struct sockaddr *)&ss)) {
		reply_error(rep, "not a multicast address");
		return -EINVAL;
	}
	if (!id->dev || id->qp_type != IBV_QPT_UD) {
		reply_error(rep, "a UD id with its address resolved joins");
		return -EINVAL;
	}
	cm_mgid((struct sockaddr *)&ss, &mgid);
	memcpy(raw, mgid.raw, 16);
	rdmabroker__cm_join_reply__init(m);
	m->mgid.data = raw;
	m->mgid.len = 16;
	rep->msg.cm_join = m;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_CM_JOIN;
	if (!q->join)
		return 0;
	/* No subnet manager to ask: the group is there for whoever
	 * attaches; the join completes at once. */
	memset(&ev, 0, sizeof(ev));
	ev.qpn = 0xffffff;
	ev.qkey = id->ps == RDMA_PS_IPOIB ? 0x0b1b : RDMA_UDP_QKEY;
	ev.sgid = mgid;		/* cm_event's MULTICAST_JOIN takes the group from here */
	cm_event(id, RDMA_CM_EVENT_MULTICAST_JOIN, 0, &ev, 0, NULL);
	return 0;
}
