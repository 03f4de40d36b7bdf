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
 * that cannot post; ENOMEM for a full queue; EIO once the daemon is gone
 * (rbc_dead).  The engine checks it all again: the rings are shared
 * memory and it trusts none of it.
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

/*
 * The consumer index of a ring we produce into, read now and remembered
 * in *seen.  A post reads it only when the ring looks full by what it
 * remembers: the engine stores cons after every WR it takes, and a load
 * of it on every post pulled that line across cores and back once per
 * message (docs/performance.md, "Cache lines and instructions per
 * message").  What is remembered is never ahead of the engine, so it can
 * only make the ring look fuller than it is; a reset (the engine moves
 * cons up to prod, dropping what was posted) only moves cons further
 * ahead of it, and a ring that looks full is read again.
 * Acquire: the engine is done with the slots before we overwrite them.
 */
static uint32_t ring_cons(const struct rb_ring *r, uint32_t *seen)
{
	*seen = __atomic_load_n(&r->cons, __ATOMIC_ACQUIRE);
	return *seen;
}

/* The ring's SGE layout from the verbs' (the same fields, fixed widths). */
static void sge_copy(struct rb_sge *dst, const struct ibv_sge *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dst[i].addr = src[i].addr;
		dst[i].length = src[i].length;
		dst[i].lkey = src[i].lkey;
	}
}

/*
 * A bind of mw (proto/shm.h: the window by handle, the MR by lkey): 0 or
 * EINVAL.  Type 1 only from ibv_bind_mw (type1_ok), as providers post
 * IBV_WR_BIND_MW for type 2 windows alone.
 */
static int bind_wqe_fill(struct rbc_qp *qp, struct rb_send_wqe *w,
			 const struct ibv_mw *mw, uint32_t rkey,
			 const struct ibv_mw_bind_info *bi, bool type1_ok)
{
	if (!mw || mw->context != qp->qp.context ||
	    (mw->type != IBV_MW_TYPE_2 && !type1_ok) ||
	    (!bi->mr && (bi->addr || bi->length)) ||
	    (bi->mr && bi->mr->context != qp->qp.context))
		return EINVAL;
	w->mw_handle = mw->handle;
	w->rkey = rkey;
	w->remote_addr = bi->addr;
	w->compare_add = bi->length;
	w->swap = bi->mr ? bi->mr->lkey : 0;
	w->mw_access = bi->mw_access_flags;
	w->send_flags &= ~(uint32_t)IBV_SEND_INLINE;
	return 0;
}

/* Fill the slot for wr; 0 or EINVAL. */
static int send_wqe_fill(struct rbc_qp *qp, struct rb_send_wqe *w,
			 const struct ibv_send_wr *wr, bool type1_ok)
{
	struct rb_sge *sge = (struct rb_sge *)(w + 1);

	/* ibv_send_wr has no place for a FLUSH's type and level: only
	 * ibv_wr_flush() posts one, as in libibverbs. */
	if (!rb_send_opcode_ok(qp->qp.qp_type, wr->opcode) || wr->num_sge < 0 ||
	    (uint32_t)wr->opcode == RB_WR_FLUSH)
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
	case IBV_WR_ATOMIC_WRITE:
		/*
		 * As rxe: the 8 bytes are those at sg_list[0], one SGE of
		 * exactly 8 bytes, taken now (as inline data is), so the
		 * buffer is the caller's again when this returns.
		 */
		if (wr->num_sge != 1 || wr->sg_list[0].length != 8)
			return EINVAL;
		w->remote_addr = wr->wr.rdma.remote_addr;
		w->rkey = wr->wr.rdma.rkey;
		memcpy(&w->compare_add, (const void *)(uintptr_t)wr->sg_list[0].addr, 8);
		w->send_flags &= ~(uint32_t)IBV_SEND_INLINE;
		return 0;
	case IBV_WR_BIND_MW:
		return bind_wqe_fill(qp, w, wr->bind_mw.mw, wr->bind_mw.rkey,
				     &wr->bind_mw.bind_info, type1_ok);
	case IBV_WR_LOCAL_INV:
		w->imm_data = wr->invalidate_rkey;
		w->send_flags &= ~(uint32_t)IBV_SEND_INLINE;
		return 0;
	case IBV_WR_SEND_WITH_INV:
		w->imm_data = wr->invalidate_rkey;
		break;
	default:
		break;
	}
	if (qp->qp.qp_type == IBV_QPT_XRC_SEND)
		w->remote_qpn = wr->qp_type.xrc.remote_srqn;
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
	     wr->opcode == IBV_WR_SEND_WITH_INV ||
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
	sge_copy(sge, wr->sg_list, (size_t)wr->num_sge);
	return 0;
}

