/* SPDX-License-Identifier: MIT */
/*
 * The one contract between the daemon and a device back-end ("driver"),
 * in the spirit of rdma-core's verbs_context_ops.  docs/drivers.md has the
 * picture of who owns what; this header is the reference.
 *
 * Two tables:
 * - struct rb_driver, one per driver, in the registry (drivers/registry.c):
 *   its name, its rdmabrokerd.conf section, the parser of that section's
 *   keys, and create(), which makes the driver's devices.  device_init()
 *   walks the registry and knows no driver by name.
 * - struct rb_driver_ops, one per device: object lifecycle (PD, MR, CQ,
 *   QP, SRQ, AH), the data-path hooks (doorbells, progress) and queries.
 *   rb_device_set_ops() copies it into the device and fills every op the
 *   driver leaves NULL with a stub (-EOPNOTSUPP for what creates or
 *   changes an object, a no-op for hooks and teardown, as documented per
 *   op), so the daemon never tests an op for NULL.
 *
 * Who checks what.  The daemon validates every request once, at the
 * boundary: handles resolve to live objects of the caller's session, the
 * objects depend on each other as verbs requires (a QP's PD, CQs and SRQ
 * are the caller's, on the same device), attributes are within the
 * device's limits (struct rb_device max_*, from query_device) and the
 * caller's [limits], QP state transitions and their attribute masks are
 * legal (daemon/qp.c), MR access flags are consistent and the memory is
 * the caller's (sealed memfd mapped, or its /proc/self/mem), AH attributes
 * are in range.  Ops are only called with such requests and trust them;
 * an op returns 0 or -errno, and on failure leaves the object as it found
 * it (the daemon then frees it and answers the client with the errno).
 * Ops never see a session, a request or a reply: objects and attributes.
 *
 * What the daemon keeps for every device (daemon/objects.h): the objects
 * and their handles, ownership and dependencies (daemon/res.h), resource
 * limits, the shared rings (proto/shm.h) and their doorbell eventfds, the
 * CQ rings' producer side (cq_push), async-event delivery, logging, and
 * the event loop (daemon/loop.c).  What a driver keeps: everything the
 * device means, among them QP numbers, memory keys and their look-up
 * tables (per device, never process globals), and what executes work.
 *
 * Per-object driver state is embedded: a driver that needs state for a
 * QP declares struct soft_qp { struct rb_qp qp; ... } with the daemon's
 * struct FIRST, and sets .qp_size = sizeof(struct soft_qp); the daemon
 * allocates that many zeroed bytes (res_alloc), fills the embedded rb_qp,
 * calls the op, and frees the whole after the destroy op; the driver gets
 * back to its struct with rb_container_of.  A size of 0 means the
 * daemon's struct alone.
 *
 * Threads: none.  Everything runs on the daemon's one thread, inside its
 * libevent loop; no op may block.  The loop is the daemon's: a driver
 * that waits on fds or timers adds its own events to the event_base it is
 * given at create (dev->base), and tells the daemon it has work with
 * rb_device_wake(); the daemon then calls progress() until the device
 * says it is idle.  When to poll and when to sleep is the daemon's policy
 * (daemon/loop.c), not the driver's.
 */
#ifndef RB_DRIVERS_DRIVER_H
#define RB_DRIVERS_DRIVER_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

struct event_base;
struct rb_device;
struct rb_driver;
struct rb_pd;
struct rb_mr;
struct rb_cq;
struct rb_qp;
struct rb_srq;
struct rb_ah;
struct rb_mw;
struct rb_xrcd;

#define rb_container_of(p, type, member) \
	((type *)(void *)((char *)(p) - __builtin_offsetof(type, member)))

/* What progress() reports (bits). */
enum {
	RB_PROGRESS_DID_WORK	= 1,	/* this pass moved something */
	RB_PROGRESS_BUSY	= 2,	/* poll me again: queues still awake */
	/* Some of its queues' peers are reached through a socket (another
	 * host's engine, perhaps on this machine), not by shared memory:
	 * the loop yields with the default slice (daemon/loop.c). */
	RB_PROGRESS_WIRE	= 4,
};

