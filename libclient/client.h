/* SPDX-License-Identifier: MIT */
/*
 * librdmabroker internals.  The library exports the libibverbs API and ABI
 * (see librdmabroker.map.in); every control verb becomes a request to
 * rdmabrokerd over one connection per opened device context.
 *
 * Object layout, as programs compiled against <infiniband/verbs.h> expect:
 *   - struct ibv_device is the first member of struct rbc_device, so the
 *     pointers in the device list are ours;
 *   - struct verbs_context (whose last member is struct ibv_context) is the
 *     first member of struct rbc_context, with abi_compat set to
 *     __VERBS_ABI_IS_EXTENDED and sz to its size, so the inline wrappers in
 *     verbs.h (ibv_query_port, ibv_query_device_ex, ibv_create_cq_ex, ...)
 *     find the extended ops.  An op we leave NULL makes the inline wrapper
 *     fail with EOPNOTSUPP, which is what libibverbs does for a provider
 *     without it.
 */
#ifndef RB_LIBCLIENT_CLIENT_H
#define RB_LIBCLIENT_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <infiniband/verbs.h>

#include "proto/conv.h"
#include "proto/rpc.h"
#include "proto/shm.h"

/* Functions and data the version script exports are marked with this. */
#define RB_EXPORT __attribute__((visibility("default")))

struct rbc_device {
	struct ibv_device ibdev;	/* must be first */
	/* Where rdma-core's struct verbs_device has its ops: a provider's
	 * *dv_* call compares it with its own table before it trusts the
	 * device (mlx5dv_is_supported, efadv_query_device), so NULL makes
	 * them refuse a broker device instead of reading our fields. */
	const void *verbs_ops;
	uint32_t index;			/* the daemon's device index */
	uint64_t node_guid;		/* host order */
	char socket_path[108];		/* the daemon this device came from */
	unsigned int refcnt;		/* list entries + open contexts */
};

/* struct verbs_device { struct ibv_device device; ops; ... } in rdma-core. */
_Static_assert(__builtin_offsetof(struct rbc_device, verbs_ops) ==
	       sizeof(struct ibv_device), "verbs_ops where verbs_device.ops is");

struct rbc_cq {
	/* Must be first: struct ibv_cq_ex begins with struct ibv_cq's fields,
	 * so the same object serves ibv_create_cq and ibv_create_cq_ex. */
	struct ibv_cq_ex cq;
	pthread_mutex_t lock;		/* pollers of this CQ, resize */
	struct rb_ring *ring;		/* the daemon's memfd, mapped */
	size_t ring_bytes;
	uint32_t empty_polls;		/* in a row: see rbc_poll_cq */
	/* Sleeping on the ring's futex (rbc_cq_wait): how long to poll the
	 * empty CQ first (0: never sleep), since when it has been empty, and
	 * how many sleeps of this wait ran out without a completion. */
	uint64_t sleep_after_ns, empty_since_ns;
	uint32_t sleeps_missed;
	/* Events handed out by ibv_get_cq_event / ibv_get_async_event, which
	 * destroy waits to see acked (under the context's cq_lock). */
	uint32_t comp_handed, async_handed;
	LIST_ENTRY(rbc_cq) link;	/* in its context's list */
	/* ibv_start_poll .. ibv_end_poll: where the walk is. */
	uint32_t poll_cons, poll_end;
	const struct rb_cqe *cur;
};

/* rbc_poll_cq yields the core after this many empty polls in a row ... */
#define RBC_POLL_YIELD	64
/* ... unless a yield of this thread came back this late (ns) while the
 * engine ran on another core: then it spins through a window that starts
 * at the least and doubles, up to the most, while that holds
 * (rbc_poll_yield, libclient/cq.c) */
