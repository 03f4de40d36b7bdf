/* SPDX-License-Identifier: MIT */
/*
 * The soft device's insides, shared by its files (drivers/soft/):
 *
 *   soft.c        the device: identity, attributes, [soft] settings, ops
 *   soft-qp.c     QPs: numbers, the poll set, timers, state changes, progress
 *   soft-req.c    the requester: executing send WQEs, READ/atomic responses
 *   soft-resp.c   the responder: taking receive WQEs and delivering into them
 *   soft-comp.c   completions of send queues, flushing in ERR
 *   soft-mem.c    registered memory: SGEs and rkeys resolved, copies
 *                 (zero-copy between mappings, /proc/PID/mem for CMA)
 *   soft-keys.c   memory keys: allocation and the lkey/rkey tables, and
 *                 the windows' keys
 *   soft-mw.c     memory windows: binding, invalidation, remote access
 *   soft-sched.c  the poll set by tenant: deficit round robin, caps, and
 *                 progress(), bounded per call
 *
 * It executes what clients post into their shared send queues, between
 * any two QPs of the device, moving data directly between the two sides'
 * registered memory, and writes the completions into the CQ rings with
 * the daemon's cq_push (drivers/driver.h).  It trusts nothing in shared
 * memory: it keeps its own indices, clamps the client's, uses the ring
 * sizes the daemon created rather than the ring headers, and never
 * follows a pointer from a ring.
 *
 * It runs on the daemon's one thread: the daemon calls soft_sched_progress()
 * while the device is busy (rb_device_wake), and QPs leave the poll set
 * when idle for the daemon's budget (their clients then ring doorbells).
 * Each call does a bounded amount of work, shared between the users
 * with work by their weights, a large transfer a chunk at a time, so
 * that the daemon answers control requests between calls.
 */
#ifndef RB_DRIVERS_SOFT_SOFT_INT_H
#define RB_DRIVERS_SOFT_SOFT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <infiniband/verbs.h>

#include "daemon/objects.h"
#include "drivers/driver.h"
#include "drivers/hash.h"
#include "drivers/soft/soft-mem.h"
#include "proto/shm.h"

struct event;
struct rb_sched_tenant;
struct roce_dev;
struct soft_qp;

/* READ responses up to this size are staged and land a pass later. */
#define SOFT_RD_STAGE_MAX	(64u * 1024)
/* The largest send WQE slot: header plus 32 SGEs or 512 inline bytes. */
#define SOFT_SWQE_MAX	(sizeof(struct rb_send_wqe) + RB_MAX_SGE * sizeof(struct rb_sge))
/* Free staging buffers kept for reuse. */
#define SOFT_STAGE_POOL_MAX	64

/*
 * One tenant's (daemon/sched.h) part of the poll set: its polled QPs,
 * served in turn, and its place in the device's round.
 */
struct soft_flow {
	LIST_ENTRY(soft_flow) all;	/* soft_dev.flows */
	TAILQ_ENTRY(soft_flow) link;	/* soft_dev.round */
	TAILQ_HEAD(, soft_qp) qps;	/* polled: work or waiting for posts */
	struct soft_dev *sd;
	struct rb_device *dev;
	struct rb_sched_tenant *tenant;	/* NULL: soft_dev.flow0 */
	unsigned int refs;		/* QPs that belong to it */
	int64_t deficit;		/* bytes it may still move this turn */
	bool in_round;
	bool turn;			/* its quantum was added: serving it */
	bool parked;			/* its tenant's bucket is empty */
	struct event *ev_unpark;
};

/* The device's state (rb_device.priv). */
struct soft_dev {
	union ibv_gid gid;		/* GID[0] */
	char gid_source[64];		/* for the log: where it came from */
	TAILQ_HEAD(, soft_flow) round;	/* flows with polled QPs, not parked */
	LIST_HEAD(, soft_flow) flows;	/* every flow but flow0 */
	struct soft_flow flow0;		/* QPs with no tenant (or no memory) */
	uint64_t now;			/* of this pass */
	struct rb_hash qpns;		/* QPs by number */
	struct rb_hash lkeys, rkeys;	/* MRs by key */
	struct rb_hash mws;		/* MWs by index (rkey >> 8) */
	TAILQ_HEAD(, soft_mw) mw_list;	/* every MW of the device */
	struct rb_hash srqns;		/* XRC SRQs by number */
	LIST_HEAD(, soft_qp) claims;	/* QPs whose receive a SEND in parts holds */
	void *stage_pool[SOFT_STAGE_POOL_MAX];	/* free SOFT_RD_STAGE_MAX buffers */
	unsigned int nstage;
	struct soft_mcast *mcast;	/* soft-mcast.c: groups, or NULL */
	struct roce_dev *roce;		/* roce.h: the GID table and the wire */
};

