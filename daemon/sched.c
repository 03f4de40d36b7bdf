/* SPDX-License-Identifier: MIT */
/*
 * Tenants of the engines: weights, token buckets and what was served
 * (daemon/sched.h; the policy is described in rdmabrokerd.conf(5)).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/sched.h"

/*
 * A bucket holds what its rate brings in SCHED_BURST_NS: enough that a
 * wake-up the machine delays by a few ms loses nothing, small enough that
 * over a second the rate holds within a few per cent.  A bytes bucket
 * holds at least SCHED_BURST_MIN_BYTES, so that one engine turn fits.
 */
#define SCHED_BURST_NS		50000000ull
#define SCHED_BURST_MIN_BYTES	(256.0 * 1024)

uint64_t sched_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ buckets */

/*
 * What the rate brought since the last look, up to the burst; a tenant
 * told to wait until due_ns and served only later (the engine's timer is
 * late on a busy machine, by one clock tick or many) keeps what came in
 * meanwhile too: it was waiting, not idle, and the cap is a rate.
 */
static void bucket_refill(struct rb_bucket *b, uint64_t now)
{
	double max = b->burst, was = b->tokens;

	if (!b->rate || now <= b->last_ns)
		return;
	b->tokens += (double)b->rate * (double)(now - b->last_ns) / 1e9;
	if (b->due_ns && now > b->due_ns)
		max += (double)b->rate * (double)(now - b->due_ns) / 1e9;
	b->due_ns = 0;
	/* Credit kept from a late wake-up is spent, not cut, by later looks. */
	if (max < was)
		max = was;
	if (b->tokens > max)
		b->tokens = max;
	b->last_ns = now;
}

/* A new rate: a bucket that was unlimited starts full. */
static void bucket_set(struct rb_bucket *b, uint64_t rate, double min_burst, uint64_t now)
{
	bool was_unlimited = !b->rate;

	bucket_refill(b, now);
	b->rate = rate;
	b->due_ns = 0;
	if (!rate)
		return;
	b->burst = (double)rate * (double)SCHED_BURST_NS / 1e9;
	if (b->burst < min_burst)
		b->burst = min_burst;
	if (was_unlimited || b->tokens > b->burst)
		b->tokens = b->burst;
	b->last_ns = now;
}

/* 0 when the bucket has tokens, else ns until it has. */
static uint64_t bucket_wait(struct rb_bucket *b, uint64_t now)
{
	double ns;

	if (!b->rate)
		return 0;
	bucket_refill(b, now);
	if (b->tokens > 0)
		return 0;
	ns = (-b->tokens + 1) * 1e9 / (double)b->rate;
	if (ns < 1000)
		ns = 1000;
	b->due_ns = now + (uint64_t)ns;
	return (uint64_t)ns;
}

static void bucket_take(struct rb_bucket *b, uint64_t n)
{
	if (b->rate)
		b->tokens -= (double)n;
}

/* ------------------------------------------------------------ tenants */

static const struct rb_sched_override *sched_override_of(const struct rb_daemon *d, uid_t uid)
{
	for (size_t i = 0; i < d->nsched_overrides; i++)
		if (d->sched_overrides[i].uid == uid)
			return &d->sched_overrides[i];
	return NULL;
}

/* The values in force for t: the config's for its groups, overridden. */
static void tenant_apply(const struct rb_daemon *d, struct rb_sched_tenant *t, uint64_t now)
{
	const struct rb_sched_override *o = sched_override_of(d, t->uid);

	cfg_sched_for(&d->cfg, t->uid, t->gid, t->groups, t->ngroups, t->v);
	for (int k = 0; o && k < RB_SCHED_COUNT; k++)
		if (o->set & (1u << k))
			t->v[k] = o->v[k];
	bucket_set(&t->bytes_tb, t->v[RB_SCHED_BANDWIDTH], SCHED_BURST_MIN_BYTES, now);
	bucket_set(&t->wrs_tb, t->v[RB_SCHED_MESSAGE_RATE], 1.0, now);
}

