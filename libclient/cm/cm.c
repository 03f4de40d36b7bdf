/* SPDX-License-Identifier: MIT */
/*
 * librdmabroker-cm: event channels, ids and the connection calls of the
 * librdmacm API, served by rdmabrokerd (cm.h).  As librdmacm, every call
 * returns 0, or -1 with errno set; a synchronous id (NULL channel) waits
 * for the event each asynchronous step produces.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libclient/cm/cm.h"
#include "proto/cm-qp.h"
#include "proto/rpc.h"
#include "proto/wire.h"

#define CMC_MAX_DEVICES	16

struct cmc_dev {
	struct ibv_context *verbs;
	struct ibv_pd *pd;		/* the id's default PD (id->pd) */
	struct ibv_device_attr attr;
};

/* The process's CM: one connection to the daemon, its ids, its devices. */
static struct {
	pthread_mutex_t lock;		/* all of this, and the rpc */
	struct rb_rpc rpc;
	bool up;
	/* RB_PROTO_FEAT_CM_ASYNC offered and not refused by the environment
	 * (RDMABROKER_CM_SYNC=1: every step a round trip, for comparing). */
	bool async;
	pid_t pid;			/* a child after fork() reconnects */
	/* The process's ids by handle: every event names one, and cmtime
	 * holds thousands (a list walk per event cost ~10% of a connect). */
	struct cmc_id **ids;
	size_t nbuckets, nids;	/* a power of two; load at most 1 */
	struct cmc_dev devs[CMC_MAX_DEVICES];
	struct ibv_device **dev_list;
} cmc = { .lock = PTHREAD_MUTEX_INITIALIZER, .rpc = { .fd = -1 } };

int cmc_err(int ret)
{
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

static int cmc_connect_locked(void)
{
	const char *sync;
	char err[256];
	int ret;

	if (cmc.up && cmc.pid == getpid())
		return 0;
	if (cmc.up)
		rb_rpc_close(&cmc.rpc);
	cmc.up = false;
	ret = rb_rpc_connect(&cmc.rpc, rb_rpc_socket_path(NULL), "rdmacm", err,
			     sizeof(err));
	if (ret < 0)
		return ret == -ENOENT || ret == -ECONNREFUSED ? -ENODEV : ret;
	cmc.up = true;
	cmc.pid = getpid();
	sync = getenv("RDMABROKER_CM_SYNC");
	cmc.async = (cmc.rpc.features & RB_PROTO_FEAT_CM_ASYNC) &&
		    !(sync && *sync && strcmp(sync, "0"));
	return 0;
}

/* One request; a non-zero status comes back as -status. */
int cmc_call(Rdmabroker__Request *req, Rdmabroker__Reply **reply, int *fds,
	     size_t max_fds, size_t *nfds)
{
	int ret;

	*reply = NULL;
	pthread_mutex_lock(&cmc.lock);
	ret = cmc_connect_locked();
	if (ret == 0)
		ret = rb_rpc_call(&cmc.rpc, req, reply, fds, max_fds, nfds);
	pthread_mutex_unlock(&cmc.lock);
	if (ret < 0)
		return ret == -EPIPE || ret == -ECONNRESET ? -ENODEV : ret;
	if ((*reply)->status) {
		ret = -(*reply)->status;
		if (fds && nfds)
			for (size_t i = 0; i < *nfds; i++)
				close(fds[i]);
		rb_rpc_reply_free(*reply);
		*reply = NULL;
	}
	return ret;
}

/*
 * A request whose outcome is an event anyway, for an id with a channel
 * of the application's: sent without waiting where the daemon takes it
 * asynchronously (RB_PROTO_FEAT_CM_ASYNC; a failure is then the id's
 * error event), else as cmc_call().  The body's async field is
 * has/async.  1: sent asynchronously; 0: answered, *reply set; -errno.
 * One round trip to the daemon fewer a step (cmtime's connect rate).
 */
static int cmc_call_async(const struct cmc_id *p, Rdmabroker__Request *req,
			  protobuf_c_boolean *has, protobuf_c_boolean *async,
			  Rdmabroker__Reply **reply)
{
	int ret = 0;

	*reply = NULL;
	if (!p->sync) {
		pthread_mutex_lock(&cmc.lock);
		ret = cmc_connect_locked();
		if (ret == 0 && cmc.async) {
			*has = *async = 1;
			ret = rb_rpc_send(&cmc.rpc, req);
			if (ret == 0)
				ret = 1;
		}
		pthread_mutex_unlock(&cmc.lock);
		if (ret != 0)
			return ret == -EPIPE || ret == -ECONNRESET ? -ENODEV : ret;
	}
	return cmc_call(req, reply, NULL, 0, NULL);
}

/*
 * Whether the daemon moves id.qp to RTR and RTS itself (connect and
 * accept name it, RB_PROTO_FEAT_CM_ASYNC): two round trips to the daemon
 * fewer a side.  Only a QP of rdma_create_qp()'s on a connected id.
 */
static bool cmc_daemon_qp(const struct cmc_id *p)
{
	bool ok;

	if (!p->id.qp || p->id.qp_type == IBV_QPT_UD)
		return false;
	pthread_mutex_lock(&cmc.lock);
	ok = cmc_connect_locked() == 0 && cmc.async;
	pthread_mutex_unlock(&cmc.lock);
	return ok;
}

/* A request naming one id (the body is set by the caller). */
#define CMC_REQ(req, field, BODY, msg) do { \
	(req).body_case = RDMABROKER__REQUEST__BODY_##BODY; \
	(req).field = (msg); \
} while (0)

/* ------------------------------------------------------------ devices */

/* The context and default PD of the daemon's device index. */
static struct cmc_dev *cmc_dev_get(uint32_t index)
{
	struct cmc_dev *d = NULL;

	if (index >= CMC_MAX_DEVICES)
		return NULL;
	pthread_mutex_lock(&cmc.lock);
	if (!cmc.dev_list)
		cmc.dev_list = ibv_get_device_list(NULL);
	if (!cmc.devs[index].verbs && cmc.dev_list) {
		for (int i = 0; cmc.dev_list[i]; i++) {
			struct ibv_context *v;

			if ((uint32_t)ibv_get_device_index(cmc.dev_list[i]) != index)
				continue;
			v = ibv_open_device(cmc.dev_list[i]);
			if (!v)
				break;
			cmc.devs[index].verbs = v;
			cmc.devs[index].pd = ibv_alloc_pd(v);
			if (ibv_query_device(v, &cmc.devs[index].attr))
				memset(&cmc.devs[index].attr, 0,
				       sizeof(cmc.devs[index].attr));
			break;
		}
	}
	if (cmc.devs[index].verbs)
		d = &cmc.devs[index];
	pthread_mutex_unlock(&cmc.lock);
	return d;
}

RB_EXPORT struct ibv_context **rdma_get_devices(int *num_devices)
{
	struct ibv_context **v;
	int n = 0;

	pthread_mutex_lock(&cmc.lock);
	if (!cmc.dev_list)
		cmc.dev_list = ibv_get_device_list(NULL);
	pthread_mutex_unlock(&cmc.lock);
	v = calloc(CMC_MAX_DEVICES + 1, sizeof(*v));
	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < CMC_MAX_DEVICES && cmc.dev_list; i++) {
		struct cmc_dev *d = cmc_dev_get(i);

		if (d)
			v[n++] = d->verbs;
	}
	if (num_devices)
		*num_devices = n;
	return v;
}

RB_EXPORT void rdma_free_devices(struct ibv_context **list)
{
	free(list);	/* the contexts stay open, as librdmacm's do */
}

/* ------------------------------------------------------------ ids */

static size_t cmc_bucket(uint32_t handle, size_t nbuckets)
{
	/* Fibonacci hashing: handles differ in their low (slot) bits. */
	return (size_t)((handle * 2654435769u) >> 8) & (nbuckets - 1);
}

/* Twice the buckets, under cmc.lock; on ENOMEM the chains grow longer. */
static void cmc_ids_grow(void)
{
	size_t nb = cmc.nbuckets ? cmc.nbuckets * 2 : 64;
	struct cmc_id **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < cmc.nbuckets; i++) {
		struct cmc_id *p, *next;

		for (p = cmc.ids[i]; p; p = next) {
			size_t k = cmc_bucket(p->handle, nb);

			next = p->next;
			p->next = b[k];
			b[k] = p;
		}
	}
	free(cmc.ids);
	cmc.ids = b;
	cmc.nbuckets = nb;
}

static void cmc_id_link(struct cmc_id *p)
{
	pthread_mutex_lock(&cmc.lock);
	if (cmc.nids >= cmc.nbuckets)
		cmc_ids_grow();
	if (cmc.nbuckets) {
		size_t k = cmc_bucket(p->handle, cmc.nbuckets);

		p->next = cmc.ids[k];
		cmc.ids[k] = p;
		cmc.nids++;
		p->linked = true;
	}
	pthread_mutex_unlock(&cmc.lock);
}

