/* SPDX-License-Identifier: MIT */
/*
 * How an engine shares itself between users (daemon/sched.c).
 *
 * Every uid with a connection has a tenant: its weight (its share of a
 * busy engine, against the other busy tenants'), and two token buckets,
 * one of bytes per second (bandwidth) and one of work requests per second
 * (message_rate), from rdmabrokerd.conf ([limits], [limits USER],
 * [limits @GROUP]) or `rdmactl limits set`.  An engine (the soft device's,
 * drivers/soft/soft-sched.c) serves tenants by deficit round robin with
 * the weights, asks sched_wait() before it serves one and charges what it
 * moved with sched_charge(); a tenant whose bucket ran dry is held back
 * until it refills, and the time each client spent held back is counted
 * (sched_client_throttled_ns) beside the tenant's bytes and work requests.
 */
#ifndef RB_DAEMON_SCHED_H
#define RB_DAEMON_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "daemon/cfg.h"

struct rb_daemon;
struct rb_session;
struct rb_res;

/* A token bucket: rate units per second, at most burst held. */
struct rb_bucket {
	uint64_t rate;			/* 0 = unlimited */
	double tokens;			/* may go below 0: what was served on credit */
	double burst;
	uint64_t last_ns;
	uint64_t due_ns;		/* told to wait until then, or 0 */
};

struct rb_sched_tenant {
	LIST_ENTRY(rb_sched_tenant) link;
	uid_t uid;
	unsigned int refs;		/* sessions of this uid */
	/* The groups of its first client, for [limits @GROUP]. */
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	uint64_t v[RB_SCHED_COUNT];	/* in force */
	struct rb_bucket bytes_tb, wrs_tb;
	/* Counters, since the tenant appeared (its uid's first connection). */
	uint64_t bytes;			/* moved by the engine for its QPs */
	uint64_t wrs;			/* work requests started */
	uint64_t throttled_ns;		/* held back by a bucket, summed */
	uint64_t throttled_since;	/* held back now since then */
	unsigned int held;		/* its QPs with work held back now */
};

/* Per session (rb_session.sched): how long it was held back. */
struct rb_sched_client {
	uint64_t throttled_ns;
	uint64_t throttled_since;	/* held back now since then */
	unsigned int held;		/* its QPs with work held back now */
};

/* A run-time setting (rdmactl limits set), until the daemon restarts. */
struct rb_sched_override {
	uid_t uid;
	uint32_t set;			/* bit k: v[k] overrides the config */
	uint64_t v[RB_SCHED_COUNT];
};

/* The session's tenant, taken at accept and dropped at destroy. */
int sched_session_start(struct rb_session *s);
void sched_session_end(struct rb_session *s);
/* The config was reloaded, or an override changed: values in force again. */
void sched_reconfigure(struct rb_daemon *d);
/* Override key k of uid (rdmactl limits set); -EINVAL, -ENOMEM. */
int sched_override(struct rb_daemon *d, uid_t uid, enum rb_sched_key k, uint64_t v);
/* What is in force for uid: its tenant's, else the config's without groups. */
void sched_values_for(const struct rb_daemon *d, uid_t uid, uint64_t out[RB_SCHED_COUNT],
		      uint32_t *overridden);
/* The tenant of uid while it has a connection, or NULL. */
const struct rb_sched_tenant *sched_tenant_find(const struct rb_daemon *d, uid_t uid);
void sched_free(struct rb_daemon *d);

/* For engines.  The tenant owning r (NULL: none, e.g. a test harness). */
struct rb_sched_tenant *sched_tenant_of(const struct rb_res *r);
/* The tenant's weight (1 for NULL). */
uint64_t sched_weight(const struct rb_sched_tenant *t);
/* 0 if t may be served at now_ns, else how many ns until it may. */
uint64_t sched_wait(struct rb_sched_tenant *t, uint64_t now_ns);
/* t's engine moved bytes and started wrs work requests. */
void sched_charge(struct rb_sched_tenant *t, uint64_t bytes, uint64_t wrs, uint64_t now_ns);
/*
 * A QP of r's owner with work is held back from now, or no longer: its
 * client (and tenant) count as held back while any of theirs is.
 */
void sched_throttle_begin(const struct rb_res *r, uint64_t now_ns);
void sched_throttle_end(const struct rb_res *r, uint64_t now_ns);
/* Time s spent held back, now included. */
uint64_t sched_client_throttled_ns(const struct rb_session *s, uint64_t now_ns);
uint64_t sched_tenant_throttled_ns(const struct rb_sched_tenant *t, uint64_t now_ns);
/* CLOCK_MONOTONIC in ns, the clock of every figure here. */
uint64_t sched_now_ns(void);

#endif /* RB_DAEMON_SCHED_H */