#define RBC_YIELD_LATE_NS	100000
#define RBC_YIELD_SPIN_MIN_NS	(2 * 1000000ull)
#define RBC_YIELD_SPIN_MAX_NS	(16 * 1000000ull)
/* ... and, when the engine runs on this thread's core, moves the thread
 * to another core it may run on instead, at most once in this long (ns);
 * RDMABROKER_POLL_MOVE=0 turns that off (rbc_poll_move, libclient/cq.c) */
#define RBC_POLL_MOVE_EVERY_NS	(10 * 1000000ull)
/* ... a yield late in the first of these after a move is the lag it
 * brought along; two late by the second after that and before the third
 * mean a stranger where it went: back, and the next move waits this
 * long, then this long */
#define RBC_POLL_MOVE_SETTLE_NS	(5 * 1000000ull)
#define RBC_POLL_MOVE_STRANGER_NS	(1000 * 1000ull)
#define RBC_POLL_MOVE_JUDGE_NS	(50 * 1000000ull)
#define RBC_POLL_MOVE_AFTER_LATE_NS	(1000 * 1000000ull)
#define RBC_POLL_MOVE_EVERY_MAX_NS	(10 * 1000000000ull)
#define RBC_POLL_MOVE_ENV	"RDMABROKER_POLL_MOVE"
/* ... sleeps instead, once the CQ has been empty this long (µs; 0: never,
 * the default: a sleep in a poll stalls a program that also polls memory,
 * as perftest's ib_write_lat does; docs/performance.md, "A poller that
 * sleeps") */
#define RBC_POLL_SLEEP_US	0
/* ... for at most this long a sleep, and this many that time out a wait */
#define RBC_POLL_SLEEP_MAX_NS	200000
#define RBC_POLL_SLEEPS_MISSED	8
/* ... when one of the first this many send queues of the CQ has work */
#define RBC_POLL_SCAN		16
/* ... and after this many looks whether the daemon is still there. */
#define RBC_POLL_CHECK	1024

static inline struct ibv_cq *rbc_ibv_cq(struct rbc_cq *cq)
{
	return (struct ibv_cq *)&cq->cq;
}

struct rbc_channel {
	struct ibv_comp_channel ch;	/* must be first */
	uint32_t handle;
};

/*
 * The rings and doorbell of a destroyed QP, kept under the daemon's id for
 * a later create on the same context (qp.c; QpDestroyReq.keep_ring), when
 * RDMABROKER_QP_RING_CACHE asks for it: by default a destroy unmaps and
 * closes everything at once (DESIGN.md, the lessons from rdma-core).
 */
#define RBC_KEPT_MAX	16
/* Modifies one QpCreateReq may carry (rdmab_create_qp_modify: INIT, RTR, RTS). */
#define RBC_QP_MODS_MAX	4
#define RBC_RING_CACHE_ENV	"RDMABROKER_QP_RING_CACHE"

struct rbc_kept {
	uint32_t id;			/* 0: a free slot */
	void *map;			/* SQ at 0, RQ at rq_off */
	size_t len, rq_off;
	int doorbell;
};

struct rbc_context {
	struct verbs_context vctx;	/* must be first; ends with ibv_context */
	struct rbc_device *dev;
	pthread_mutex_t rpc_lock;	/* one request in flight per connection */
	struct rb_rpc rpc;
	pthread_mutex_t cq_lock;	/* the three lists */
	LIST_HEAD(, rbc_cq) cqs;	/* to find the object of an event */
	LIST_HEAD(, rbc_qp) qps;
	LIST_HEAD(, rbc_srq) srqs;
	bool fatal_reported;		/* IBV_EVENT_DEVICE_FATAL handed out */
	/* QP create and destroy hold it around their call, so what is kept
	 * here and what the daemon keeps change together. */
	pthread_mutex_t kept_lock;
	int kept_max;			/* RDMABROKER_QP_RING_CACHE, 0: none */
	struct rbc_kept kept[RBC_KEPT_MAX];
	/* The daemon closed our connection (it died or stopped): set once,
	 * read without a lock (__atomic); see rbc_mark_dead. */
	bool dead;
	/* Whether the device stamps completions (its completion_timestamp_
	 * mask): 0 not asked yet, 1 yes, -1 no; __atomic, see rbc_stamps. */
	int stamps;
};