int sched_session_start(struct rb_session *s)
{
	struct rb_daemon *d = s->d;
	struct rb_sched_tenant *t;

	LIST_FOREACH(t, &d->tenants, link) {
		if (t->uid == s->uid) {
			t->refs++;
			s->tenant = t;
			return 0;
		}
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->uid = s->uid;
	t->refs = 1;
	t->gid = s->gid;
	t->ngroups = s->ngroups;
	memcpy(t->groups, s->groups, (size_t)s->ngroups * sizeof(gid_t));
	tenant_apply(d, t, sched_now_ns());
	LIST_INSERT_HEAD(&d->tenants, t, link);
	s->tenant = t;
	return 0;
}

void sched_session_end(struct rb_session *s)
{
	struct rb_sched_tenant *t = s->tenant;

	s->tenant = NULL;
	if (!t || --t->refs)
		return;
	LIST_REMOVE(t, link);
	free(t);
}

void sched_reconfigure(struct rb_daemon *d)
{
	struct rb_sched_tenant *t;
	uint64_t now = sched_now_ns();

	LIST_FOREACH(t, &d->tenants, link)
		tenant_apply(d, t, now);
}

int sched_override(struct rb_daemon *d, uid_t uid, enum rb_sched_key k, uint64_t v)
{
	struct rb_sched_override *o = (struct rb_sched_override *)sched_override_of(d, uid);

	if (k >= RB_SCHED_COUNT || !cfg_sched_valid(k, v))
		return -EINVAL;
	if (!o) {
		struct rb_sched_override *n = realloc(d->sched_overrides,
						      (d->nsched_overrides + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->sched_overrides = n;
		o = &n[d->nsched_overrides++];
		memset(o, 0, sizeof(*o));
		o->uid = uid;
	}
	o->set |= 1u << k;
	o->v[k] = v;
	sched_reconfigure(d);
	return 0;
}

const struct rb_sched_tenant *sched_tenant_find(const struct rb_daemon *d, uid_t uid)
{
	const struct rb_sched_tenant *t;

	LIST_FOREACH(t, &d->tenants, link)
		if (t->uid == uid)
			return t;
	return NULL;
}

void sched_values_for(const struct rb_daemon *d, uid_t uid, uint64_t out[RB_SCHED_COUNT],
		      uint32_t *overridden)
{
	const struct rb_sched_tenant *t = sched_tenant_find(d, uid);
	const struct rb_sched_override *o = sched_override_of(d, uid);

	*overridden = o ? o->set : 0;
	if (t) {
		memcpy(out, t->v, sizeof(t->v));
		return;
	}
	cfg_sched_for(&d->cfg, uid, (gid_t)-1, NULL, 0, out);
	for (int k = 0; o && k < RB_SCHED_COUNT; k++)
		if (o->set & (1u << k))
			out[k] = o->v[k];
}

void sched_free(struct rb_daemon *d)
{
	free(d->sched_overrides);
	d->sched_overrides = NULL;
	d->nsched_overrides = 0;
}

/* ------------------------------------------------------------ engines */

struct rb_sched_tenant *sched_tenant_of(const struct rb_res *r)
{
	return r && r->owner ? r->owner->tenant : NULL;
}

uint64_t sched_weight(const struct rb_sched_tenant *t)
{
	return t ? t->v[RB_SCHED_WEIGHT] : 1;
}

uint64_t sched_wait(struct rb_sched_tenant *t, uint64_t now_ns)
{
	uint64_t a, b;

	if (!t)
		return 0;
	a = bucket_wait(&t->bytes_tb, now_ns);
	b = bucket_wait(&t->wrs_tb, now_ns);
	return a > b ? a : b;
}

void sched_charge(struct rb_sched_tenant *t, uint64_t bytes, uint64_t wrs, uint64_t now_ns)
{
	(void)now_ns;
	if (!t)
		return;
	t->bytes += bytes;
	t->wrs += wrs;
	bucket_take(&t->bytes_tb, bytes);
	bucket_take(&t->wrs_tb, wrs);
}

void sched_throttle_begin(const struct rb_res *r, uint64_t now_ns)
{
	struct rb_session *s = r ? r->owner : NULL;
	struct rb_sched_tenant *t = s ? s->tenant : NULL;

	if (!s)
		return;
	if (s->sched.held++ == 0)
		s->sched.throttled_since = now_ns;
	if (t && t->held++ == 0)
		t->throttled_since = now_ns;
}

void sched_throttle_end(const struct rb_res *r, uint64_t now_ns)
{
	struct rb_session *s = r ? r->owner : NULL;
	struct rb_sched_tenant *t = s ? s->tenant : NULL;

	if (!s || !s->sched.held)
		return;
	if (--s->sched.held == 0 && now_ns > s->sched.throttled_since) {
		s->sched.throttled_ns += now_ns - s->sched.throttled_since;
		/* rdmactl stat's per-tenant counter (stat.h), from the same time. */
		s->stat.throttled_ns += now_ns - s->sched.throttled_since;
	}
	if (t && t->held && --t->held == 0 && now_ns > t->throttled_since)
		t->throttled_ns += now_ns - t->throttled_since;
}

uint64_t sched_client_throttled_ns(const struct rb_session *s, uint64_t now_ns)
{
	uint64_t ns = s->sched.throttled_ns;

	if (s->sched.held && now_ns > s->sched.throttled_since)
		ns += now_ns - s->sched.throttled_since;
	return ns;
}

uint64_t sched_tenant_throttled_ns(const struct rb_sched_tenant *t, uint64_t now_ns)
{
	uint64_t ns = t->throttled_ns;

	if (t->held && now_ns > t->throttled_since)
		ns += now_ns - t->throttled_since;
	return ns;
}