/* One transport counter (stat_counters). */
struct rb_counter {
	const char *name;
	uint64_t value;
};
/* The most counters a device reports. */
#define RB_COUNTERS_MAX		64
/* One QP's transport counters (stat_qp_counters). */
#define RB_QP_COUNTERS_MAX	24
struct rb_qp_counters {
	const struct rb_qp *qp;
	unsigned int n;
	struct rb_counter c[RB_QP_COUNTERS_MAX];
};

struct rb_driver_ops {
	const char *name;		/* the driver's: "soft", "verbs" */

	/* Bytes to allocate per object (>= the daemon's struct), 0: its own. */
	size_t pd_size, mr_size, cq_size, qp_size, srq_size, ah_size, mw_size;

	/* Tear down a device made by this driver (every object is gone). */
	void (*destroy)(struct rb_device *dev);

	/* --------------------------------------------------------- queries */

	int (*query_device)(struct rb_device *dev,
			    struct ibv_device_attr_ex *attr);
	/* port_num in 1..phys_port_cnt (the daemon checked) */
	int (*query_port)(struct rb_device *dev, uint8_t port_num,
			  struct ibv_port_attr *attr);
	/* index < gid_tbl_len; an unused entry reads as all zeros, -ENODATA */
	int (*query_gid)(struct rb_device *dev, uint8_t port_num, int index,
			 union ibv_gid *gid, enum ibv_gid_type *type);
	int (*query_pkey)(struct rb_device *dev, uint8_t port_num, int index,
			  uint16_t *pkey);

	/* ----------------------------------------------------------- PD */

	/* pd->res and pd->dev are set.  Stub: -EOPNOTSUPP. */
	int (*alloc_pd)(struct rb_device *dev, struct rb_pd *pd);
	/* Its MRs, QPs, SRQs and AHs are gone.  Stub: no-op. */
	void (*dealloc_pd)(struct rb_pd *pd);

	/* ----------------------------------------------------------- MR */

	/*
	 * Register mr: mr->res.deps[0] (its PD), dev, mode, addr, length,
	 * iova (ibv_reg_mr_iova: the address the remote side names; addr
	 * for ibv_reg_mr) and access are set and checked, and the memory is
	 * reachable: MEMFD, mapped at map + map_skew (map_len bytes in all),
	 * or CMA, at addr in the client's address space through proc_mem
	 * (its /proc/self/mem, opened by the client).  The driver sets
	 * mr->lkey and mr->rkey, unique within the device.  Stub: -EOPNOTSUPP.
	 */
	int (*reg_mr)(struct rb_device *dev, struct rb_mr *mr);
	/*
	 * ibv_rereg_mr: the daemon has already applied flags
	 * (IBV_REREG_MR_CHANGE_*) to mr (new PD in res.deps[0], access,
	 * translation: mode, addr, length, iova, map or proc_mem) and kept
	 * the previous values in *old (its map and proc_mem still open until
	 * this returns).  The keys stay unless the driver changes them.  On
	 * failure the daemon puts *old back.  Stub: 0 (nothing to tell).
	 */
	int (*rereg_mr)(struct rb_mr *mr, int flags, const struct rb_mr *old);
	/* Before the mapping goes.  Stub: no-op. */
	void (*dereg_mr)(struct rb_mr *mr);

	/* --------------------------------------------------------- XRCD */

	/* ibv_open_xrcd: the daemon's object exists, once per domain, however
	 * many connections share it (a shared object, daemon/res.h: its
	 * res.owner is NULL).  Stub: -EOPNOTSUPP (no XRC: the daemon refuses
	 * XRC SRQs and QPs without an XRCD). */
	int (*open_xrcd)(struct rb_device *dev, struct rb_xrcd *xrcd);
	/* No SRQ or QP uses it any more.  Stub: no-op. */
	void (*close_xrcd)(struct rb_xrcd *xrcd);

	/* ----------------------------------------------------------- MW */

