/* SPDX-License-Identifier: MIT */
/*
 * The verbs objects the daemon keeps, shared by their control handlers
 * (pd.c, cq.c, qp.c, srq.c, ah.c, mr.c) and the device drivers
 * (drivers/driver.h), which embed them in their own per-object structs
 * (struct soft_qp { struct rb_qp qp; ... }).  Each begins with its struct
 * rb_res; the registry owns the object's life (daemon/res.h).
 *
 * Indices kept for the rings (a CQ's producer, an SRQ's consumer) live in
 * the objects, never only in the shared ring: the client can write
 * anything into a ring, so its index is read, clamped against ours, and
 * ours written back.  A driver keeps its own (an SQ's, an RQ's consumer).
 *
 * The functions at the end are the daemon's services to drivers.
 */
#ifndef RB_DAEMON_OBJECTS_H
#define RB_DAEMON_OBJECTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <infiniband/verbs.h>

#include "daemon/res.h"
#include "drivers/driver.h"
#include "proto/rdmabroker.pb-c.h"
#include "proto/shm.h"

struct event;

/* The most SGEs a ring WQE may carry (the slot sizes, proto/shm.h). */
#define RB_MAX_SGE		32

struct rb_pd {
	struct rb_res res;		/* must be first */
	struct rb_device *dev;
};

struct rb_channel {
	struct rb_res res;		/* must be first */
	int fd;				/* the daemon's end, write-only */
};

struct rb_cq {
	struct rb_res res;		/* must be first; deps[0]: its channel */
	struct rb_device *dev;
	struct rb_ring *ring;
	size_t ring_bytes;
	uint32_t cqe;			/* granted: ring entries - 1 */
	uint32_t entries;		/* of the ring, as created */
	uint32_t prod;			/* the producer index (cq_push) */
	bool overrun;			/* IBV_EVENT_CQ_ERR sent, not yet cleared */
	uint32_t comp_events_reported;	/* sent (the client counts its own) */
};

struct rb_srq {
	struct rb_res res;		/* must be first; deps[0]: its PD;
					 * XRC: deps[1] its XRCD, deps[2] its CQ */
	bool xrc;			/* IBV_SRQT_XRC */
	uint32_t srq_num;		/* XRC: the driver's (create_srq) */
	struct rb_xrcd *xrcd;		/* XRC: the domain deps[1] links to */
	struct rb_device *dev;
	struct rb_ring *ring;
	size_t ring_bytes;
	uint32_t max_wr, max_sge, srq_limit;
	uint32_t entry_size;		/* of the ring, as created */
	uint32_t cons;			/* the driver's consumer index */
	int doorbell;			/* eventfd the client rings */
	struct event *ev_bell;		/* the doorbell, watched by the daemon */
	uint32_t events_reported;
};

struct rb_ah {
	struct rb_res res;		/* must be first; deps[0]: its PD */
	struct rb_device *dev;
	struct ibv_ah_attr attr;
};

/*
 * An XRC domain (ibv_open_xrcd): XRC SRQs and XRC_RECV QPs share it.  A
 * shared object (res.h): sessions hold links to it.  One opened by file is
 * found by its file's inode (xrcd.c); it keeps a copy of the first
 * opener's fd, so the inode cannot be freed and its number reused by
 * another file while the domain lives.
 */
struct rb_xrcd {
	struct rb_res res;		/* must be first */
	struct rb_device *dev;
	int fd;				/* opened by file: the file, or -1 */
	dev_t st_dev;			/* opened by file: its inode */
	ino_t st_ino;
	LIST_ENTRY(rb_xrcd) by_inode;	/* opened by file: in d->xrcds */
	LIST_HEAD(, rb_qp) tgt_qps;	/* its XRC_RECV QPs (ibv_open_qp) */
};

/* A memory window (ibv_alloc_mw); what it is bound to is the driver's. */
struct rb_mw {
	struct rb_res res;		/* must be first; deps[0]: its PD */
	struct rb_device *dev;
	enum ibv_mw_type type;
	uint32_t rkey;			/* the driver's: as allocated, then as bound */
};

struct rb_mr {
	struct rb_res res;		/* must be first; deps[0]: its PD */
	struct rb_device *dev;
	Rdmabroker__MrMode mode;
	void *map;			/* MEMFD: the pages, mapped here */
	size_t map_len;
	size_t map_skew;		/* addr's offset in the first page */
	/* MEMFD, during reg_mr and rereg_mr only: the client's memfd
	 * (borrowed, the daemon closes it) and where addr lies in it, when
	 * one extent maps the region; -1 otherwise.  A driver that hands
	 * memory to a device by fd (ibv_reg_dmabuf_mr) uses it. */
	int memfd;
	uint64_t memfd_offset;
	pid_t pid;			/* CMA: whose memory */
	int proc_mem;			/* CMA: the client's /proc/self/mem, or -1 */
	uint64_t addr, length, iova;
	uint32_t access;
	uint32_t lkey, rkey;		/* the driver's (reg_mr) */
};

