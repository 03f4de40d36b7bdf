/* SPDX-License-Identifier: MIT */
/*
 * Posting work: ibv_post_send, ibv_post_recv and ibv_post_srq_recv write
 * WQEs into the shared rings (proto/shm.h) and publish them with one
 * release store of the producer index per call.  No system call is made
 * unless the engine has gone to sleep on that ring (RB_RING_NEED_WAKEUP),
 * in which case one 8-byte write to the queue's eventfd wakes it.
 *
 * What the library can check without the daemon it checks here, with the
 * errno a provider returns and *bad_wr at the failing WR: EINVAL for an
 * opcode the QP type does not have, too many SGEs, inline data past
 * max_inline_data (exactly max_inline_data passes), or a QP in a state
 * that cannot post; ENOMEM for a full queue.  The engine checks it all
 * again: the rings are shared memory and it trusts none of it.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "libclient/client.h"

/*
 * After publishing prod: wake the engine if it sleeps on this ring.  The
 * fence orders our store of prod before our load of flags; the engine
 * sets the flag and then reads prod, so one of us sees the other.
 */
static void ring_doorbell(struct rb_ring *r, int doorbell)
{
	uint64_t one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->flags, __ATOMIC_RELAXED) & RB_RING_NEED_WAKEUP) {
		/* A full counter (2^64 - 2 rings) is still a ring: EAGAIN is fine. */
		if (write(doorbell, &one, sizeof(one)) < 0 && errno != EAGAIN)
			return;
	}
}

/* Fill the slot for wr; 0 or EINVAL. */
static int send_wqe_fill(struct rbc_qp *qp, struct rb_send_wqe *w,
			 const struct ibv_send_wr *wr)
{
	struct rb_sge *sge = (struct rb_sge *)(w + 1);

	if (!rb_send_opcode_ok(qp->qp.qp_type, wr->opcode) || wr->num_sge < 0)
		return EINVAL;
	memset(w, 0, sizeof(*w));
	w->wr_id = wr->wr_id;
	w->opcode = wr->opcode;
	w->send_flags = wr->send_flags;
	if (wr->opcode == IBV_WR_SEND_WITH_IMM ||
	    wr->opcode == IBV_WR_RDMA_WRITE_WITH_IMM)
		w->imm_data = wr->imm_data;
	switch (wr->opcode) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
	case IBV_WR_RDMA_READ:
		w->remote_addr = wr->wr.rdma.remote_addr;
		w->rkey = wr->wr.rdma.rkey;
		break;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		w->remote_addr = wr->wr.atomic.remote_addr;
		w->rkey = wr->wr.atomic.rkey;
		w->compare_add = wr->wr.atomic.compare_add;
		w->swap = wr->wr.atomic.swap;
		break;
	default:
		break;
	}
	if (qp->qp.qp_type == IBV_QPT_UD) {
		if (!wr->wr.ud.ah)
			return EINVAL;
		w->ah_handle = wr->wr.ud.ah->handle;
		w->remote_qpn = wr->wr.ud.remote_qpn;
		w->remote_qkey = wr->wr.ud.remote_qkey;
	}
	/* Inline only means something for data we send. */
	if ((wr->send_flags & IBV_SEND_INLINE) &&
	    (wr->opcode == IBV_WR_SEND || wr->opcode == IBV_WR_SEND_WITH_IMM ||
	     wr->opcode == IBV_WR_RDMA_WRITE || wr->opcode == IBV_WR_RDMA_WRITE_WITH_IMM)) {
		uint8_t *p = (uint8_t *)sge;
		uint64_t total = 0;

		for (int i = 0; i < wr->num_sge; i++)
			total += wr->sg_list[i].length;
		/* The BNXT_RE lesson: the real limit, not one byte more. */
		if (total > qp->cap.max_inline_data)
			return EINVAL;
		for (int i = 0; i < wr->num_sge; i++) {
			memcpy(p, (const void *)(uintptr_t)wr->sg_list[i].addr,
			       wr->sg_list[i].length);
			p += wr->sg_list[i].length;
		}
		w->inline_len = (uint32_t)total;
		return 0;
	}
	w->send_flags &= ~(uint32_t)IBV_SEND_INLINE;
	if ((uint32_t)wr->num_sge > qp->cap.max_send_sge)
		return EINVAL;
	w->num_sge = (uint32_t)wr->num_sge;
	for (int i = 0; i < wr->num_sge; i++) {
		sge[i].addr = wr->sg_list[i].addr;
		sge[i].length = wr->sg_list[i].length;
		sge[i].lkey = wr->sg_list[i].lkey;
	}
	return 0;
}

