/* SPDX-License-Identifier: MIT */
/*
 * The soft device's responder (soft-int.h): a receive WQE taken from the
 * responder QP's RQ or SRQ, and a message delivered into it, with the
 * completion the responder's CQ gets.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/ring.h"
#include "drivers/soft/soft-int.h"

/* The next WQE of srq, or of dest's RQ if srq is NULL. */
static bool resp_peek(struct soft_qp *dest, struct rb_srq *srq, struct soft_recv_take *t)
{
	uint32_t entries, size, cons;
	struct rb_ring *r;

	if (srq) {
		r = srq->ring;
		entries = srq->max_wr;
		size = srq->entry_size;
		cons = srq->cons;
		t->max_sge = srq->max_sge;
	} else {
		r = dest->qp.rq;
		entries = dest->qp.rq_entries;
		size = dest->qp.rq_entry_size;
		cons = dest->rq_cons;
		t->max_sge = dest->qp.cap.max_recv_sge;
	}
	if (ring_wild(r, cons, entries, srq ? &srq->res : &dest->qp.res,
		      srq ? "an SRQ" : "an RQ") ||
	    soft_comp_client_prod(r, cons, entries) == cons)
		return false;
	if (size > sizeof(t->w.raw))
		size = sizeof(t->w.raw);
	memcpy(t->w.raw, ring_slot(r, entries, size, cons), size);
	t->srq = srq;
	/* An XRC SRQ has its own CQ and PD; else the QP's. */
	t->cq = srq && srq->xrc ? (struct rb_cq *)srq->res.deps[2] : soft_qp_recv_cq(dest);
	t->pd = srq ? srq->res.deps[0] : dest->qp.res.deps[0];
	return true;
}

bool soft_resp_peek(struct soft_qp *dest, struct soft_recv_take *t)
{
	return resp_peek(dest, soft_qp_srq(dest), t);
}

int soft_resp_peek_xrc(struct soft_qp *dest, uint32_t srqn, struct soft_recv_take *t)
{
	struct soft_dev *sd = soft_dev_of(dest);
	struct rb_hnode *n = hash_first(&sd->srqns, srqn);
	struct rb_srq *srq = n ? &container_of(n, struct soft_srq, node)->srq : NULL;

	/* dest's deps[0] is its XRC domain, the shared object an XRC SRQ's
	 * xrcd is too (daemon/objects.h): SRQ and QP may be of different
	 * processes that opened the same domain. */
	if (!srq || !srq->xrc || &srq->xrcd->res != dest->qp.res.deps[0])
		return -1;
	return resp_peek(dest, srq, t) ? 1 : 0;
}

static void resp_consume(struct soft_qp *dest, struct soft_recv_take *t)
{
	struct rb_srq *srq = t->srq;

	if (!srq) {
		dest->rq_cons++;
		__atomic_store_n(&dest->qp.rq->cons, dest->rq_cons, __ATOMIC_RELEASE);
		return;
	}
	srq->cons++;
	__atomic_store_n(&srq->ring->cons, srq->cons, __ATOMIC_RELEASE);
	if (srq->srq_limit &&
	    soft_comp_client_prod(srq->ring, srq->cons, srq->max_wr) - srq->cons < srq->srq_limit) {
		srq->srq_limit = 0;	/* fires once, then disarmed */
		srq_async_event(srq, IBV_EVENT_SRQ_LIMIT_REACHED);
	}
}

/*
 * The buffers of the receive WQE t as segments able to take need bytes:
 * 0, or the responder's status (LOC_QP_OP_ERR, LOC_PROT_ERR, LOC_LEN_ERR).
 */
static uint32_t resp_scatter(struct soft_qp *dest, const struct soft_recv_take *t,
			     uint64_t need, struct mem_seg *dst, uint32_t *nd)
{
	const struct rb_sge *sge = (const struct rb_sge *)(t->w.raw + sizeof(t->w.hdr));
	uint32_t status = IBV_WC_SUCCESS;
	uint64_t room = 0;

	*nd = 0;
	if (t->w.hdr.num_sge > t->max_sge)
		return IBV_WC_LOC_QP_OP_ERR;
	for (uint32_t i = 0; i < t->w.hdr.num_sge && !status; i++) {
		if (!sge[i].length)
			continue;
		status = (uint32_t)soft_mem_local_pd(dest->qp.dev, t->pd, &sge[i],
						    IBV_ACCESS_LOCAL_WRITE, &dst[*nd]);
		if (!status)
			room += dst[(*nd)++].len;
	}
	if (!status && room < need)
		status = IBV_WC_LOC_LEN_ERR;
	return status;
}

/* The completion of the receive t of dest for what dv brought. */
static void resp_complete(struct soft_qp *dest, const struct soft_recv_take *t,
			  const struct soft_delivery *dv, uint32_t status, bool inv)
{
	struct rb_cqe e = {
		.wr_id = t->w.hdr.wr_id, .status = status,
		.opcode = dv->opcode,
		.byte_len = (uint32_t)(dv->len + (dv->grh ? SOFT_GRH_LEN : 0)),
		.qp_num = dest->qp.qp_num, .src_qp = dv->from ? dv->from->qp.qp_num : dv->src_qpn,
		.wc_flags = (dv->with_imm ? IBV_WC_WITH_IMM : 0) |
			    (dv->grh ? IBV_WC_GRH : 0) |
			    (inv ? IBV_WC_WITH_INV : 0),
		/* ibv_wc's invalidated_rkey shares imm_data's place. */
		.imm_data = dv->with_imm ? dv->imm : inv ? dv->inv_rkey : 0,
	};

	soft_comp_push(t->cq, &e, dv->solicited);
}