	/*
	 * ibv_alloc_mw: mw->res.deps[0] (its PD), dev and type (1 or 2,
	 * checked) are set.  The driver sets mw->rkey, unique within the
	 * device among MR and MW keys; binding it (IBV_WR_BIND_MW, posted)
	 * and what it then allows are the driver's.  Stub: -EOPNOTSUPP.
	 */
	int (*alloc_mw)(struct rb_device *dev, struct rb_mw *mw);
	/* Bound or not: its key stops working now.  Stub: no-op. */
	void (*dealloc_mw)(struct rb_mw *mw);

	/* ----------------------------------------------------------- CQ */

	/*
	 * cq->ring (cq->entries slots, cq->cqe usable) exists; completions
	 * go into it with cq_push() only.  A driver whose query_device
	 * reports a completion_timestamp_mask stamps every struct rb_cqe it
	 * pushes (ts: CLOCK_MONOTONIC ns, wallclock_ns: CLOCK_REALTIME ns,
	 * proto/shm.h); one that does not leaves both 0.  Stub: -EOPNOTSUPP.
	 */
	int (*create_cq)(struct rb_device *dev, struct rb_cq *cq);
	/*
	 * ibv_resize_cq: the daemon has already moved the unpolled entries
	 * to the new ring and updated cq (ring, entries, cqe, prod); old_cqe
	 * was the granted size.  On failure the daemon keeps the new ring
	 * anyway (the entries moved); a driver with its own CQ should not
	 * fail after touching it.  Stub: 0.
	 */
	int (*resize_cq)(struct rb_cq *cq, uint32_t old_cqe);
	/* The client rang the CQ (not used by the daemon's rings today:
	 * arming is a flag in the ring that cq_push reads).  Stub: no-op. */
	void (*cq_doorbell)(struct rb_cq *cq);
	/* No QP uses it any more.  Stub: no-op. */
	void (*destroy_cq)(struct rb_cq *cq);

	/* ----------------------------------------------------------- QP */

	/*
	 * qp: type, cap (granted), sq_sig_all, its rings (sq, rq with their
	 * entries and entry sizes), doorbell, res.deps (PD, send CQ, recv
	 * CQ, SRQ or NULL) and attr (RESET) are set.  The driver sets
	 * qp->qp_num, unique within the device (and not 0 or 1).  An
	 * XRC_RECV QP is shared between the connections that hold it
	 * (daemon/res.h): res.owner is NULL, res.deps[0] is its XRCD, and
	 * its async events go to every holder (qp_async_event).
	 * Stub: -EOPNOTSUPP.
	 */
	int (*create_qp)(struct rb_device *dev, struct rb_qp *qp);
	/*
	 * ibv_modify_qp, after the daemon checked the transition from `from`
	 * and the mask, and applied attr to qp->attr (qp->attr.qp_state is
	 * the new state; RESET reset the attributes).  attr/mask are what
	 * the client asked for.  On failure the daemon restores qp->attr.
	 * Stub: 0 (the daemon's copy is the QP).
	 */
	int (*modify_qp)(struct rb_qp *qp, const struct ibv_qp_attr *attr,
			 int mask, enum ibv_qp_state from);
	/* Refresh qp->attr from the device before the daemon answers an
	 * ibv_query_qp (a device that moves QPs by itself).  Stub: 0. */
	int (*query_qp)(struct rb_qp *qp);
	/* The client rang qp->doorbell (the daemon drained it).  Stub: no-op. */
	void (*qp_doorbell)(struct rb_qp *qp);
	/*
	 * Before a modify from RTS to ERR that a holder asked for (the daemon
	 * has checked it, not applied it): take the WQEs posted and not
	 * taken yet, as a NIC has fetched a WQE within a microsecond of its
	 * doorbell, long before a modify command reaches its firmware
	 * (rdma_disconnect modifies to ERR right after a program's last
	 * send).  What is not taken is then flushed.  Stub: no-op.
	 */
	void (*qp_take_posted)(struct rb_qp *qp);
	/* Before the daemon frees the rings (or keeps them for reuse).
	 * Stub: no-op. */
	void (*destroy_qp)(struct rb_qp *qp);
	/* ibv_attach_mcast/ibv_detach_mcast of a UD QP to the group gid
	 * (ff00::/8; lid as the API passes it).  Stub: -EOPNOTSUPP. */
	int (*attach_mcast)(struct rb_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);
	int (*detach_mcast)(struct rb_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);