static void cmc_id_unlink(struct cmc_id *p)
{
	pthread_mutex_lock(&cmc.lock);
	if (p->linked) {
		struct cmc_id **pp = &cmc.ids[cmc_bucket(p->handle, cmc.nbuckets)];

		for (; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				cmc.nids--;
				break;
			}
		p->linked = false;
	}
	pthread_mutex_unlock(&cmc.lock);
}

static struct cmc_id *cmc_id_find(struct cmc_channel *ch, uint32_t handle)
{
	struct cmc_id *p = NULL;

	pthread_mutex_lock(&cmc.lock);
	if (cmc.nbuckets)
		for (p = cmc.ids[cmc_bucket(handle, cmc.nbuckets)]; p; p = p->next)
			if (p->handle == handle && p->id.channel == &ch->ch)
				break;
	pthread_mutex_unlock(&cmc.lock);
	return p;
}

static void cmc_sa_copy(struct sockaddr_storage *to, const ProtobufCBinaryData *b,
			bool has)
{
	memset(to, 0, sizeof(*to));
	if (has && b->len <= sizeof(*to))
		memcpy(to, b->data, b->len);
}

/* Take what the daemon says of the id into it (and into rdma_cm_id). */
static void cmc_info_take(struct cmc_id *p, const Rdmabroker__CmIdInfo *m)
{
	struct cmc_info *i = &p->info;
	struct rdma_route *r = &p->id.route;

	i->state = m->state;
	if (m->has_src_addr)
		cmc_sa_copy(&r->addr.src_storage, &m->src_addr, true);
	if (m->has_dst_addr)
		cmc_sa_copy(&r->addr.dst_storage, &m->dst_addr, true);
	if (m->has_dev_index && !i->has_dev) {
		struct cmc_dev *d = cmc_dev_get(m->dev_index);

		if (d) {
			i->has_dev = true;
			i->dev_index = m->dev_index;
			p->id.verbs = d->verbs;
			p->id.pd = d->pd;
		}
	}
	if (m->has_port_num)
		p->id.port_num = (uint8_t)m->port_num;
	if (m->has_sgid && m->sgid.len == 16)
		memcpy(i->sgid.raw, m->sgid.data, 16);
	if (m->has_dgid && m->dgid.len == 16)
		memcpy(i->dgid.raw, m->dgid.data, 16);
	i->sgid_index = (uint8_t)m->sgid_index;	/* absent: 0 */
	i->pkey = m->has_pkey ? (uint16_t)m->pkey : 0xffff;
	i->mtu = m->has_path_mtu ? (enum ibv_mtu)m->path_mtu : IBV_MTU_1024;
	i->remote_qpn = m->remote_qpn;
	i->remote_psn = m->remote_psn;
	i->local_psn = m->local_psn;
	i->qkey = m->qkey;
	i->resp_res = (uint8_t)m->responder_resources;
	i->init_depth = (uint8_t)m->initiator_depth;
	i->retry = (uint8_t)m->retry_count;
	i->rnr_retry = (uint8_t)m->rnr_retry_count;
	i->tos = (uint8_t)m->tos;
	i->timeout = (uint8_t)m->timeout;
	/* The route as rdma_cm gives it: the IB address and one path. */
	r->addr.addr.ibaddr.sgid = i->sgid;
	r->addr.addr.ibaddr.dgid = i->dgid;
	r->addr.addr.ibaddr.pkey = htons(i->pkey);
	memset(&p->path, 0, sizeof(p->path));
	p->path.sgid = i->sgid;
	p->path.dgid = i->dgid;
	p->path.pkey = htons(i->pkey);
	p->path.mtu = (uint8_t)i->mtu;
	p->path.mtu_selector = 2;
	p->path.traffic_class = i->tos;
	p->path.hop_limit = 64;
	p->path.reversible = 1;
	p->path.numb_path = 1;
	p->path.packet_life_time = 14;
	p->path.rate = IBV_RATE_100_GBPS;
}

static int cmc_id_reply(struct cmc_id *p, Rdmabroker__Reply *rep,
			Rdmabroker__CmIdReply *m)
{
	if (!m || !m->info) {
		rb_rpc_reply_free(rep);
		return -EBADMSG;
	}
	cmc_info_take(p, m->info);
	rb_rpc_reply_free(rep);
	return 0;
}

static struct cmc_id *cmc_id_alloc(struct rdma_event_channel *channel,
				   void *context, enum rdma_port_space ps,
				   enum ibv_qp_type qp_type)
{
	struct cmc_id *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->id.channel = channel;
	p->id.context = context;
	p->id.ps = ps;
	p->id.qp_type = qp_type;
	pthread_mutex_init(&p->mut, NULL);
	pthread_cond_init(&p->cond, NULL);
	return p;
}

static void cmc_id_free(struct cmc_id *p)
{
	while (p->joins) {
		struct cmc_join *j = p->joins;

		p->joins = j->next;
		free(j);
	}
	pthread_mutex_destroy(&p->mut);
	pthread_cond_destroy(&p->cond);
	free(p->qp_init_attr);
	free(p);
}

static enum ibv_qp_type cmc_ps_qp_type(enum rdma_port_space ps)
{
	return ps == RDMA_PS_UDP || ps == RDMA_PS_IPOIB ? IBV_QPT_UD : IBV_QPT_RC;
}

/* ------------------------------------------------------------ channels */

static struct cmc_channel *cmc_channel_new(void)
{
	Rdmabroker__CmChannelCreateReq body = RDMABROKER__CM_CHANNEL_CREATE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *rep;
	struct cmc_channel *ch;
	size_t nfds = 0;
	int fd = -1, ret;

	ch = calloc(1, sizeof(*ch));
	if (!ch || !(ch->rxbuf = malloc(RB_WIRE_MAX_FRAME + 1))) {
		if (ch)
			free(ch);
		errno = ENOMEM;
		return NULL;
	}
	CMC_REQ(req, cm_channel_create, CM_CHANNEL_CREATE, &body);
	ret = cmc_call(&req, &rep, &fd, 1, &nfds);
	if (ret == 0 && (nfds != 1 || !rep->cm_channel_create)) {
		if (nfds)
			close(fd);
		rb_rpc_reply_free(rep);
		ret = -EBADMSG;
	}
	if (ret < 0) {
		free(ch->rxbuf);
		free(ch);
		errno = -ret;
		return NULL;
	}
	ch->handle = rep->cm_channel_create->handle;
	rb_rpc_reply_free(rep);
	ch->ch.fd = fd;
	pthread_mutex_init(&ch->lock, NULL);
	return ch;
}

