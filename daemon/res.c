/* SPDX-License-Identifier: MIT */
/* The resource registry: handles, dependencies, per-user limits (res.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/objects.h"
#include "daemon/res.h"

/*
 * A handle is (generation << RES_SLOT_BITS) | (slot + 1): never 0, and a
 * freed slot's next object gets a different handle.
 */
#define RES_SLOT_BITS	20
#define RES_MAX_SLOTS	((1u << RES_SLOT_BITS) - 1)
#define RES_GEN_MASK	((1u << (32 - RES_SLOT_BITS)) - 1)

static const char *const res_type_names[RB_RES_TYPE_COUNT] = {
	[RB_RES_PD] = "pd",
	[RB_RES_CHANNEL] = "channel",
	[RB_RES_CQ] = "cq",
	[RB_RES_QP] = "qp",
	[RB_RES_SRQ] = "srq",
	[RB_RES_AH] = "ah",
	[RB_RES_MW] = "mw",
	[RB_RES_XRCD] = "xrcd",
	[RB_RES_MR] = "mr",
	[RB_RES_CM_CHANNEL] = "cm_channel",
	[RB_RES_CM_ID] = "cm_id",
};

const char *res_type_name(enum rb_res_type type)
{
	return (unsigned int)type < RB_RES_TYPE_COUNT ? res_type_names[type] : "?";
}

int res_type_parse(const char *name)
{
	for (int i = 0; i < RB_RES_TYPE_COUNT; i++)
		if (strcmp(name, res_type_names[i]) == 0)
			return i;
	return -1;
}

void *res_alloc(size_t own, size_t driver)
{
	return calloc(1, driver > own ? driver : own);
}

uint64_t res_mem_bytes(size_t own, size_t driver, size_t map)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (driver > own ? driver : own) + ((map + page - 1) & ~(page - 1));
}

void res_kill_owner(struct rb_res *r, const char *why)
{
	/* A shared object has no rings a client writes (res.h): no owner to
	 * blame, and the others must keep it. */
	if (r->owner)
		session_kill(r->owner, why);
}

bool res_owner_killed(const struct rb_res *r)
{
	return r->owner && r->owner->killed;
}

void res_table_init(struct rb_res_table *t)
{
	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->list);
}

/* Room for one more slot; false when the table cannot grow. */
static bool res_table_grow(struct rb_res_table *t)
{
	uint32_t n = t->nslots ? t->nslots * 2 : 64;
	struct rb_res **slots;
	uint16_t *gens;
	uint32_t *free_slots;

	if (t->nslots >= RES_MAX_SLOTS)
		return false;
	if (n > RES_MAX_SLOTS)
		n = RES_MAX_SLOTS;
	slots = realloc(t->slots, n * sizeof(*slots));
	if (!slots)
		return false;
	t->slots = slots;
	gens = realloc(t->gens, n * sizeof(*gens));
	if (!gens)
		return false;
	t->gens = gens;
	free_slots = realloc(t->free_slots, n * sizeof(*free_slots));
	if (!free_slots)
		return false;
	t->free_slots = free_slots;
	/* Push the new slots so the lowest is handed out first. */
	for (uint32_t i = n; i-- > t->nslots;) {
		t->slots[i] = NULL;
		t->gens[i] = 1;
		t->free_slots[t->nfree++] = i;
	}
	t->nslots = n;
	return true;
}

int res_add(struct rb_session *s, struct rb_res *r)
{
	struct rb_res_table *t = &s->res;
	uint32_t slot;

	if (t->nfree == 0 && !res_table_grow(t))
		return -ENOSPC;
	slot = t->free_slots[--t->nfree];
	t->slots[slot] = r;
	r->handle = ((uint32_t)t->gens[slot] << RES_SLOT_BITS) | (slot + 1);
	r->owner = s;
	r->created = time(NULL);
	r->users = 0;
	for (int i = 0; i < RB_RES_MAX_DEPS; i++)
		if (r->deps[i])
			r->deps[i]->users++;
	TAILQ_INSERT_TAIL(&t->list, r, link);
	t->count[r->type]++;
	return 0;
}

struct rb_res *res_lookup(struct rb_session *s, uint32_t handle,
			  enum rb_res_type type, struct rb_reply *rep)
{
	struct rb_res_table *t = &s->res;
	uint32_t slot = (handle & RES_MAX_SLOTS) - 1;	/* 0 wraps: invalid */
	uint32_t gen = handle >> RES_SLOT_BITS;
	struct rb_res *r;

