/* SPDX-License-Identifier: MIT */
/*
 * The soft device's completions (soft-int.h): send queues retire in
 * posting order, and a QP in ERR flushes what is posted.  Also the two
 * checks of a client-produced ring every queue makes first.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/ring.h"
#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

/*
 * The producer index of a ring the client produces into, as far as the
 * engine will go: never more than `entries` past our consumer.
 */
uint32_t soft_comp_client_prod(struct rb_ring *r, uint32_t cons, uint32_t entries)
{
	/* Acquire (in ring_pending): the slots written before prod. */
	return cons + ring_pending(r, cons, entries);
}

/*
 * Stamp e with the device clock and the wall clock as it is written (the
 * device's completion_timestamp_mask promises every completion has them;
 * two vDSO reads, ~40 ns) and push it into cq.
 */
void soft_comp_push(struct rb_cq *cq, struct rb_cqe *e, bool solicited)
{
	struct timespec mono, wall;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	e->ts = (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec;
	e->wallclock_ns = (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec;
	cq_push(cq, e, solicited);
}

/* Completions of the SQ in order, as far as they are done. */
void soft_comp_sq_retire(struct soft_qp *qp)
{
	struct rb_cq *cq = soft_qp_send_cq(qp);
	uint32_t start = qp->sq_cons;

	while (qp->sq_cons != qp->sq_exec) {
		struct soft_swqe_done *d = &qp->done[qp->sq_cons & (qp->qp.sq_entries - 1)];
		struct rb_cqe e;

		if (d->pending)
			break;
		qp->sq_cons++;
		rb_stat_wr_sent(&qp->qp.res, d->byte_len, d->status);
		if (!d->signaled && d->status == IBV_WC_SUCCESS)
			continue;
		e = (struct rb_cqe){
			.wr_id = d->wr_id, .status = d->status,
			.opcode = d->opcode, .byte_len = d->byte_len,
			.qp_num = qp->qp.qp_num, .src_qp = qp->qp.attr.dest_qp_num,
		};
		/*
		 * Free the slots before the completion says they are: a
		 * client that refills its window on seeing it must not find
		 * the queue still full (release: the slots are free once the
		 * client sees cons).
		 */
		__atomic_store_n(&qp->qp.sq->cons, qp->sq_cons, __ATOMIC_RELEASE);
		soft_comp_push(cq, &e, false);
	}
	if (qp->sq_cons != start)
		__atomic_store_n(&qp->qp.sq->cons, qp->sq_cons, __ATOMIC_RELEASE);
}

/* ERR: everything posted completes with IBV_WC_WR_FLUSH_ERR. */
bool soft_comp_flush(struct soft_qp *qp)
{
	uint32_t prod = soft_req_sq_prod(qp);
	bool progress = false;

	if (qp->rd_count)
		soft_req_rd_land_all(qp, true);
	roce_rc_flush(qp);	/* in flight to another host */
	while (qp->sq_exec != prod) {
		struct rb_send_wqe h;
		struct soft_swqe_done *d = &qp->done[qp->sq_exec & (qp->qp.sq_entries - 1)];

		memcpy(&h, ring_slot(qp->qp.sq, qp->qp.sq_entries, qp->qp.sq_entry_size,
				   qp->sq_exec), sizeof(h));
		*d = (struct soft_swqe_done){
			.wr_id = h.wr_id, .opcode = rb_wc_opcode(h.opcode),
			.status = qp->err_status ? qp->err_status : IBV_WC_WR_FLUSH_ERR,
			.signaled = true,
		};
		qp->err_status = 0;
		qp->sq_exec++;
		progress = true;
	}
	soft_comp_sq_retire(qp);
	/* A receive a SEND in parts took is older than any still queued. */
	if (qp->claim) {
		soft_resp_claim_drop(qp, true);
		progress = true;
	}
	if (!soft_qp_srq(qp) &&
	    !ring_wild(qp->qp.rq, qp->rq_cons, qp->qp.rq_entries, &qp->qp.res, "an RQ")) {
		prod = soft_comp_client_prod(qp->qp.rq, qp->rq_cons, qp->qp.rq_entries);
		while (qp->rq_cons != prod) {
			struct rb_recv_wqe h;
			struct rb_cqe e = {
				.status = IBV_WC_WR_FLUSH_ERR, .opcode = IBV_WC_RECV,
				.qp_num = qp->qp.qp_num,
			};

			memcpy(&h, ring_slot(qp->qp.rq, qp->qp.rq_entries, qp->qp.rq_entry_size,
					   qp->rq_cons), sizeof(h));
			e.wr_id = h.wr_id;
			soft_comp_push(soft_qp_recv_cq(qp), &e, false);
			qp->rq_cons++;
			progress = true;
		}
		__atomic_store_n(&qp->qp.rq->cons, qp->rq_cons, __ATOMIC_RELEASE);
	}
	return progress;
}