static void cmc_channel_free(struct cmc_channel *ch)
{
	Rdmabroker__CmChannelDestroyReq body = RDMABROKER__CM_CHANNEL_DESTROY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *rep;

	/* Before the daemon closes its end, which wakes any reader. */
	__atomic_store_n(&ch->destroyed, true, __ATOMIC_SEQ_CST);
	body.handle = ch->handle;
	CMC_REQ(req, cm_channel_destroy, CM_CHANNEL_DESTROY, &body);
	if (cmc_call(&req, &rep, NULL, 0, NULL) == 0)
		rb_rpc_reply_free(rep);
	/* A blocked reader still receives on the open file: it is not
	 * woken by this close, and the struct stays its own. */
	close(ch->ch.fd);
	if (__atomic_load_n(&ch->readers, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_destroy(&ch->lock);
	free(ch->rxbuf);
	free(ch);
}

RB_EXPORT struct rdma_event_channel *rdma_create_event_channel(void)
{
	struct cmc_channel *ch = cmc_channel_new();

	return ch ? &ch->ch : NULL;
}

RB_EXPORT void rdma_destroy_event_channel(struct rdma_event_channel *channel)
{
	if (channel)
		cmc_channel_free((struct cmc_channel *)channel);
}

/* ------------------------------------------------------------ create/destroy */

static int cmc_create_id(struct rdma_event_channel *channel,
			 struct rdma_cm_id **id, void *context,
			 enum rdma_port_space ps, enum ibv_qp_type qp_type)
{
	Rdmabroker__CmIdCreateReq body = RDMABROKER__CM_ID_CREATE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_channel *own = NULL;
	Rdmabroker__Reply *rep;
	struct cmc_id *p;
	int ret;

	if (!id)
		return cmc_err(-EINVAL);
	if (!channel) {
		own = cmc_channel_new();
		if (!own)
			return -1;
		channel = &own->ch;
	}
	p = cmc_id_alloc(channel, context, ps, qp_type);
	if (!p) {
		ret = -ENOMEM;
		goto fail;
	}
	p->sync = own != NULL;
	p->own_channel = own;
	body.channel = ((struct cmc_channel *)channel)->handle;
	body.ps = ps;
	body.qp_type = qp_type;
	CMC_REQ(req, cm_id_create, CM_ID_CREATE, &body);
	ret = cmc_call(&req, &rep, NULL, 0, NULL);
	if (ret < 0)
		goto fail;
	p->handle = rep->cm_id_create && rep->cm_id_create->info ?
		    rep->cm_id_create->info->handle : 0;
	ret = cmc_id_reply(p, rep, rep->cm_id_create);
	if (ret < 0)
		goto fail;
	cmc_id_link(p);
	*id = &p->id;
	return 0;
fail:
	if (p)
		cmc_id_free(p);
	if (own)
		cmc_channel_free(own);
	return cmc_err(ret);
}

RB_EXPORT int rdma_create_id(struct rdma_event_channel *channel,
			     struct rdma_cm_id **id, void *context,
			     enum rdma_port_space ps)
{
	return cmc_create_id(channel, id, context, ps, cmc_ps_qp_type(ps));
}

static int cmc_simple(uint32_t handle, int body_case)
{
	Rdmabroker__CmIdReq body = RDMABROKER__CM_ID_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *rep;
	int ret;

	body.handle = handle;
	req.body_case = body_case;
	/* The CmIdReq bodies share one layout; set the one named. */
	switch (body_case) {
	case RDMABROKER__REQUEST__BODY_CM_ID_DESTROY: req.cm_id_destroy = &body; break;
	case RDMABROKER__REQUEST__BODY_CM_DISCONNECT: req.cm_disconnect = &body; break;
	case RDMABROKER__REQUEST__BODY_CM_ESTABLISH: req.cm_establish = &body; break;
	default: req.cm_query = &body; break;
	}
	ret = cmc_call(&req, &rep, NULL, 0, NULL);
	if (ret == 0)
		rb_rpc_reply_free(rep);
	return ret;
}

/* A synchronous id's last event is acked when the next step starts. */
static void cmc_ack_sync(struct cmc_id *p)
{
	if (p->id.event) {
		rdma_ack_cm_event(p->id.event);
		p->id.event = NULL;
	}
}

static void cmc_destroy_cqs(struct cmc_id *p)
{
	if (!p->own_cqs)
		return;
	if (p->id.recv_cq && p->id.recv_cq != p->id.send_cq)
		ibv_destroy_cq(p->id.recv_cq);
	if (p->id.send_cq)
		ibv_destroy_cq(p->id.send_cq);
	if (p->id.recv_cq_channel && p->id.recv_cq_channel != p->id.send_cq_channel)
		ibv_destroy_comp_channel(p->id.recv_cq_channel);
	if (p->id.send_cq_channel)
		ibv_destroy_comp_channel(p->id.send_cq_channel);
	p->id.send_cq = p->id.recv_cq = NULL;
	p->id.send_cq_channel = p->id.recv_cq_channel = NULL;
	p->own_cqs = false;
}

RB_EXPORT int rdma_destroy_id(struct rdma_cm_id *id)
{
	struct cmc_id *p = (struct cmc_id *)id;
	int ret;

	if (!id)
		return cmc_err(-EINVAL);
	cmc_ack_sync(p);
	ret = cmc_simple(p->handle, RDMABROKER__REQUEST__BODY_CM_ID_DESTROY);
	if (ret < 0 && ret != -ENODEV && ret != -EINVAL)
		return cmc_err(ret);
	cmc_id_unlink(p);
	/* Events given out must be acked before the id goes (librdmacm). */
	pthread_mutex_lock(&p->mut);
	while (p->events_acked < p->events_delivered)
		pthread_cond_wait(&p->cond, &p->mut);
	pthread_mutex_unlock(&p->mut);
	cmc_destroy_cqs(p);
	if (p->own_channel)
		cmc_channel_free(p->own_channel);
	cmc_id_free(p);
	return 0;
}

/* ------------------------------------------------------------ events */

static const char *const cmc_event_names[] = {
	[RDMA_CM_EVENT_ADDR_RESOLVED] = "RDMA_CM_EVENT_ADDR_RESOLVED",
	[RDMA_CM_EVENT_ADDR_ERROR] = "RDMA_CM_EVENT_ADDR_ERROR",
	[RDMA_CM_EVENT_ROUTE_RESOLVED] = "RDMA_CM_EVENT_ROUTE_RESOLVED",
	[RDMA_CM_EVENT_ROUTE_ERROR] = "RDMA_CM_EVENT_ROUTE_ERROR",
	[RDMA_CM_EVENT_CONNECT_REQUEST] = "RDMA_CM_EVENT_CONNECT_REQUEST",
	[RDMA_CM_EVENT_CONNECT_RESPONSE] = "RDMA_CM_EVENT_CONNECT_RESPONSE",
	[RDMA_CM_EVENT_CONNECT_ERROR] = "RDMA_CM_EVENT_CONNECT_ERROR",
	[RDMA_CM_EVENT_UNREACHABLE] = "RDMA_CM_EVENT_UNREACHABLE",
	[RDMA_CM_EVENT_REJECTED] = "RDMA_CM_EVENT_REJECTED",
	[RDMA_CM_EVENT_ESTABLISHED] = "RDMA_CM_EVENT_ESTABLISHED",
	[RDMA_CM_EVENT_DISCONNECTED] = "RDMA_CM_EVENT_DISCONNECTED",
	[RDMA_CM_EVENT_DEVICE_REMOVAL] = "RDMA_CM_EVENT_DEVICE_REMOVAL",
	[RDMA_CM_EVENT_MULTICAST_JOIN] = "RDMA_CM_EVENT_MULTICAST_JOIN",
	[RDMA_CM_EVENT_MULTICAST_ERROR] = "RDMA_CM_EVENT_MULTICAST_ERROR",
	[RDMA_CM_EVENT_ADDR_CHANGE] = "RDMA_CM_EVENT_ADDR_CHANGE",
	[RDMA_CM_EVENT_TIMEWAIT_EXIT] = "RDMA_CM_EVENT_TIMEWAIT_EXIT",
};

RB_EXPORT const char *rdma_event_str(enum rdma_cm_event_type event)
{
	if ((size_t)event < sizeof(cmc_event_names) / sizeof(cmc_event_names[0]) &&
	    cmc_event_names[event])
		return cmc_event_names[event];
	return "UNKNOWN EVENT";
}

static void cmc_qp_params(const struct cmc_id *p, struct rb_cm_qp_params *c);

static void cmc_ah_attr(const struct cmc_id *p, struct ibv_ah_attr *ah)
{
	struct rb_cm_qp_params c;

	cmc_qp_params(p, &c);
	rb_cm_ah_attr(&c, ah);
}

static int cmc_modify(struct cmc_id *p, enum ibv_qp_state st);
static int cmc_modify_rtr_rts(struct cmc_id *p);

/* The RTU for a connect response the library took (asynchronously). */
static int cmc_establish(struct cmc_id *p)
{
	Rdmabroker__CmIdReq body = RDMABROKER__CM_ID_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *rep;
	int ret;

	body.handle = p->handle;
	CMC_REQ(req, cm_establish, CM_ESTABLISH, &body);
	ret = cmc_call_async(p, &req, &body.has_async, &body.async, &rep);
	if (ret == 0)
		rb_rpc_reply_free(rep);
	return ret < 0 ? ret : 0;
}

/* MULTICAST_JOIN: the group's address vector, the join's context, and
 * the id's QP attached, as librdmacm does. */
static void cmc_join_event(struct cmc_id *p, const Rdmabroker__CmConnParam *m,
			   struct rdma_cm_event *ev)
{
	struct cmc_join *j;

	if (!m || !m->has_mgid || m->mgid.len != 16)
		return;
	pthread_mutex_lock(&p->mut);
	for (j = p->joins; j; j = j->next)
		if (!memcmp(j->mgid.raw, m->mgid.data, 16))
			break;
	pthread_mutex_unlock(&p->mut);
	memset(&ev->param.ud, 0, sizeof(ev->param.ud));
	ev->param.ud.ah_attr.is_global = 1;
	memcpy(ev->param.ud.ah_attr.grh.dgid.raw, m->mgid.data, 16);
	ev->param.ud.ah_attr.grh.hop_limit = 1;
	ev->param.ud.ah_attr.port_num = p->id.port_num ? p->id.port_num : 1;
	ev->param.ud.qp_num = m->qp_num;
	ev->param.ud.qkey = m->qkey;
	if (!j)
		return;
	ev->param.ud.private_data = j->context;
	if (p->id.qp && !j->send_only && !j->attached) {
		int ret = ibv_attach_mcast(p->id.qp, &j->mgid, 0);

		if (ret) {
			ev->event = RDMA_CM_EVENT_MULTICAST_ERROR;
			ev->status = -ret;
		} else {
			j->attached = true;
		}
	}
}

/* One event of a channel's socket, taken into its id; 1 when it is for
 * the application, 0 when it was for an id that is gone (dropped). */
static int cmc_event_take(struct cmc_channel *ch, const Rdmabroker__CmEvent *m,
			  struct cmc_event *e)
{
	struct cmc_id *p = cmc_id_find(ch, m->id), *child = NULL;
	struct rdma_cm_event *ev = &e->event;

	if (!p)
		return 0;
	memset(e, 0, sizeof(*e));
	ev->event = m->event;
	ev->status = m->status;
	ev->id = &p->id;
	e->owner = p;
	if (m->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
		if (!m->info)
			return 0;
		child = cmc_id_alloc(&ch->ch, p->id.context, p->id.ps, p->id.qp_type);
		if (!child)
			return 0;	/* the daemon's id goes with the session */
		child->handle = m->info->handle;
		cmc_info_take(child, m->info);
		child->id.route.path_rec = &child->path;
		child->id.route.num_paths = 1;
		cmc_id_link(child);
		ev->id = &child->id;
		ev->listen_id = &p->id;
	} else if (m->info) {
		cmc_info_take(p, m->info);
	}
	if (m->param && m->param->has_private_data) {
		size_t n = m->param->private_data.len;

		if (n > sizeof(e->pdata))
			n = sizeof(e->pdata);
		if (n)
			memcpy(e->pdata, m->param->private_data.data, n);
		if (p->id.qp_type == IBV_QPT_UD) {
			ev->param.ud.private_data = e->pdata;
			ev->param.ud.private_data_len = (uint8_t)n;
		} else {
			ev->param.conn.private_data = e->pdata;
			ev->param.conn.private_data_len = (uint8_t)n;
		}
	}
	if (m->param && p->id.qp_type != IBV_QPT_UD) {
		ev->param.conn.responder_resources = (uint8_t)m->param->responder_resources;
		ev->param.conn.initiator_depth = (uint8_t)m->param->initiator_depth;
		ev->param.conn.flow_control = (uint8_t)m->param->flow_control;
		ev->param.conn.retry_count = (uint8_t)m->param->retry_count;
		ev->param.conn.rnr_retry_count = (uint8_t)m->param->rnr_retry_count;
		ev->param.conn.srq = (uint8_t)m->param->srq;
		ev->param.conn.qp_num = m->param->qp_num;
	}
	switch (m->event) {
	case RDMA_CM_EVENT_ESTABLISHED:
		/* The daemon moved it (RTR, RTS) before the RTU. */
		if (p->daemon_qp && p->id.qp)
			p->id.qp->state = IBV_QPS_RTS;
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		p->id.route.path_rec = &p->path;
		p->id.route.num_paths = 1;
		break;
	case RDMA_CM_EVENT_CONNECT_RESPONSE:
		/* With a QP: to RTR and RTS, RTU, and ESTABLISHED for the
		 * application, as librdmacm does it. */
		if (!p->id.qp)
			break;
		if (cmc_modify_rtr_rts(p) < 0) {
			Rdmabroker__CmRejectReq body = RDMABROKER__CM_REJECT_REQ__INIT;
			Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
			Rdmabroker__Reply *rep;

			body.handle = p->handle;
			CMC_REQ(req, cm_reject, CM_REJECT, &body);
			if (cmc_call(&req, &rep, NULL, 0, NULL) == 0)
				rb_rpc_reply_free(rep);
			ev->event = RDMA_CM_EVENT_CONNECT_ERROR;
			ev->status = -errno;
			break;
		}
		if (cmc_establish(p) < 0) {
			ev->event = RDMA_CM_EVENT_CONNECT_ERROR;
			ev->status = -EIO;
			break;
		}
		ev->event = RDMA_CM_EVENT_ESTABLISHED;
		break;
	case RDMA_CM_EVENT_REJECTED:
		/* As librdmacm: the QP of a refused or given-up connection
		 * goes to the error state, flushing what was posted. */
		if (p->id.qp)
			cmc_modify(p, IBV_QPS_ERR);
		break;
	default:
		break;
	}
	if (p->id.qp_type == IBV_QPT_UD && m->param &&
	    (m->event == RDMA_CM_EVENT_ESTABLISHED ||
	     m->event == RDMA_CM_EVENT_CONNECT_REQUEST)) {
		struct cmc_id *peer = child ? child : p;

		cmc_ah_attr(peer, &ev->param.ud.ah_attr);
		ev->param.ud.qp_num = m->param->qp_num;
		ev->param.ud.qkey = m->param->qkey;
	}
	if (m->event == RDMA_CM_EVENT_MULTICAST_JOIN)
		cmc_join_event(p, m->param, ev);
	pthread_mutex_lock(&p->mut);
	p->events_delivered++;
	pthread_mutex_unlock(&p->mut);
	return 1;
}

/* The daemon is gone: DEVICE_REMOVAL once for each id of the channel
 * that had a device, as the kernel gives it when a device goes. */
static int cmc_event_removal(struct cmc_channel *ch, struct cmc_event *e)
{
	struct cmc_id *p = NULL;

	pthread_mutex_lock(&cmc.lock);
	for (size_t i = 0, found = 0; i < cmc.nbuckets && !found; i++)
		for (p = cmc.ids[i]; p; p = p->next)
			if (p->id.channel == &ch->ch && !p->removal_reported) {
				found = 1;
				break;
			}
	if (p)
		p->removal_reported = true;
	pthread_mutex_unlock(&cmc.lock);
	if (!p)
		return -ENODEV;
	memset(e, 0, sizeof(*e));
	e->event.event = RDMA_CM_EVENT_DEVICE_REMOVAL;
	e->event.id = &p->id;
	e->owner = p;
	pthread_mutex_lock(&p->mut);
	p->events_delivered++;
	pthread_mutex_unlock(&p->mut);
	return 0;
}

RB_EXPORT int rdma_get_cm_event(struct rdma_event_channel *channel,
				struct rdma_cm_event **event)
{
	struct cmc_channel *ch = (struct cmc_channel *)channel;
	struct cmc_event *e;
	int ret;

	if (!channel || !event)
		return cmc_err(-EINVAL);
	e = malloc(sizeof(*e));
	if (!e)
		return cmc_err(-ENOMEM);
	__atomic_add_fetch(&ch->readers, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&ch->lock);
	for (;;) {
		struct rb_wire_msg msg;
		Rdmabroker__Event *ev;

		if (__atomic_load_n(&ch->destroyed, __ATOMIC_SEQ_CST)) {
			/* Destroyed under us: nothing comes any more.  The
			 * struct is left to this thread, which never returns
			 * (as a read on a closed ucma fd never does). */
			pthread_mutex_unlock(&ch->lock);
			free(e);
			for (;;)
				pause();
		}
		if (ch->eof) {
			ret = cmc_event_removal(ch, e);
			break;
		}
		/* Blocking or not as the application set the fd. */
		ret = rb_wire_recv(ch->ch.fd, ch->rxbuf, &msg, 0);
		if (ret == -EINTR)
			continue;
		if (ret == 0) {
			ch->eof = true;
			continue;
		}
		if (ret < 0)
			break;
		if (msg.kind != RB_WIRE_EVENT)
			continue;
		ev = rdmabroker__event__unpack(NULL, msg.len, msg.payload);
		if (!ev)
			continue;
		ret = ev->body_case == RDMABROKER__EVENT__BODY_CM_EVENT ?
		      cmc_event_take(ch, ev->cm_event, e) : 0;
		rdmabroker__event__free_unpacked(ev, NULL);
		if (ret == 1) {
			ret = 0;
			break;
		}
	}
	if (ret == -ENODEV) {
		/* Every id has had its DEVICE_REMOVAL: as a ucma fd whose
		 * device is gone, nothing more comes. */
		bool nonblock = fcntl(channel->fd, F_GETFL) > 0 &&
				(fcntl(channel->fd, F_GETFL) & O_NONBLOCK);

		pthread_mutex_unlock(&ch->lock);
		__atomic_sub_fetch(&ch->readers, 1, __ATOMIC_SEQ_CST);
		free(e);
		if (nonblock)
			return cmc_err(-EAGAIN);
		while (poll(NULL, 0, -1) < 0 && errno != EINTR)
			;
		return cmc_err(-EINTR);
	}
	pthread_mutex_unlock(&ch->lock);
	__atomic_sub_fetch(&ch->readers, 1, __ATOMIC_SEQ_CST);
	if (ret < 0) {
		free(e);
		return cmc_err(ret);
	}
	*event = &e->event;
	return 0;
}

RB_EXPORT int rdma_ack_cm_event(struct rdma_cm_event *event)
{
	struct cmc_event *e = (struct cmc_event *)event;
	struct cmc_id *p;

	if (!event)
		return cmc_err(-EINVAL);
	p = e->owner;
	pthread_mutex_lock(&p->mut);
	p->events_acked++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mut);
	free(e);
	return 0;
}

/* A synchronous id: wait for the event of the step just started. */
static int cmc_complete(struct cmc_id *p)
{
	struct rdma_cm_event *ev;

	if (!p->sync)
		return 0;
	if (rdma_get_cm_event(p->id.channel, &ev))
		return -1;
	p->id.event = ev;
	if (ev->status) {
		if (ev->event == RDMA_CM_EVENT_REJECTED)
			return cmc_err(-ECONNREFUSED);
		return cmc_err(ev->status < 0 ? ev->status : -ev->status);
	}
	if (ev->event == RDMA_CM_EVENT_ADDR_ERROR ||
	    ev->event == RDMA_CM_EVENT_ROUTE_ERROR ||
	    ev->event == RDMA_CM_EVENT_CONNECT_ERROR ||
	    ev->event == RDMA_CM_EVENT_UNREACHABLE)
		return cmc_err(-EHOSTUNREACH);
	return 0;
}

/* ------------------------------------------------------------ addresses */

static socklen_t cmc_sa_len(const struct sockaddr *sa)
{
	return !sa ? 0 : sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	       sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
}

RB_EXPORT int rdma_bind_addr(struct rdma_cm_id *id, struct sockaddr *addr)
{
	Rdmabroker__CmBindReq body = RDMABROKER__CM_BIND_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	int ret;

	if (!id || !cmc_sa_len(addr))
		return cmc_err(!id || !addr ? -EINVAL : -EAFNOSUPPORT);
	body.handle = p->handle;
	body.addr.data = (uint8_t *)addr;
	body.addr.len = cmc_sa_len(addr);
	CMC_REQ(req, cm_bind, CM_BIND, &body);
	ret = cmc_call(&req, &rep, NULL, 0, NULL);
	if (ret == 0)
		ret = cmc_id_reply(p, rep, rep->cm_bind);
	return cmc_err(ret);
}

RB_EXPORT int rdma_resolve_addr(struct rdma_cm_id *id, struct sockaddr *src_addr,
				struct sockaddr *dst_addr, int timeout_ms)
{
	Rdmabroker__CmResolveAddrReq body = RDMABROKER__CM_RESOLVE_ADDR_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	int ret;

	if (!id || !cmc_sa_len(dst_addr))
		return cmc_err(!id || !dst_addr ? -EINVAL : -EAFNOSUPPORT);
	cmc_ack_sync(p);
	body.handle = p->handle;
	if (src_addr && src_addr->sa_family) {
		body.has_src_addr = 1;
		body.src_addr.data = (uint8_t *)src_addr;
		body.src_addr.len = cmc_sa_len(src_addr);
	}
	body.dst_addr.data = (uint8_t *)dst_addr;
	body.dst_addr.len = cmc_sa_len(dst_addr);
	body.timeout_ms = timeout_ms > 0 ? (uint32_t)timeout_ms : 0;
	CMC_REQ(req, cm_resolve_addr, CM_RESOLVE_ADDR, &body);
	ret = cmc_call_async(p, &req, &body.has_async, &body.async, &rep);
	if (ret == 0)
		ret = cmc_id_reply(p, rep, rep->cm_resolve_addr);
	if (ret < 0)
		return cmc_err(ret);
	memcpy(&id->route.addr.dst_storage, dst_addr, cmc_sa_len(dst_addr));
	return cmc_complete(p);
}

RB_EXPORT int rdma_resolve_route(struct rdma_cm_id *id, int timeout_ms)
{
	Rdmabroker__CmResolveRouteReq body = RDMABROKER__CM_RESOLVE_ROUTE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	int ret;

	if (!id)
		return cmc_err(-EINVAL);
	cmc_ack_sync(p);
	body.handle = p->handle;
	body.timeout_ms = timeout_ms > 0 ? (uint32_t)timeout_ms : 0;
	CMC_REQ(req, cm_resolve_route, CM_RESOLVE_ROUTE, &body);
	ret = cmc_call_async(p, &req, &body.has_async, &body.async, &rep);
	if (ret == 0)
		ret = cmc_id_reply(p, rep, rep->cm_resolve_route);
	if (ret < 0)
		return cmc_err(ret);
	return cmc_complete(p);
}

RB_EXPORT int rdma_listen(struct rdma_cm_id *id, int backlog)
{
	Rdmabroker__CmListenReq body = RDMABROKER__CM_LISTEN_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	int ret;

	if (!id)
		return cmc_err(-EINVAL);
	body.handle = p->handle;
	body.backlog = backlog;
	CMC_REQ(req, cm_listen, CM_LISTEN, &body);
	ret = cmc_call(&req, &rep, NULL, 0, NULL);
	if (ret == 0)
		ret = cmc_id_reply(p, rep, rep->cm_listen);
	return cmc_err(ret);
}

RB_EXPORT __be16 rdma_get_src_port(struct rdma_cm_id *id)
{
	const struct sockaddr *sa = &id->route.addr.src_addr;

	return sa->sa_family == AF_INET6 ? id->route.addr.src_sin6.sin6_port :
	       sa->sa_family == AF_INET ? id->route.addr.src_sin.sin_port : 0;
}

RB_EXPORT __be16 rdma_get_dst_port(struct rdma_cm_id *id)
{
	const struct sockaddr *sa = &id->route.addr.dst_addr;

	return sa->sa_family == AF_INET6 ? id->route.addr.dst_sin6.sin6_port :
	       sa->sa_family == AF_INET ? id->route.addr.dst_sin.sin_port : 0;
}

/* ------------------------------------------------------------ QPs */

/* What the library knows of the id, as proto/cm-qp.h takes it. */
static void cmc_qp_params(const struct cmc_id *p, struct rb_cm_qp_params *c)
{
	const struct cmc_info *i = &p->info;

	memset(c, 0, sizeof(*c));
	c->qp_type = p->id.qp_type;
	c->port_num = p->id.port_num;
	c->qkey = i->qkey;
	c->dgid = i->dgid;
	c->sgid_index = i->sgid_index;
	c->tos = i->tos;
	c->mtu = i->mtu;
	c->remote_qpn = i->remote_qpn;
	c->remote_psn = i->remote_psn;
	c->local_psn = i->local_psn;
	c->resp_res = i->resp_res;
	c->init_depth = i->init_depth;
	c->retry = i->retry;
	c->rnr_retry = i->rnr_retry;
	c->timeout = i->timeout;
}

RB_EXPORT int rdma_init_qp_attr(struct rdma_cm_id *id, struct ibv_qp_attr *qp_attr,
				int *qp_attr_mask)
{
	struct rb_cm_qp_params c;

	if (!id || !qp_attr || !qp_attr_mask)
		return cmc_err(-EINVAL);
	cmc_qp_params((struct cmc_id *)id, &c);
	rb_cm_qp_attr(&c, qp_attr, qp_attr_mask);
	return 0;
}

static int cmc_modify(struct cmc_id *p, enum ibv_qp_state st)
{
	struct ibv_qp_attr attr = { .qp_state = st };
	int mask, ret;

	if (rdma_init_qp_attr(&p->id, &attr, &mask))
		return -1;
	ret = ibv_modify_qp(p->id.qp, &attr, mask);
	return ret ? cmc_err(-ret) : 0;
}

static int cmc_modify_rtr_rts(struct cmc_id *p)
{
	struct ibv_qp_attr attr;
	struct rb_cm_qp_params c;
	int mask, ret;

	cmc_qp_params(p, &c);
	rb_cm_qp_attr_rtr(&c, &attr, &mask);
	ret = ibv_modify_qp(p->id.qp, &attr, mask);
	if (ret)
		return cmc_err(-ret);
	return cmc_modify(p, IBV_QPS_RTS);
}

static int cmc_create_cqs(struct cmc_id *p, uint32_t send_size, uint32_t recv_size)
{
	struct rdma_cm_id *id = &p->id;

	id->recv_cq_channel = ibv_create_comp_channel(id->verbs);
	if (!id->recv_cq_channel)
		goto err;
	id->recv_cq = ibv_create_cq(id->verbs, (int)(recv_size ? recv_size : 1),
				    id, id->recv_cq_channel, 0);
	if (!id->recv_cq)
		goto err;
	id->send_cq_channel = ibv_create_comp_channel(id->verbs);
	if (!id->send_cq_channel)
		goto err;
	id->send_cq = ibv_create_cq(id->verbs, (int)(send_size ? send_size : 1),
				    id, id->send_cq_channel, 0);
	if (!id->send_cq)
		goto err;
	p->own_cqs = true;
	return 0;
err:
	p->own_cqs = true;
	cmc_destroy_cqs(p);
	return cmc_err(-ENOMEM);
}

/*
 * The QP created and moved where rdma_cm leaves it (INIT; a UD QP on to
 * RTS) in one request to the daemon, not two (four): one round trip
 * fewer on each side of a connection (cmtime's connect rate).  Returns
 * 0 when the caller should take the old path (RDMABROKER_CM_SYNC, a
 * basic attr the extended call would refuse), 1 with *qp set or NULL
 * and errno.  The attributes are rdma_init_qp_attr()'s, as cmc_modify()
 * gives them one state at a time.
 */
static int cmc_create_qp_moved(struct cmc_id *p, struct ibv_qp_init_attr_ex *attr,
			       struct ibv_qp **qp)
{
	static const enum ibv_qp_state ud[] = { IBV_QPS_INIT, IBV_QPS_RTR, IBV_QPS_RTS };
	struct ibv_qp_attr mods[3];
	int masks[3];
	size_t n = p->id.qp_type == IBV_QPT_UD ? 3 : 1;
	bool ok;

	if (attr->comp_mask & ~(uint32_t)(IBV_QP_INIT_ATTR_PD |
					  IBV_QP_INIT_ATTR_SEND_OPS_FLAGS) ||
	    attr->qp_type == IBV_QPT_XRC_RECV)
		return 0;
	pthread_mutex_lock(&cmc.lock);
	ok = cmc_connect_locked() == 0 && cmc.async;
	pthread_mutex_unlock(&cmc.lock);
	if (!ok)
		return 0;
	for (size_t i = 0; i < n; i++) {
		memset(&mods[i], 0, sizeof(mods[i]));
		mods[i].qp_state = ud[i];
		if (rdma_init_qp_attr(&p->id, &mods[i], &masks[i])) {
			*qp = NULL;
			return 1;
		}
	}
	*qp = rdmab_create_qp_modify(attr, mods, masks, n);
	return 1;
}

RB_EXPORT int rdma_create_qp_ex(struct rdma_cm_id *id,
				struct ibv_qp_init_attr_ex *attr)
{
	struct cmc_id *p = (struct cmc_id *)id;
	struct ibv_qp *qp;
	bool made_cqs = false;

	if (!id || !attr || id->qp)
		return cmc_err(-EINVAL);
	if (!id->verbs)
		return cmc_err(-EINVAL);
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_PD) || !attr->pd) {
		attr->pd = id->pd;
		attr->comp_mask |= IBV_QP_INIT_ATTR_PD;
	}
	if (!attr->pd || attr->pd->context != id->verbs)
		return cmc_err(-EINVAL);
	if (!attr->srq && id->srq)
		attr->srq = id->srq;
	if (!attr->send_cq && !attr->recv_cq && !id->send_cq) {
		if (cmc_create_cqs(p, attr->cap.max_send_wr, attr->cap.max_recv_wr))
			return -1;
		made_cqs = true;
	}
	if (!attr->send_cq)
		attr->send_cq = id->send_cq;
	if (!attr->recv_cq)
		attr->recv_cq = id->recv_cq;
	if (cmc_create_qp_moved(p, attr, &qp) == 1) {
		/* created and moved, or NULL and errno */
	} else if (attr->comp_mask == IBV_QP_INIT_ATTR_PD) {
		qp = ibv_create_qp(attr->pd, (struct ibv_qp_init_attr *)attr);
	} else {
		qp = ibv_create_qp_ex(id->verbs, attr);
	}
	if (!qp) {
		int err = errno;

		if (made_cqs)
			cmc_destroy_cqs(p);
		return cmc_err(-err);
	}
	id->qp = qp;
	if (qp->state != IBV_QPS_RESET)
		return 0;	/* moved by the daemon on creation */
	/* INIT as rdma_cm leaves it; a UD QP goes on to RTS at once. */
	if (cmc_modify(p, IBV_QPS_INIT) ||
	    (id->qp_type == IBV_QPT_UD &&
	     (cmc_modify(p, IBV_QPS_RTR) || cmc_modify(p, IBV_QPS_RTS)))) {
		int err = errno;

		ibv_destroy_qp(qp);
		id->qp = NULL;
		if (made_cqs)
			cmc_destroy_cqs(p);
		return cmc_err(-err);
	}
	return 0;
}

