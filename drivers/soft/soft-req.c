/* SPDX-License-Identifier: MIT */
/*
 * The soft device's engine (daemon/engine.h).
 *
 * What it does with a send WQE, in the order of the SQ, exactly once:
 * - copies it out of the shared ring first and validates the copy (opcode
 *   for the QP type, num_sge, inline length against the granted caps);
 * - checks every SGE against the MR tables: lkey of an MR of the QP's PD,
 *   inside its bounds, with IBV_ACCESS_LOCAL_WRITE where the engine writes;
 *   an rkey of an MR of the responder QP's PD, inside its bounds, with the
 *   remote access in both the MR and the responder QP's qp_access_flags;
 * - moves the data straight from one side's registered pages to the
 *   other's (zero-copy: the daemon maps both sides' memfds), or through
 *   the client's /proc/self/mem for memory it could not re-back;
 * - answers anything wrong with the completion status a NIC gives (see the
 *   COMPLETION ERRORS section of librdmabroker(7)), and moves the QP to ERR, after which
 *   every outstanding and new WR flushes.
 *
 * RDMA READ and atomic responses of up to RD_STAGE_MAX bytes land in the
 * requester's memory one engine pass after the responder executed them, as
 * a response in flight does; a WR with IBV_SEND_FENCE waits for them.
 * Completions of one SQ are always written in posting order.
 *
 * The engine trusts nothing in shared memory: it keeps its own indices
 * (objects.h), clamps the client's, uses the ring sizes it created rather
 * than the ring headers, and never follows a pointer from a ring.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/daemon.h"
#include "daemon/engine.h"
#include "daemon/log.h"
#include "daemon/mem.h"
#include "daemon/objects.h"
#include "daemon/ring.h"
#include "proto/spin.h"

/* READ responses up to this size are staged and land a pass later. */
#define RD_STAGE_MAX		(64u * 1024)
/* Free staging buffers kept for reuse. */
#define STAGE_POOL_MAX		64
/* The largest message (the device's max_msg_sz). */
#define MSG_MAX			(1ull << 31)
/* UD payload: the port's MTU. */
#define UD_MTU			4096u
#define GRH_LEN			40u
/* The largest send WQE slot: header plus 32 SGEs or 512 inline bytes. */
#define SWQE_MAX		(sizeof(struct rb_send_wqe) + RB_MAX_SGE_ENGINE * sizeof(struct rb_sge))
#define RWQE_MAX		(sizeof(struct rb_recv_wqe) + RB_MAX_SGE_ENGINE * sizeof(struct rb_sge))

static struct {
	struct rb_daemon *d;
	struct event_base *base;
	TAILQ_HEAD(, rb_qp) active;	/* the poll set */
	uint64_t now;			/* of this pass */
	uint64_t ctl_until;		/* poll libevent every pass until then */
	uint64_t ctl_last;		/* when the last request was served */
	bool ctl_polled;		/* polling for the next request */
	int ctl_kind;			/* the request type served last */
	struct rb_spin_policy ctl_spin[RB_SPIN_KINDS];	/* whether polling pays */
	long ncpus;			/* online, looked up once */
	void *stage_pool[STAGE_POOL_MAX];	/* free RD_STAGE_MAX buffers */
	unsigned int nstage;
} eng;

/*
 * Staging buffers for READ responses, all RD_STAGE_MAX bytes, kept in a
 * small pool: a malloc and free per READ made glibc grow and trim the
 * heap every pass, and the TLB shootdowns of that cost ~100 us a READ.
 */
static void *stage_get(void)
{
	return eng.nstage ? eng.stage_pool[--eng.nstage] : malloc(RD_STAGE_MAX);
}

static void stage_put(void *p)
{
	if (eng.nstage < STAGE_POOL_MAX)
		eng.stage_pool[eng.nstage++] = p;
	else
		free(p);
}

static void timer_add_us(struct event *ev, uint64_t us)
{
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
			      .tv_usec = (suseconds_t)(us % 1000000) };

	evtimer_add(ev, &tv);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The producer index of a ring the client produces into, as far as the
 * engine will go: never more than `entries` past our consumer.
 */
static uint32_t client_prod(struct rb_ring *r, uint32_t cons, uint32_t entries)
{
	/* Acquire (in ring_pending): the slots written before prod. */
	return cons + ring_pending(r, cons, entries);
}

/*
 * A producer index more than a ring ahead of our consumer: no honest
 * client writes one (it would have overwritten WQEs not yet consumed).
 * The client is disconnected; its objects go with it.
 */
static bool ring_wild(struct rb_ring *r, uint32_t cons, uint32_t entries,
		      struct rb_session *owner, const char *what)
{
	char why[96];

	if (__atomic_load_n(&r->prod, __ATOMIC_ACQUIRE) - cons <= entries)
		return false;
	snprintf(why, sizeof(why), "%s producer index past its ring", what);
	session_kill(owner, why);
	return true;
}

static struct rb_cq *qp_send_cq(const struct rb_qp *qp)
{
	return (struct rb_cq *)qp->res.deps[1];
}

static struct rb_cq *qp_recv_cq(const struct rb_qp *qp)
{
	return (struct rb_cq *)qp->res.deps[2];
}

static struct rb_srq *qp_srq(const struct rb_qp *qp)
{
	return (struct rb_srq *)qp->res.deps[3];
}

static void qp_async(struct rb_qp *qp, enum ibv_event_type ev)
{
	if (session_async_event(qp->res.owner, ev, RB_ASYNC_QP, qp->res.handle))
		qp->events_reported++;
}

/* ------------------------------------------------------------ poll set */

static void qp_activate(struct rb_qp *qp)
{
	if (qp->active || qp->res.owner->killed)
		return;
	qp->active = true;
	qp->last_work_ns = now_ns();
	TAILQ_INSERT_TAIL(&eng.active, qp, active_link);
	/* Polling again: posts need no doorbell. */
	__atomic_fetch_and(&qp->sq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP, __ATOMIC_RELAXED);
	__atomic_fetch_and(&qp->rq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP, __ATOMIC_RELAXED);
}