static int post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		     struct ibv_send_wr **bad_wr, bool type1_ok)
{
	struct rbc_qp *qp = (struct rbc_qp *)ibqp;
	struct rb_ring *r = qp->sq;
	uint32_t prod, start, cons;
	int ret = 0;

	if (rbc_dead(to_rbc_context(ibqp->context))) {
		*bad_wr = wr;
		return EIO;	/* nothing is executed once the daemon is gone */
	}
	pthread_mutex_lock(&qp->sq_lock);
	/* The state as this process last set or saw it, as providers check;
	 * a QP with no send queue (an XRC_RECV QP, opened: no rings) sends
	 * nothing. */
	if (ibqp->state == IBV_QPS_RESET || ibqp->state == IBV_QPS_INIT ||
	    ibqp->state == IBV_QPS_RTR || !r) {
		*bad_wr = wr;
		pthread_mutex_unlock(&qp->sq_lock);
		return EINVAL;
	}
	start = prod = r->prod;		/* ours: only this process writes it */
	cons = qp->sq_cons_seen;
	for (; wr; wr = wr->next) {
		if (prod - cons >= r->entries) {
			cons = ring_cons(r, &qp->sq_cons_seen);
			if (prod - cons >= r->entries) {
				ret = ENOMEM;
				break;
			}
		}
		ret = send_wqe_fill(qp, rb_ring_slot(r, prod), wr, type1_ok);
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

int rbc_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		  struct ibv_send_wr **bad_wr)
{
	return post_send(ibqp, wr, bad_wr, false);
}

/*
 * ibv_bind_mw (type 1; libibverbs checked the type and the MR's PD): a
 * BIND_MW WQE with the window's next rkey (ibv_inc_rkey), which mw has
 * once it is posted, as providers do.  Its completion, if signaled, is
 * IBV_WC_BIND_MW on the send CQ; a refused bind IBV_WC_MW_BIND_ERR.
 */
int rbc_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw, struct ibv_mw_bind *mw_bind)
{
	struct ibv_send_wr wr = {
		.wr_id = mw_bind->wr_id, .opcode = IBV_WR_BIND_MW,
		.send_flags = mw_bind->send_flags,
	}, *bad;
	int ret;

	if (qp->context != mw->context)
		return EINVAL;
	wr.bind_mw.mw = mw;
	wr.bind_mw.rkey = ibv_inc_rkey(mw->rkey);
	wr.bind_mw.bind_info = mw_bind->bind_info;
	ret = post_send(qp, &wr, &bad, true);
	if (!ret)
		mw->rkey = wr.bind_mw.rkey;
	return ret;
}

/*
 * Post a list of receives to ring r (an RQ or SRQ); its lock is held.
 * *seen: the ring's cons as this process last read it (ring_cons), or
 * NULL to read it on every call (an SRQ: its resize moves the entries to
 * a new ring, where a cons remembered from the old one means nothing).
 */
