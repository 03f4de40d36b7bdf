/* SPDX-License-Identifier: MIT */
/*
 * Per-tenant metrics (stat.h): bytes and WRs sent and received,
 * completions by status, objects and memory held, time throttled; per
 * client, per user and per cgroup.
 *
 * A client's counters live in its session.  When it goes they are added
 * to its uid's and its cgroup's retired totals, so that a user's and a
 * cgroup's counters only grow (Prometheus counters).  Those totals are
 * kept for STAT_MAX_RETIRED users and as many cgroups; past that, a new
 * one is not kept and its gone clients' counts are lost (logged once).
 *
 * What the engine calls is one hook, rb_stat_wr_sent(), for each
 * send-queue WR it retires; completions and receives are counted where
 * the daemon writes them into a CQ (cq_push).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/objects.h"
#include "daemon/stat.h"
#include "proto/shm.h"

#define STAT_MAX_RETIRED	4096
/* Entries stop before the reply outgrows one datagram. */
#define STAT_BUDGET		(RB_WIRE_MAX_FRAME - 4096)

struct stat_retired {
	uid_t uid;			/* users */
	char cgroup[sizeof(((struct rb_session *)0)->cgroup)];	/* cgroups */
	struct rb_stat st;
};

static struct {
	struct stat_retired *users, *cgroups;
	size_t nusers, ncgroups;
	bool full_logged;
} stat;

static void stat_add(struct rb_stat *to, const struct rb_stat *from)
{
	to->bytes_sent += from->bytes_sent;
	to->wrs_sent += from->wrs_sent;
	to->bytes_recv += from->bytes_recv;
	to->wrs_recv += from->wrs_recv;
	for (int i = 0; i < RB_STAT_STATUSES; i++)
		to->completions[i] += from->completions[i];
	to->throttled_ns += from->throttled_ns;
}

void rb_stat_wr_sent(const struct rb_res *qp, uint32_t bytes, int status)
{
	struct rb_stat *st = &qp->owner->stat;

	if (status != IBV_WC_SUCCESS)
		return;		/* its error completion is counted in cq_push */
	st->wrs_sent++;
	st->bytes_sent += bytes;
}

void stat_completion(const struct rb_cq *cq, const struct rb_cqe *e)
{
	struct rb_stat *st = &cq->res.owner->stat;

	if (e->status < RB_STAT_STATUSES)
		st->completions[e->status]++;
	if (e->status == IBV_WC_SUCCESS && (e->opcode & IBV_WC_RECV)) {
		st->wrs_recv++;
		st->bytes_recv += e->byte_len;
	}
}

/* The retired totals of uid (users) or cgroup (cgroups); NULL if full. */
static struct stat_retired *stat_retired_of(bool user, uid_t uid, const char *cgroup,
					    bool create)
{
	struct stat_retired **v = user ? &stat.users : &stat.cgroups;
	size_t *n = user ? &stat.nusers : &stat.ncgroups;
	struct stat_retired *grown;

	for (size_t i = 0; i < *n; i++)
		if (user ? (*v)[i].uid == uid : !strcmp((*v)[i].cgroup, cgroup))
			return &(*v)[i];
	if (!create)
		return NULL;
	if (*n >= STAT_MAX_RETIRED) {
		if (!stat.full_logged)
			log_warn("stat: totals of %d users or cgroups kept; the counters of more are not",
				 STAT_MAX_RETIRED);
		stat.full_logged = true;
		return NULL;
	}
	grown = realloc(*v, (*n + 1) * sizeof(**v));
	if (!grown)
		return NULL;
	*v = grown;
	memset(&grown[*n], 0, sizeof(grown[*n]));
	grown[*n].uid = uid;
	snprintf(grown[*n].cgroup, sizeof(grown[*n].cgroup), "%s", cgroup ? cgroup : "");
	return &grown[(*n)++];
}

void stat_session_end(const struct rb_session *s)
{
	struct stat_retired *r;

	r = stat_retired_of(true, s->uid, NULL, true);
	if (r)
		stat_add(&r->st, &s->stat);
	r = stat_retired_of(false, 0, s->cgroup, true);
	if (r)
		stat_add(&r->st, &s->stat);
}