RB_EXPORT int rdma_create_qp(struct rdma_cm_id *id, struct ibv_pd *pd,
			     struct ibv_qp_init_attr *qp_init_attr)
{
	struct ibv_qp_init_attr_ex ex;
	int ret;

	if (!id || !qp_init_attr)
		return cmc_err(-EINVAL);
	memset(&ex, 0, sizeof(ex));
	memcpy(&ex, qp_init_attr, sizeof(*qp_init_attr));
	ex.comp_mask = IBV_QP_INIT_ATTR_PD;
	ex.pd = pd ? pd : id->pd;
	ex.qp_type = qp_init_attr->qp_type ? qp_init_attr->qp_type : id->qp_type;
	ret = rdma_create_qp_ex(id, &ex);
	if (ret == 0) {
		qp_init_attr->cap = ex.cap;
		qp_init_attr->send_cq = ex.send_cq;
		qp_init_attr->recv_cq = ex.recv_cq;
	}
	return ret;
}

RB_EXPORT void rdma_destroy_qp(struct rdma_cm_id *id)
{
	struct cmc_id *p = (struct cmc_id *)id;

	if (!id || !id->qp)
		return;
	ibv_destroy_qp(id->qp);
	id->qp = NULL;
	cmc_destroy_cqs(p);
}