struct rbc_qp {
	/* Must be first: struct ibv_qp_ex begins with struct ibv_qp, so one
	 * object serves ibv_create_qp and ibv_qp_to_qp_ex. */
	union {
		struct ibv_qp qp;
		struct ibv_qp_ex qpx;
	};
#ifndef HAVE_STRUCT_IBV_QP_EX_WR_FLUSH
	/* ibv_qp_ex.wr_flush of rdma-core 45 and later, which comes right
	 * after the struct these headers know: a program built with newer
	 * headers calls ibv_wr_flush() through it (post.c). */
	void (*wr_flush)(struct ibv_qp_ex *qp, uint32_t rkey, uint64_t remote_addr,
			 size_t len, uint8_t type, uint8_t level);
#endif
	bool is_ex;			/* created with send_ops_flags */
	/* ibv_wr_start .. ibv_wr_complete (sq_lock held): */
	uint32_t wr_prod;		/* slots taken so far */
	struct rb_send_wqe *wr_cur;	/* the WR being built, or NULL */
	int wr_err;			/* the first error: nothing is posted */
	pthread_mutex_t sq_lock, rq_lock;	/* posters */
	struct ibv_qp_cap cap;		/* granted */
	struct rb_ring *sq, *rq;
	size_t sq_bytes, rq_bytes;
	/* cons of each ring as last read (post.c): read again only when the
	 * ring looks full, so that a post does not pull the line the engine
	 * writes on every WR (locks: sq_lock, rq_lock). */
	uint32_t sq_cons_seen, rq_cons_seen;
	int doorbell;			/* eventfd to wake the engine */
	uint32_t async_handed;		/* as rbc_cq's */
	LIST_ENTRY(rbc_qp) link;	/* in its context's list */
};

#ifndef HAVE_STRUCT_IBV_QP_EX_WR_FLUSH
/* Where rdma-core 45's struct ibv_qp_ex has wr_flush. */
_Static_assert(__builtin_offsetof(struct rbc_qp, wr_flush) == sizeof(struct ibv_qp_ex),
	       "wr_flush follows struct ibv_qp_ex");
#endif

struct rbc_srq {
	struct ibv_srq srq;		/* must be first */
	pthread_mutex_t lock;		/* posters and resize */
	struct rb_ring *ring;
	size_t ring_bytes;
	uint32_t max_sge;		/* granted */
	int doorbell;			/* eventfd to wake the engine */
	uint32_t async_handed;		/* as rbc_cq's */
	uint32_t srq_num;		/* XRC: ibv_get_srq_num */
	LIST_ENTRY(rbc_srq) link;	/* in its context's list */
};

static inline struct rbc_context *to_rbc_context(struct ibv_context *ctx)
{
	return (struct rbc_context *)((char *)ctx -
				      __builtin_offsetof(struct rbc_context, vctx.context));
}

static inline struct rbc_device *to_rbc_device(struct ibv_device *dev)
{
	return (struct rbc_device *)dev;
}

/*
 * The daemon is gone for this context (a lost connection, end of file on
 * the async fd or a channel, IBV_EVENT_DEVICE_FATAL): from then on every
 * request fails with EIO without a system call, posts fail with EIO,
 * ibv_poll_cq returns -EIO once the CQ is empty, and destroys succeed
 * here alone (rbc_call_destroy), as libibverbs does on a device that went
 * away.  The context stays usable for exactly that until closed.
 */
static inline bool rbc_dead(struct rbc_context *c)
{
	return __atomic_load_n(&c->dead, __ATOMIC_RELAXED);
}

static inline void rbc_mark_dead(struct rbc_context *c)
{
	__atomic_store_n(&c->dead, true, __ATOMIC_RELAXED);
}