	r = slot < t->nslots && t->gens[slot] == gen ? t->slots[slot] : NULL;
	if (!r || r->type != type) {
		reply_error(rep, "no %s with handle %#" PRIx32 " on this connection",
			    res_type_name(type), handle);
		return NULL;
	}
	return r;
}

struct rb_res *res_at_or_after(struct rb_session *s, uint32_t *slot)
{
	struct rb_res_table *t = &s->res;

	for (; *slot < t->nslots; (*slot)++)
		if (t->slots[*slot])
			return t->slots[*slot];
	return NULL;
}

/* Out of the table and destroyed; no checks. */
static void res_release(struct rb_res *r)
{
	struct rb_res_table *t = &r->owner->res;
	uint32_t slot = (r->handle & RES_MAX_SLOTS) - 1;

	t->slots[slot] = NULL;
	t->gens[slot] = (uint16_t)((t->gens[slot] + 1) & RES_GEN_MASK);
	if (t->gens[slot] == 0)
		t->gens[slot] = 1;
	t->free_slots[t->nfree++] = slot;
	TAILQ_REMOVE(&t->list, r, link);
	t->count[r->type]--;
	for (int i = 0; i < RB_RES_MAX_DEPS; i++)
		if (r->deps[i])
			r->deps[i]->users--;
	r->destroy(r);
}

int res_remove(struct rb_res *r, struct rb_reply *rep)
{
	if (r->users) {
		reply_error(rep, "%s %#" PRIx32 " is still used by %" PRIu32 " object(s)",
			    res_type_name(r->type), r->handle, r->users);
		return -EBUSY;
	}
	res_release(r);
	return 0;
}

int res_destroy(struct rb_session *s, uint32_t handle, enum rb_res_type type,
		struct rb_reply *rep)
{
	struct rb_res *r = res_lookup(s, handle, type, rep);

	return r ? res_remove(r, rep) : -EINVAL;
}

void res_table_fini(struct rb_session *s)
{
	struct rb_res_table *t = &s->res;
	struct rb_res *r;
	unsigned int n = 0;

	/* Newest first: everything an object depends on is older than it. */
	while ((r = TAILQ_LAST(&t->list, rb_res_list))) {
		res_release(r);
		n++;
	}
	if (n)
		log_info("client %" PRIu64 " (pid %d): freed %u object(s) it left behind",
			 s->id, (int)s->pid, n);
	free(t->slots);
	free(t->gens);
	free(t->free_slots);
	memset(t, 0, sizeof(*t));
	mr_session_fini(s);
	qp_pool_fini(s);
}

/* ------------------------------------------------------------ shared */

void res_share(struct rb_daemon *d, struct rb_res *r)
{
	r->owner = NULL;
	r->handle = 0;
	r->created = time(NULL);
	r->users = 0;
	r->target = NULL;
	LIST_INIT(&r->links);
	for (int i = 0; i < RB_RES_MAX_DEPS; i++)
		if (r->deps[i])
			r->deps[i]->users++;
	TAILQ_INSERT_TAIL(&d->shared, r, link);
	d->nshared++;
}

void res_shared_put(struct rb_daemon *d, struct rb_res *r)
{
	struct rb_res *deps[RB_RES_MAX_DEPS];

	if (!LIST_EMPTY(&r->links) || r->users)
		return;
	TAILQ_REMOVE(&d->shared, r, link);
	d->nshared--;
	memcpy(deps, r->deps, sizeof(deps));
	r->destroy(r);		/* frees r */
	/* Dependencies of a shared object are shared (res.h): each may now
	 * be free too, once r, which used it, is gone. */
	for (int i = 0; i < RB_RES_MAX_DEPS; i++) {
		struct rb_res *dep = deps[i];

		if (!dep)
			continue;
		dep->users--;
		res_shared_put(d, dep);
	}
}

static void res_link_destroy(struct rb_res *r)
{
	struct rb_link *l = (struct rb_link *)r;
	struct rb_session *s = r->owner;
	struct rb_res *target = r->target;

	LIST_REMOVE(l, sibling);
	res_uncharge(s, (enum rb_limit)l->charged, 1);
	free(l);
	res_shared_put(s->d, target);
}