static void qp_deactivate(struct rb_qp *qp)
{
	if (!qp->active)
		return;
	qp->active = false;
	TAILQ_REMOVE(&eng.active, qp, active_link);
}

/*
 * The SQ's producer index as far as the engine takes it: within a ring
 * of our consumer, and never behind what we already took (a client that
 * moves prod back gets nothing new, not four billion WQEs).
 */
static uint32_t sq_prod(struct rb_qp *qp)
{
	uint32_t prod;

	if (ring_wild(qp->sq, qp->sq_cons, qp->sq_entries, qp->res.owner, "an SQ"))
		return qp->sq_exec;
	prod = client_prod(qp->sq, qp->sq_cons, qp->sq_entries);

	return prod - qp->sq_cons < qp->sq_exec - qp->sq_cons ? qp->sq_exec : prod;
}

static bool qp_sq_has_work(struct rb_qp *qp)
{
	enum ibv_qp_state st = qp->attr.qp_state;

	if (st != IBV_QPS_RTS && st != IBV_QPS_ERR)
		return false;
	return sq_prod(qp) != qp->sq_exec;
}

static bool qp_rq_has_work(struct rb_qp *qp)
{
	return qp->attr.qp_state == IBV_QPS_ERR && !qp_srq(qp) &&
	       client_prod(qp->rq, qp->rq_cons, qp->rq_entries) != qp->rq_cons;
}

/*
 * Leave the poll set: ask for doorbells, then look once more, since a
 * post may have landed before the client could see the flag (both sides
 * store, fence, then load: one of them sees the other).
 */
static void qp_try_sleep(struct rb_qp *qp)
{
	bool rq = qp->attr.qp_state == IBV_QPS_ERR;

	if (qp->rd_count)
		return;
	__atomic_fetch_or(&qp->sq->flags, RB_RING_NEED_WAKEUP, __ATOMIC_SEQ_CST);
	if (rq)
		__atomic_fetch_or(&qp->rq->flags, RB_RING_NEED_WAKEUP, __ATOMIC_SEQ_CST);
	if ((qp_sq_has_work(qp) && !qp->rnr_wait) || qp_rq_has_work(qp)) {
		__atomic_fetch_and(&qp->sq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP,
				   __ATOMIC_RELAXED);
		__atomic_fetch_and(&qp->rq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP,
				   __ATOMIC_RELAXED);
		return;
	}
	qp_deactivate(qp);
}

/* ------------------------------------------------------------ errors */

static void rd_land_all(struct rb_qp *qp, bool flush);

/*
 * Move qp to ERR (an error completion, a responder error, a lost peer):
 * responses already executed land first; event, if not 0, goes to the
 * owner; the next WR to flush completes with first_status instead, if not 0.
 */
static void qp_to_error(struct rb_qp *qp, enum ibv_event_type event,
			bool with_event, uint32_t first_status)
{
	if (qp->attr.qp_state == IBV_QPS_ERR)
		return;
	if (qp->rd_count)
		rd_land_all(qp, false);
	qp->attr.qp_state = IBV_QPS_ERR;
	qp->attr.cur_qp_state = IBV_QPS_ERR;
	qp->rnr_wait = false;
	evtimer_del(qp->ev_timer);
	/* Only a WR not yet executed can be the one that retried out. */
	qp->err_status = sq_prod(qp) != qp->sq_exec ? first_status : 0;
	log_debug("client %" PRIu64 ": QP %#" PRIx32 " moved to ERR by the engine",
		  qp->res.owner->id, qp->qp_num);
	if (with_event)
		qp_async(qp, event);
	qp_activate(qp);
}

/* ------------------------------------------------------------ send queue */

/* Completions of the SQ in order, as far as they are done. */
static void sq_retire(struct rb_qp *qp)
{
	struct rb_cq *cq = qp_send_cq(qp);
	uint32_t start = qp->sq_cons;

	while (qp->sq_cons != qp->sq_exec) {
		struct rb_swqe_done *d = &qp->done[qp->sq_cons & (qp->sq_entries - 1)];
		struct rb_cqe e;

		if (d->pending)
			break;
		qp->sq_cons++;
		if (!d->signaled && d->status == IBV_WC_SUCCESS)
			continue;
		e = (struct rb_cqe){
			.wr_id = d->wr_id, .status = d->status,
			.opcode = d->opcode, .byte_len = d->byte_len,
			.qp_num = qp->qp_num, .src_qp = qp->attr.dest_qp_num,
		};
		/*
		 * Free the slots before the completion says they are: a
		 * client that refills its window on seeing it must not find
		 * the queue still full (release: the slots are free once the
		 * client sees cons).
		 */
		__atomic_store_n(&qp->sq->cons, qp->sq_cons, __ATOMIC_RELEASE);
		cq_push(cq, &e, false);
	}
	if (qp->sq_cons != start)
		__atomic_store_n(&qp->sq->cons, qp->sq_cons, __ATOMIC_RELEASE);
}

static struct rb_rd_resp *rd_push(struct rb_qp *qp)
{
	uint32_t want = qp->attr.max_rd_atomic ? qp->attr.max_rd_atomic : 1;

	if (qp->rd_cap < want && qp->rd_count == 0) {
		struct rb_rd_resp *rd = realloc(qp->rd, want * sizeof(*rd));

		if (!rd)
			return NULL;
		qp->rd = rd;
		qp->rd_cap = want;
		qp->rd_head = 0;
	}
	if (qp->rd_count >= qp->rd_cap)
		return NULL;
	return &qp->rd[(qp->rd_head + qp->rd_count++) % qp->rd_cap];
}