static int post_recv_ring(struct rb_ring *r, uint32_t *seen, uint32_t max_sge, int doorbell,
			  struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
	uint32_t prod = r->prod, start = prod, none = 0;
	uint32_t cons;
	int ret = 0;

	if (!seen) {
		seen = &none;
		(void)ring_cons(r, seen);
	}
	cons = *seen;

	for (; wr; wr = wr->next) {
		struct rb_recv_wqe *w;
		struct rb_sge *sge;

		if (wr->num_sge < 0 || (uint32_t)wr->num_sge > max_sge) {
			ret = EINVAL;
			break;
		}
		if (prod - cons >= r->entries) {
			cons = ring_cons(r, seen);
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
		sge_copy(sge, wr->sg_list, (size_t)wr->num_sge);
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

	/* XRC QPs receive through XRC SRQs only. */
	if (ibqp->srq || ibqp->state == IBV_QPS_RESET || ibqp->qp_type == IBV_QPT_XRC_SEND ||
	    ibqp->qp_type == IBV_QPT_XRC_RECV) {
		*bad_wr = wr;
		return EINVAL;
	}
	if (rbc_dead(to_rbc_context(ibqp->context))) {
		*bad_wr = wr;
		return EIO;
	}
	pthread_mutex_lock(&qp->rq_lock);
	ret = post_recv_ring(qp->rq, &qp->rq_cons_seen, qp->cap.max_recv_sge, qp->doorbell, wr, bad_wr);
	pthread_mutex_unlock(&qp->rq_lock);
	return ret;
}

int rbc_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
		      struct ibv_recv_wr **bad_wr)
{
	struct rbc_srq *srq = (struct rbc_srq *)ibsrq;
	int ret;

	if (rbc_dead(to_rbc_context(ibsrq->context))) {
		*bad_wr = wr;
		return EIO;
	}
	/* The lock also keeps a resize (ibv_modify_srq) out. */
	pthread_mutex_lock(&srq->lock);
	ret = post_recv_ring(srq->ring, NULL, srq->max_sge, srq->doorbell, wr, bad_wr);
	pthread_mutex_unlock(&srq->lock);
	return ret;
}

/* ------------------------------------------------------------ ibv_wr_* */

/*
 * The ibv_wr_* API (ibv_wr_post(3)): ibv_wr_start takes the SQ lock, each
 * builder (ibv_wr_send, ...) takes the next slot and fills its header from
 * qpx->wr_id and wr_flags, the setters that follow fill its data, and
 * ibv_wr_complete publishes them all with one store of prod, or, after any
 * error, none of them (the error is returned).  ibv_wr_abort drops them.
 */
static struct rbc_qp *to_rbc_qpx(struct ibv_qp_ex *qpx)
{
	return (struct rbc_qp *)qpx;
}

/* Start the next WR of opcode op; NULL (the error kept) if it cannot be. */
static struct rb_send_wqe *wr_begin(struct ibv_qp_ex *qpx, enum ibv_wr_opcode op)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);
	struct rb_ring *r = qp->sq;
	struct rb_send_wqe *w;

	qp->wr_cur = NULL;
	if (qp->wr_err)
		return NULL;
	if (!rb_send_opcode_ok(qp->qp.qp_type, op)) {
		qp->wr_err = EINVAL;
		return NULL;
	}
	if (qp->wr_prod - qp->sq_cons_seen >= r->entries &&
	    qp->wr_prod - ring_cons(r, &qp->sq_cons_seen) >= r->entries) {
		qp->wr_err = ENOMEM;
		return NULL;
	}
	w = rb_ring_slot(r, qp->wr_prod++);
	memset(w, 0, sizeof(*w));
	w->wr_id = qpx->wr_id;
	w->opcode = op;
	/* Inline is said by the setter used, not by the flag. */
	w->send_flags = qpx->wr_flags & ~(uint32_t)IBV_SEND_INLINE;
	qp->wr_cur = w;
	return w;
}

static void wr_send(struct ibv_qp_ex *qpx)
{
	wr_begin(qpx, IBV_WR_SEND);
}