RB_EXPORT int rdma_create_srq_ex(struct rdma_cm_id *id,
				 struct ibv_srq_init_attr_ex *attr)
{
	struct ibv_srq_init_attr a;
	struct ibv_srq *srq;

	if (!id || !attr || !id->verbs)
		return cmc_err(-EINVAL);
	if (attr->srq_type != IBV_SRQT_BASIC && (attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE))
		return cmc_err(-EOPNOTSUPP);
	memset(&a, 0, sizeof(a));
	a.srq_context = attr->srq_context;
	a.attr = attr->attr;
	srq = ibv_create_srq((attr->comp_mask & IBV_SRQ_INIT_ATTR_PD) && attr->pd ?
			     attr->pd : id->pd, &a);
	if (!srq)
		return -1;
	attr->attr = a.attr;
	id->srq = srq;
	return 0;
}

RB_EXPORT int rdma_create_srq(struct rdma_cm_id *id, struct ibv_pd *pd,
			      struct ibv_srq_init_attr *attr)
{
	struct ibv_srq_init_attr_ex ex;
	int ret;

	if (!attr)
		return cmc_err(-EINVAL);
	memset(&ex, 0, sizeof(ex));
	ex.srq_context = attr->srq_context;
	ex.attr = attr->attr;
	ex.comp_mask = IBV_SRQ_INIT_ATTR_PD;
	ex.pd = pd;
	ret = rdma_create_srq_ex(id, &ex);
	if (ret == 0)
		attr->attr = ex.attr;
	return ret;
}