	/* ----------------------------------------------------------- SRQ */

	/* srq: ring, max_wr, max_sge, srq_limit, doorbell, deps[0] (PD);
	 * XRC (srq->xrc): deps[1] its connection's XRCD handle, srq->xrcd the
	 * domain itself (what an XRC_RECV QP's deps[0] is), deps[2] its CQ, and the driver
	 * sets srq->srq_num, unique within the device.  Stub: -EOPNOTSUPP. */
	int (*create_srq)(struct rb_device *dev, struct rb_srq *srq);
	/* ibv_modify_srq, applied by the daemon (a resize has moved the
	 * pending WQEs to the new ring: srq->ring, srq->max_wr); attr/mask as
	 * asked.  Stub: 0. */
	int (*modify_srq)(struct rb_srq *srq, const struct ibv_srq_attr *attr,
			  int mask);
	/* Refresh srq's fields (srq_limit) before an ibv_query_srq.  Stub: 0. */
	int (*query_srq)(struct rb_srq *srq);
	/* The client rang srq->doorbell (drained).  Stub: no-op. */
	void (*srq_doorbell)(struct rb_srq *srq);
	/* No QP uses it any more.  Stub: no-op. */
	void (*destroy_srq)(struct rb_srq *srq);

	/* ----------------------------------------------------------- AH */

	/* ah->attr checked against the device (ah_attr_check).
	 * Stub: -EOPNOTSUPP. */
	int (*create_ah)(struct rb_device *dev, struct rb_ah *ah);
	/* Stub: no-op. */
	void (*destroy_ah)(struct rb_ah *ah);

	/* ------------------------------------------------------ data path */

	/*
	 * One pass over the device's work, called by the daemon's loop while
	 * the device is busy (after rb_device_wake()).  now_ns is
	 * CLOCK_MONOTONIC of this pass; idle_ns is the daemon's budget: a
	 * queue that has had no work for that long should stop being polled
	 * (ask its client for doorbells, proto/shm.h RB_RING_NEED_WAKEUP).
	 * Returns RB_PROGRESS_* bits: DID_WORK if anything moved, BUSY while
	 * anything is left to poll; without BUSY the daemon stops calling it
	 * until the next rb_device_wake(); WIRE while some of its queues'
	 * peers are reached through a socket (daemon/loop.c yields with the
	 * default time slice then).  Must never block.  Stub: 0.
	 */
	unsigned int (*progress)(struct rb_device *dev, uint64_t now_ns,
				 uint64_t idle_ns);

	/* ------------------------------------------------------- counters */

	/*
	 * The device's transport counters (rdmactl dev stat, like `rdma
	 * statistic`): up to max into out, names the driver's own, static
	 * strings; returns how many.  Stub: 0 (none).
	 */
	unsigned int (*stat_counters)(struct rb_device *dev, struct rb_counter *out,
				      unsigned int max);
	/*
	 * The transport counters of each QP that has any (rdmactl dev stat
	 * NAME qp, like `rdma statistic qp`): up to max QPs into out, from
	 * the skip-th on; returns how many.  Stub: 0.
	 */
	unsigned int (*stat_qp_counters)(struct rb_device *dev, unsigned int skip,
					 struct rb_qp_counters *out, unsigned int max);

	/* ------------------------------------------ management datagrams */