/*
 * Whether the daemon is gone: the flag, or else a hang-up on the
 * connection (one poll(2); it sets the flag).  For callers that have
 * nothing else to learn it from, such as a poller of an empty CQ.
 */
bool rbc_daemon_gone(struct rbc_context *c);

/*
 * Make one request on the context's connection.  Returns 0 with *reply set
 * (free with rb_rpc_reply_free) and its body the one asked for, or a
 * positive errno: the daemon's status for a refused request, EIO when the
 * daemon is gone or answered garbage or the wrong kind of reply.
 */
int rbc_call(struct rbc_context *c, Rdmabroker__Request *req,
	     Rdmabroker__Reply **reply);

/*
 * rbc_call for a reply that must carry exactly nfds fds, stored in fds[];
 * a reply with any other number is EIO (and its fds closed).
 */
int rbc_call_fds(struct rbc_context *c, Rdmabroker__Request *req,
		 Rdmabroker__Reply **reply, int *fds, size_t nfds);
/* ... for a reply with at most max fds: *nfds says how many came. */
int rbc_call_fds_max(struct rbc_context *c, Rdmabroker__Request *req,
		     Rdmabroker__Reply **reply, int *fds, size_t max,
		     size_t *nfds);

/*
 * A destroy request: 0 (the reply freed), a positive errno from the
 * daemon, or 0 when the daemon is gone, because its objects went with it;
 * the caller then frees what it holds.
 */
int rbc_call_destroy(struct rbc_context *c, Rdmabroker__Request *req);

/* rbc_call with nfds fds sent beside the request (they stay open here). */
int rbc_call_send_fds(struct rbc_context *c, Rdmabroker__Request *req,
		      Rdmabroker__Reply **reply, const int *fds, size_t nfds);

/*
 * Map a ring the daemon sent (cq.c): bytes long, of this kind; NULL with
 * errno (EPROTO: not a ring of our ABI) otherwise.
 */
struct rb_ring *rbc_map_ring(int fd, size_t bytes, uint32_t kind);
void *rbc_map_rings(int fd, size_t bytes);
int rbc_ring_check(const struct rb_ring *r, size_t bytes, uint32_t kind);

/* Unmap and close the QP rings the context kept (qp.c). */
void rbc_qp_kept_fini(struct rbc_context *c);
/* RDMABROKER_QP_RING_CACHE: how many destroyed QPs keep their rings (0..16). */
int rbc_ring_cache_size(void);

/* verbs_context's thread and parent domains (pd.c). */
struct ibv_td *rbc_alloc_td(struct ibv_context *context,
			    struct ibv_td_init_attr *attr);
int rbc_dealloc_td(struct ibv_td *td);
struct ibv_pd *rbc_alloc_parent_domain(struct ibv_context *context,
				       struct ibv_parent_domain_init_attr *attr);
bool rbc_is_parent_domain(struct ibv_pd *pd);

/* verbs_context.create_cq_ex (cq.c). */
/* XRC (srq.c): domains, XRC SRQs and their numbers. */
struct rbc_xrcd {
	struct ibv_xrcd xrcd;		/* must be first */
	uint32_t handle;		/* the daemon's */
};

struct ibv_xrcd *rbc_open_xrcd(struct ibv_context *context,
			       struct ibv_xrcd_init_attr *attr);
int rbc_close_xrcd(struct ibv_xrcd *xrcd);
struct ibv_srq *rbc_create_srq_ex(struct ibv_context *context,
				  struct ibv_srq_init_attr_ex *attr);
int rbc_get_srq_num(struct ibv_srq *srq, uint32_t *srq_num);

/* Memory windows (mw.c; binding type 1 is a post: post.c). */
struct ibv_mw *rbc_alloc_mw(struct ibv_pd *pd, enum ibv_mw_type type);
int rbc_dealloc_mw(struct ibv_mw *mw);
int rbc_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw, struct ibv_mw_bind *mw_bind);

