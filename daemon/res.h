/* SPDX-License-Identifier: MIT */
/*
 * The resource registry: every object a client creates (PD, and later MR,
 * CQ, QP, SRQ, AH) is an rb_res owned by one session.
 *
 * - Handles are per session.  A handle names a slot of that session's table
 *   and carries the slot's generation, so a handle of another session, a
 *   stale handle (freed, maybe reused) or a handle of the wrong type is
 *   refused with EINVAL, as the kernel refuses a bad uverbs handle.  No
 *   lookup ever looks outside the caller's own table.
 * - An object counts the objects that depend on it (users); destroying it
 *   while users > 0 is EBUSY.
 * - Every object is charged to its owner's uid against the per-user limits
 *   of rdmabrokerd.conf; past a limit the create fails with EDQUOT and one
 *   log line, and nothing else changes.
 * - When the session ends, its objects are destroyed newest first, which is
 *   dependency order (an object is always newer than what it depends on).
 *
 * Shared objects.  A few objects outlive the session that made them and
 * are used by several sessions at once, as the kernel shares them between
 * processes: an XRC domain opened by file (every process that opens the
 * same inode gets the same domain, ibv_open_xrcd(3)) and an XRC_RECV QP
 * (any process holding its domain may ibv_open_qp(3) it; it lives while
 * any process holds it).  They fit the rules above like this:
 *
 * - A shared object is an rb_res that is in no session's table: its owner
 *   is NULL, its handle 0, and it sits in the daemon's list of shared
 *   objects (d->shared) instead.  No request can name it directly.
 * - A session reaches it only through a link (struct rb_link): an
 *   ordinary object of the same type in the session's own table, whose
 *   res.target points at the shared object.  Handles, lookups (still only
 *   in the caller's table), ownership checks, per-session dependencies
 *   (an SRQ made through a domain link uses that link, so closing the link
 *   is EBUSY) and cleanup at disconnect work on links as on any object,
 *   so nothing a session does can touch what another holds, except
 *   through the shared object itself, which is the point.
 * - Each link is charged one unit of a limit to its own session's user
 *   (an XRCD link a PD, a QP link a QP) and uncharged when it goes: a user
 *   pays for every handle it holds, whoever made the object, so per-user
 *   limits bound what anyone can keep alive.  The shared object itself is
 *   charged to nobody (devices count it against their own maxima).
 * - A shared object lives while links name it (its `links` list) or
 *   objects depend on it (`users`, e.g. an XRC_RECV QP on its domain);
 *   when the last of both goes, it drops its own dependencies and is
 *   destroyed, whichever session let go last, and however (a destroy
 *   request, or a session that died).  A shared object may depend on
 *   shared objects only.
 * - Events about a shared object go to every link (each session sees its
 *   own handle), and each link counts what it was sent.
 * - res_owner_killed() is false for a shared object: no one session's
 *   misbehaviour can take it from the others.
 */
#ifndef RB_DAEMON_RES_H
#define RB_DAEMON_RES_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <time.h>

#include "daemon/cfg.h"

struct rb_session;
struct rb_daemon;
struct rb_reply;

enum rb_res_type {
	RB_RES_PD,
	RB_RES_CHANNEL,
	RB_RES_CQ,
	RB_RES_QP,
	RB_RES_SRQ,
	RB_RES_AH,
	RB_RES_MR,
	RB_RES_MW,
	RB_RES_XRCD,
	RB_RES_CM_CHANNEL,
	RB_RES_CM_ID,
	RB_RES_TYPE_COUNT
};

/* A QP depends on its PD, two CQs and maybe an SRQ. */
#define RB_RES_MAX_DEPS	4

struct rb_link;

struct rb_res {
	/* the owner's objects, oldest first; a shared object: d->shared */
	TAILQ_ENTRY(rb_res) link;
	struct rb_session *owner;	/* NULL: a shared object */
	enum rb_res_type type;
	uint32_t handle;
	uint32_t users;			/* objects that depend on this one */
	struct rb_res *deps[RB_RES_MAX_DEPS];	/* what this one depends on */
	time_t created;
	/* Type-specific teardown; frees the object (whose first member is
	 * the rb_res).  Called once, after the registry let go of it. */
	void (*destroy)(struct rb_res *r);
	struct rb_res *target;		/* a link: the shared object it names */
	LIST_HEAD(, rb_link) links;	/* a shared object: the links naming it */
};

TAILQ_HEAD(rb_res_list, rb_res);

/* A session's handle on a shared object (see above). */
struct rb_link {
	struct rb_res res;		/* must be first; res.target is set */
	LIST_ENTRY(rb_link) sibling;	/* in the target's links */
	int charged;			/* enum rb_limit charged to the owner */
	uint32_t events_reported;	/* async events about the target sent */
};

/* Per-session handle table. */
struct rb_res_table {
	struct rb_res **slots;
	uint16_t *gens;			/* generation of each slot */
	uint32_t *free_slots;		/* stack of unused slot numbers */
	uint32_t nslots, nfree;
	struct rb_res_list list;
	uint32_t count[RB_RES_TYPE_COUNT];
};