	/*
	 * Send one MAD (len bytes, RB_MAD_SIZE) from the GSI (QP1) of port 1,
	 * from the device's GID sgid, to the GSI of the port whose GID dgid
	 * is another host's (the daemon's connection manager across hosts,
	 * daemon/cm-mad.c).  0 queued (it may still be lost, as a datagram
	 * may), or -errno: -ENETUNREACH when the device has no wire or sgid
	 * is not its own.  len 0 sends nothing: 0 says a MAD from sgid to
	 * dgid could go (the CM's address resolution asks so).  Stub:
	 * -EOPNOTSUPP.  What arrives for the GSI goes to
	 * rb_device_gsi_recv().
	 */
	int (*gsi_send)(struct rb_device *dev, const union ibv_gid *sgid,
			const union ibv_gid *dgid, const void *mad, size_t len);
};

/* A management datagram: the IBTA's 256 bytes. */
#define RB_MAD_SIZE		256

struct rb_device {
	struct rb_driver_ops ops;	/* the driver's, NULL ops stubbed */
	const struct rb_driver *driver;	/* set by device_init */
	struct event_base *base;	/* the daemon's loop, for the driver's events */
	uint32_t index;			/* position in the daemon's list */
	char name[64];
	uint64_t node_guid;		/* host order */
	enum ibv_node_type node_type;
	enum ibv_transport_type transport_type;
	uint8_t phys_port_cnt;
	/* Capacity, from query_device at registration, and what is in use
	 * (kept by the daemon's registry; the device refuses past max). */
	uint32_t max_pd, npds;
	uint32_t max_cq, ncqs;
	uint32_t max_cqe;		/* per CQ */
	uint32_t max_qp, nqps;
	uint32_t max_qp_wr, max_sge;	/* per QP */
	uint32_t max_qp_rd_atom, max_qp_init_rd_atom;
	uint32_t max_inline_data;	/* not in ibv_device_attr: the driver's */
	uint32_t max_srq, nsrqs;
	uint32_t max_srq_wr, max_srq_sge;	/* per SRQ */
	uint32_t max_ah, nahs;
	uint32_t max_mr, nmrs;
	uint32_t max_mw, nmws;
	uint64_t max_mr_size;
	uint16_t pkey_tbl_len, gid_tbl_len;	/* port 1 */
	/*
	 * How long the daemon keeps polling a queue of this device after its
	 * last work before it may sleep (the idle_ns passed to progress()),
	 * set by the driver at create from its config ([soft] spin_us).
	 */
	uint64_t poll_idle_ns;
	/*
	 * The device reads and writes registered memory with the CPU,
	 * through the daemon's mappings of it (the soft device), rather than
	 * handing it to hardware: the daemon then touches each page of a new
	 * mapping in the background before the device's first copy does
	 * (drivers/prefault.h).  Set by the driver at create.
	 */
	bool cpu_copies;
	/*
	 * Why the last op failed, in words, when the errno alone would not
	 * tell the client (rb_device_error); the daemon clears it before an
	 * op and puts it in the error reply.
	 */
	char err[192];
	bool busy;			/* the loop's: in its busy set */
	struct rb_device *busy_next;	/* the loop's */
	void *priv;			/* the driver's */
};

/* ---------------------------------------------------------------- registry */

/* What create() is given to hand its devices to the daemon. */
struct rb_driver_env {
	struct event_base *base;	/* the daemon's loop */
	/* Take dev (made by the driver, ops set): 0 or -errno (too many
	 * devices: the driver destroys dev itself). */
	int (*add_device)(void *ctx, struct rb_device *dev);
	void *ctx;
};

/* Drivers in the registry, and the bytes each may keep for its settings. */
#define RB_MAX_DRIVERS		8
#define RB_DRIVER_CONFIG_MAX	1024