RB_EXPORT void rdma_destroy_srq(struct rdma_cm_id *id)
{
	if (id && id->srq) {
		ibv_destroy_srq(id->srq);
		id->srq = NULL;
	}
}

/* ------------------------------------------------------------ connections */

static void cmc_param_fill(struct cmc_id *p, Rdmabroker__CmConnParam *m,
			   const struct rdma_conn_param *c, bool accept)
{
	const struct cmc_dev *d = p->info.has_dev && p->info.dev_index < CMC_MAX_DEVICES ?
				  &cmc.devs[p->info.dev_index] : NULL;
	uint32_t max_rd = d && d->attr.max_qp_rd_atom ? (uint32_t)d->attr.max_qp_rd_atom : 16;
	uint32_t max_init = d && d->attr.max_qp_init_rd_atom ?
			    (uint32_t)d->attr.max_qp_init_rd_atom : 16;

	m->has_responder_resources = m->has_initiator_depth = 1;
	m->has_retry_count = m->has_rnr_retry_count = 1;
	m->has_flow_control = m->has_srq = m->has_qp_num = 1;
	if (c) {
		if (c->private_data && c->private_data_len) {
			m->has_private_data = 1;
			m->private_data.data = (uint8_t *)c->private_data;
			m->private_data.len = c->private_data_len;
		}
		m->responder_resources = c->responder_resources;
		m->initiator_depth = c->initiator_depth;
		m->retry_count = c->retry_count;
		m->rnr_retry_count = c->rnr_retry_count;
		m->flow_control = c->flow_control;
		m->srq = c->srq;
		m->qp_num = c->qp_num;
	} else {
		/* librdmacm's defaults without parameters. */
		m->responder_resources = accept ? p->info.resp_res : max_rd;
		m->initiator_depth = accept ? p->info.init_depth : max_init;
		m->retry_count = 7;
		m->rnr_retry_count = 7;
		m->flow_control = 1;
	}
	if (m->responder_resources > max_rd)
		m->responder_resources = max_rd;
	if (m->initiator_depth > max_init)
		m->initiator_depth = max_init;
	if (p->id.qp) {
		m->qp_num = p->id.qp->qp_num;
		m->srq = p->id.qp->srq != NULL;
	}
	if (accept)
		m->retry_count = p->info.retry;
}