static void wr_send_imm(struct ibv_qp_ex *qpx, __be32 imm)
{
	struct rb_send_wqe *w = wr_begin(qpx, IBV_WR_SEND_WITH_IMM);

	if (w)
		w->imm_data = imm;
}

static void wr_rdma(struct ibv_qp_ex *qpx, enum ibv_wr_opcode op, uint32_t rkey,
		    uint64_t remote_addr, __be32 imm)
{
	struct rb_send_wqe *w = wr_begin(qpx, op);

	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = remote_addr;
	w->imm_data = imm;
}

static void wr_rdma_write(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t addr)
{
	wr_rdma(qpx, IBV_WR_RDMA_WRITE, rkey, addr, 0);
}

static void wr_rdma_write_imm(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t addr,
			      __be32 imm)
{
	wr_rdma(qpx, IBV_WR_RDMA_WRITE_WITH_IMM, rkey, addr, imm);
}

static void wr_rdma_read(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t addr)
{
	wr_rdma(qpx, IBV_WR_RDMA_READ, rkey, addr, 0);
}

static void wr_atomic(struct ibv_qp_ex *qpx, enum ibv_wr_opcode op, uint32_t rkey,
		      uint64_t addr, uint64_t compare_add, uint64_t swap)
{
	struct rb_send_wqe *w = wr_begin(qpx, op);

	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = addr;
	w->compare_add = compare_add;
	w->swap = swap;
}

static void wr_atomic_cmp_swp(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t addr,
			      uint64_t compare, uint64_t swap)
{
	wr_atomic(qpx, IBV_WR_ATOMIC_CMP_AND_SWP, rkey, addr, compare, swap);
}

static void wr_atomic_fetch_add(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t addr,
				uint64_t add)
{
	wr_atomic(qpx, IBV_WR_ATOMIC_FETCH_AND_ADD, rkey, addr, add, 0);
}

static void wr_set_ud_addr(struct ibv_qp_ex *qpx, struct ibv_ah *ah,
			   uint32_t remote_qpn, uint32_t remote_qkey)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);
	struct rb_send_wqe *w = qp->wr_cur;

	if (!w)
		return;
	if (qp->qp.qp_type != IBV_QPT_UD || !ah) {
		qp->wr_err = EINVAL;
		return;
	}
	w->ah_handle = ah->handle;
	w->remote_qpn = remote_qpn;
	w->remote_qkey = remote_qkey;
}

static void wr_set_sge_list(struct ibv_qp_ex *qpx, size_t n,
			    const struct ibv_sge *list)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);
	struct rb_send_wqe *w = qp->wr_cur;
	struct rb_sge *sge;

	if (!w)
		return;
	if (n > qp->cap.max_send_sge) {
		qp->wr_err = EINVAL;
		return;
	}
	sge = (struct rb_sge *)(w + 1);
	w->num_sge = (uint32_t)n;
	sge_copy(sge, list, n);
}

static void wr_set_sge(struct ibv_qp_ex *qpx, uint32_t lkey, uint64_t addr,
		       uint32_t length)
{
	struct ibv_sge sge = { .addr = addr, .length = length, .lkey = lkey };

	wr_set_sge_list(qpx, 1, &sge);
}

static void wr_set_inline_data_list(struct ibv_qp_ex *qpx, size_t n,
				    const struct ibv_data_buf *bufs)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);
	struct rb_send_wqe *w = qp->wr_cur;
	uint8_t *p;
	size_t total = 0;

	if (!w)
		return;
	for (size_t i = 0; i < n; i++)
		total += bufs[i].length;
	/* The BNXT_RE lesson here too: max_inline_data and not one byte more. */
	if (total > qp->cap.max_inline_data) {
		qp->wr_err = EINVAL;
		return;
	}
	p = (uint8_t *)(w + 1);
	for (size_t i = 0; i < n; i++) {
		memcpy(p, bufs[i].addr, bufs[i].length);
		p += bufs[i].length;
	}
	w->send_flags |= IBV_SEND_INLINE;
	w->inline_len = (uint32_t)total;
	w->num_sge = 0;
}