/* Land (or with flush, drop) every response in flight, in order. */
static void rd_land_all(struct rb_qp *qp, bool flush)
{
	while (qp->rd_count) {
		struct rb_rd_resp *r = &qp->rd[qp->rd_head];
		struct rb_swqe_done *d = &qp->done[r->index & (qp->sq_entries - 1)];
		struct mem_seg dst[RB_MAX_SGE_ENGINE];
		struct mem_seg src = { .ptr = r->data, .len = r->len };
		uint32_t nd = 0;
		bool dst_failed = false;

		if (flush) {
			d->status = IBV_WC_WR_FLUSH_ERR;
		} else {
			/* The MRs may have changed since: look them up again. */
			for (uint32_t i = 0; i < r->num_sge && d->status == IBV_WC_SUCCESS; i++) {
				if (!r->sge[i].length)
					continue;
				d->status = (uint32_t)mem_local(qp, &r->sge[i],
							       IBV_ACCESS_LOCAL_WRITE, &dst[nd++]);
			}
			if (d->status == IBV_WC_SUCCESS &&
			    mem_copy(dst, nd, &src, 1, r->len, &dst_failed) < 0)
				d->status = IBV_WC_LOC_PROT_ERR;
			if (d->status != IBV_WC_SUCCESS)
				flush = true;	/* the QP errs: what follows flushes */
		}
		d->pending = false;
		if (r->len > sizeof(uint64_t))
			stage_put(r->data);
		qp->rd_head = (qp->rd_head + 1) % qp->rd_cap;
		qp->rd_count--;
	}
	if (flush)
		qp_to_error(qp, 0, false, 0);	/* a no-op when already in ERR */
}

/* A receive WQE the engine copied out of an RQ or SRQ. */
struct recv_take {
	struct rb_srq *srq;		/* or NULL: the QP's RQ */
	uint32_t max_sge;
	union {
		struct rb_recv_wqe hdr;
		uint8_t raw[RWQE_MAX];
	} w;
};

static bool recv_peek(struct rb_qp *dest, struct recv_take *t)
{
	struct rb_srq *srq = qp_srq(dest);
	uint32_t entries, size, cons;
	struct rb_ring *r;

	if (srq) {
		r = srq->ring;
		entries = srq->max_wr;
		size = srq->entry_size;
		cons = srq->cons;
		t->max_sge = srq->max_sge;
	} else {
		r = dest->rq;
		entries = dest->rq_entries;
		size = dest->rq_entry_size;
		cons = dest->rq_cons;
		t->max_sge = dest->cap.max_recv_sge;
	}
	if (ring_wild(r, cons, entries, srq ? srq->res.owner : dest->res.owner,
		      srq ? "an SRQ" : "an RQ") ||
	    client_prod(r, cons, entries) == cons)
		return false;
	if (size > sizeof(t->w.raw))
		size = sizeof(t->w.raw);
	memcpy(t->w.raw, ring_slot(r, entries, size, cons), size);
	t->srq = srq;
	return true;
}

static void recv_consume(struct rb_qp *dest, struct recv_take *t)
{
	struct rb_srq *srq = t->srq;

	if (!srq) {
		dest->rq_cons++;
		__atomic_store_n(&dest->rq->cons, dest->rq_cons, __ATOMIC_RELEASE);
		return;
	}
	srq->cons++;
	__atomic_store_n(&srq->ring->cons, srq->cons, __ATOMIC_RELEASE);
	if (srq->srq_limit &&
	    client_prod(srq->ring, srq->cons, srq->max_wr) - srq->cons < srq->srq_limit) {
		srq->srq_limit = 0;	/* fires once, then disarmed */
		if (session_async_event(srq->res.owner, IBV_EVENT_SRQ_LIMIT_REACHED,
					RB_ASYNC_SRQ, srq->res.handle))
			srq->events_reported++;
	}
}

/* What a message brings to a receive WQE. */
struct delivery {
	const struct rb_qp *from;
	const uint8_t *grh;		/* UD: 40 bytes first, or NULL */
	const struct mem_seg *src;
	uint32_t ns;
	uint64_t len;
	uint32_t opcode;		/* IBV_WC_RECV or IBV_WC_RECV_RDMA_WITH_IMM */
	bool scatter;			/* a SEND's data goes into the WQE's buffers */
	bool with_imm;
	uint32_t imm;
	bool solicited;
};

/*
 * Complete the receive WQE t of dest with what dv brings: its status at
 * the responder (IBV_WC_SUCCESS, LOC_LEN_ERR, LOC_PROT_ERR or
 * LOC_QP_OP_ERR); *src_failed when the sender's memory could not be read.
 */
static uint32_t recv_deliver(struct rb_qp *dest, struct recv_take *t,
			     const struct delivery *dv, bool *src_failed)
{
	const struct rb_sge *sge = (const struct rb_sge *)(t->w.raw + sizeof(t->w.hdr));
	struct mem_seg dst[RB_MAX_SGE_ENGINE], src[RB_MAX_SGE_ENGINE + 1];
	uint32_t status = IBV_WC_SUCCESS, nd = 0, ns = 0;
	uint64_t room = 0, need = dv->len + (dv->grh ? GRH_LEN : 0);
	bool dst_failed = false;

	*src_failed = false;
	if (dv->scatter) {
		if (t->w.hdr.num_sge > t->max_sge) {
			status = IBV_WC_LOC_QP_OP_ERR;
		} else {
			for (uint32_t i = 0; i < t->w.hdr.num_sge && !status; i++) {
				if (!sge[i].length)
					continue;
				status = (uint32_t)mem_local(dest, &sge[i],
							    IBV_ACCESS_LOCAL_WRITE, &dst[nd]);
				if (!status)
					room += dst[nd++].len;
			}
		}
		if (!status && room < need)
			status = IBV_WC_LOC_LEN_ERR;
		if (!status) {
			if (dv->grh)
				src[ns++] = (struct mem_seg){ .ptr = (uint8_t *)dv->grh,
							  .len = GRH_LEN };
			memcpy(&src[ns], dv->src, dv->ns * sizeof(*src));
			ns += dv->ns;
			if (mem_copy(dst, nd, src, ns, need, &dst_failed) < 0) {
				if (dst_failed)
					status = IBV_WC_LOC_PROT_ERR;
				else
					*src_failed = true;
			}
		}
	}
	if (*src_failed)
		return IBV_WC_SUCCESS;	/* nothing was delivered; the sender errs */
	recv_consume(dest, t);
	{
		struct rb_cqe e = {
			.wr_id = t->w.hdr.wr_id, .status = status,
			.opcode = dv->opcode, .byte_len = (uint32_t)need,
			.qp_num = dest->qp_num, .src_qp = dv->from->qp_num,
			.wc_flags = (dv->with_imm ? IBV_WC_WITH_IMM : 0) |
				    (dv->grh ? IBV_WC_GRH : 0),
			.imm_data = dv->with_imm ? dv->imm : 0,
		};

		cq_push(qp_recv_cq(dest), &e, dv->solicited);
	}
	if (status != IBV_WC_SUCCESS)
		qp_to_error(dest, 0, false, 0);
	return status;
}

