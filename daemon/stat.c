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

#include <endian.h>
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
	to->poller_wakeups += from->poller_wakeups;
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
	c->has_poller_wakeups = 1;
	c->poller_wakeups = sum->st.poller_wakeups;
	e->counters = c;
	return e;
}

/*
 * One entry of the listing, before it is packed: entries are gathered,
 * sorted by key (rank: clients, users, cgroups; then client id or uid,
 * then cgroup path) and the entries of one user or one cgroup merged, so
 * that a page can resume strictly after the last key it sent, as the
 * other listings do (admin.c): what exists from the first page to the
 * last is listed exactly once.
 */
enum { STAT_CLIENT, STAT_USER, STAT_CGROUP };

struct stat_item {
	uint8_t rank;
	uint64_t key;				/* client id, uid */
	const char *cgroup;			/* cgroups; "" otherwise */
	const struct rb_session *client;	/* clients */
	struct stat_sum sum;
};

struct stat_items {
	struct stat_item *v;
	size_t n, cap;
};

static struct stat_item *stat_item_add(struct stat_items *it, uint8_t rank, uint64_t key,
				       const char *cgroup)
{
	struct stat_item *e;

	if (it->n == it->cap) {
		size_t ncap = it->cap ? it->cap * 2 : 64;
		struct stat_item *nv = realloc(it->v, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		it->v = nv;
		it->cap = ncap;
	}
	e = &it->v[it->n++];
	memset(e, 0, sizeof(*e));
	e->rank = rank;
	e->key = key;
	e->cgroup = cgroup ? cgroup : "";
	return e;
}

static int stat_key_cmp(uint8_t ra, uint64_t ka, const char *ca,
			uint8_t rb, uint64_t kb, const char *cb)
{
	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return strcmp(ca, cb);
}

static int stat_item_cmp(const void *a, const void *b)
{
	const struct stat_item *x = a, *y = b;

	return stat_key_cmp(x->rank, x->key, x->cgroup, y->rank, y->key, y->cgroup);
}

static void stat_sum_add(struct stat_sum *to, const struct stat_sum *from)
{
	stat_add(&to->st, &from->st);
	to->objects += from->objects;
	to->memory += from->memory;
}

static bool stat_visible(const struct rb_session *s, const struct rb_session *o,
			 bool only, uid_t uid)
{
	return (s->admin || o->uid == s->uid) && (!only || o->uid == uid);
}

/*
 * Every entry s may see: per visible client one entry of each kind (its
 * user's and its cgroup's merged later), and the totals of gone clients:
 * a user's to an administrator or that user, a cgroup's (it mixes users)
 * to an administrator asking about everyone.
 */
static int stat_gather(const struct rb_session *s, const Rdmabroker__StatReq *q,
		       struct stat_items *it)
{
	const struct rb_session *o;
	struct stat_item *e;
	size_t w = 0;

	TAILQ_FOREACH(o, &s->d->sessions, link) {
		struct stat_sum sum = { 0 };

		if (!stat_visible(s, o, q->has_uid, q->uid))
			continue;
		stat_sum_session(&sum, o);
		if (!(e = stat_item_add(it, STAT_CLIENT, o->id, NULL)))
			return -ENOMEM;
		e->client = o;
		e->sum = sum;
		if (!(e = stat_item_add(it, STAT_USER, o->uid, NULL)))
			return -ENOMEM;
		e->sum = sum;
		if (!(e = stat_item_add(it, STAT_CGROUP, 0, o->cgroup)))
			return -ENOMEM;
		e->sum = sum;
	}
	for (size_t i = 0; i < stat.nusers; i++) {
		if ((!s->admin && stat.users[i].uid != s->uid) ||
		    (q->has_uid && stat.users[i].uid != q->uid))
			continue;
		if (!(e = stat_item_add(it, STAT_USER, stat.users[i].uid, NULL)))
			return -ENOMEM;
		e->sum.st = stat.users[i].st;
	}
	for (size_t i = 0; s->admin && !q->has_uid && i < stat.ncgroups; i++) {
		if (!(e = stat_item_add(it, STAT_CGROUP, 0, stat.cgroups[i].cgroup)))
			return -ENOMEM;
		e->sum.st = stat.cgroups[i].st;
	}
	if (it->n)	/* qsort's base may not be NULL, even for nothing */
		qsort(it->v, it->n, sizeof(*it->v), stat_item_cmp);
	/* One entry per user and per cgroup: merge the runs of one key. */
	for (size_t r = 0; r < it->n; r++) {
		if (w && it->v[r].rank != STAT_CLIENT && !stat_item_cmp(&it->v[w - 1], &it->v[r]))
			stat_sum_add(&it->v[w - 1].sum, &it->v[r].sum);
		else
			it->v[w++] = it->v[r];
	}
	it->n = w;
	return 0;
}

static Rdmabroker__StatEntry *stat_item_entry(struct rb_reply *rep, const struct stat_item *i)
{
	static const char *const kinds[] = { "client", "user", "cgroup" };
	Rdmabroker__StatEntry *e = stat_entry(rep, kinds[i->rank], &i->sum);

	if (!e)
		return NULL;
	switch (i->rank) {
	case STAT_CLIENT:
		e->has_client_id = e->has_pid = e->has_uid = 1;
		e->client_id = i->client->id;
		e->pid = (uint32_t)i->client->pid;
		e->uid = i->client->uid;
		e->comm = (char *)i->client->comm;
		e->cgroup = (char *)i->client->cgroup;
		break;
	case STAT_USER:
		e->has_uid = 1;
		e->uid = (uint32_t)i->key;
		break;
	default:
		e->cgroup = (char *)i->cgroup;
		break;
	}
	return e;
}

/* Cursor: rank (1 byte), key (le64), then the cgroup path (no NUL). */
#define STAT_CURSOR_MIN		9

static bool stat_cursor_put(struct rb_reply *rep, const struct stat_item *i,
			    Rdmabroker__StatReply *m)
{
	size_t len = STAT_CURSOR_MIN + strlen(i->cgroup);
	uint8_t *b = reply_alloc(rep, len);
	uint64_t le = htole64(i->key);

	if (!b)
		return false;
	b[0] = i->rank;
	memcpy(b + 1, &le, sizeof(le));
	memcpy(b + STAT_CURSOR_MIN, i->cgroup, len - STAT_CURSOR_MIN);
	m->has_next_cursor = 1;
	m->next_cursor.data = b;
	m->next_cursor.len = len;
	return true;
}

int stat_show(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	const Rdmabroker__StatReq *q = req->stat;
	Rdmabroker__StatReply *m = reply_alloc(rep, sizeof(*m));
	Rdmabroker__StatEntry **v = NULL;
	struct stat_items it = { 0 };
	char after_cg[sizeof(((struct rb_session *)0)->cgroup)] = "";
	uint64_t after_key = 0;
	uint8_t after_rank = 0;
	bool after = false;
	size_t first = 0, n = 0, bytes = 0;
	int ret;

	if (!m)
		return -ENOMEM;
	rdmabroker__stat_reply__init(m);
	if (q->has_uid && q->uid != s->uid && !s->admin) {
		reply_error(rep, "only an administrator sees another user's counters");
		return -EPERM;
	}
	if (q->has_cursor && q->cursor.len) {
		uint64_t le;

		if (q->cursor.len < STAT_CURSOR_MIN || q->cursor.data[0] > STAT_CGROUP ||
		    q->cursor.len - STAT_CURSOR_MIN >= sizeof(after_cg)) {
			reply_error(rep, "a cursor of %zu bytes: not one this daemon made",
				    q->cursor.len);
			return -EINVAL;
		}
		after = true;
		after_rank = q->cursor.data[0];
		memcpy(&le, q->cursor.data + 1, sizeof(le));
		after_key = le64toh(le);
		memcpy(after_cg, q->cursor.data + STAT_CURSOR_MIN, q->cursor.len - STAT_CURSOR_MIN);
	}
	ret = stat_gather(s, q, &it);
	if (ret < 0)
		goto out;
	while (after && first < it.n &&
	       stat_key_cmp(it.v[first].rank, it.v[first].key, it.v[first].cgroup,
			    after_rank, after_key, after_cg) <= 0)
		first++;
	v = reply_alloc(rep, (it.n - first + 1) * sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = first; i < it.n; i++) {
		Rdmabroker__StatEntry *e = stat_item_entry(rep, &it.v[i]);

		if (!e) {
			ret = -ENOMEM;
			goto out;
		}
		bytes += rdmabroker__stat_entry__get_packed_size(e) + 4;
		if (bytes > STAT_BUDGET && n) {
			/* Full: the next page starts after the last one sent. */
			if (!stat_cursor_put(rep, &it.v[i - 1], m)) {
				ret = -ENOMEM;
				goto out;
			}
			m->has_truncated = 1;
			m->truncated = 1;
			break;
		}
		v[n++] = e;
	}
	m->entries = v;
	m->n_entries = n;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_STAT;
	rep->msg.stat = m;
out:
	free(it.v);
	return ret;
}