void stat_fini(void)
{
	free(stat.users);
	free(stat.cgroups);
	memset(&stat, 0, sizeof(stat));
}

/* ------------------------------------------------------------ StatReq */

struct stat_sum {
	struct rb_stat st;
	uint64_t objects, memory;
};

static void stat_sum_session(struct stat_sum *sum, const struct rb_session *o)
{
	stat_add(&sum->st, &o->stat);
	for (int t = 0; t < RB_RES_TYPE_COUNT; t++)
		sum->objects += o->res.count[t];
	sum->memory += o->held[RB_LIMIT_MEMORY];
}

static Rdmabroker__StatEntry *stat_entry(struct rb_reply *rep, const char *kind,
					 const struct stat_sum *sum)
{
	Rdmabroker__StatEntry *e = reply_alloc(rep, sizeof(*e));
	Rdmabroker__StatCounters *c = reply_alloc(rep, sizeof(*c));
	uint64_t *comp = reply_alloc(rep, sizeof(sum->st.completions));

	if (!e || !c || !comp)
		return NULL;
	rdmabroker__stat_entry__init(e);
	rdmabroker__stat_counters__init(c);
	e->kind = (char *)kind;
	c->bytes_sent = sum->st.bytes_sent;
	c->wrs_sent = sum->st.wrs_sent;
	c->bytes_recv = sum->st.bytes_recv;
	c->wrs_recv = sum->st.wrs_recv;
	memcpy(comp, sum->st.completions, sizeof(sum->st.completions));
	c->completions = comp;
	c->n_completions = RB_STAT_STATUSES;
	c->objects = sum->objects;
	c->memory = sum->memory;
	c->throttled_ns = sum->st.throttled_ns;
	e->counters = c;
	return e;
}

struct stat_out {
	Rdmabroker__StatEntry **v;
	size_t n, cap, bytes;
	bool truncated;
};

/* false: no room left (truncated) or no memory (-ENOMEM in *ret). */
static bool stat_push(struct rb_reply *rep, struct stat_out *out,
		      Rdmabroker__StatEntry *e, int *ret)
{
	if (!e) {
		*ret = -ENOMEM;
		return false;
	}
	if (out->n == out->cap) {
		size_t ncap = out->cap ? out->cap * 2 : 64;
		Rdmabroker__StatEntry **nv = reply_alloc(rep, ncap * sizeof(*nv));

		if (!nv) {
			*ret = -ENOMEM;
			return false;
		}
		if (out->n)
			memcpy(nv, out->v, out->n * sizeof(*nv));
		out->v = nv;
		out->cap = ncap;
	}
	out->bytes += rdmabroker__stat_entry__get_packed_size(e) + 4;
	if (out->bytes > STAT_BUDGET) {
		out->truncated = true;
		return false;
	}
	out->v[out->n++] = e;
	return true;
}

static bool stat_visible(const struct rb_session *s, const struct rb_session *o,
			 bool only, uid_t uid)
{
	return (s->admin || o->uid == s->uid) && (!only || o->uid == uid);
}