struct soft_mr {
	struct rb_mr mr;		/* must be first (drivers/driver.h) */
	struct rb_hnode lnode, rnode;	/* by lkey and by rkey */
};

/*
 * A memory window.  Its rkey is an index (the upper 24 bits, bit 31 set:
 * no MR key has it) and a key byte the client picks at each bind
 * (ibv_inc_rkey).  Bound, it lends [addr, addr + length) of mr with
 * access to remote requests of its PD (type 2: only through qp).
 */
struct soft_mw {
	struct rb_mw mw;		/* must be first (drivers/driver.h) */
	struct rb_hnode node;		/* by index */
	TAILQ_ENTRY(soft_mw) link;	/* in soft_dev.mw_list */
	struct rb_mr *mr;		/* NULL: not bound */
	const struct soft_qp *qp;	/* type 2: bound through it */
	uint64_t addr, length;
	uint32_t access;
};

/* An SRQ: XRC ones have a number senders name (soft.c). */
struct soft_srq {
	struct rb_srq srq;		/* must be first (drivers/driver.h) */
	struct rb_hnode node;		/* by srq_num, XRC only */
};

/* One send WQE the engine has taken, until its completion is written. */
struct soft_swqe_done {
	uint64_t wr_id;
	uint32_t opcode;		/* enum ibv_wc_opcode */
	uint32_t status;		/* enum ibv_wc_status */
	uint32_t byte_len;
	bool signaled;
	bool pending;			/* a READ/atomic response not landed yet */
};

/* A READ or atomic response in flight: it lands one pass later. */
struct soft_rd_resp {
	uint32_t index;			/* its SQ index */
	uint32_t num_sge;
	struct rb_sge sge[RB_MAX_SGE];
	uint8_t *data;			/* what the responder returned: */
	uint64_t small;			/* here for atomics and short READs */
	uint32_t len;
};

struct soft_qp {
	struct rb_qp qp;		/* must be first (drivers/driver.h) */
	struct rb_hnode node;		/* by QP number */
	struct event *ev_timer;		/* RNR retry */
	struct event *ev_lost;		/* the RC peer is gone: ERR when it fires */
	TAILQ_ENTRY(soft_qp) active_link;	/* in its flow's qps: polled */
	bool active;
	struct soft_flow *flow;		/* its tenant's, from its first activation */
	bool held;			/* work held back by its tenant's cap */
	void *xfer_w;			/* the WQE being moved in chunks (a copy) */
	uint64_t xfer_off;		/* bytes of it moved, 0: none in progress */
	/* A SEND in parts: the responder whose receive it holds, or NULL. */
	struct soft_qp *xfer_dest;
	/*
	 * As a responder: the receive WQE a SEND in parts took (out of the
	 * RQ or SRQ, so nobody else gets it) until its last part lands, and
	 * that SEND's requester; NULL when none.
	 */
	struct soft_recv_take *claim;
	struct soft_qp *claim_by;
	LIST_ENTRY(soft_qp) claim_link;	/* in soft_dev.claims */
	uint64_t last_work_ns;
	uint32_t sq_cons;		/* completed: slots the client may reuse */
	uint32_t sq_exec;		/* taken: cons..exec are in flight */
	uint32_t rq_cons;
	struct soft_swqe_done *done;	/* per SQ slot */
	struct soft_rd_resp *rd;	/* responses in flight, a FIFO */
	uint32_t rd_cap, rd_head, rd_count;
	bool rnr_wait;			/* the WQE at sq_exec waits for a receive */
	uint64_t rnr_deadline_ns;
	uint32_t rnr_left;		/* retries left; 7 = forever */
	uint32_t retry_left;		/* transport retries left (retry_cnt) */
	uint32_t err_status;		/* the next flushed WR gets this, once */
};