int res_link(struct rb_session *s, struct rb_res *target, enum rb_limit l,
	     struct rb_res *dep, struct rb_reply *rep, struct rb_link **out)
{
	struct rb_link *k;
	int ret;

	ret = res_charge(s, l, 1, rep);
	if (ret < 0)
		goto out;
	k = calloc(1, sizeof(*k));
	if (!k) {
		res_uncharge(s, l, 1);
		ret = -ENOMEM;
		goto out;
	}
	k->res.type = target->type;
	k->res.target = target;
	k->res.deps[0] = dep;
	k->res.destroy = res_link_destroy;
	k->charged = (int)l;
	ret = res_add(s, &k->res);
	if (ret < 0) {
		free(k);
		res_uncharge(s, l, 1);
		reply_error(rep, "this connection holds too many objects");
		goto out;
	}
	LIST_INSERT_HEAD(&target->links, k, sibling);
	*out = k;
	return 0;
out:
	res_shared_put(s->d, target);
	return ret;
}

/* ------------------------------------------------------------ usage */

struct rb_usage *res_usage_get(struct rb_daemon *d, uid_t uid)
{
	struct rb_usage *u;

	LIST_FOREACH(u, &d->usages, link) {
		if (u->uid == uid) {
			u->refs++;
			return u;
		}
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	u->refs = 1;
	LIST_INSERT_HEAD(&d->usages, u, link);
	return u;
}

void res_usage_put(struct rb_daemon *d, struct rb_usage *u)
{
	(void)d;
	if (!u || --u->refs)
		return;
	LIST_REMOVE(u, link);
	free(u);
}

void res_limits_for(const struct rb_daemon *d, uid_t uid, struct rb_limits *out)
{
	*out = *cfg_limits_for(&d->cfg, uid);
	for (size_t i = 0; i < d->noverrides; i++) {
		const struct rb_limit_override *o = &d->overrides[i];

		if (o->uid != uid)
			continue;
		for (int l = 0; l < RB_LIMIT_COUNT; l++)
			if (o->set & (1u << l))
				out->v[l] = o->limits.v[l];
	}
}

void res_usage_of(const struct rb_daemon *d, uid_t uid, uint64_t used[RB_LIMIT_COUNT])
{
	const struct rb_usage *u;

	memset(used, 0, RB_LIMIT_COUNT * sizeof(used[0]));
	LIST_FOREACH(u, &d->usages, link)
		if (u->uid == uid)
			memcpy(used, u->used, RB_LIMIT_COUNT * sizeof(used[0]));
}

int res_limit_override(struct rb_daemon *d, uid_t uid, enum rb_limit l,
		       uint64_t value)
{
	struct rb_limit_override *o = NULL, *n;

	for (size_t i = 0; i < d->noverrides; i++)
		if (d->overrides[i].uid == uid)
			o = &d->overrides[i];
	if (!o) {
		n = realloc(d->overrides, (d->noverrides + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		d->overrides = n;
		o = &d->overrides[d->noverrides++];
		memset(o, 0, sizeof(*o));
		o->uid = uid;
	}
	o->set |= 1u << l;
	o->limits.v[l] = value;
	return 0;
}

int res_charge(struct rb_session *s, enum rb_limit l, uint64_t n,
	       struct rb_reply *rep)
{
	uint64_t *used = &s->usage->used[l];
	struct rb_limits lim;
	uint64_t max;

	res_limits_for(s->d, s->uid, &lim);
	max = lim.v[l];

	if (max && (*used > max || n > max - *used)) {
		log_notice("client %" PRIu64 " (pid %d uid %u): %s limit %" PRIu64
			   " reached (%" PRIu64 " in use, %" PRIu64 " asked)",
			   s->id, (int)s->pid, (unsigned int)s->uid,
			   cfg_limit_name(l), max, *used, n);
		reply_error(rep, "the %s limit of uid %u is %" PRIu64 " and %" PRIu64 " are in use",
			    cfg_limit_name(l), (unsigned int)s->uid, max, *used);
		return -EDQUOT;
	}
	*used += n;
	s->held[l] += n;
	return 0;
}

void res_uncharge(struct rb_session *s, enum rb_limit l, uint64_t n)
{
	uint64_t *used = &s->usage->used[l];

	*used = *used >= n ? *used - n : 0;
	s->held[l] = s->held[l] >= n ? s->held[l] - n : 0;
}