/* Outcome of one send WQE. */
enum exec_result { X_DONE, X_DEFER, X_RNR };

static const uint32_t rnr_timer_us[32] = {
	655360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960,
	1280, 1920, 2560, 3840, 5120, 7680, 10240, 15360, 20480, 30720,
	40960, 61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

/* No receive at the responder: wait its RNR timer, or give up. */
static enum exec_result exec_rnr(struct rb_qp *qp, const struct rb_qp *dest,
				 struct rb_swqe_done *d)
{
	uint64_t us;

	if (qp->rnr_left == 0) {
		d->status = IBV_WC_RNR_RETRY_EXC_ERR;
		return X_DONE;
	}
	if (qp->attr.rnr_retry != 7)	/* 7: retry forever */
		qp->rnr_left--;
	us = rnr_timer_us[dest->attr.min_rnr_timer & 31];
	qp->rnr_wait = true;
	qp->rnr_deadline_ns = eng.now + us * 1000;
	timer_add_us(qp->ev_timer, us);
	return X_RNR;
}

static bool state_receives(enum ibv_qp_state s)
{
	return s == IBV_QPS_RTR || s == IBV_QPS_RTS || s == IBV_QPS_SQD;
}

/* A QP that answers: receiving, and its client not being disconnected. */
static bool qp_alive(const struct rb_qp *qp)
{
	return state_receives(qp->attr.qp_state) && !qp->res.owner->killed;
}

static uint32_t wc_opcode(uint32_t op)
{
	switch (op) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM: return IBV_WC_RDMA_WRITE;
	case IBV_WR_RDMA_READ: return IBV_WC_RDMA_READ;
	case IBV_WR_ATOMIC_CMP_AND_SWP: return IBV_WC_COMP_SWAP;
	case IBV_WR_ATOMIC_FETCH_AND_ADD: return IBV_WC_FETCH_ADD;
	default: return IBV_WC_SEND;
	}
}