int rbc_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		  struct ibv_send_wr **bad_wr)
{
	struct rbc_qp *qp = (struct rbc_qp *)ibqp;
	struct rb_ring *r = qp->sq;
	uint32_t prod, start, cons;
	int ret = 0;

	pthread_mutex_lock(&qp->sq_lock);
	/* The state as this process last set or saw it, as providers check. */
	if (ibqp->state == IBV_QPS_RESET || ibqp->state == IBV_QPS_INIT ||
	    ibqp->state == IBV_QPS_RTR) {
		*bad_wr = wr;
		pthread_mutex_unlock(&qp->sq_lock);
		return EINVAL;
	}
	start = prod = r->prod;		/* ours: only this process writes it */
	cons = __atomic_load_n(&r->cons, __ATOMIC_ACQUIRE);
	for (; wr; wr = wr->next) {
		if (prod - cons >= r->entries) {
			cons = __atomic_load_n(&r->cons, __ATOMIC_ACQUIRE);
			if (prod - cons >= r->entries) {
				ret = ENOMEM;
				break;
			}
		}
		ret = send_wqe_fill(qp, rb_ring_slot(r, prod), wr);
		if (ret)
			break;
		prod++;
	}
	if (ret)
		*bad_wr = wr;
	if (prod != start) {
		/* Release: the WQEs are complete before the engine sees prod. */
		__atomic_store_n(&r->prod, prod, __ATOMIC_RELEASE);
		ring_doorbell(r, qp->doorbell);
	}
	pthread_mutex_unlock(&qp->sq_lock);
	return ret;
}

/* Post a list of receives to ring r (an RQ or SRQ); its lock is held. */
static int post_recv_ring(struct rb_ring *r, uint32_t max_sge, int doorbell,
			  struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
	uint32_t prod = r->prod, start = prod;
	uint32_t cons = __atomic_load_n(&r->cons, __ATOMIC_ACQUIRE);
	int ret = 0;

	for (; wr; wr = wr->next) {
		struct rb_recv_wqe *w;
		struct rb_sge *sge;

		if (wr->num_sge < 0 || (uint32_t)wr->num_sge > max_sge) {
			ret = EINVAL;
			break;
		}
		if (prod - cons >= r->entries) {
			cons = __atomic_load_n(&r->cons, __ATOMIC_ACQUIRE);
			if (prod - cons >= r->entries) {
				ret = ENOMEM;
				break;
			}
		}
		w = rb_ring_slot(r, prod);
		sge = (struct rb_sge *)(w + 1);
		w->wr_id = wr->wr_id;
		w->num_sge = (uint32_t)wr->num_sge;
		w->reserved = 0;
		for (int i = 0; i < wr->num_sge; i++) {
			sge[i].addr = wr->sg_list[i].addr;
			sge[i].length = wr->sg_list[i].length;
			sge[i].lkey = wr->sg_list[i].lkey;
		}
		prod++;
	}
	if (ret)
		*bad_wr = wr;
	if (prod != start) {
		__atomic_store_n(&r->prod, prod, __ATOMIC_RELEASE);
		ring_doorbell(r, doorbell);
	}
	return ret;
}

int rbc_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		  struct ibv_recv_wr **bad_wr)
{
	struct rbc_qp *qp = (struct rbc_qp *)ibqp;
	int ret;

	if (ibqp->srq || ibqp->state == IBV_QPS_RESET) {
		*bad_wr = wr;
		return EINVAL;
	}
	pthread_mutex_lock(&qp->rq_lock);
	ret = post_recv_ring(qp->rq, qp->cap.max_recv_sge, qp->doorbell, wr, bad_wr);
	pthread_mutex_unlock(&qp->rq_lock);
	return ret;
}

int rbc_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
		      struct ibv_recv_wr **bad_wr)
{
	struct rbc_srq *srq = (struct rbc_srq *)ibsrq;
	int ret;

	/* The lock also keeps a resize (ibv_modify_srq) out. */
	pthread_mutex_lock(&srq->lock);
	ret = post_recv_ring(srq->ring, srq->max_sge, srq->doorbell, wr, bad_wr);
	pthread_mutex_unlock(&srq->lock);
	return ret;
}
