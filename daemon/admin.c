/* SPDX-License-Identifier: MIT */
/*
 * Inspection requests behind rdmactl: status, clients, devices.  A
 * non-admin peer sees only the sessions of its own uid.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "proto/shm.h"
#include "daemon/dispatch.h"
#include "drivers/prefault.h"

int admin_status(struct rb_session *s, const Rdmabroker__Request *req,
		 struct rb_reply *rep)
{
	struct rb_daemon *d = s->d;
	Rdmabroker__StatusReply *m = reply_alloc(rep, sizeof(*m));
	time_t now = time(NULL);

	if (!m)
		return -ENOMEM;
	rdmabroker__status_reply__init(m);
	m->has_proto_version = m->has_pid = m->has_started_at = true;
	m->has_uptime_sec = m->has_clients = m->has_devices = true;
	m->has_reloads = m->has_min_proto_version = true;
	m->daemon_version = (char *)PACKAGE_VERSION;
	m->proto_version = RB_PROTO_VERSION;
	m->min_proto_version = RB_PROTO_VERSION_MIN;
	m->pid = (uint32_t)getpid();
	m->started_at = (uint64_t)d->started_at;
	m->uptime_sec = now > d->started_at ? (uint64_t)(now - d->started_at) : 0;
	m->clients = d->nsessions;
	m->devices = d->ndevices;
	m->socket_path = reply_strdup(rep, d->socket_from_systemd ?
				      "(from systemd)" : d->socket_path);
	m->config_path = reply_strdup(rep, d->cfg.path[0] ? d->cfg.path :
				      "(built-in defaults)");
	m->reloads = d->reloads;
	m->has_prefault_pending_bytes = m->has_prefault_done_bytes = true;
	prefault_counts(&m->prefault_pending_bytes, &m->prefault_done_bytes);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_DAEMON_STATUS;
	rep->msg.daemon_status = m;
	return 0;
}

/* ------------------------------------------------------------ listings */

/*
 * Listings page as netlink dumps do.  Items come in one stable key order,
 * (session id, handle slot): ids only grow and the session list is kept
 * in id order, and an object keeps its slot for life.  A page ends at the
 * asked page size or before the reply would outgrow one datagram, and
 * next_cursor is the key of the last item sent: the next page resumes
 * strictly after it, so what existed from the first page to the last is
 * listed exactly once, whatever was created or destroyed meanwhile.
 * Only for sessions with RB_PROTO_FEAT_PAGED_LISTS: the others (version
 * 1) get the first page, cut to fit, as before listings paged.
 */
#define ADMIN_PAGE_BUDGET	(RB_WIRE_MAX_FRAME - 4096)
#define ADMIN_CURSOR_LEN	12	/* session id (le64), slot (le32) */

struct admin_key {
	bool after;			/* false: from the first item */
	uint64_t id;
	uint32_t slot;
};

/* Does the session page its listings (RB_PROTO_FEAT_PAGED_LISTS)? */
static bool admin_paged(const struct rb_session *s)
{
	return s->features & RB_PROTO_FEAT_PAGED_LISTS;
}

/*
 * The request's cursor; -EINVAL (said in rep) if this daemon did not make
 * it.  A session without paged listings gets the first page, as version 1.
 */
static int admin_cursor_get(const struct rb_session *s, protobuf_c_boolean has,
			    const ProtobufCBinaryData *c, struct admin_key *k,
			    struct rb_reply *rep)
{
	uint64_t id;
	uint32_t slot;

	memset(k, 0, sizeof(*k));
	if (!has || c->len == 0 || !admin_paged(s))
		return 0;
	if (c->len != ADMIN_CURSOR_LEN) {
		reply_error(rep, "a cursor of %zu bytes: not one this daemon made", c->len);
		return -EINVAL;
	}
	memcpy(&id, c->data, sizeof(id));
	memcpy(&slot, c->data + sizeof(id), sizeof(slot));
	k->after = true;
	k->id = le64toh(id);
	k->slot = le32toh(slot);
	return 0;
}

/* The cursor naming (id, slot), in reply memory; false on -ENOMEM. */
static bool admin_cursor_put(struct rb_reply *rep, uint64_t id, uint32_t slot,
			     protobuf_c_boolean *has, ProtobufCBinaryData *c)
{
	uint8_t *b = reply_alloc(rep, ADMIN_CURSOR_LEN);
	uint64_t le_id = htole64(id);
	uint32_t le_slot = htole32(slot);

	if (!b)
		return false;
	memcpy(b, &le_id, sizeof(le_id));
	memcpy(b + sizeof(le_id), &le_slot, sizeof(le_slot));
	c->data = b;
	c->len = ADMIN_CURSOR_LEN;
	*has = true;
	return true;
}