static void wr_set_inline_data(struct ibv_qp_ex *qpx, void *addr, size_t length)
{
	struct ibv_data_buf buf = { .addr = addr, .length = length };

	wr_set_inline_data_list(qpx, 1, &buf);
}

static void wr_start(struct ibv_qp_ex *qpx)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);

	pthread_mutex_lock(&qp->sq_lock);
	qp->wr_prod = qp->sq->prod;
	qp->wr_cur = NULL;
	/* As ibv_post_send: a QP that cannot send fails the batch. */
	qp->wr_err = qp->qp.state == IBV_QPS_RESET || qp->qp.state == IBV_QPS_INIT ||
		     qp->qp.state == IBV_QPS_RTR ? EINVAL : 0;
}

static int wr_complete(struct ibv_qp_ex *qpx)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);
	struct rb_ring *r = qp->sq;
	int ret = qp->wr_err;

	if (!ret && rbc_dead(to_rbc_context(qp->qp.context)))
		ret = EIO;	/* nothing is executed once the daemon is gone */
	if (!ret && qp->wr_prod != r->prod) {
		__atomic_store_n(&r->prod, qp->wr_prod, __ATOMIC_RELEASE);
		ring_doorbell(r, qp->doorbell);
	}
	qp->wr_cur = NULL;
	pthread_mutex_unlock(&qp->sq_lock);
	return ret;
}

static void wr_abort(struct ibv_qp_ex *qpx)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);

	qp->wr_cur = NULL;
	pthread_mutex_unlock(&qp->sq_lock);
}

/* Builders the soft device lacks: the batch fails with EOPNOTSUPP. */
static void wr_unsupported(struct ibv_qp_ex *qpx)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);

	qp->wr_cur = NULL;
	if (!qp->wr_err)
		qp->wr_err = EOPNOTSUPP;
}

/* Type 2 windows, as IBV_WR_BIND_MW (no setter follows). */
static void wr_bind_mw(struct ibv_qp_ex *qpx, struct ibv_mw *mw, uint32_t rkey,
		       const struct ibv_mw_bind_info *info)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);
	struct rb_send_wqe *w = wr_begin(qpx, IBV_WR_BIND_MW);

	if (!w)
		return;
	qp->wr_cur = NULL;
	if (bind_wqe_fill(qp, w, mw, rkey, info, false))
		qp->wr_err = EINVAL;
}

static void wr_local_inv(struct ibv_qp_ex *qpx, uint32_t rkey)
{
	struct rb_send_wqe *w = wr_begin(qpx, IBV_WR_LOCAL_INV);

	if (!w)
		return;
	w->imm_data = rkey;
	to_rbc_qpx(qpx)->wr_cur = NULL;	/* no SGE or inline setter applies */
}

/* IBV_WR_FLUSH of [addr, addr + len) (or the whole MR, IBV_FLUSH_MR). */
static void wr_flush(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t addr,
		     size_t len, uint8_t type, uint8_t level)
{
	struct rb_send_wqe *w = wr_begin(qpx, (enum ibv_wr_opcode)RB_WR_FLUSH);

	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = addr;
	w->compare_add = len;
	w->imm_data = (uint32_t)type | (uint32_t)level << 8;
	to_rbc_qpx(qpx)->wr_cur = NULL;	/* no SGE or inline setter applies */
}

/* A SEND whose data the setters that follow give. */
static void wr_send_inv(struct ibv_qp_ex *qpx, uint32_t rkey)
{
	struct rb_send_wqe *w = wr_begin(qpx, IBV_WR_SEND_WITH_INV);

	if (w)
		w->imm_data = rkey;
}