/* What one uid holds, over all its sessions. */
struct rb_usage {
	LIST_ENTRY(rb_usage) link;
	uid_t uid;
	unsigned int refs;		/* sessions of this uid */
	uint64_t used[RB_LIMIT_COUNT];
};

/* A limit set at run time (rdmactl limits set), until the daemon restarts. */
struct rb_limit_override {
	uid_t uid;
	uint32_t set;			/* bit l: v[l] overrides the config */
	struct rb_limits limits;
};

/* The limits in force for uid: the config's, with run-time overrides. */
void res_limits_for(const struct rb_daemon *d, uid_t uid, struct rb_limits *out);
/* The user's usage now (all zero when the user holds nothing). */
void res_usage_of(const struct rb_daemon *d, uid_t uid, uint64_t used[RB_LIMIT_COUNT]);
/* Override limit l of uid; -ENOMEM. */
int res_limit_override(struct rb_daemon *d, uid_t uid, enum rb_limit l,
		       uint64_t value);

const char *res_type_name(enum rb_res_type type);
/* The type named name ("pd", ...), or -1. */
int res_type_parse(const char *name);
/*
 * A zeroed object of the daemon's struct (own bytes) with room for the
 * driver's embedding struct around it (driver bytes, 0 for none): the
 * daemon's struct comes first in both (drivers/driver.h).
 */
void *res_alloc(size_t own, size_t driver);
/*
 * What the daemon holds for an object of that struct (res_alloc's size)
 * with map bytes of rings: charged to the owner's `memory` limit, the
 * rings counted in whole pages, since they are mapped (and pre-faulted,
 * ring.c) whole.
 */
uint64_t res_mem_bytes(size_t own, size_t driver, size_t map);

void res_table_init(struct rb_res_table *t);
/* Destroy every object of the session, newest first; free the table and
 * the QP rings the session kept (qp_pool_fini). */
void res_table_fini(struct rb_session *s);

struct rb_usage *res_usage_get(struct rb_daemon *d, uid_t uid);
void res_usage_put(struct rb_daemon *d, struct rb_usage *u);

/*
 * Charge n units of limit l to the session's user; -EDQUOT (logged, and
 * said in rep) past the limit in force for that uid.  res_uncharge undoes.
 */
int res_charge(struct rb_session *s, enum rb_limit l, uint64_t n,
	       struct rb_reply *rep);
void res_uncharge(struct rb_session *s, enum rb_limit l, uint64_t n);

/*
 * Enter r (its type, deps, destroy set by the caller) into the session's
 * table; sets r->handle, r->owner, r->created and takes a use of each of
 * its deps (NULL entries are skipped).  -ENOSPC when the table is full.
 */
int res_add(struct rb_session *s, struct rb_res *r);

/*
 * The caller's object of this type with this handle, or NULL with EINVAL
 * said in rep.
 */
struct rb_res *res_lookup(struct rb_session *s, uint32_t handle,
			  enum rb_res_type type, struct rb_reply *rep);

/*
 * Take r out of its table, drop its uses of its deps and destroy it;
 * -EBUSY (said in rep) if other objects still use it.
 */
int res_remove(struct rb_res *r, struct rb_reply *rep);

/*
 * Make r (its type, deps and destroy set by the caller) a shared object of
 * d: in no table, owner NULL, a use taken of each of its deps (shared
 * objects too).  It has no link yet: the caller links it at once
 * (res_link), or drops it with res_shared_put.
 */
void res_share(struct rb_daemon *d, struct rb_res *r);

/*
 * A link to the shared object target in s's table, charged one unit of
 * limit l to s's user, depending on dep (the session's object it was made
 * through: its domain's link; or NULL).  0 with *out set, or -EDQUOT /
 * -ENOSPC / -ENOMEM (said in rep); on failure target is put, so a target
 * nobody else holds is destroyed.
 */
int res_link(struct rb_session *s, struct rb_res *target, enum rb_limit l,
	     struct rb_res *dep, struct rb_reply *rep, struct rb_link **out);

/* Destroy shared object r if no link names it and no object uses it. */
void res_shared_put(struct rb_daemon *d, struct rb_res *r);

/* What r stands for: the shared object of a link, else r itself. */
static inline struct rb_res *res_target(struct rb_res *r)
{
	return r && r->target ? r->target : r;
}

/*
 * The session's object in the lowest slot >= *slot, its slot left in
 * *slot, or NULL past the last.  An object keeps its slot for life, so
 * slot order is a stable order for listings (rdmactl res).
 */
struct rb_res *res_at_or_after(struct rb_session *s, uint32_t *slot);

/* res_lookup then res_remove: the body of a plain destroy request. */
int res_destroy(struct rb_session *s, uint32_t handle, enum rb_res_type type,
		struct rb_reply *rep);

#endif /* RB_DAEMON_RES_H */