static inline struct soft_qp *soft_qp_of(struct rb_qp *qp)
{
	return rb_container_of(qp, struct soft_qp, qp);
}

static inline struct soft_dev *soft_dev_of(const struct soft_qp *qp)
{
	return qp->qp.dev->priv;
}

static inline struct rb_cq *soft_qp_send_cq(const struct soft_qp *qp)
{
	return (struct rb_cq *)qp->qp.res.deps[1];
}

static inline struct rb_cq *soft_qp_recv_cq(const struct soft_qp *qp)
{
	return (struct rb_cq *)qp->qp.res.deps[2];
}

static inline struct rb_srq *soft_qp_srq(const struct soft_qp *qp)
{
	return (struct rb_srq *)qp->qp.res.deps[3];
}

static inline bool soft_state_receives(enum ibv_qp_state s)
{
	return s == IBV_QPS_RTR || s == IBV_QPS_RTS || s == IBV_QPS_SQD;
}

/* soft-keys.c: MRs by key, keys fresh and random. */
uint32_t soft_keys_random32(void);
struct rb_mr *soft_keys_find_lkey(const struct rb_device *dev, uint32_t lkey);
struct rb_mr *soft_keys_find_rkey(const struct rb_device *dev, uint32_t rkey);
int soft_keys_reg_mr(struct rb_device *dev, struct rb_mr *mr);
void soft_keys_dereg_mr(struct rb_mr *mr);
/* Window keys have this bit; MR keys never. */
#define SOFT_KEY_MW		0x80000000u
int soft_keys_alloc_mw(struct rb_device *dev, struct rb_mw *mw);
void soft_keys_dealloc_mw(struct rb_mw *mw);
/* The window whose index rkey names (any key byte), or NULL. */
struct soft_mw *soft_keys_find_mw(const struct rb_device *dev, uint32_t rkey);

/* soft-mw.c: memory windows. */
int soft_mw_alloc(struct rb_device *dev, struct rb_mw *mw);
void soft_mw_dealloc(struct rb_mw *mw);
/* IBV_WR_BIND_MW of qp: IBV_WC_SUCCESS or IBV_WC_MW_BIND_ERR. */
uint32_t soft_mw_bind(struct soft_qp *qp, const struct rb_send_wqe *w);
/* IBV_WR_LOCAL_INV of qp: IBV_WC_SUCCESS or IBV_WC_LOC_QP_OP_ERR. */
uint32_t soft_mw_local_inv(struct soft_qp *qp, uint32_t rkey);
/* SEND_WITH_INV at the responder dest: the window it may invalidate. */
struct soft_mw *soft_mw_remote_inv_check(const struct soft_qp *dest, uint32_t rkey);
void soft_mw_unbind(struct soft_mw *mw);
/* A remote access through window rkey: the MR, or NULL if refused. */
const struct rb_mr *soft_mw_remote(const struct soft_qp *dest, uint32_t rkey,
				   uint64_t addr, uint64_t len, uint32_t access);
/* mr or qp goes: the windows bound to it are unbound. */
void soft_mw_mr_gone(struct rb_mr *mr);
void soft_mw_qp_gone(const struct soft_qp *qp);

/* soft-sched.c: the poll set by tenant. */
/* What one QP may do in a turn, and what it did. */
struct soft_turn {
	int64_t budget;			/* bytes (a WR costs at least SOFT_WR_COST) */
	uint64_t bytes;			/* moved */
	uint64_t wrs;			/* started */
};
/* The least a work request costs a turn, whatever its size. */
#define SOFT_WR_COST		64
/* The smallest piece a large transfer is cut into. */
#define SOFT_CHUNK_MIN		4096
void soft_sched_init(struct soft_dev *sd);
/* qp's flow, found or made from its owner's tenant. */
struct soft_flow *soft_sched_flow_of(struct soft_qp *qp);
/* qp (its flow set) starts or stops being polled. */
void soft_sched_add(struct soft_qp *qp);
void soft_sched_remove(struct soft_qp *qp);
/* qp goes: its flow lets go of it. */
void soft_sched_qp_gone(struct soft_qp *qp);
unsigned int soft_sched_progress(struct rb_device *dev, uint64_t now_ns, uint64_t idle_ns);
/* Before a modify to ERR a holder asked for: one step of what the QP has
 * posted, if no transfer of its is in progress (driver.h, qp_take_posted). */