struct rb_driver {
	const char *name;		/* "soft" */
	const char *section;		/* its rdmabrokerd.conf section: "soft" */
	/*
	 * Its settings: config_size (<= RB_DRIVER_CONFIG_MAX) bytes of plain
	 * data (no pointers: the daemon copies them and compares old and new
	 * with memcmp on a reload, where device settings need a restart),
	 * zeroed, then filled by config_defaults, before a file is read.
	 */
	size_t config_size;
	void (*config_defaults)(void *cfg);
	/*
	 * One "key = value" of its section: 0, or -EINVAL with err saying
	 * what is wrong (the daemon prefixes FILE:LINE).  Unknown keys are
	 * errors, as in every other section; duplicates the daemon refuses
	 * before.  cfg_parse_bool()/cfg_parse_u64() (daemon/cfg.h) spell
	 * values as every section does.
	 */
	int (*config_key)(void *cfg, const char *key, const char *value,
			  char *err, size_t errlen);
	/*
	 * Make the devices cfg asks for (none when it disables the driver)
	 * and hand each to env->add_device.  0 or -errno with err saying
	 * why; the daemon then does not start.
	 */
	int (*create)(const void *cfg, const struct rb_driver_env *env,
		      char *err, size_t errlen);
	/*
	 * Optional (NULL: nothing): after a successful reload (SIGHUP), for
	 * each device the driver made, apply the settings that may change
	 * while it runs (the soft device's spin_us -> dev->poll_idle_ns).
	 */
	void (*config_apply)(struct rb_device *dev, const void *cfg);
};

/* Every driver built in, NULL-terminated, in the order devices are made. */
extern const struct rb_driver *const rb_drivers[];

/* The registry's driver whose config section is name, or NULL. */
const struct rb_driver *rb_driver_by_section(const char *name);

/* --------------------------------------------------------------- helpers */

/* Copy drv into dev->ops, filling its NULL ops with stubs. */
void rb_device_set_ops(struct rb_device *dev, const struct rb_driver_ops *drv);

/* Say why an op is about to fail (printf-style, into dev->err). */
void rb_device_error(struct rb_device *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Destroy any device (NULL is accepted). */
void rb_device_destroy(struct rb_device *dev);

/*
 * The daemon's services a driver may call, besides this one: in
 * daemon/objects.h cq_push() (a completion into a CQ ring, events and
 * overrun included), qp_async_event() / srq_async_event() (an async event
 * to the object's owner), device_async_event() (to every session of a
 * device), res_owner_killed() / res_kill_owner() (a client that broke the
 * shared-memory rules); res_lookup(owner, handle, type, NULL) for a
 * handle a WQE names (an AH); rb_mr_read() / rb_mr_write() (a CMA
 * region's memory: never pread its proc_mem on the serving thread, it may
 * sleep forever); ring_pending() / ring_slot()
 * (daemon/ring.h); cfg_parse_bool() / cfg_parse_u64() (daemon/cfg.h);
 * log_*() (daemon/log.h).  drivers/hash.h is a key hash drivers share.
 */

/*
 * The device has work (a doorbell, a timer, a state change): the daemon's
 * loop calls its progress() from the next turn on until it reports no
 * BUSY.  Cheap and idempotent (daemon/loop.c).
 */
void rb_device_wake(struct rb_device *dev);

/*
 * The CPUs the daemon may run on (the administrator's CPUAffinity=, or
 * all), for a thread a driver starts: a thread inherits its creator's
 * mask, and the engine keeps to one core while it is busy (daemon/loop.c,
 * loop_hold).
 */
void rb_daemon_cpu_mask(cpu_set_t *mask);

/*
 * The engine thread's CPUs become mask (a driver keeping the daemon off
 * a core, drivers/verbs keep_off_engine).  While the engine keeps to one
 * core of mask, it keeps to it and goes back to mask, not to the mask it
 * had, when it lets go; 0, or -1 with errno from sched_setaffinity.
 */
int rb_daemon_set_cpu_mask(const cpu_set_t *mask);

/*
 * A MAD (len bytes) came to the GSI of dev's port 1 from the GID sgid,
 * addressed to the device's GID dgid.  Untrusted: the daemon checks it
 * (daemon/cm-mad.c).  Never blocks, never calls back into the driver
 * before it returns.
 */
void rb_device_gsi_recv(struct rb_device *dev, const uint8_t sgid[16],
			const uint8_t dgid[16], const void *mad, size_t len);

#endif /* RB_DRIVERS_DRIVER_H */
