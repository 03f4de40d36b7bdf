/* SPDX-License-Identifier: MIT */
/*
 * The verbs objects the daemon keeps, shared by their control handlers
 * (pd.c, cq.c, qp.c, srq.c, ah.c, mr.c) and the soft device's engine
 * (engine.c).  Each begins with its struct rb_res; the registry owns the
 * object's life (daemon/res.h).
 *
 * Indices the engine keeps for itself (a CQ's producer, an SQ's and RQ's
 * consumer, an SRQ's consumer) live here, never only in the shared ring:
 * the client can write anything into a ring, so the engine reads the
 * peer's index, clamps it against its own, and writes its own back.
 */
#ifndef RB_DAEMON_OBJECTS_H
#define RB_DAEMON_OBJECTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <infiniband/verbs.h>

#include "daemon/hash.h"
#include "daemon/res.h"
#include "drivers/driver.h"
#include "proto/rdmabroker.pb-c.h"
#include "proto/shm.h"

struct event;

/* The most SGEs a WQE may carry on any device the engine drives. */
#define RB_MAX_SGE_ENGINE	32

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
	uint32_t prod;			/* the engine's producer index */
	bool overrun;			/* IBV_EVENT_CQ_ERR sent, not yet cleared */
	uint32_t comp_events_reported;	/* sent (the client counts its own) */
};

struct rb_srq {
	struct rb_res res;		/* must be first; deps[0]: its PD */
	struct rb_device *dev;
	struct rb_ring *ring;
	size_t ring_bytes;
	uint32_t max_wr, max_sge, srq_limit;
	uint32_t entry_size;		/* of the ring, as created */
	uint32_t cons;			/* the engine's consumer index */
	int doorbell;			/* eventfd the client rings */
	uint32_t events_reported;
};

struct rb_ah {
	struct rb_res res;		/* must be first; deps[0]: its PD */
	struct rb_device *dev;
	struct ibv_ah_attr attr;
};

struct rb_mr {
	struct rb_res res;		/* must be first; deps[0]: its PD */
	struct rb_hnode lnode, rnode;	/* by lkey and by rkey (engine.c) */
	struct rb_device *dev;
	Rdmabroker__MrMode mode;
	void *map;			/* MEMFD: the pages, mapped here */
	size_t map_len;
	size_t map_skew;		/* addr's offset in the first page */
	pid_t pid;			/* CMA: whose memory */
	int proc_mem;			/* CMA: the client's /proc/self/mem, or -1 */
	uint64_t addr, length, iova;
	uint32_t access, lkey, rkey;
};

/* One send WQE the engine has taken, until its completion is written. */
struct rb_swqe_done {
	uint64_t wr_id;
	uint32_t opcode;		/* enum ibv_wc_opcode */
	uint32_t status;		/* enum ibv_wc_status */
	uint32_t byte_len;
	bool signaled;
	bool pending;			/* a READ/atomic response not landed yet */
};

/* A READ or atomic response in flight: it lands one engine pass later. */
struct rb_rd_resp {
	uint32_t index;			/* its SQ index */
	uint32_t num_sge;
	struct rb_sge sge[RB_MAX_SGE_ENGINE];
	uint8_t *data;			/* what the responder returned: */
	uint64_t small;			/* here for atomics and short READs */
	uint32_t len;
};

struct rb_qp {
	struct rb_res res;		/* must be first; deps: pd, send_cq, recv_cq, srq */
	struct rb_hnode node;		/* by QP number (engine.c) */
	struct rb_device *dev;
	uint32_t qp_num;
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

	/* The engine's state (engine.c). */
	struct event *ev_bell;		/* the doorbell, read by libevent */
	struct event *ev_timer;		/* RNR retry */
	struct event *ev_lost;		/* the RC peer is gone: ERR when it fires */
	TAILQ_ENTRY(rb_qp) active_link;	/* in the engine's poll set */
	bool active;
	uint64_t last_work_ns;
	uint32_t sq_cons;		/* completed: slots the client may reuse */
	uint32_t sq_exec;		/* taken: cons..exec are in flight */
	uint32_t rq_cons;
	struct rb_swqe_done *done;	/* per SQ slot */
	struct rb_rd_resp *rd;		/* responses in flight, a FIFO */
	uint32_t rd_cap, rd_head, rd_count;
	bool rnr_wait;			/* the WQE at sq_exec waits for a receive */
	uint64_t rnr_deadline_ns;
	uint32_t rnr_left;		/* retries left; 7 = forever */
	uint32_t err_status;		/* the next flushed WR gets this, once */
};

/* The daemon's QP of this number (qp.c), or NULL. */
struct rb_qp *qp_find(uint32_t qp_num);

/* The MR of dev with this lkey / rkey (mr.c), or NULL. */
struct rb_mr *mr_find_lkey(const struct rb_device *dev, uint32_t lkey);
struct rb_mr *mr_find_rkey(const struct rb_device *dev, uint32_t rkey);

/*
 * Write one completion to cq (cq.c); solicited: the sender asked for a
 * solicited event.  A full CQ loses it and raises IBV_EVENT_CQ_ERR once
 * per overrun; an armed CQ sends its channel one event.
 */
void cq_push(struct rb_cq *cq, const struct rb_cqe *e, bool solicited);

#endif /* RB_DAEMON_OBJECTS_H */