struct rb_qp {
	/* must be first; deps: pd, send_cq, recv_cq, srq; an XRC_SEND QP's
	 * recv_cq is its send_cq; an XRC_RECV QP's deps[0] is its XRCD (it
	 * has no PD, CQ or SRQ, and its rings, given to its creator only,
	 * are never used) */
	struct rb_res res;
	struct rb_device *dev;
	uint32_t qp_num;		/* the driver's (create_qp) */
	enum ibv_qp_type type;
	bool sq_sig_all;
	struct ibv_qp_cap cap;		/* granted */
	struct ibv_qp_attr attr;	/* current; attr.qp_state is the state */
	struct rb_ring *sq, *rq;
	size_t sq_bytes, rq_bytes;
	uint32_t sq_entries, sq_entry_size;	/* as created, not as the ring says */
	uint32_t rq_entries, rq_entry_size;
	int doorbell;			/* eventfd the client rings, or -1 */
	uint32_t events_reported;
	bool keep_ring;			/* destroy keeps rings and doorbell (qp.c) */
	struct event *ev_bell;		/* the doorbell, watched by the daemon */
	/* XRC_RECV: a shared object (res.h) whose deps[0] is its domain (a
	 * shared rb_xrcd); sessions hold links to it.  In the domain's list,
	 * where ibv_open_qp finds it. */
	LIST_ENTRY(rb_qp) in_xrcd;
};

/*
 * len bytes at addr of a CMA region (through its /proc/PID/mem), read into
 * dst or written from src, by a worker the daemon waits for at most
 * memory_timeout_ms (drivers/memio.c): such memory may never answer.  0, or
 * -EFAULT (the process does not have it), -ETIMEDOUT (it did not answer,
 * now or before), -EAGAIN, -EIO: the WR fails as for unmapped memory.
 */
/*
 * The engine retired a send-queue WR of qp (signaled or not) with status:
 * its bytes and one WR go to the owner's counters (daemon/stat.c).  The
 * one call the engine makes for the per-tenant metrics.
 */
void rb_stat_wr_sent(const struct rb_res *qp, uint32_t bytes, int status);

int rb_mr_read(const struct rb_mr *mr, uint64_t addr, void *dst, uint64_t len);
int rb_mr_write(const struct rb_mr *mr, uint64_t addr, const void *src,
		uint64_t len);

/*
 * Write one completion to cq (cq.c); solicited: the sender asked for a
 * solicited event.  A full CQ loses it and raises IBV_EVENT_CQ_ERR once
 * per overrun; an armed CQ sends its channel one event.
 */
void cq_push(struct rb_cq *cq, const struct rb_cqe *e, bool solicited);
/* The engine sleeps (true: a nap, or waiting for work) or is back
 * (false): the rings of the CQs it published into last say so to their
 * pollers (cq.c; proto/shm.h, producer_asleep). */
void cq_asleep(bool on);
/* The CPU a poller of one of those CQs last said it polls on, other than
 * not, or -1 (cq.c; proto/shm.h, consumer_cpu). */
int cq_poller_cpu(int not);
/* The CQ lost a completion: RB_RING_OVERRUN and IBV_EVENT_CQ_ERR, once
 * until the next completion lands (cq.c; cq_push calls it when full). */
void cq_overrun(struct rb_cq *cq);

/* An async event (enum ibv_event_type) to the object's owner (qp.c, srq.c). */
void qp_async_event(struct rb_qp *qp, enum ibv_event_type ev);
/*
 * Modify qp as ibv_modify_qp() through the QpModify request does: the
 * transition and values checked against the IB spec's rules, applied,
 * the device told (qp.c).  For the CM too, which moves a connection's QP
 * to RTR and RTS itself (cm.c).  0 or -errno with rep's error set.
 */
struct rb_session;
struct rb_reply;
int qp_modify_attr(struct rb_session *s, struct rb_qp *qp,
		   struct ibv_qp_attr *attr, int attr_mask, struct rb_reply *rep);
void srq_async_event(struct rb_srq *srq, enum ibv_event_type ev);
/* A device-wide event (port_num, or 0) to every session that opened dev
 * (device.c): IBV_EVENT_DEVICE_FATAL, IBV_EVENT_PORT_ERR, ... */
void device_async_event(struct rb_device *dev, enum ibv_event_type ev,
			uint8_t port_num);

/*
 * The owner of r broke the shared-memory rules (a wild ring index):
 * disconnect it (res.c).  Its objects are destroyed from a later event;
 * until then res_owner_killed(r) is true and drivers leave them alone.
 */
void res_kill_owner(struct rb_res *r, const char *why);
bool res_owner_killed(const struct rb_res *r);

#endif /* RB_DAEMON_OBJECTS_H */