void soft_sched_take_posted(struct rb_qp *qp);

/* soft-qp.c: QPs, the poll set, progress. */
struct soft_qp *soft_qp_find(const struct rb_device *dev, uint32_t qp_num);

/* soft-mcast.c: UD multicast groups. */
int soft_mcast_attach(struct rb_qp *qp, const union ibv_gid *gid, uint16_t lid);
int soft_mcast_detach(struct rb_qp *qp, const union ibv_gid *gid, uint16_t lid);
void soft_mcast_qp_gone(struct soft_qp *qp);
void soft_mcast_fini(struct soft_dev *s);
typedef void (*soft_mcast_fn)(struct soft_qp *dest, void *arg);
/* dgid a group: deliver(member, arg) for each QP attached; true.  Not a
 * group: false, nothing done. */
bool soft_mcast_send(struct soft_qp *qp, const union ibv_gid *dgid,
		     soft_mcast_fn deliver, void *arg);
void soft_qp_activate(struct soft_qp *qp);
void soft_qp_deactivate(struct soft_qp *qp);
/* A QP that answers: receiving, and its client not being disconnected. */
bool soft_qp_alive(const struct soft_qp *qp);
/*
 * Move qp to ERR (an error completion, a responder error, a lost peer):
 * responses already executed land first; event, if with_event, goes to
 * the owner; the next WR to flush completes with first_status, if not 0.
 */
void soft_qp_to_error(struct soft_qp *qp, enum ibv_event_type event,
		      bool with_event, uint32_t first_status);
/* Arm qp's RNR timer for us microseconds. */
void soft_qp_timer_add_us(struct event *ev, uint64_t us);
int soft_qp_create(struct rb_device *dev, struct rb_qp *qp);
int soft_qp_modify(struct rb_qp *qp, const struct ibv_qp_attr *attr, int mask,
		   enum ibv_qp_state from);
void soft_qp_doorbell(struct rb_qp *qp);
void soft_qp_destroy(struct rb_qp *qp);
/* Idle for the daemon's budget: ask for doorbells and leave the poll set. */
void soft_qp_try_sleep(struct soft_qp *qp);
/* Work posted and not yet taken, or a transfer in progress. */
bool soft_qp_has_work(struct soft_qp *qp);
/* Fire qp's timers now if set (the fuzz harness runs time by hand). */
void soft_qp_expire_timers(struct rb_qp *qp);

/* soft-req.c: the requester. */
/* One pass over one QP's send queue within turn; true if it did anything. */
bool soft_req_step(struct soft_qp *qp, struct soft_turn *turn);
/* Nothing posted, in flight or left to retire: a step would do nothing
 * (an XRC_RECV QP has no SQ: its step takes it out of the poll set). */
static inline bool soft_req_idle(const struct soft_qp *qp)
{
	return qp->qp.type != IBV_QPT_XRC_RECV && qp->qp.attr.qp_state == IBV_QPS_RTS &&
	       !qp->rd_count && qp->sq_cons == qp->sq_exec &&
	       __atomic_load_n(&qp->qp.sq->prod, __ATOMIC_ACQUIRE) == qp->sq_exec;
}
/* The SQ's producer index as far as the engine takes it. */
uint32_t soft_req_sq_prod(struct soft_qp *qp);
/* Land (or with flush, drop) every READ/atomic response in flight. */
void soft_req_rd_land_all(struct soft_qp *qp, bool flush);
/* Forget the responses in flight (RESET, or the QP going away). */
void soft_req_rd_discard(struct soft_qp *qp);
void soft_req_stage_fini(struct soft_dev *sd);

/* soft-req.c, cont.: a transfer in parts is given up (ERR, RESET, the QP
 * goes): a receive its SEND took is flushed. */
void soft_req_xfer_abort(struct soft_qp *qp);