/* May s see session o, and does o match the pid filter? */
static bool admin_sees(const struct rb_session *s, const struct rb_session *o,
		       protobuf_c_boolean has_pid, uint32_t pid)
{
	if (!s->admin && o->uid != s->uid)
		return false;
	return !has_pid || (uint32_t)o->pid == pid;
}

/* Is o at or past the cursor, for listings keyed by session alone? */
static bool admin_session_after(const struct admin_key *k,
				const struct rb_session *o)
{
	return !k->after || o->id > k->id;
}

/* A page of n items full, now that one more of `bytes` packed would come? */
static bool admin_page_full(size_t n, uint32_t page_size, size_t *used,
			    size_t bytes)
{
	*used += bytes + 4;	/* a repeated field's tag and length */
	return n > 0 && ((page_size && n >= page_size) || *used > ADMIN_PAGE_BUDGET);
}

/* room for one more pointer in v (grown in reply memory); false on -ENOMEM */
static bool admin_grow(struct rb_reply *rep, void ***v, size_t n, size_t *cap)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void **nv;

	if (n < *cap)
		return true;
	nv = reply_alloc(rep, ncap * sizeof(*nv));
	if (!nv)
		return false;
	if (n)
		memcpy(nv, *v, n * sizeof(*nv));
	*v = nv;
	*cap = ncap;
	return true;
}

static Rdmabroker__ClientInfo *admin_client_info(struct rb_reply *rep,
						 struct rb_session *o)
{
	Rdmabroker__ClientInfo *c = reply_alloc(rep, sizeof(*c));

	if (!c)
		return NULL;
	rdmabroker__client_info__init(c);
	c->id = o->id;
	c->has_pid = c->has_uid = c->has_gid = c->has_connected_since = true;
	c->pid = (uint32_t)o->pid;
	c->uid = o->uid;
	c->gid = o->gid;
	c->comm = o->comm;
	c->connected_since = (uint64_t)o->connected_since;
	if (o->handshaken) {
		c->has_proto_version = c->has_features = true;
		c->proto_version = o->proto_version;
		c->features = o->features;
		c->client_version = o->client_version;
		if (o->client_name[0])
			c->client_name = o->client_name;
	}
	if (o->device)
		c->device = o->device->name;
	c->cgroup = o->cgroup;
	return c;
}