/* The device stamps its completions (proto/shm.h): true, or false with
 * errno (EOPNOTSUPP: it does not; or why it could not be asked). */
bool rbc_stamps(struct rbc_context *c);
struct ibv_cq_ex *rbc_create_cq_ex(struct ibv_context *context,
				   struct ibv_cq_init_attr_ex *attr);

/* verbs_context.create_qp_ex (qp.c). */
struct ibv_qp *rbc_create_qp_ex(struct ibv_context *context,
				struct ibv_qp_init_attr_ex *attr);
/* RDMABROKER_PRIVATE_1.0, for librdmabroker-cm (libclient/cm/cm.h). */
struct ibv_qp *rdmab_create_qp_modify(struct ibv_qp_init_attr_ex *attr,
				      const struct ibv_qp_attr *mods,
				      const int *masks, size_t nmods);
/* RDMABROKER_PRIVATE_1.0, for rdmabrokerd's verbs driver (cq.c). */
int rdmab_cq_engine_cpu(struct ibv_cq *cq);
struct ibv_qp *rbc_open_qp(struct ibv_context *context,
			   struct ibv_qp_open_attr *attr);

/* Drop the completions of QP qpn from a CQ (cq.c): a QP moved to RESET. */
void rbc_cq_clean(struct ibv_cq *cq, uint32_t qpn);

/* The data-path ops of struct ibv_context_ops for CQs (cq.c). */
int rbc_poll_cq(struct ibv_cq *cq, int num_entries, struct ibv_wc *wc);
int rbc_req_notify_cq(struct ibv_cq *cq, int solicited_only);

/*
 * The ibv_wr_* API on a QP created with send_ops_flags (post.c); 0, or
 * EOPNOTSUPP for a flag the soft device lacks.
 */
int rbc_qp_ex_init(struct rbc_qp *qp, uint64_t send_ops_flags);

/* ... and for posting work (post.c). */
int rbc_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr,
		  struct ibv_send_wr **bad_wr);
int rbc_post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr,
		  struct ibv_recv_wr **bad_wr);
int rbc_post_srq_recv(struct ibv_srq *srq, struct ibv_recv_wr *wr,
		      struct ibv_recv_wr **bad_wr);

/* The *_str tables and rate conversions live in strings.c; nothing shared. */

/*
 * Private libibverbs entry points that are not in the installed headers
 * (rdma-core's driver.h and marshall.h); we export them with the same
 * prototypes.
 */
enum ibv_gid_type_sysfs {
	IBV_GID_TYPE_SYSFS_IB_ROCE_V1,
	IBV_GID_TYPE_SYSFS_ROCE_V2,
};

int ibv_query_gid_type(struct ibv_context *context, uint8_t port_num,
		       unsigned int index, enum ibv_gid_type_sysfs *type);
const char *ibv_get_sysfs_path(void);
int ibv_read_sysfs_file(const char *dir, const char *file, char *buf,
			size_t size);
int ibv_dontfork_range(void *base, size_t size);
int ibv_dofork_range(void *base, size_t size);

struct ib_uverbs_qp_attr;
struct ib_uverbs_ah_attr;
struct ib_user_path_rec;
struct ibv_sa_path_rec;
void ibv_copy_qp_attr_from_kern(struct ibv_qp_attr *dst,
				struct ib_uverbs_qp_attr *src);
void ibv_copy_ah_attr_from_kern(struct ibv_ah_attr *dst,
				struct ib_uverbs_ah_attr *src);
void ibv_copy_path_rec_from_kern(struct ibv_sa_path_rec *dst,
				 struct ib_user_path_rec *src);
void ibv_copy_path_rec_to_kern(struct ib_user_path_rec *dst,
			       struct ibv_sa_path_rec *src);

#endif /* RB_LIBCLIENT_CLIENT_H */