RB_EXPORT int rdma_connect(struct rdma_cm_id *id, struct rdma_conn_param *conn_param)
{
	Rdmabroker__CmConnectReq body = RDMABROKER__CM_CONNECT_REQ__INIT;
	Rdmabroker__CmConnParam param = RDMABROKER__CM_CONN_PARAM__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	int ret;

	if (!id)
		return cmc_err(-EINVAL);
	/* Refused here too, not as an event, when the daemon's answer
	 * comes asynchronously: the IB CM's sizes less rdma_cm's header. */
	if (conn_param && conn_param->private_data_len >
	    (id->qp_type == IBV_QPT_UD ? 216 - 36 : 92 - 36))
		return cmc_err(-EINVAL);
	cmc_ack_sync(p);
	cmc_param_fill(p, &param, conn_param, false);
	if (id->qp_type == IBV_QPT_UD && id->qp) {
		param.has_qkey = 1;
		param.qkey = p->info.qkey;
	}
	p->daemon_qp = cmc_daemon_qp(p);
	if (p->daemon_qp) {
		body.has_qp_handle = 1;
		body.qp_handle = id->qp->handle;
	}
	body.handle = p->handle;
	body.param = &param;
	CMC_REQ(req, cm_connect, CM_CONNECT, &body);
	ret = cmc_call_async(p, &req, &body.has_async, &body.async, &rep);
	if (ret == 0)
		ret = cmc_id_reply(p, rep, rep->cm_connect);
	if (ret < 0)
		return cmc_err(ret);
	return cmc_complete(p);
}

RB_EXPORT int rdma_accept(struct rdma_cm_id *id, struct rdma_conn_param *conn_param)
{
	Rdmabroker__CmConnectReq body = RDMABROKER__CM_CONNECT_REQ__INIT;
	Rdmabroker__CmConnParam param = RDMABROKER__CM_CONN_PARAM__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	int ret;

	if (!id)
		return cmc_err(-EINVAL);
	/* As rdma_connect: the REP's (or SIDR_REP's) private data. */
	if (conn_param && conn_param->private_data_len >
	    (id->qp_type == IBV_QPT_UD ? 136 : 196))
		return cmc_err(-EINVAL);
	cmc_param_fill(p, &param, conn_param, true);
	p->daemon_qp = cmc_daemon_qp(p);
	if (p->daemon_qp) {
		/* The daemon moves it to RTS before its REP.  Not waited
		 * for on an id with a channel of the application's: what
		 * the application posts once this returns waits in the
		 * rings, since both drivers take a send queue's work only
		 * in RTS; a failure is the id's CONNECT_ERROR. */
		body.has_qp_handle = 1;
		body.qp_handle = id->qp->handle;
		body.handle = p->handle;
		body.param = &param;
		CMC_REQ(req, cm_accept, CM_ACCEPT, &body);
		ret = cmc_call_async(p, &req, &body.has_async, &body.async, &rep);
		if (ret == 0)
			ret = cmc_id_reply(p, rep, rep->cm_accept);
		if (ret < 0)
			return cmc_err(ret);
		if (ret == 1) {
			p->info.resp_res = (uint8_t)param.responder_resources;
			p->info.init_depth = (uint8_t)param.initiator_depth;
		}
		id->qp->state = IBV_QPS_RTS;
		cmc_ack_sync(p);
		return cmc_complete(p);
	} else if (id->qp_type != IBV_QPT_UD && id->qp) {
		/* Ours must receive before the REP can make the peer send. */
		p->info.resp_res = (uint8_t)param.responder_resources;
		p->info.init_depth = (uint8_t)param.initiator_depth;
		if (conn_param)
			p->info.rnr_retry = conn_param->rnr_retry_count;
		if (cmc_modify_rtr_rts(p)) {
			ret = -errno;
			rdma_reject(id, NULL, 0);
			return cmc_err(ret);
		}
	}
	if (id->qp_type == IBV_QPT_UD) {
		param.has_qkey = 1;
		param.qkey = p->info.qkey ? p->info.qkey : RDMA_UDP_QKEY;
	}
	body.handle = p->handle;
	body.param = &param;
	CMC_REQ(req, cm_accept, CM_ACCEPT, &body);
	ret = cmc_call_async(p, &req, &body.has_async, &body.async, &rep);
	if (ret == 0)
		ret = cmc_id_reply(p, rep, rep->cm_accept);
	if (ret < 0)
		return cmc_err(ret);
	if (id->qp_type == IBV_QPT_UD)
		return 0;
	cmc_ack_sync(p);
	return cmc_complete(p);
}

RB_EXPORT int rdma_reject(struct rdma_cm_id *id, const void *private_data,
			  uint8_t private_data_len)
{
	Rdmabroker__CmRejectReq body = RDMABROKER__CM_REJECT_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	int ret;

	if (!id)
		return cmc_err(-EINVAL);
	body.handle = p->handle;
	if (private_data && private_data_len) {
		body.has_private_data = 1;
		body.private_data.data = (uint8_t *)private_data;
		body.private_data.len = private_data_len;
	}
	CMC_REQ(req, cm_reject, CM_REJECT, &body);
	ret = cmc_call(&req, &rep, NULL, 0, NULL);
	if (ret == 0)
		rb_rpc_reply_free(rep);
	return cmc_err(ret);
}

RB_EXPORT int rdma_disconnect(struct rdma_cm_id *id)
{
	struct cmc_id *p = (struct cmc_id *)id;

	if (!id)
		return cmc_err(-EINVAL);
	/* As librdmacm on IB: the QP stops first. */
	if (id->qp)
		cmc_modify(p, IBV_QPS_ERR);
	return cmc_err(cmc_simple(p->handle, RDMABROKER__REQUEST__BODY_CM_DISCONNECT));
}

RB_EXPORT int rdma_establish(struct rdma_cm_id *id)
{
	struct cmc_id *p = (struct cmc_id *)id;

	if (!id)
		return cmc_err(-EINVAL);
	if (id->qp && cmc_modify_rtr_rts(p))
		return -1;
	return cmc_err(cmc_simple(p->handle, RDMABROKER__REQUEST__BODY_CM_ESTABLISH));
}

RB_EXPORT int rdma_notify(struct rdma_cm_id *id, enum ibv_event_type event)
{
	Rdmabroker__CmNotifyReq body = RDMABROKER__CM_NOTIFY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	int ret;

	if (!id)
		return cmc_err(-EINVAL);
	body.handle = p->handle;
	body.event = event;
	CMC_REQ(req, cm_notify, CM_NOTIFY, &body);
	ret = cmc_call(&req, &rep, NULL, 0, NULL);
	if (ret == 0)
		rb_rpc_reply_free(rep);
	return cmc_err(ret);
}

RB_EXPORT int rdma_migrate_id(struct rdma_cm_id *id,
			      struct rdma_event_channel *channel)
{
	Rdmabroker__CmMigrateReq body = RDMABROKER__CM_MIGRATE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	struct cmc_channel *own = NULL, *old = p ? p->own_channel : NULL;
	Rdmabroker__Reply *rep;
	int ret;

	if (!id)
		return cmc_err(-EINVAL);
	if (!channel) {
		own = cmc_channel_new();
		if (!own)
			return -1;
		channel = &own->ch;
	}
	body.handle = p->handle;
	body.channel = ((struct cmc_channel *)channel)->handle;
	CMC_REQ(req, cm_migrate, CM_MIGRATE, &body);
	ret = cmc_call(&req, &rep, NULL, 0, NULL);
	if (ret == 0)
		ret = cmc_id_reply(p, rep, rep->cm_migrate);
	if (ret < 0) {
		if (own)
			cmc_channel_free(own);
		return cmc_err(ret);
	}
	pthread_mutex_lock(&cmc.lock);
	id->channel = channel;
	pthread_mutex_unlock(&cmc.lock);
	p->sync = own != NULL;
	p->own_channel = own;
	if (old)
		cmc_channel_free(old);
	return 0;
}