/* soft-resp.c: the responder's receive queues. */
/* A receive WQE copied out of an RQ or SRQ. */
struct soft_recv_take {
	struct rb_srq *srq;		/* or NULL: the QP's RQ */
	struct rb_cq *cq;		/* where its completion goes */
	const struct rb_res *pd;	/* its buffers' PD */
	uint32_t max_sge;
	union {
		struct rb_recv_wqe hdr;
		uint8_t raw[sizeof(struct rb_recv_wqe) + RB_MAX_SGE * sizeof(struct rb_sge)];
	} w;
};

/* What a message brings to a receive WQE. */
struct soft_delivery {
	const struct soft_qp *from;	/* or NULL: from another host, */
	uint32_t src_qpn;		/* this QP there (roce-ud.c) */
	const uint8_t *grh;		/* UD: 40 bytes first, or NULL */
	const struct mem_seg *src;
	uint32_t ns;
	uint64_t len;
	uint32_t opcode;		/* IBV_WC_RECV or IBV_WC_RECV_RDMA_WITH_IMM */
	bool scatter;			/* a SEND's data goes into the WQE's buffers */
	bool with_imm;
	uint32_t imm;
	bool solicited;
	bool with_inv;			/* SEND_WITH_INV: invalidate inv_rkey */
	uint32_t inv_rkey;
};

#define SOFT_GRH_LEN		40u

/* The next receive WQE of dest (its SRQ or RQ) into *t; false if none. */
bool soft_resp_peek(struct soft_qp *dest, struct soft_recv_take *t);
/*
 * XRC: the next receive WQE of the XRC SRQ srqn, for the XRC_RECV QP
 * dest: 1 taken into *t, 0 none posted, -1 no XRC SRQ of that number in
 * dest's domain.
 */
int soft_resp_peek_xrc(struct soft_qp *dest, uint32_t srqn, struct soft_recv_take *t);
/*
 * Complete the receive WQE t of dest with what dv brings: its status at
 * the responder; *src_failed when the sender's memory could not be read.
 */
uint32_t soft_resp_deliver(struct soft_qp *dest, struct soft_recv_take *t,
			   const struct soft_delivery *dv, bool *src_failed);

/*
 * A SEND of dv->len bytes from by, too large for one turn, takes the
 * receive WQE t of dest for itself (out of its queue: no other message,
 * nor another QP of its SRQ, gets it) and lands in parts: 0.  1 when it
 * cannot (the receive would fail it, or no memory): nothing is taken,
 * and soft_resp_deliver() reports or delivers it whole.
 */
int soft_resp_claim(struct soft_qp *dest, struct soft_recv_take *t,
		    const struct soft_delivery *dv, struct soft_qp *by);
/* The claimed receive of dest as segments for len bytes: 0 or its status. */
uint32_t soft_resp_claim_segs(struct soft_qp *dest, uint64_t len, struct mem_seg *dst,
			      uint32_t *nd);
/* The SEND's last part landed (status 0) or the responder failed it:
 * the claimed receive completes; returns its status at the responder. */
uint32_t soft_resp_claim_end(struct soft_qp *dest, const struct soft_delivery *dv,
			     uint32_t status);
/* The SEND will not finish: its receive completes with
 * IBV_WC_WR_FLUSH_ERR (flush), or goes without a completion (RESET,
 * destroy: as everything posted there does). */
void soft_resp_claim_drop(struct soft_qp *dest, bool flush);
/* srq goes: receives claimed from it go with it. */
void soft_resp_srq_gone(struct soft_dev *sd, const struct rb_srq *srq);

/* soft-comp.c: completions. */
/* The producer index of a client-produced ring, within a ring of cons. */
uint32_t soft_comp_client_prod(struct rb_ring *r, uint32_t cons, uint32_t entries);
/* Completions of the SQ in order, as far as they are done. */
void soft_comp_sq_retire(struct soft_qp *qp);
/* ERR: everything posted completes with IBV_WC_WR_FLUSH_ERR. */
bool soft_comp_flush(struct soft_qp *qp);
/* Every completion of the device goes through here: stamped, then cq_push. */
void soft_comp_push(struct rb_cq *cq, struct rb_cqe *e, bool solicited);

#endif /* RB_DRIVERS_SOFT_SOFT_INT_H */