static void wr_send_tso(struct ibv_qp_ex *qpx, void *hdr, uint16_t hdr_sz,
			uint16_t mss)
{
	(void)hdr; (void)hdr_sz; (void)mss;
	wr_unsupported(qpx);
}

static void wr_set_xrc_srqn(struct ibv_qp_ex *qpx, uint32_t srqn)
{
	struct rbc_qp *qp = to_rbc_qpx(qpx);
	struct rb_send_wqe *w = qp->wr_cur;

	if (!w)
		return;
	if (qp->qp.qp_type != IBV_QPT_XRC_SEND) {
		qp->wr_err = EINVAL;
		return;
	}
	w->remote_qpn = srqn;
}

/* The 8 bytes at data, taken now; no SGE follows (as rxe). */
static void wr_atomic_write(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t addr,
			    const void *data)
{
	struct rb_send_wqe *w = wr_begin(qpx, IBV_WR_ATOMIC_WRITE);

	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = addr;
	memcpy(&w->compare_add, data, 8);
	to_rbc_qpx(qpx)->wr_cur = NULL;	/* no SGE or inline setter applies */
}

#define RBC_QP_EX_SUPPORTED \
	(IBV_QP_EX_WITH_RDMA_WRITE | IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM | \
	 IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_SEND_WITH_IMM | \
	 IBV_QP_EX_WITH_RDMA_READ | IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP | \
	 IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD | IBV_QP_EX_WITH_ATOMIC_WRITE | \
	 IBV_QP_EX_WITH_BIND_MW | IBV_QP_EX_WITH_LOCAL_INV | \
	 IBV_QP_EX_WITH_SEND_WITH_INV | RB_QP_EX_WITH_FLUSH)

int rbc_qp_ex_init(struct rbc_qp *qp, uint64_t send_ops_flags)
{
	struct ibv_qp_ex *x;

	if (send_ops_flags & ~(uint64_t)RBC_QP_EX_SUPPORTED)
		return EOPNOTSUPP;
	if (!qp)
		return 0;	/* only asked whether the flags would do */
	x = &qp->qpx;
	x->comp_mask = 0;
	x->wr_atomic_cmp_swp = wr_atomic_cmp_swp;
	x->wr_atomic_fetch_add = wr_atomic_fetch_add;
	x->wr_bind_mw = wr_bind_mw;
	x->wr_local_inv = wr_local_inv;
	x->wr_rdma_read = wr_rdma_read;
	x->wr_rdma_write = wr_rdma_write;
	x->wr_rdma_write_imm = wr_rdma_write_imm;
	x->wr_send = wr_send;
	x->wr_send_imm = wr_send_imm;
	x->wr_send_inv = wr_send_inv;
	x->wr_send_tso = wr_send_tso;
	x->wr_set_ud_addr = wr_set_ud_addr;
	x->wr_set_xrc_srqn = wr_set_xrc_srqn;
	x->wr_set_inline_data = wr_set_inline_data;
	x->wr_set_inline_data_list = wr_set_inline_data_list;
	x->wr_set_sge = wr_set_sge;
	x->wr_set_sge_list = wr_set_sge_list;
	x->wr_start = wr_start;
	x->wr_complete = wr_complete;
	x->wr_abort = wr_abort;
	x->wr_atomic_write = wr_atomic_write;
#ifdef HAVE_STRUCT_IBV_QP_EX_WR_FLUSH
	x->wr_flush = wr_flush;
#else
	qp->wr_flush = wr_flush;
#endif
	qp->is_ex = true;
	return 0;
}

RB_EXPORT struct ibv_qp_ex *ibv_qp_to_qp_ex(struct ibv_qp *ibqp)
{
	struct rbc_qp *qp = (struct rbc_qp *)ibqp;

	if (!qp || !qp->is_ex) {
		errno = EOPNOTSUPP;	/* not created with send_ops_flags */
		return NULL;
	}
	return &qp->qpx;
}