RB_EXPORT int rdma_set_option(struct rdma_cm_id *id, int level, int optname,
			      void *optval, size_t optlen)
{
	Rdmabroker__CmSetOptionReq body = RDMABROKER__CM_SET_OPTION_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	uint64_t v = 0;
	int ret;

	if (!id || !optval || level < 0 || optname < 0)
		return cmc_err(-EINVAL);
	if (optlen == 1)
		v = *(uint8_t *)optval;
	else if (optlen == sizeof(int))
		v = (uint64_t)(int64_t)*(int *)optval;
	else if (level == RDMA_OPTION_ID)
		return cmc_err(-EINVAL);
	body.handle = p->handle;
	body.level = (uint32_t)level;
	body.optname = (uint32_t)optname;
	body.value = v;
	CMC_REQ(req, cm_set_option, CM_SET_OPTION, &body);
	ret = cmc_call(&req, &rep, NULL, 0, NULL);
	if (ret == 0)
		rb_rpc_reply_free(rep);
	return cmc_err(ret);
}

/* ------------------------------------------------------------ convenience */

RB_EXPORT int rdma_create_ep(struct rdma_cm_id **id, struct rdma_addrinfo *res,
			     struct ibv_pd *pd, struct ibv_qp_init_attr *qp_init_attr)
{
	struct rdma_cm_id *cm_id;
	struct cmc_id *p;
	int ret;

	if (!id || !res)
		return cmc_err(-EINVAL);
	ret = cmc_create_id(NULL, &cm_id, NULL, (enum rdma_port_space)res->ai_port_space,
			    res->ai_qp_type ? (enum ibv_qp_type)res->ai_qp_type :
			    cmc_ps_qp_type((enum rdma_port_space)res->ai_port_space));
	if (ret)
		return ret;
	p = (struct cmc_id *)cm_id;
	if (res->ai_flags & RAI_PASSIVE) {
		ret = rdma_bind_addr(cm_id, res->ai_src_addr);
		if (ret)
			goto err;
		if (qp_init_attr) {
			p->qp_init_attr = malloc(sizeof(*qp_init_attr));
			if (!p->qp_init_attr) {
				errno = ENOMEM;
				ret = -1;
				goto err;
			}
			*p->qp_init_attr = *qp_init_attr;
			/* rdma_get_request makes the QP with this PD. */
			p->qp_init_attr->qp_context = pd;
		}
		*id = cm_id;
		return 0;
	}
	ret = rdma_resolve_addr(cm_id, res->ai_src_len ? res->ai_src_addr : NULL,
				res->ai_dst_addr, 2000);
	if (ret)
		goto err;
	ret = rdma_resolve_route(cm_id, 2000);
	if (ret)
		goto err;
	if (qp_init_attr) {
		ret = rdma_create_qp(cm_id, pd, qp_init_attr);
		if (ret)
			goto err;
	}
	*id = cm_id;
	return 0;
err:
	{
		int err = errno;

		rdma_destroy_ep(cm_id);
		errno = err;
	}
	return -1;
}

RB_EXPORT void rdma_destroy_ep(struct rdma_cm_id *id)
{
	if (!id)
		return;
	if (id->qp)
		rdma_destroy_qp(id);
	if (id->srq)
		rdma_destroy_srq(id);
	rdma_destroy_id(id);
}

RB_EXPORT int rdma_get_request(struct rdma_cm_id *listen, struct rdma_cm_id **id)
{
	struct cmc_id *l = (struct cmc_id *)listen, *p;
	struct rdma_cm_event *ev;

	if (!listen || !id || !l->sync)
		return cmc_err(-EINVAL);
	cmc_ack_sync(l);
	for (;;) {
		if (rdma_get_cm_event(listen->channel, &ev))
			return -1;
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST && !ev->status)
			break;
		rdma_ack_cm_event(ev);	/* not a request: nothing to give */
	}
	p = (struct cmc_id *)ev->id;
	/* The new id is synchronous, on a channel of its own. */
	if (rdma_migrate_id(ev->id, NULL)) {
		int err = errno;

		rdma_reject(ev->id, NULL, 0);
		rdma_ack_cm_event(ev);
		rdma_destroy_id(&p->id);
		errno = err;
		return -1;
	}
	if (l->qp_init_attr) {
		struct ibv_qp_init_attr attr = *l->qp_init_attr;
		struct ibv_pd *pd = attr.qp_context;

		attr.qp_context = NULL;
		if (rdma_create_qp(&p->id, pd, &attr)) {
			int err = errno;

			rdma_reject(&p->id, NULL, 0);
			rdma_ack_cm_event(ev);
			rdma_destroy_id(&p->id);
			errno = err;
			return -1;
		}
	}
	p->id.event = ev;	/* its request, acked by the id's next step */
	*id = &p->id;
	return 0;
}

/* ------------------------------------------------------------ multicast */

static int cmc_join(struct rdma_cm_id *id, struct sockaddr *addr, void *context,
		    bool send_only)
{
	Rdmabroker__CmJoinReq body = RDMABROKER__CM_JOIN_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	Rdmabroker__Reply *rep;
	struct cmc_join *j;
	int ret;

	if (!id || !cmc_sa_len(addr))
		return cmc_err(-EINVAL);
	j = calloc(1, sizeof(*j));
	if (!j)
		return cmc_err(-ENOMEM);
	memcpy(&j->addr, addr, cmc_sa_len(addr));
	j->context = context;
	j->send_only = send_only;
	body.handle = p->handle;
	body.addr.data = (uint8_t *)addr;
	body.addr.len = cmc_sa_len(addr);
	body.join = true;
	CMC_REQ(req, cm_join, CM_JOIN, &body);
	/* Listed before the request: its event may come before the reply. */
	pthread_mutex_lock(&p->mut);
	j->next = p->joins;
	p->joins = j;
	pthread_mutex_unlock(&p->mut);
	ret = cmc_call(&req, &rep, NULL, 0, NULL);
	if (ret == 0 && (!rep->cm_join || rep->cm_join->mgid.len != 16)) {
		rb_rpc_reply_free(rep);
		ret = -EBADMSG;
	}
	if (ret < 0) {
		pthread_mutex_lock(&p->mut);
		for (struct cmc_join **pp = &p->joins; *pp; pp = &(*pp)->next)
			if (*pp == j) {
				*pp = j->next;
				break;
			}
		pthread_mutex_unlock(&p->mut);
		free(j);
		return cmc_err(ret);
	}
	pthread_mutex_lock(&p->mut);
	memcpy(j->mgid.raw, rep->cm_join->mgid.data, 16);
	pthread_mutex_unlock(&p->mut);
	rb_rpc_reply_free(rep);
	return 0;
}

RB_EXPORT int rdma_join_multicast(struct rdma_cm_id *id, struct sockaddr *addr,
				  void *context)
{
	return cmc_join(id, addr, context, false);
}

RB_EXPORT int rdma_join_multicast_ex(struct rdma_cm_id *id,
				     struct rdma_cm_join_mc_attr_ex *attr,
				     void *context)
{
	if (!attr || !(attr->comp_mask & RDMA_CM_JOIN_MC_ATTR_ADDRESS) ||
	    !(attr->comp_mask & RDMA_CM_JOIN_MC_ATTR_JOIN_FLAGS) ||
	    attr->join_flags >= RDMA_MC_JOIN_FLAG_RESERVED)
		return cmc_err(-EINVAL);
	return cmc_join(id, attr->addr, context,
			attr->join_flags == RDMA_MC_JOIN_FLAG_SENDONLY_FULLMEMBER);
}

RB_EXPORT int rdma_leave_multicast(struct rdma_cm_id *id, struct sockaddr *addr)
{
	Rdmabroker__CmJoinReq body = RDMABROKER__CM_JOIN_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	struct cmc_id *p = (struct cmc_id *)id;
	struct cmc_join *j = NULL;
	Rdmabroker__Reply *rep;
	socklen_t len = cmc_sa_len(addr);

	if (!id || !len)
		return cmc_err(-EINVAL);
	pthread_mutex_lock(&p->mut);
	for (struct cmc_join **pp = &p->joins; *pp; pp = &(*pp)->next)
		if (!memcmp(&(*pp)->addr, addr, len)) {
			j = *pp;
			*pp = j->next;
			break;
		}
	pthread_mutex_unlock(&p->mut);
	if (!j)
		return cmc_err(-EADDRNOTAVAIL);
	if (j->attached && id->qp)
		ibv_detach_mcast(id->qp, &j->mgid, 0);
	body.handle = p->handle;
	body.addr.data = (uint8_t *)addr;
	body.addr.len = len;
	body.join = false;
	CMC_REQ(req, cm_join, CM_JOIN, &body);
	if (cmc_call(&req, &rep, NULL, 0, NULL) == 0)
		rb_rpc_reply_free(rep);
	free(j);
	return 0;
}