int stat_show(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	const Rdmabroker__StatReq *q = req->stat;
	Rdmabroker__StatReply *m = reply_alloc(rep, sizeof(*m));
	struct stat_out out = { 0 };
	struct rb_daemon *d = s->d;
	struct rb_session *o, *p;
	int ret = 0;

	if (!m)
		return -ENOMEM;
	rdmabroker__stat_reply__init(m);
	if (q->has_uid && q->uid != s->uid && !s->admin) {
		reply_error(rep, "only an administrator sees another user's counters");
		return -EPERM;
	}
	/* Clients. */
	TAILQ_FOREACH(o, &d->sessions, link) {
		struct stat_sum sum = { 0 };
		Rdmabroker__StatEntry *e;

		if (!stat_visible(s, o, q->has_uid, q->uid))
			continue;
		stat_sum_session(&sum, o);
		e = stat_entry(rep, "client", &sum);
		if (e) {
			e->has_client_id = e->has_pid = e->has_uid = 1;
			e->client_id = o->id;
			e->pid = (uint32_t)o->pid;
			e->uid = o->uid;
			e->comm = o->comm;
			e->cgroup = o->cgroup;
		}
		if (!stat_push(rep, &out, e, &ret))
			goto done;
	}
	/* Users: the first session of each uid sums them all, with the gone. */
	TAILQ_FOREACH(o, &d->sessions, link) {
		struct stat_sum sum = { 0 };
		struct stat_retired *r;
		Rdmabroker__StatEntry *e;
		bool first = true;

		for (p = TAILQ_FIRST(&d->sessions); p != o && first; p = TAILQ_NEXT(p, link))
			first = p->uid != o->uid;
		if (!first || !stat_visible(s, o, q->has_uid, q->uid))
			continue;
		for (p = o; p; p = TAILQ_NEXT(p, link))
			if (p->uid == o->uid)
				stat_sum_session(&sum, p);
		r = stat_retired_of(true, o->uid, NULL, false);
		if (r)
			stat_add(&sum.st, &r->st);
		e = stat_entry(rep, "user", &sum);
		if (e) {
			e->has_uid = 1;
			e->uid = o->uid;
		}
		if (!stat_push(rep, &out, e, &ret))
			goto done;
	}
	for (size_t i = 0; i < stat.nusers; i++) {
		struct stat_sum sum = { 0 };
		Rdmabroker__StatEntry *e;
		bool live = false;

		TAILQ_FOREACH(o, &d->sessions, link)
			live |= o->uid == stat.users[i].uid;
		if (live || (!s->admin && stat.users[i].uid != s->uid) ||
		    (q->has_uid && stat.users[i].uid != q->uid))
			continue;
		sum.st = stat.users[i].st;
		e = stat_entry(rep, "user", &sum);
		if (e) {
			e->has_uid = 1;
			e->uid = stat.users[i].uid;
		}
		if (!stat_push(rep, &out, e, &ret))
			goto done;
	}
	/*
	 * Cgroups: an administrator's view only (a cgroup mixes users), or
	 * the caller's own clients' when not.
	 */
	TAILQ_FOREACH(o, &d->sessions, link) {
		struct stat_sum sum = { 0 };
		struct stat_retired *r;
		Rdmabroker__StatEntry *e;
		bool first = true;

		if (!stat_visible(s, o, q->has_uid, q->uid))
			continue;
		for (p = TAILQ_FIRST(&d->sessions); p != o && first; p = TAILQ_NEXT(p, link))
			first = strcmp(p->cgroup, o->cgroup) ||
				!stat_visible(s, p, q->has_uid, q->uid);
		if (!first)
			continue;
		for (p = o; p; p = TAILQ_NEXT(p, link))
			if (!strcmp(p->cgroup, o->cgroup) && stat_visible(s, p, q->has_uid, q->uid))
				stat_sum_session(&sum, p);
		r = s->admin && !q->has_uid ? stat_retired_of(false, 0, o->cgroup, false) : NULL;
		if (r)
			stat_add(&sum.st, &r->st);
		e = stat_entry(rep, "cgroup", &sum);
		if (e)
			e->cgroup = o->cgroup;
		if (!stat_push(rep, &out, e, &ret))
			goto done;
	}
	for (size_t i = 0; s->admin && !q->has_uid && i < stat.ncgroups; i++) {
		struct stat_sum sum = { 0 };
		Rdmabroker__StatEntry *e;
		bool live = false;

		TAILQ_FOREACH(o, &d->sessions, link)
			live |= !strcmp(o->cgroup, stat.cgroups[i].cgroup);
		if (live)
			continue;
		sum.st = stat.cgroups[i].st;
		e = stat_entry(rep, "cgroup", &sum);
		if (e)
			e->cgroup = stat.cgroups[i].cgroup;
		if (!stat_push(rep, &out, e, &ret))
			goto done;
	}
done:
	if (ret < 0)
		return ret;
	m->entries = out.v;
	m->n_entries = out.n;
	if (out.truncated) {
		m->has_truncated = 1;
		m->truncated = 1;
	}
	rep->msg.body_case = RDMABROKER__REPLY__BODY_STAT;
	rep->msg.stat = m;
	return 0;
}