static bool op_is_rd_atomic(uint32_t op)
{
	return op == IBV_WR_RDMA_READ || op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       op == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/* A WQE as copied out of the SQ. */
union swqe {
	struct rb_send_wqe hdr;
	uint8_t raw[SWQE_MAX];
};

static const struct rb_sge *swqe_sge(const union swqe *w)
{
	return (const struct rb_sge *)(w->raw + sizeof(w->hdr));
}

/* A UD SEND: to whichever QP the AH and remote_qpn name, or nowhere. */
static enum exec_result exec_ud(struct rb_qp *qp, const union swqe *w,
				struct rb_swqe_done *d, const struct mem_seg *src,
				uint32_t ns, uint64_t len)
{
	struct rb_res *r;
	const struct rb_ah *ah;
	struct rb_qp *dest;
	struct recv_take t;
	union ibv_gid gid;
	enum ibv_gid_type gid_type;
	uint8_t grh[GRH_LEN];
	uint32_t qkey, word;
	uint16_t paylen;
	bool src_failed;

	if (len > UD_MTU) {
		d->status = IBV_WC_LOC_LEN_ERR;
		return X_DONE;
	}
	r = res_lookup(qp->res.owner, w->hdr.ah_handle, RB_RES_AH, NULL);
	ah = (const struct rb_ah *)r;
	if (!ah || r->deps[0] != qp->res.deps[0]) {
		d->status = IBV_WC_LOC_QP_OP_ERR;
		return X_DONE;
	}
	/* Anything not addressed to this device leaves the host: gone. */
	if (qp->dev->ops.query_gid(qp->dev, 1, ah->attr.grh.sgid_index, &gid,
				   &gid_type) < 0)
		return X_DONE;
	{
		union ibv_gid our;

		if (qp->dev->ops.query_gid(qp->dev, 1, 0, &our, &gid_type) < 0 ||
		    memcmp(our.raw, ah->attr.grh.dgid.raw, sizeof(our.raw)))
			return X_DONE;
	}
	dest = qp_find(w->hdr.remote_qpn & 0xffffff);
	if (!dest || dest->type != IBV_QPT_UD || dest->dev != qp->dev ||
	    !qp_alive(dest))
		return X_DONE;
	qkey = (w->hdr.remote_qkey & 0x80000000u) ? qp->attr.qkey : w->hdr.remote_qkey;
	if (dest->attr.qkey != qkey || !recv_peek(dest, &t))
		return X_DONE;
	/* An IBA GRH, as a NIC writes into the first 40 bytes. */
	word = htobe32((6u << 28) | ((uint32_t)ah->attr.grh.traffic_class << 20) |
		       (ah->attr.grh.flow_label & 0xfffff));
	memcpy(grh, &word, 4);
	paylen = htobe16((uint16_t)len);
	memcpy(grh + 4, &paylen, 2);
	grh[6] = 0x1b;
	grh[7] = ah->attr.grh.hop_limit;
	memcpy(grh + 8, gid.raw, 16);
	memcpy(grh + 24, ah->attr.grh.dgid.raw, 16);
	{
		struct delivery dv = {
			.from = qp, .grh = grh, .src = src, .ns = ns, .len = len,
			.opcode = IBV_WC_RECV, .scatter = true,
			.with_imm = w->hdr.opcode == IBV_WR_SEND_WITH_IMM,
			.imm = w->hdr.imm_data,
			.solicited = w->hdr.send_flags & IBV_SEND_SOLICITED,
		};

		recv_deliver(dest, &t, &dv, &src_failed);
	}
	if (src_failed)
		d->status = IBV_WC_LOC_PROT_ERR;
	return X_DONE;
}

/* Execute the READ or atomic at the responder; its response lands later. */
static enum exec_result exec_rd_atomic(struct rb_qp *qp, struct rb_qp *dest,
				       const union swqe *w, struct rb_swqe_done *d)
{
	const struct rb_sge *sge = swqe_sge(w);
	uint32_t op = w->hdr.opcode;
	struct mem_seg local[RB_MAX_SGE_ENGINE], rseg;
	struct rb_rd_resp *resp;
	uint32_t nl = 0;
	uint64_t len = 0;
	bool dst_failed = false;

	if (w->hdr.num_sge > qp->cap.max_send_sge) {
		d->status = IBV_WC_LOC_QP_OP_ERR;
		return X_DONE;
	}
	if (op != IBV_WR_RDMA_READ && (w->hdr.num_sge != 1 || sge[0].length != 8)) {
		d->status = IBV_WC_LOC_LEN_ERR;
		return X_DONE;
	}
	for (uint32_t i = 0; i < w->hdr.num_sge; i++) {
		if (!sge[i].length)
			continue;
		d->status = (uint32_t)mem_local(qp, &sge[i], IBV_ACCESS_LOCAL_WRITE,
					       &local[nl]);
		if (d->status)
			return X_DONE;
		len += local[nl++].len;
	}
	if (len > MSG_MAX) {
		d->status = IBV_WC_LOC_LEN_ERR;
		return X_DONE;
	}
	d->byte_len = (uint32_t)len;
	if (op != IBV_WR_RDMA_READ && (w->hdr.remote_addr & 7)) {
		d->status = IBV_WC_REM_INV_REQ_ERR;
		qp_to_error(dest, IBV_EVENT_QP_REQ_ERR, true, 0);
		return X_DONE;
	}
	if (len && !mem_remote(dest, w->hdr.rkey, w->hdr.remote_addr, len,
			       op == IBV_WR_RDMA_READ ? IBV_ACCESS_REMOTE_READ :
							IBV_ACCESS_REMOTE_ATOMIC, &rseg)) {
		d->status = IBV_WC_REM_ACCESS_ERR;
		qp_to_error(dest, IBV_EVENT_QP_ACCESS_ERR, true, 0);
		return X_DONE;
	}
	if (op == IBV_WR_RDMA_READ && len > RD_STAGE_MAX) {
		/* Large: straight into place, as if the response were here. */
		if (mem_copy(local, nl, &rseg, 1, len, &dst_failed) < 0)
			d->status = dst_failed ? IBV_WC_LOC_PROT_ERR : IBV_WC_REM_ACCESS_ERR;
		return X_DONE;
	}
	resp = rd_push(qp);
	if (!resp) {
		d->status = IBV_WC_LOC_QP_OP_ERR;	/* out of memory */
		return X_DONE;
	}
	resp->num_sge = w->hdr.num_sge;
	memcpy(resp->sge, sge, w->hdr.num_sge * sizeof(*sge));
	resp->len = (uint32_t)len;
	if (op == IBV_WR_RDMA_READ && len > sizeof(uint64_t)) {
		resp->data = stage_get();
		if (!resp->data) {
			qp->rd_count--;
			d->status = IBV_WC_LOC_QP_OP_ERR;
			return X_DONE;
		}
	} else {
		resp->data = (uint8_t *)&resp->small;
	}
	if (op == IBV_WR_RDMA_READ) {
		struct mem_seg stage = { .ptr = resp->data, .len = len };

		if (len && mem_copy(&stage, 1, &rseg, 1, len, &dst_failed) < 0) {
			if (len > sizeof(uint64_t))
				stage_put(resp->data);
			qp->rd_count--;
			d->status = IBV_WC_REM_ACCESS_ERR;
			return X_DONE;
		}
	} else {
		uint64_t orig, *p = (uint64_t *)(void *)rseg.ptr;
		bool cas = op == IBV_WR_ATOMIC_CMP_AND_SWP;

		if (p && !((uintptr_t)p & 7)) {
			/* Atomic against the client's CPU too, not only ours. */
			if (cas) {
				orig = w->hdr.compare_add;
				__atomic_compare_exchange_n(p, &orig, w->hdr.swap, false,
							    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			} else {
				orig = __atomic_fetch_add(p, w->hdr.compare_add,
							  __ATOMIC_SEQ_CST);
			}
		} else {
			/* One engine thread: still atomic among the device's atomics. */
			struct mem_seg val = { .ptr = (uint8_t *)&orig, .len = 8 };
			uint64_t next;
			struct mem_seg nv = { .ptr = (uint8_t *)&next, .len = 8 };

			if (mem_copy(&val, 1, &rseg, 1, 8, &dst_failed) < 0) {
				qp->rd_count--;
				d->status = IBV_WC_REM_ACCESS_ERR;
				return X_DONE;
			}
			next = cas ? (orig == w->hdr.compare_add ? w->hdr.swap : orig) :
				     orig + w->hdr.compare_add;
			if (mem_copy(&rseg, 1, &nv, 1, 8, &dst_failed) < 0) {
				qp->rd_count--;
				d->status = IBV_WC_REM_ACCESS_ERR;
				return X_DONE;
			}
		}
		memcpy(resp->data, &orig, 8);
	}
	resp->index = qp->sq_exec;
	d->pending = true;
	return X_DEFER;
}

/* Execute the WQE at sq_exec; d holds its completion-to-be. */
static enum exec_result exec_wqe(struct rb_qp *qp, const union swqe *w,
				 struct rb_swqe_done *d)
{
	uint32_t op = w->hdr.opcode;
	const struct rb_sge *sge = swqe_sge(w);
	struct mem_seg src[RB_MAX_SGE_ENGINE], rseg;
	struct rb_qp *dest;
	struct recv_take t;
	uint32_t ns = 0;
	uint64_t len = 0;
	bool rc = qp->type == IBV_QPT_RC, failed = false;

	if (!rb_send_opcode_ok(qp->type, op)) {
		d->status = IBV_WC_LOC_QP_OP_ERR;
		return X_DONE;
	}
	if (qp->type != IBV_QPT_UD) {
		dest = qp_find(qp->attr.dest_qp_num);
		if (!dest || dest->type != qp->type || dest->dev != qp->dev ||
		    !qp_alive(dest) || dest->attr.dest_qp_num != qp->qp_num) {
			/* Nobody answers: RC retries out, UC's packets vanish. */
			if (rc)
				d->status = IBV_WC_RETRY_EXC_ERR;
			return X_DONE;
		}
		if (op_is_rd_atomic(op))
			return exec_rd_atomic(qp, dest, w, d);
	} else {
		dest = NULL;
	}
	/* The data of a SEND or WRITE: inline, or gathered from MRs. */
	if (w->hdr.send_flags & IBV_SEND_INLINE) {
		if (w->hdr.inline_len > qp->cap.max_inline_data ||
		    w->hdr.inline_len > sizeof(w->raw) - sizeof(w->hdr)) {
			d->status = IBV_WC_LOC_LEN_ERR;
			return X_DONE;
		}
		src[0] = (struct mem_seg){ .ptr = (uint8_t *)sge, .len = w->hdr.inline_len };
		ns = w->hdr.inline_len ? 1 : 0;
		len = w->hdr.inline_len;
	} else {
		if (w->hdr.num_sge > qp->cap.max_send_sge) {
			d->status = IBV_WC_LOC_QP_OP_ERR;
			return X_DONE;
		}
		for (uint32_t i = 0; i < w->hdr.num_sge; i++) {
			if (!sge[i].length)
				continue;
			d->status = (uint32_t)mem_local(qp, &sge[i], 0, &src[ns]);
			if (d->status)
				return X_DONE;
			len += src[ns++].len;
		}
	}
	if (len > MSG_MAX) {
		d->status = IBV_WC_LOC_LEN_ERR;
		return X_DONE;
	}
	d->byte_len = (uint32_t)len;
	if (!dest)
		return exec_ud(qp, w, d, src, ns, len);

	if (op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM ||
	    op == IBV_WR_RDMA_WRITE_WITH_IMM) {
		if (!recv_peek(dest, &t))
			return rc ? exec_rnr(qp, dest, d) : X_DONE;
	}
	if (op == IBV_WR_RDMA_WRITE || op == IBV_WR_RDMA_WRITE_WITH_IMM) {
		bool dst_failed = false;

		if (len && !mem_remote(dest, w->hdr.rkey, w->hdr.remote_addr, len,
				       IBV_ACCESS_REMOTE_WRITE, &rseg)) {
			if (rc) {
				d->status = IBV_WC_REM_ACCESS_ERR;
				qp_to_error(dest, IBV_EVENT_QP_ACCESS_ERR, true, 0);
			}
			return X_DONE;
		}
		if (len && mem_copy(&rseg, 1, src, ns, len, &dst_failed) < 0) {
			d->status = dst_failed ? IBV_WC_REM_ACCESS_ERR : IBV_WC_LOC_PROT_ERR;
			return X_DONE;
		}
		if (op == IBV_WR_RDMA_WRITE)
			return X_DONE;
	}
	{
		struct delivery dv = {
			.from = qp, .src = src, .ns = ns, .len = len,
			.opcode = op == IBV_WR_RDMA_WRITE_WITH_IMM ?
				  IBV_WC_RECV_RDMA_WITH_IMM : IBV_WC_RECV,
			.scatter = op != IBV_WR_RDMA_WRITE_WITH_IMM,
			.with_imm = op != IBV_WR_SEND,
			.imm = w->hdr.imm_data,
			.solicited = w->hdr.send_flags & IBV_SEND_SOLICITED,
		};
		uint32_t st = recv_deliver(dest, &t, &dv, &failed);

		if (failed)
			d->status = IBV_WC_LOC_PROT_ERR;
		else if (rc && st == IBV_WC_LOC_LEN_ERR)
			d->status = IBV_WC_REM_INV_REQ_ERR;
		else if (rc && st != IBV_WC_SUCCESS)
			d->status = IBV_WC_REM_OP_ERR;
	}
	return X_DONE;
}

/* ERR: everything posted completes with IBV_WC_WR_FLUSH_ERR. */
static bool qp_flush(struct rb_qp *qp)
{
	uint32_t prod = sq_prod(qp);
	bool progress = false;

	if (qp->rd_count)
		rd_land_all(qp, true);
	while (qp->sq_exec != prod) {
		struct rb_send_wqe h;
		struct rb_swqe_done *d = &qp->done[qp->sq_exec & (qp->sq_entries - 1)];

		memcpy(&h, ring_slot(qp->sq, qp->sq_entries, qp->sq_entry_size,
				   qp->sq_exec), sizeof(h));
		*d = (struct rb_swqe_done){
			.wr_id = h.wr_id, .opcode = wc_opcode(h.opcode),
			.status = qp->err_status ? qp->err_status : IBV_WC_WR_FLUSH_ERR,
			.signaled = true,
		};
		qp->err_status = 0;
		qp->sq_exec++;
		progress = true;
	}
	sq_retire(qp);
	if (!qp_srq(qp) &&
	    !ring_wild(qp->rq, qp->rq_cons, qp->rq_entries, qp->res.owner, "an RQ")) {
		prod = client_prod(qp->rq, qp->rq_cons, qp->rq_entries);
		while (qp->rq_cons != prod) {
			struct rb_recv_wqe h;
			struct rb_cqe e = {
				.status = IBV_WC_WR_FLUSH_ERR, .opcode = IBV_WC_RECV,
				.qp_num = qp->qp_num,
			};

			memcpy(&h, ring_slot(qp->rq, qp->rq_entries, qp->rq_entry_size,
					   qp->rq_cons), sizeof(h));
			e.wr_id = h.wr_id;
			cq_push(qp_recv_cq(qp), &e, false);
			qp->rq_cons++;
			progress = true;
		}
		__atomic_store_n(&qp->rq->cons, qp->rq_cons, __ATOMIC_RELEASE);
	}
	return progress;
}

/* One pass over one QP; true if it did anything. */
static bool qp_step(struct rb_qp *qp)
{
	bool progress = false;
	uint32_t prod, max_rd;

	if (qp->res.owner->killed) {
		qp_deactivate(qp);	/* its session goes, and the QP with it */
		return false;
	}
	if (qp->rd_count && qp->attr.qp_state != IBV_QPS_ERR) {
		rd_land_all(qp, false);
		progress = true;
	}
	if (qp->attr.qp_state == IBV_QPS_ERR)
		return qp_flush(qp) || progress;
	if (qp->attr.qp_state != IBV_QPS_RTS) {
		sq_retire(qp);
		return progress;
	}
	max_rd = qp->attr.max_rd_atomic ? qp->attr.max_rd_atomic : 1;
	prod = sq_prod(qp);
	while (qp->sq_exec != prod) {
		union swqe w;
		struct rb_swqe_done *d = &qp->done[qp->sq_exec & (qp->sq_entries - 1)];
		enum exec_result x;
		uint32_t size = qp->sq_entry_size < sizeof(w) ? qp->sq_entry_size :
								sizeof(w);

		if (qp->rnr_wait && eng.now < qp->rnr_deadline_ns)
			break;
		/* Copy first: the client may change the slot under us. */
		memcpy(w.raw, ring_slot(qp->sq, qp->sq_entries, qp->sq_entry_size,
				      qp->sq_exec), size);
		if ((w.hdr.send_flags & IBV_SEND_FENCE) && qp->rd_count)
			break;		/* after the responses in flight land */
		if (op_is_rd_atomic(w.hdr.opcode) &&
		    (qp->rd_count >= max_rd || (qp->rd_count && qp->rd_count >= qp->rd_cap)))
			break;		/* initiator depth reached */
		*d = (struct rb_swqe_done){
			.wr_id = w.hdr.wr_id, .opcode = wc_opcode(w.hdr.opcode),
			.signaled = qp->sq_sig_all ||
				    (w.hdr.send_flags & IBV_SEND_SIGNALED),
		};
		if (!qp->rnr_wait)
			qp->rnr_left = qp->attr.rnr_retry;
		x = exec_wqe(qp, &w, d);
		if (x == X_RNR)
			break;
		qp->rnr_wait = false;
		qp->sq_exec++;
		progress = true;
		if (d->status != IBV_WC_SUCCESS) {
			qp_to_error(qp, 0, false, 0);
			break;
		}
	}
	sq_retire(qp);
	if (qp->attr.qp_state == IBV_QPS_ERR)
		qp_flush(qp);
	return progress;
}

/* ------------------------------------------------------------ QPs */

static void qp_bell_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	/* Drain it; a failed read only means nothing was rung. */
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("doorbell read: %s", strerror(errno));
	qp_activate(arg);
}

static void qp_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_qp *qp = arg;

	(void)fd;
	(void)what;
	/*
	 * The wait is over when the timer says so: libevent's clock (it may
	 * be CLOCK_MONOTONIC_COARSE) can fire it before our deadline by ours,
	 * and a QP that then waited for a deadline with no timer left slept
	 * for ever.
	 */
	qp->rnr_deadline_ns = 0;
	qp_activate(qp);
}