/*
 * Complete the receive WQE t of dest with what dv brings: its status at
 * the responder (IBV_WC_SUCCESS, LOC_LEN_ERR, LOC_PROT_ERR or
 * LOC_QP_OP_ERR); *src_failed when the sender's memory could not be read.
 */
uint32_t soft_resp_deliver(struct soft_qp *dest, struct soft_recv_take *t,
			   const struct soft_delivery *dv, bool *src_failed)
{
	struct mem_seg dst[RB_MAX_SGE], src[RB_MAX_SGE + 1];
	uint32_t status = IBV_WC_SUCCESS, nd = 0, ns = 0;
	uint64_t need = dv->len + (dv->grh ? SOFT_GRH_LEN : 0);
	bool dst_failed = false;
	struct soft_mw *inv = NULL;

	*src_failed = false;
	/*
	 * SEND_WITH_INV names a type 2 window bound through this QP, of its
	 * PD; anything else is the invalid request rxe reports, to both
	 * sides, and nothing is delivered.
	 */
	if (dv->with_inv && !(inv = soft_mw_remote_inv_check(dest, dv->inv_rkey)))
		status = IBV_WC_REM_INV_REQ_ERR;
	if (dv->scatter && !status) {
		status = resp_scatter(dest, t, need, dst, &nd);
		if (!status) {
			if (dv->grh)
				src[ns++] = (struct mem_seg){ .ptr = (uint8_t *)dv->grh,
							  .len = SOFT_GRH_LEN };
			memcpy(&src[ns], dv->src, dv->ns * sizeof(*src));
			ns += dv->ns;
			if (soft_mem_copy(dst, nd, src, ns, need, &dst_failed) < 0) {
				if (dst_failed)
					status = IBV_WC_LOC_PROT_ERR;
				else
					*src_failed = true;
			}
		}
	}
	if (*src_failed)
		return IBV_WC_SUCCESS;	/* nothing was delivered; the sender errs */
	resp_consume(dest, t);
	if (inv && status == IBV_WC_SUCCESS)
		soft_mw_unbind(inv);
	resp_complete(dest, t, dv, status, inv != NULL);
	if (status != IBV_WC_SUCCESS)
		soft_qp_to_error(dest, 0, false, 0);
	return status;
}

/* ------------------------------------------------------------ claims */

/*
 * A SEND too large for one engine turn lands in parts, and the receive
 * WQE it lands in is taken out of its queue at the first part, as a NIC
 * takes it at a message's first packet: a later message (or another QP
 * of the SRQ) gets the next one.  The claim is the responder's, with a
 * link each way, so that whichever side goes first (ERR, RESET, destroy,
 * a client killed, an XRC SRQ destroyed) ends it exactly once.
 */
static void claim_release(struct soft_qp *dest)
{
	if (dest->claim_by)
		dest->claim_by->xfer_dest = NULL;
	dest->claim_by = NULL;
	LIST_REMOVE(dest, claim_link);
	free(dest->claim);
	dest->claim = NULL;
}

int soft_resp_claim(struct soft_qp *dest, struct soft_recv_take *t,
		    const struct soft_delivery *dv, struct soft_qp *by)
{
	struct mem_seg dst[RB_MAX_SGE];
	uint32_t nd;

	if (dest->claim || by->xfer_dest ||
	    (dv->with_inv && !soft_mw_remote_inv_check(dest, dv->inv_rkey)) ||
	    resp_scatter(dest, t, dv->len, dst, &nd))
		return 1;
	dest->claim = malloc(sizeof(*dest->claim));
	if (!dest->claim)
		return 1;
	memcpy(dest->claim, t, sizeof(*t));
	resp_consume(dest, t);
	dest->claim_by = by;
	by->xfer_dest = dest;
	LIST_INSERT_HEAD(&soft_dev_of(dest)->claims, dest, claim_link);
	return 0;
}

uint32_t soft_resp_claim_segs(struct soft_qp *dest, uint64_t len, struct mem_seg *dst,
			      uint32_t *nd)
{
	/* Looked up again at each part: the client may have deregistered
	 * the buffers meanwhile, and nothing it gave up is touched. */
	return resp_scatter(dest, dest->claim, len, dst, nd);
}

uint32_t soft_resp_claim_end(struct soft_qp *dest, const struct soft_delivery *dv,
			     uint32_t status)
{
	struct soft_mw *inv = NULL;

	/* The window may have been unbound since the first part. */
	if (!status && dv->with_inv && !(inv = soft_mw_remote_inv_check(dest, dv->inv_rkey)))
		status = IBV_WC_REM_INV_REQ_ERR;
	if (inv)
		soft_mw_unbind(inv);
	resp_complete(dest, dest->claim, dv, status, inv != NULL);
	claim_release(dest);
	if (status != IBV_WC_SUCCESS)
		soft_qp_to_error(dest, 0, false, 0);
	return status;
}

void soft_resp_claim_drop(struct soft_qp *dest, bool flush)
{
	if (!dest->claim)
		return;
	if (flush) {
		struct rb_cqe e = {
			.wr_id = dest->claim->w.hdr.wr_id, .status = IBV_WC_WR_FLUSH_ERR,
			.opcode = IBV_WC_RECV, .qp_num = dest->qp.qp_num,
		};

		soft_comp_push(dest->claim->cq, &e, false);
	}
	claim_release(dest);
}

void soft_resp_srq_gone(struct soft_dev *sd, const struct rb_srq *srq)
{
	struct soft_qp *qp, *next;

	for (qp = LIST_FIRST(&sd->claims); qp; qp = next) {
		next = LIST_NEXT(qp, claim_link);
		if (qp->claim->srq == srq)
			soft_resp_claim_drop(qp, false);
	}
}