int admin_client_list(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	const Rdmabroker__ClientListReq *q = req->client_list;
	Rdmabroker__ClientListReply *m = reply_alloc(rep, sizeof(*m));
	Rdmabroker__ClientInfo **v = NULL, *c;
	size_t n = 0, cap = 0, used = 0;
	struct rb_session *o, *last = NULL;
	uint32_t total = 0, page_size = admin_paged(s) ? q->page_size : 0;
	struct admin_key k;
	bool more = false;
	int ret;

	if (!m)
		return -ENOMEM;
	ret = admin_cursor_get(s, q->has_cursor, &q->cursor, &k, rep);
	if (ret < 0)
		return ret;
	rdmabroker__client_list_reply__init(m);
	TAILQ_FOREACH(o, &s->d->sessions, link) {
		if (!admin_sees(s, o, q->has_pid, q->pid))
			continue;
		total++;
		if (more || !admin_session_after(&k, o))
			continue;
		c = admin_client_info(rep, o);
		if (!c || !admin_grow(rep, (void ***)&v, n, &cap))
			return -ENOMEM;
		if (admin_page_full(n, page_size, &used,
				    rdmabroker__client_info__get_packed_size(c))) {
			more = true;
			continue;
		}
		v[n++] = c;
		last = o;
	}
	if (more && admin_paged(s) &&
	    !admin_cursor_put(rep, last->id, 0, &m->has_next_cursor, &m->next_cursor))
		return -ENOMEM;
	m->has_total = true;
	m->total = total;
	m->n_clients = n;
	m->clients = v;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_CLIENT_LIST;
	rep->msg.client_list = m;
	return 0;
}
static int admin_fill_device(struct rb_device *dev, struct rb_reply *rep,
			     Rdmabroker__DeviceInfo **out)
{
	Rdmabroker__DeviceInfo *m = reply_alloc(rep, sizeof(*m));
	Rdmabroker__PortInfo **ports;
	int ret;

	if (!m)
		return -ENOMEM;
	rdmabroker__device_info__init(m);
	ret = device_fill_summary(dev, rep, &m->summary);
	if (!ret)
		ret = device_fill_attr(dev, rep, &m->attr);
	if (ret < 0)
		return ret;
	ports = reply_alloc(rep, (dev->phys_port_cnt + 1u) * sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	for (uint8_t p = 1; p <= dev->phys_port_cnt; p++) {
		Rdmabroker__PortInfo *pi = reply_alloc(rep, sizeof(*pi));
		Rdmabroker__GidEntry **gids;
		size_t ngids = 0;

		if (!pi)
			return -ENOMEM;
		rdmabroker__port_info__init(pi);
		pi->port_num = p;
		ret = device_fill_port(dev, p, rep, &pi->attr);
		if (ret < 0)
			return ret;
		gids = reply_alloc(rep, ((size_t)pi->attr->gid_tbl_len + 1) * sizeof(*gids));
		if (!gids)
			return -ENOMEM;
		for (int i = 0; i < pi->attr->gid_tbl_len; i++) {
			static const uint8_t zero[16];
			Rdmabroker__GidEntry *g;

			if (device_fill_gid(dev, p, i, rep, &g) < 0)
				continue;
			if (!memcmp(g->raw.data, zero, sizeof(zero)))
				continue;
			gids[ngids++] = g;
		}
		pi->gids = gids;
		pi->n_gids = ngids;
		ports[p - 1] = pi;
	}
	m->ports = ports;
	m->n_ports = dev->phys_port_cnt;
	*out = m;
	return 0;
}

int admin_device_show(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	const Rdmabroker__DeviceShowReq *q = req->device_show;
	struct rb_daemon *d = s->d;
	Rdmabroker__DeviceShowReply *m = reply_alloc(rep, sizeof(*m));
	Rdmabroker__DeviceInfo **v = reply_alloc(rep, (d->ndevices + 1) * sizeof(*v));
	size_t n = 0;
	int ret;

	if (!m || !v)
		return -ENOMEM;
	rdmabroker__device_show_reply__init(m);
	for (uint32_t i = 0; i < d->ndevices; i++) {
		if (q->name && strcmp(q->name, d->devices[i]->name))
			continue;
		ret = admin_fill_device(d->devices[i], rep, &v[n]);
		if (ret < 0)
			return ret;
		n++;
	}
	if (q->name && n == 0) {
		reply_error(rep, "no device named %s", q->name);
		return -ENODEV;
	}
	m->n_devices = n;
	m->devices = v;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_DEVICE_SHOW;
	rep->msg.device_show = m;
	return 0;
}

/*
 * Resources, for rdmactl res.  Non-admins see their own uid's only.  A
 * version 1 client, which sends no cursor, gets the first page with
 * `truncated` set when more follow, as before paging.
 */
static Rdmabroker__ResEntry *admin_res_entry(struct rb_reply *rep,
					     struct rb_session *o,
					     struct rb_res *r)
{
	Rdmabroker__ResEntry *e = reply_alloc(rep, sizeof(*e));

	if (!e)
		return NULL;
	rdmabroker__res_entry__init(e);
	e->type = (char *)res_type_name(r->type);
	e->handle = r->handle;
	e->client_id = o->id;
	e->has_pid = e->has_uid = e->has_users = e->has_created = true;
	e->pid = (uint32_t)o->pid;
	e->uid = o->uid;
	e->comm = o->comm;
	e->device = o->device ? o->device->name : (char *)"";
	e->users = r->users;
	e->created = (uint64_t)r->created;
	if (r->type == RB_RES_QP)
		qp_describe(r, e);
	else if (r->type == RB_RES_MR)
		mr_describe(r, e);
	else if (r->type == RB_RES_CM_ID)
		cm_describe(r, e, rep);
	return e;
}

int admin_res_show(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep)
{
	const Rdmabroker__ResShowReq *q = req->res_show;
	Rdmabroker__ResShowReply *m = reply_alloc(rep, sizeof(*m));
	Rdmabroker__ResEntry **v = NULL, *e;
	size_t n = 0, cap = 0, used = 0;
	uint64_t last_id = 0;
	uint32_t slot, last_slot = 0;
	struct rb_session *o;
	struct admin_key k;
	struct rb_res *r;
	int type = -1, ret;

	if (!m)
		return -ENOMEM;
	rdmabroker__res_show_reply__init(m);
	if (q->type) {
		type = res_type_parse(q->type);
		if (type < 0) {
			reply_error(rep, "no resource type '%s'", q->type);
			return -EINVAL;
		}
	}
	ret = admin_cursor_get(s, q->has_cursor, &q->cursor, &k, rep);
	if (ret < 0)
		return ret;
	TAILQ_FOREACH(o, &s->d->sessions, link) {
		if (!admin_sees(s, o, q->has_pid, q->pid))
			continue;
		if (k.after && o->id < k.id)
			continue;
		slot = 0;
		if (k.after && o->id == k.id) {
			if (k.slot == UINT32_MAX)
				continue;
			slot = k.slot + 1;
		}
		for (; (r = res_at_or_after(o, &slot)); slot++) {
			if (type >= 0 && r->type != (enum rb_res_type)type)
				continue;
			e = admin_res_entry(rep, o, r);
			if (!e || !admin_grow(rep, (void ***)&v, n, &cap))
				return -ENOMEM;
			if (admin_page_full(n, admin_paged(s) ? q->page_size : 0,
					    &used, rdmabroker__res_entry__get_packed_size(e))) {
				m->has_truncated = true;
				m->truncated = true;
				if (admin_paged(s) &&
				    !admin_cursor_put(rep, last_id, last_slot,
						      &m->has_next_cursor,
						      &m->next_cursor))
					return -ENOMEM;
				goto done;
			}
			v[n++] = e;
			last_id = o->id;
			last_slot = slot;
		}
	}
done:
	m->n_entries = n;
	m->entries = v;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_RES_SHOW;
	rep->msg.res_show = m;
	return 0;
}

/* Counts of every type, in reply memory; NULL on -ENOMEM. */
static Rdmabroker__ResCount **admin_counts(struct rb_reply *rep,
					   const uint64_t *count)
{
	Rdmabroker__ResCount **v = reply_alloc(rep, RB_RES_TYPE_COUNT * sizeof(*v));
	Rdmabroker__ResCount *c = reply_alloc(rep, RB_RES_TYPE_COUNT * sizeof(*c));

	if (!v || !c)
		return NULL;
	for (int t = 0; t < RB_RES_TYPE_COUNT; t++) {
		rdmabroker__res_count__init(&c[t]);
		c[t].type = (char *)res_type_name((enum rb_res_type)t);
		c[t].has_count = true;
		c[t].count = count[t];
		v[t] = &c[t];
	}
	return v;
}

/* What each client holds, counted here from the registry's own counts. */
int admin_res_summary(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	const Rdmabroker__ResSummaryReq *q = req->res_summary;
	Rdmabroker__ResSummaryReply *m = reply_alloc(rep, sizeof(*m));
	Rdmabroker__ResSummary **v = NULL, *c;
	uint64_t totals[RB_RES_TYPE_COUNT] = { 0 }, count[RB_RES_TYPE_COUNT];
	size_t n = 0, cap = 0, used = 0;
	struct rb_session *o, *last = NULL;
	struct admin_key k;
	bool more = false;
	int ret;

	if (!m)
		return -ENOMEM;
	if (!admin_paged(s)) {
		reply_error(rep, "res_summary needs the paged listings feature (protocol version 2)");
		return -EOPNOTSUPP;
	}
	ret = admin_cursor_get(s, q->has_cursor, &q->cursor, &k, rep);
	if (ret < 0)
		return ret;
	rdmabroker__res_summary_reply__init(m);
	TAILQ_FOREACH(o, &s->d->sessions, link) {
		if (!admin_sees(s, o, q->has_pid, q->pid))
			continue;
		for (int t = 0; t < RB_RES_TYPE_COUNT; t++) {
			count[t] = o->res.count[t];
			totals[t] += count[t];
		}
		if (more || !admin_session_after(&k, o))
			continue;
		c = reply_alloc(rep, sizeof(*c));
		if (!c || !admin_grow(rep, (void ***)&v, n, &cap))
			return -ENOMEM;
		rdmabroker__res_summary__init(c);
		c->client_id = o->id;
		c->has_pid = c->has_uid = true;
		c->pid = (uint32_t)o->pid;
		c->uid = o->uid;
		c->comm = o->comm;
		c->device = o->device ? o->device->name : (char *)"";
		c->counts = admin_counts(rep, count);
		if (!c->counts)
			return -ENOMEM;
		c->n_counts = RB_RES_TYPE_COUNT;
		if (admin_page_full(n, q->page_size, &used,
				    rdmabroker__res_summary__get_packed_size(c))) {
			more = true;
			continue;
		}
		v[n++] = c;
		last = o;
	}
	if (more && !admin_cursor_put(rep, last->id, 0, &m->has_next_cursor,
				      &m->next_cursor))
		return -ENOMEM;
	m->totals = admin_counts(rep, totals);
	if (!m->totals)
		return -ENOMEM;
	m->n_totals = RB_RES_TYPE_COUNT;
	m->n_clients = n;
	m->clients = v;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_RES_SUMMARY;
	rep->msg.res_summary = m;
	return 0;
}
static Rdmabroker__Limits *limits_pb(struct rb_reply *rep, const uint64_t *v)
{
	Rdmabroker__Limits *m = reply_alloc(rep, sizeof(*m));

	if (!m)
		return NULL;
	rdmabroker__limits__init(m);
	m->has_connections = m->has_pds = m->has_mrs = m->has_pinned_bytes = 1;
	m->has_cqs = m->has_cqes = m->has_qps = m->has_srqs = m->has_ahs = 1;
	m->has_mws = m->has_memory = 1;
	m->has_cm_ids = m->has_cm_channels = 1;
	m->memory = v[RB_LIMIT_MEMORY];
	m->cm_ids = v[RB_LIMIT_CM_IDS];
	m->cm_channels = v[RB_LIMIT_CM_CHANNELS];
	m->connections = v[RB_LIMIT_CONNECTIONS];
	m->pds = v[RB_LIMIT_PDS];
	m->mrs = v[RB_LIMIT_MRS];
	m->pinned_bytes = v[RB_LIMIT_PINNED_BYTES];
	m->cqs = v[RB_LIMIT_CQS];
	m->cqes = v[RB_LIMIT_CQES];
	m->qps = v[RB_LIMIT_QPS];
	m->srqs = v[RB_LIMIT_SRQS];
	m->ahs = v[RB_LIMIT_AHS];
	m->mws = v[RB_LIMIT_MWS];
	return m;
}

/* The scheduling part of LimitsShowReply: values, and use if connected. */
static int limits_sched_pb(struct rb_daemon *d, uid_t uid, struct rb_reply *rep,
			   Rdmabroker__LimitsShowReply *m, char **names, size_t *n)
{
	const struct rb_sched_tenant *t = sched_tenant_find(d, uid);
	Rdmabroker__Sched *sp = reply_alloc(rep, sizeof(*sp));
	uint64_t v[RB_SCHED_COUNT], now = sched_now_ns();
	uint32_t over;
	struct rb_session *o;
	size_t nc = 0;

	if (!sp)
		return -ENOMEM;
	sched_values_for(d, uid, v, &over);
	for (int k = 0; k < RB_SCHED_COUNT; k++)
		if (over & (1u << k))
			names[(*n)++] = (char *)cfg_sched_name((enum rb_sched_key)k);
	rdmabroker__sched__init(sp);
	sp->has_weight = sp->has_bandwidth = sp->has_message_rate = 1;
	sp->weight = v[RB_SCHED_WEIGHT];
	sp->bandwidth = v[RB_SCHED_BANDWIDTH];
	sp->message_rate = v[RB_SCHED_MESSAGE_RATE];
	m->sched = sp;
	if (t) {
		Rdmabroker__SchedUse *u = reply_alloc(rep, sizeof(*u));
		Rdmabroker__SchedClientUse **cv;

		cv = reply_alloc(rep, (t->refs + 1) * sizeof(*cv));
		if (!u || !cv)
			return -ENOMEM;
		rdmabroker__sched_use__init(u);
		u->bytes = t->bytes;
		u->wrs = t->wrs;
		u->throttled_ns = sched_tenant_throttled_ns(t, now);
		u->now_ns = now;
		TAILQ_FOREACH(o, &d->sessions, link) {
			Rdmabroker__SchedClientUse *c;

			if (o->tenant != t || nc >= t->refs)
				continue;
			c = reply_alloc(rep, sizeof(*c));
			if (!c)
				return -ENOMEM;
			rdmabroker__sched_client_use__init(c);
			c->client_id = o->id;
			c->throttled_ns = sched_client_throttled_ns(o, now);
			cv[nc++] = c;
		}
		u->n_clients = nc;
		u->clients = cv;
		m->sched_used = u;
	}
	return 0;
}

int admin_limits_show(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	const Rdmabroker__LimitsShowReq *q = req->limits_show;
	Rdmabroker__LimitsShowReply *m = reply_alloc(rep, sizeof(*m));
	uid_t uid = q->has_uid ? (uid_t)q->uid : s->uid;
	struct rb_daemon *d = s->d;
	uint64_t used[RB_LIMIT_COUNT];
	struct rb_limits lim;
	char **names;
	size_t n = 0;

	if (!m)
		return -ENOMEM;
	if (uid != s->uid && !s->admin) {
		reply_error(rep, "only an administrator sees another user's limits");
		return -EPERM;
	}
	res_limits_for(d, uid, &lim);
	res_usage_of(d, uid, used);
	/* Connections are counted by the sessions, not charged. */
	used[RB_LIMIT_CONNECTIONS] = session_count_uid(d, uid);
	names = reply_alloc(rep, (RB_LIMIT_COUNT + RB_SCHED_COUNT) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < d->noverrides; i++)
		if (d->overrides[i].uid == uid)
			for (int l = 0; l < RB_LIMIT_COUNT; l++)
				if (d->overrides[i].set & (1u << l))
					names[n++] = (char *)cfg_limit_name((enum rb_limit)l);
	rdmabroker__limits_show_reply__init(m);
	if (limits_sched_pb(d, uid, rep, m, names, &n) < 0)
		return -ENOMEM;
	m->uid = uid;
	m->limits = limits_pb(rep, lim.v);
	m->used = limits_pb(rep, used);
	if (!m->limits || !m->used)
		return -ENOMEM;
	m->n_overridden = n;
	m->overridden = names;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_LIMITS_SHOW;
	rep->msg.limits_show = m;
	return 0;
}

int admin_limits_set(struct rb_session *s, const Rdmabroker__Request *req,
		     struct rb_reply *rep)
{
	const Rdmabroker__LimitsSetReq *q = req->limits_set;
	Rdmabroker__LimitsSetReply *m = reply_alloc(rep, sizeof(*m));
	int l, ret;

	if (!m)
		return -ENOMEM;
	l = cfg_sched_parse_name(q->name);
	if (l >= 0) {
		if (!cfg_sched_valid((enum rb_sched_key)l, q->value)) {
			reply_error(rep, "weight must be between 1 and %d", RB_SCHED_WEIGHT_MAX);
			return -EINVAL;
		}
		ret = sched_override(s->d, (uid_t)q->uid, (enum rb_sched_key)l, q->value);
		if (ret < 0)
			return ret;
		goto done;
	}
	for (l = 0; l < RB_LIMIT_COUNT; l++)
		if (strcmp(q->name, cfg_limit_name((enum rb_limit)l)) == 0)
			break;
	if (l == RB_LIMIT_COUNT) {
		reply_error(rep, "no limit named '%s'", q->name);
		return -EINVAL;
	}
	ret = res_limit_override(s->d, (uid_t)q->uid, (enum rb_limit)l, q->value);
	if (ret < 0)
		return ret;
done:
	log_notice("client %" PRIu64 " (pid %d uid %u): set %s of uid %u to %" PRIu64
		   " until restart", s->id, (int)s->pid, (unsigned int)s->uid, q->name,
		   q->uid, q->value);
	rdmabroker__limits_set_reply__init(m);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_LIMITS_SET;
	rep->msg.limits_set = m;
	return 0;
}

int admin_client_kill(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep)
{
	Rdmabroker__ClientKillReply *m = reply_alloc(rep, sizeof(*m));
	pid_t pid = (pid_t)req->client_kill->pid;
	struct rb_session *o, *next;
	uint32_t n = 0;

	if (!m)
		return -ENOMEM;
	for (o = TAILQ_FIRST(&s->d->sessions); o; o = next) {
		next = TAILQ_NEXT(o, link);
		if (o->pid != pid)
			continue;
		n++;
		log_notice("client %" PRIu64 " (pid %d comm %s) disconnected by uid %u",
			   o->id, (int)o->pid, o->comm, (unsigned int)s->uid);
		session_send_shutdown(o, "disconnected by an administrator");
		session_async_event(o, IBV_EVENT_DEVICE_FATAL, RB_ASYNC_DEVICE, 0);
		if (o == s)
			rep->close_after = true;	/* after this reply */
		else
			session_destroy(o);
	}
	if (!n) {
		reply_error(rep, "no client with pid %d", (int)pid);
		return -ESRCH;
	}
	rdmabroker__client_kill_reply__init(m);
	m->sessions = n;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_CLIENT_KILL;
	rep->msg.client_kill = m;
	return 0;
}