/* The peer went away a transport timeout ago: what a NIC concludes. */
static void qp_lost_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_qp *qp = arg;

	(void)fd;
	(void)what;
	if (state_receives(qp->attr.qp_state))
		qp_to_error(qp, IBV_EVENT_QP_FATAL, true, IBV_WC_RETRY_EXC_ERR);
}

/*
 * How long a NIC takes to give up on a silent peer: the local ACK timeout
 * (4.096 us << timeout) times retry_cnt + 1, within 50 ms .. 4 s (timeout
 * 0, "wait forever", gets the 4 s).
 */
static uint64_t qp_lost_delay_us(const struct rb_qp *qp)
{
	uint64_t us = qp->attr.timeout ? (4096ull << qp->attr.timeout) / 1000 : 4000000;

	us *= (uint64_t)qp->attr.retry_cnt + 1;
	if (us < 50000)
		us = 50000;
	return us > 4000000 ? 4000000 : us;
}

int engine_qp_add(struct rb_qp *qp)
{
	qp->done = calloc(qp->sq_entries, sizeof(*qp->done));
	qp->ev_bell = event_new(eng.base, qp->doorbell, EV_READ | EV_PERSIST,
				qp_bell_cb, qp);
	qp->ev_timer = evtimer_new(eng.base, qp_timer_cb, qp);
	qp->ev_lost = evtimer_new(eng.base, qp_lost_cb, qp);
	if (!qp->done || !qp->ev_bell || !qp->ev_timer || !qp->ev_lost ||
	    event_add(qp->ev_bell, NULL) < 0) {
		free(qp->done);
		if (qp->ev_bell)
			event_free(qp->ev_bell);
		if (qp->ev_timer)
			event_free(qp->ev_timer);
		if (qp->ev_lost)
			event_free(qp->ev_lost);
		qp->done = NULL;
		qp->ev_bell = qp->ev_timer = qp->ev_lost = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Forget what is in flight: RESET, or the QP going away. */
static void qp_discard(struct rb_qp *qp)
{
	while (qp->rd_count) {
		struct rb_rd_resp *r = &qp->rd[qp->rd_head];

		if (r->len > sizeof(uint64_t))
			stage_put(r->data);
		qp->rd_head = (qp->rd_head + 1) % qp->rd_cap;
		qp->rd_count--;
	}
	qp->rnr_wait = false;
	evtimer_del(qp->ev_timer);
	evtimer_del(qp->ev_lost);
	qp->err_status = 0;
}

void engine_qp_remove(struct rb_qp *qp)
{
	struct rb_qp *peer;

	if (!qp->done)
		return;		/* never added */
	/*
	 * Its RC peer: a send it posts fails at once (nobody answers), and
	 * after its transport timeout it goes to ERR anyway, as if a NIC had
	 * given up on the silence; until then the completions it has not
	 * polled yet, and its posted receives, are left alone, as on a NIC
	 * (a ping-pong that exits first must not fail its partner's last poll).
	 */
	if (qp->type == IBV_QPT_RC && state_receives(qp->attr.qp_state)) {
		peer = qp_find(qp->attr.dest_qp_num);
		if (peer && peer != qp && peer->type == IBV_QPT_RC &&
		    peer->attr.dest_qp_num == qp->qp_num &&
		    state_receives(peer->attr.qp_state)) {
			timer_add_us(peer->ev_lost, qp_lost_delay_us(peer));
			/* No more RNR NAKs come: a send waiting on one now
			 * waits for the transport timeout like the rest. */
			if (peer->rnr_wait) {
				evtimer_del(peer->ev_timer);
				peer->rnr_deadline_ns = UINT64_MAX;
			}
		}
	}
	qp_deactivate(qp);
	qp_discard(qp);
	event_free(qp->ev_bell);
	event_free(qp->ev_timer);
	event_free(qp->ev_lost);
	free(qp->done);
	free(qp->rd);
	qp->done = NULL;
	qp->rd = NULL;
}

void engine_qp_state(struct rb_qp *qp, enum ibv_qp_state from)
{
	switch (qp->attr.qp_state) {
	case IBV_QPS_RESET:
		/* What was posted is gone, without completions. */
		qp_deactivate(qp);
		qp_discard(qp);
		qp->sq_cons = qp->sq_exec = __atomic_load_n(&qp->sq->prod, __ATOMIC_ACQUIRE);
		qp->rq_cons = __atomic_load_n(&qp->rq->prod, __ATOMIC_ACQUIRE);
		__atomic_store_n(&qp->sq->cons, qp->sq_cons, __ATOMIC_RELEASE);
		__atomic_store_n(&qp->rq->cons, qp->rq_cons, __ATOMIC_RELEASE);
		break;
	case IBV_QPS_ERR:
		if (from != IBV_QPS_ERR) {
			/* Asked for: responses in flight flush too. */
			qp->rnr_wait = false;
			evtimer_del(qp->ev_timer);
			if (qp->rd_count)
				rd_land_all(qp, true);
		}
		qp_activate(qp);
		break;
	case IBV_QPS_RTS:
		qp_activate(qp);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------ the loop */

static void engine_pass(void)
{
	uint64_t spin = (uint64_t)eng.d->cfg.soft.spin_us * 1000;
	struct rb_qp *qp, *next;
	bool any = false;

	eng.now = now_ns();
	for (qp = TAILQ_FIRST(&eng.active); qp; qp = next) {
		/* A step may append QPs (a peer put in ERR); never removes others. */
		next = TAILQ_NEXT(qp, active_link);
		if (qp_step(qp)) {
			qp->last_work_ns = eng.now;
			any = true;
		} else if (eng.now - qp->last_work_ns >= spin) {
			qp_try_sleep(qp);
		}
	}
	/*
	 * Nothing to do this pass: let a client that shares our core run.
	 * Spinning on a core a client needs only delays the client.  Not
	 * while polling for a control request: that choice was measured
	 * (engine_control_served), and a yield is a syscall per pass.
	 */
	if (!any && eng.now >= eng.ctl_until)
		sched_yield();
}

/*
 * While QPs are in the poll set, libevent (control requests, doorbells of
 * sleeping QPs, timers) is polled at most every ENGINE_EV_POLL_NS: an
 * epoll_wait per pass was a syscall per pass that the ring path does not
 * need, and a control request or a wake-up waits at most this long more.
 * For a while after a control request (engine_control_served) it is
 * polled every pass, and with no QP active the loop polls instead of
 * blocking: the next request of a burst is served as soon as it lands.
 */
#define ENGINE_EV_POLL_NS 20000

/*
 * After a request, poll for the next for up to control_spin_us, or sleep:
 * whichever has brought the next request sooner lately, learnt for each
 * type of request just served (proto/spin.h): what a client does after a
 * modify (the next verb) is not what it does after a destroy (unmap).
 * On a busy machine a polling daemon holds the core its client needs, so
 * the gaps grow and it goes back to sleeping.  No sched_yield while
 * polling: on a busy core it gives a time slice away.  On one CPU the
 * client answers only once we stop: no polling.
 */
void engine_control_arrived(void)
{
	uint64_t max = (uint64_t)eng.d->cfg.control_spin_us * 1000;

	if (eng.ctl_last && max)
		rb_spin_record(&eng.ctl_spin[eng.ctl_kind], eng.ctl_polled,
			       now_ns() - eng.ctl_last, 4 * max);
	eng.ctl_last = 0;
}

void engine_control_served(int kind)
{
	uint64_t max = (uint64_t)eng.d->cfg.control_spin_us * 1000;

	if (eng.ncpus == 0)
		eng.ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (eng.ncpus < 2)
		max = 0;
	eng.ctl_kind = kind > 0 && kind < RB_SPIN_KINDS ? kind : 0;
	eng.ctl_last = now_ns();
	eng.ctl_polled = rb_spin_choose(&eng.ctl_spin[eng.ctl_kind], max);
	eng.ctl_until = eng.ctl_polled ? eng.ctl_last + max : 0;
}

int engine_run(struct rb_daemon *d)
{
	uint64_t last_ev = 0;

	(void)d;
	for (;;) {
		int ret = 0;

		if (TAILQ_EMPTY(&eng.active)) {
			eng.now = now_ns();
			if (eng.now < eng.ctl_until) {
				ret = event_base_loop(eng.base, EVLOOP_NONBLOCK);
			} else {
				ret = event_base_loop(eng.base, EVLOOP_ONCE);
			}
			last_ev = now_ns();
		} else {
			if (eng.now - last_ev >= ENGINE_EV_POLL_NS || eng.now < eng.ctl_until) {
				ret = event_base_loop(eng.base, EVLOOP_NONBLOCK);
				last_ev = eng.now;
			}
			if (ret >= 0)
				engine_pass();
		}
		if (ret < 0)
			return -1;
		if (event_base_got_break(eng.base) || event_base_got_exit(eng.base))
			return 0;
	}
}

int engine_init(struct rb_daemon *d)
{
	eng.d = d;
	eng.base = d->base;
	TAILQ_INIT(&eng.active);
	return 0;
}

void engine_fini(void)
{
	while (eng.nstage)
		free(eng.stage_pool[--eng.nstage]);
}
