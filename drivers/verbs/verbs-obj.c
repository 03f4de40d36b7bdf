/* SPDX-License-Identifier: MIT */
/*
 * The verbs driver's control verbs: each client object has its real twin,
 * created through the daemon's own context on the client's behalf
 * (drivers/verbs/verbs.h).  The daemon has validated every request; what
 * the device still refuses comes back as its errno.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "drivers/verbs/verbs.h"

/* libibverbs returns errno values (positive) or sets errno: -errno here. */
static int neg(int ret)
{
	if (ret > 0)
		return -ret;
	return ret < 0 ? (errno ? -errno : -EIO) : 0;
}

static int null_errno(void)
{
	return errno ? -errno : -ENOMEM;
}

struct verbs_qp *verbs_qp_find(struct verbs_dev *vd, uint32_t qp_num)
{
	struct rb_hnode *n = hash_first(&vd->qps, qp_num);

	return n ? container_of(n, struct verbs_qp, node) : NULL;
}

struct verbs_mr *verbs_mr_find(struct verbs_dev *vd, uint32_t lkey)
{
	struct rb_hnode *n = hash_first(&vd->mrs, lkey);

	return n ? container_of(n, struct verbs_mr, node) : NULL;
}

static struct verbs_mr *mr_by_rkey(struct verbs_dev *vd, uint32_t rkey)
{
	for (struct rb_hnode *n = hash_first(&vd->rkeys, rkey); n; n = hash_next(n)) {
		struct verbs_mr *vm = container_of(n, struct verbs_mr, rnode);

		if (vm->real && vm->real->rkey == rkey)
			return vm;
	}
	return NULL;
}

void verbs_qp_peer(struct verbs_qp *vq, const struct ibv_ah_attr *ah)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);
	struct ibv_port_attr pa;

	vq->peer_local = false;
	if ((vq->qp.type != IBV_QPT_RC && vq->qp.type != IBV_QPT_UC) ||
	    ibv_query_port(vd->ctx, ah->port_num, &pa))
		return;
	if (!ah->is_global) {
		vq->peer_local = pa.lid && ah->dlid == pa.lid;
		return;
	}
	/* A GID of the port: the peer is this device (on a NIC, this host).
	 * Its own source GID first: a peer on this device mostly uses it. */
	for (int i = -1; i < pa.gid_tbl_len; i++) {
		int idx = i < 0 ? ah->grh.sgid_index : i;
		union ibv_gid g;

		if ((i < 0 || i != ah->grh.sgid_index) &&
		    !ibv_query_gid(vd->ctx, ah->port_num, idx, &g) &&
		    !memcmp(&g, &ah->grh.dgid, sizeof(g))) {
			vq->peer_local = true;
			return;
		}
	}
}

/*
 * The responder's checks (as the soft device's, and rxe's): what a NIC
 * answers with a NAK, which moves the responder to ERR.  Memory windows
 * are not brokered here: an rkey is an MR's or nothing.
 */
uint32_t verbs_rkey_check(struct verbs_qp *vq, uint32_t op, uint32_t rkey,
			  uint64_t addr, uint64_t len, bool *drop)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);
	struct verbs_qp *dest = verbs_qp_find(vd, vq->qp.attr.dest_qp_num);
	bool atomic = op == IBV_WR_ATOMIC_CMP_AND_SWP || op == IBV_WR_ATOMIC_FETCH_AND_ADD;
	uint32_t access = op == IBV_WR_RDMA_READ ? IBV_ACCESS_REMOTE_READ :
			  atomic ? IBV_ACCESS_REMOTE_ATOMIC : IBV_ACCESS_REMOTE_WRITE;
	enum ibv_qp_state st;
	struct verbs_mr *vm;
	const struct rb_mr *mr;
	uint32_t status = IBV_WC_REM_ACCESS_ERR;
	enum ibv_event_type ev = IBV_EVENT_QP_ACCESS_ERR;

	*drop = false;
	/* No responder here that takes requests: the device answers (or
	 * times out) as it would. */
	if (!dest || dest->qp.type != vq->qp.type || res_owner_killed(&dest->qp.res))
		return IBV_WC_SUCCESS;
	st = dest->qp.attr.qp_state;
	if (st != IBV_QPS_RTR && st != IBV_QPS_RTS && st != IBV_QPS_SQD)
		return IBV_WC_SUCCESS;
	if (atomic && (addr & 7)) {
		status = IBV_WC_REM_INV_REQ_ERR;
		ev = IBV_EVENT_QP_REQ_ERR;
		goto refuse;
	}
	if (!len && !atomic)
		return IBV_WC_SUCCESS;		/* nothing touched, no key looked at */
	/* Longer than a message may be (2^31, IB): the device's local error. */
	if (len > (1ull << 31))
		return IBV_WC_SUCCESS;
	if (atomic)
		len = 8;
	vm = mr_by_rkey(vd, rkey);
	if (!vm)
		goto refuse;
	mr = &vm->mr;
	if (mr->res.deps[0] != dest->qp.res.deps[0] || !(mr->access & access) ||
	    !(dest->qp.attr.qp_access_flags & access) || addr < mr->iova ||
	    len > mr->length || addr - mr->iova > mr->length - len)
		goto refuse;
	return IBV_WC_SUCCESS;
refuse:
	if (vq->qp.type == IBV_QPT_UC) {
		/* No NAK on UC: the responder drops the message, the
		 * requester's WR completes well. */
		*drop = true;
		return IBV_WC_SUCCESS;
	}
	{
		struct ibv_qp_attr a = { .qp_state = IBV_QPS_ERR };

		if (ibv_modify_qp(dest->real, &a, IBV_QP_STATE))
			log_warn("verbs: QP %#x: could not move the real QP to ERR",
				 dest->qp.qp_num);
		dest->qp.attr.qp_state = dest->qp.attr.cur_qp_state = IBV_QPS_ERR;
		verbs_qp_state(dest, st);
		qp_async_event(&dest->qp, ev);
	}
	return status;
}

static struct ibv_pd *real_pd(struct rb_res *pd)
{
	return ((struct verbs_pd *)pd)->real;
}

static struct ibv_cq *real_cq(struct rb_res *cq)
{
	return ((struct verbs_cq *)cq)->real;
}

/* ------------------------------------------------------------ PD */

static int verbs_alloc_pd(struct rb_device *dev, struct rb_pd *pd)
{
	struct verbs_pd *vp = (struct verbs_pd *)pd;

	if (verbs_dev(dev)->fatal)
		return -EIO;
	vp->real = ibv_alloc_pd(verbs_dev(dev)->ctx);
	return vp->real ? 0 : null_errno();
}

static void verbs_dealloc_pd(struct rb_pd *pd)
{
	struct verbs_pd *vp = (struct verbs_pd *)pd;

	if (vp->real && ibv_dealloc_pd(vp->real))
		log_warn("verbs: %s: ibv_dealloc_pd failed", pd->dev->name);
}

/* ------------------------------------------------------------ MR */

static int verbs_mr_real(struct verbs_dev *vd, struct verbs_mr *vm)
{
	struct rb_mr *mr = &vm->mr;

	/*
	 * A NIC reaches memory by DMA to pinned pages: the pages are the
	 * client's memfd, mapped here; the client's address stays the IOVA,
	 * so an rkey and address it hands to a peer work as with a native
	 * provider.  Memory the library could not re-back is only reachable
	 * through the client's /proc/PID/mem, which no NIC can use.
	 */
	if (mr->mode != RDMABROKER__MR_MODE__MR_MEMFD || !mr->map) {
		rb_device_error(&vd->dev, "%s cannot register memory the library could not "
				"re-back (file, shared or stack memory): a NIC cannot reach it "
				"through /proc/PID/mem", vd->dev.name);
		return -EOPNOTSUPP;
	}
	/*
	 * By fd first: a device that takes a memfd as a dma-buf (another
	 * broker, when this daemon is nested on one) shares the pages
	 * themselves.  A NIC refuses a memfd there; then the pages of our
	 * mapping are pinned as any process memory.
	 */
	vm->real = NULL;
	if (mr->memfd >= 0)
		vm->real = ibv_reg_dmabuf_mr(real_pd(mr->res.deps[0]), mr->memfd_offset,
					     mr->length, mr->iova, mr->memfd, (int)mr->access);
	if (vm->real)
		log_debug("verbs: %s: MR of %" PRIu64 " bytes registered by its memfd",
			  vd->dev.name, mr->length);
	else
		vm->real = ibv_reg_mr_iova(real_pd(mr->res.deps[0]),
					   (char *)mr->map + mr->map_skew, mr->length,
					   mr->iova, (int)mr->access);
	if (!vm->real)
		return null_errno();
	mr->lkey = vm->real->lkey;
	mr->rkey = vm->real->rkey;
	if (hash_insert(&vd->mrs, &vm->node, mr->lkey) < 0) {
		ibv_dereg_mr(vm->real);
		vm->real = NULL;
		return -ENOMEM;
	}
	if (hash_insert(&vd->rkeys, &vm->rnode, mr->rkey) < 0) {
		hash_remove(&vd->mrs, &vm->node);
		ibv_dereg_mr(vm->real);
		vm->real = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int verbs_reg_mr(struct rb_device *dev, struct rb_mr *mr)
{
	if (verbs_dev(dev)->fatal)
		return -EIO;
	return verbs_mr_real(verbs_dev(dev), (struct verbs_mr *)mr);
}

static void verbs_mr_drop(struct verbs_dev *vd, struct verbs_mr *vm)
{
	if (!vm->real)
		return;
	hash_remove(&vd->mrs, &vm->node);
	hash_remove(&vd->rkeys, &vm->rnode);
	if (ibv_dereg_mr(vm->real))
		log_warn("verbs: %s: ibv_dereg_mr failed", vd->dev.name);
	vm->real = NULL;
}

/*
 * ibv_rereg_mr: the real MR is registered anew over the new translation,
 * PD or access, then the old one goes; its keys change, as a NIC may
 * change them (the client reads them from the reply).
 */
static int verbs_rereg_mr(struct rb_mr *mr, int flags, const struct rb_mr *old)
{
	struct verbs_dev *vd = verbs_dev(mr->dev);
	struct verbs_mr *vm = (struct verbs_mr *)mr;
	struct ibv_mr *prev = vm->real;
	int ret;

	(void)flags;
	(void)old;
	if (vd->fatal)
		return -EIO;
	hash_remove(&vd->mrs, &vm->node);
	hash_remove(&vd->rkeys, &vm->rnode);
	vm->real = NULL;
	ret = verbs_mr_real(vd, vm);
	if (ret < 0) {
		/* The daemon puts the old values back: so do we. */
		vm->real = prev;
		mr->lkey = prev->lkey;
		mr->rkey = prev->rkey;
		if (hash_insert(&vd->mrs, &vm->node, prev->lkey) < 0 ||
		    hash_insert(&vd->rkeys, &vm->rnode, prev->rkey) < 0)
			log_warn("verbs: %s: MR %#x lost from the key table",
				 vd->dev.name, prev->lkey);
		return ret;
	}
	if (ibv_dereg_mr(prev))
		log_warn("verbs: %s: ibv_dereg_mr failed", vd->dev.name);
	return 0;
}

static void verbs_dereg_mr(struct rb_mr *mr)
{
	verbs_mr_drop(verbs_dev(mr->dev), (struct verbs_mr *)mr);
}

/* ------------------------------------------------------------ CQ */

/*
 * The real CQ holds twice what the client's ring does (as far as the
 * device allows): the driver drains it into the ring, so the ring, whose
 * overrun the client sees as on any device, fills first.
 */
static int verbs_real_cqe(const struct rb_device *dev, uint32_t cqe)
{
	uint64_t n = 2 * (uint64_t)cqe + 1;

	if (dev->max_cqe && n > dev->max_cqe)
		n = dev->max_cqe;
	return (int)n;
}

static int verbs_create_cq(struct rb_device *dev, struct rb_cq *cq)
{
	struct verbs_dev *vd = verbs_dev(dev);
	struct verbs_cq *vc = (struct verbs_cq *)cq;

	int ret;

	if (vd->fatal)
		return -EIO;
	ret = verbs_chan_open(vd);
	if (ret < 0)
		return ret;
	vc->real = ibv_create_cq(vd->ctx, verbs_real_cqe(dev, cq->cqe), vc, vd->chan, 0);
	if (!vc->real) {
		ret = null_errno();
		goto err;
	}
	/* Not polled yet: armed, so the first completion wakes us. */
	if (ibv_req_notify_cq(vc->real, 0)) {
		ibv_destroy_cq(vc->real);
		vc->real = NULL;
		ret = -EIO;
		goto err;
	}
	vd->ncqs++;
	return 0;

err:
	if (!vd->ncqs)
		verbs_chan_close(vd);
	return ret;
}

static int verbs_resize_cq(struct rb_cq *cq, uint32_t old_cqe)
{
	struct verbs_cq *vc = (struct verbs_cq *)cq;

	(void)old_cqe;
	if (verbs_dev(cq->dev)->fatal)
		return -EIO;
	return neg(ibv_resize_cq(vc->real, verbs_real_cqe(cq->dev, cq->cqe)));
}

static void verbs_destroy_cq(struct rb_cq *cq)
{
	struct verbs_cq *vc = (struct verbs_cq *)cq;

	struct verbs_dev *vd = verbs_dev(cq->dev);

	verbs_cq_cool(vc);
	if (!vc->real)
		return;
	if (ibv_destroy_cq(vc->real))
		log_warn("verbs: %s: ibv_destroy_cq failed", cq->dev->name);
	vc->real = NULL;
	if (--vd->ncqs == 0)
		verbs_chan_close(vd);
}

/* ------------------------------------------------------------ QP */

static int verbs_create_qp_rcud(struct rb_device *dev, struct rb_qp *qp)
{
	struct verbs_dev *vd = verbs_dev(dev);
	struct verbs_qp *vq = (struct verbs_qp *)qp;
	struct ibv_qp_init_attr init = {
		.qp_context = vq,
		.send_cq = real_cq(qp->res.deps[1]),
		.recv_cq = real_cq(qp->res.deps[2]),
		.srq = qp->res.deps[3] ? ((struct verbs_srq *)qp->res.deps[3])->real : NULL,
		.cap = qp->cap,
		.qp_type = qp->type,
		.sq_sig_all = qp->sq_sig_all,
	};
	int ret;

	if (vd->fatal)
		return -EIO;
	vq->sw = calloc(qp->sq_entries, sizeof(*vq->sw));
	vq->rw = calloc(qp->rq_entries, sizeof(*vq->rw));
	if (!vq->sw || !vq->rw) {
		ret = -ENOMEM;
		goto err;
	}
	vq->real = ibv_create_qp(real_pd(qp->res.deps[0]), &init);
	if (!vq->real) {
		ret = null_errno();
		goto err;
	}
	qp->qp_num = vq->real->qp_num;
	if (hash_insert(&vd->qps, &vq->node, qp->qp_num) < 0) {
		ibv_destroy_qp(vq->real);
		vq->real = NULL;
		ret = -ENOMEM;
		goto err;
	}
	verbs_qp_restart(vq);
	return 0;

err:
	free(vq->sw);
	free(vq->rw);
	vq->sw = NULL;
	vq->rw = NULL;
	return ret;
}

static int verbs_create_qp(struct rb_device *dev, struct rb_qp *qp)
{
	if (qp->type != IBV_QPT_RC && qp->type != IBV_QPT_UC && qp->type != IBV_QPT_UD) {
		rb_device_error(dev, "%s: XRC is not brokered on this driver", dev->name);
		return -EOPNOTSUPP;
	}
	return verbs_create_qp_rcud(dev, qp);
}

static int verbs_modify_qp(struct rb_qp *qp, const struct ibv_qp_attr *attr,
			   int mask, enum ibv_qp_state from)
{
	struct verbs_qp *vq = (struct verbs_qp *)qp;
	struct ibv_qp_attr a = *attr;
	int ret;

	if (verbs_dev(qp->dev)->fatal)
		return -EIO;
	/* The device takes the state the daemon checked; the rest as asked. */
	ret = neg(ibv_modify_qp(vq->real, &a, mask));
	if (ret < 0)
		return ret;
	if (mask & IBV_QP_AV)
		verbs_qp_peer(vq, &attr->ah_attr);
	verbs_qp_state(vq, from);
	return 0;
}

/* The device moves QPs to ERR by itself: ask it. */
static int verbs_query_qp(struct rb_qp *qp)
{
	struct verbs_qp *vq = (struct verbs_qp *)qp;
	struct ibv_qp_init_attr init;
	struct ibv_qp_attr a;

	if (verbs_dev(qp->dev)->fatal)
		return 0;
	if (ibv_query_qp(vq->real, &a, IBV_QP_STATE, &init) == 0 &&
	    a.qp_state != qp->attr.qp_state) {
		qp->attr.qp_state = a.qp_state;
		qp->attr.cur_qp_state = a.qp_state;
	}
	return 0;
}

static void verbs_qp_doorbell(struct rb_qp *qp)
{
	verbs_qp_activate((struct verbs_qp *)qp, verbs_now_ns());
}

static void verbs_destroy_qp(struct rb_qp *qp)
{
	struct verbs_dev *vd = verbs_dev(qp->dev);
	struct verbs_qp *vq = (struct verbs_qp *)qp;

	verbs_qp_deactivate(vq);
	verbs_sched_qp_gone(vq);
	verbs_reply_forget(vq);
	if (vq->real) {
		hash_remove(&vd->qps, &vq->node);
		if (ibv_destroy_qp(vq->real))
			log_warn("verbs: %s: ibv_destroy_qp %#x failed", qp->dev->name,
				 qp->qp_num);
		vq->real = NULL;
	}
	free(vq->sw);
	free(vq->rw);
	vq->sw = NULL;
	vq->rw = NULL;
}

/* ------------------------------------------------------------ SRQ */

static int verbs_create_srq(struct rb_device *dev, struct rb_srq *srq)
{
	struct verbs_dev *vd = verbs_dev(dev);
	struct verbs_srq *vs = (struct verbs_srq *)srq;
	struct ibv_srq_init_attr init = {
		.srq_context = vs,
		.attr = { .max_wr = srq->max_wr, .max_sge = srq->max_sge,
			  .srq_limit = srq->srq_limit },
	};

	if (vd->fatal)
		return -EIO;
	vs->nslots = srq->max_wr;
	vs->slot_wr = malloc(vs->nslots * sizeof(*vs->slot_wr));
	vs->free = malloc(vs->nslots * sizeof(*vs->free));
	if (!vs->slot_wr || !vs->free)
		goto nomem;
	for (uint32_t i = 0; i < vs->nslots; i++) {
		vs->slot_wr[i] = UINT64_MAX;
		vs->free[i] = vs->nslots - 1 - i;
	}
	vs->nfree = vs->nslots;
	vs->real = ibv_create_srq(real_pd(srq->res.deps[0]), &init);
	if (!vs->real) {
		int ret = null_errno();

		free(vs->slot_wr);
		free(vs->free);
		return ret;
	}
	__atomic_fetch_or(&srq->ring->flags, RB_RING_NEED_WAKEUP, __ATOMIC_SEQ_CST);
	vs->take = __atomic_load_n(&srq->ring->prod, __ATOMIC_ACQUIRE);
	return 0;

nomem:
	free(vs->slot_wr);
	free(vs->free);
	return -ENOMEM;
}

static int verbs_modify_srq(struct rb_srq *srq, const struct ibv_srq_attr *attr,
			    int mask)
{
	struct verbs_srq *vs = (struct verbs_srq *)srq;
	struct ibv_srq_attr a = *attr;

	if (verbs_dev(srq->dev)->fatal)
		return -EIO;
	/* Slots are sized at create; most NICs refuse a resize as well. */
	if (mask & IBV_SRQ_MAX_WR)
		return -EOPNOTSUPP;
	return neg(ibv_modify_srq(vs->real, &a, mask));
}

static int verbs_query_srq(struct rb_srq *srq)
{
	struct verbs_srq *vs = (struct verbs_srq *)srq;
	struct ibv_srq_attr a;

	if (!verbs_dev(srq->dev)->fatal && ibv_query_srq(vs->real, &a) == 0)
		srq->srq_limit = a.srq_limit;
	return 0;
}

static void verbs_srq_doorbell(struct rb_srq *srq)
{
	verbs_srq_activate((struct verbs_srq *)srq, verbs_now_ns());
}

static void verbs_destroy_srq(struct rb_srq *srq)
{
	struct verbs_srq *vs = (struct verbs_srq *)srq;

	verbs_srq_deactivate(vs);
	if (vs->real && ibv_destroy_srq(vs->real))
		log_warn("verbs: %s: ibv_destroy_srq failed", srq->dev->name);
	vs->real = NULL;
	free(vs->slot_wr);
	free(vs->free);
	vs->slot_wr = NULL;
	vs->free = NULL;
}

/* ------------------------------------------------------------ AH */

static int verbs_create_ah(struct rb_device *dev, struct rb_ah *ah)
{
	struct verbs_ah *va = (struct verbs_ah *)ah;
	struct ibv_ah_attr a = ah->attr;

	if (verbs_dev(dev)->fatal)
		return -EIO;
	va->real = ibv_create_ah(real_pd(ah->res.deps[0]), &a);
	return va->real ? 0 : null_errno();
}

static void verbs_destroy_ah(struct rb_ah *ah)
{
	struct verbs_ah *va = (struct verbs_ah *)ah;

	if (va->real && ibv_destroy_ah(va->real))
		log_warn("verbs: %s: ibv_destroy_ah failed", ah->dev->name);
}

const struct rb_driver_ops verbs_ops = {
	.name = "verbs",
	.pd_size = sizeof(struct verbs_pd),
	.mr_size = sizeof(struct verbs_mr),
	.cq_size = sizeof(struct verbs_cq),
	.qp_size = sizeof(struct verbs_qp),
	.srq_size = sizeof(struct verbs_srq),
	.ah_size = sizeof(struct verbs_ah),
	.destroy = verbs_destroy,
	.query_device = verbs_query_device,
	.query_port = verbs_query_port,
	.query_gid = verbs_query_gid,
	.query_pkey = verbs_query_pkey,
	.alloc_pd = verbs_alloc_pd,
	.dealloc_pd = verbs_dealloc_pd,
	.reg_mr = verbs_reg_mr,
	.rereg_mr = verbs_rereg_mr,
	.dereg_mr = verbs_dereg_mr,
	.create_cq = verbs_create_cq,
	.resize_cq = verbs_resize_cq,
	.destroy_cq = verbs_destroy_cq,
	.create_qp = verbs_create_qp,
	.modify_qp = verbs_modify_qp,
	.query_qp = verbs_query_qp,
	.qp_doorbell = verbs_qp_doorbell,
	.qp_take_posted = verbs_qp_take_posted,
	.destroy_qp = verbs_destroy_qp,
	.create_srq = verbs_create_srq,
	.modify_srq = verbs_modify_srq,
	.query_srq = verbs_query_srq,
	.srq_doorbell = verbs_srq_doorbell,
	.destroy_srq = verbs_destroy_srq,
	.create_ah = verbs_create_ah,
	.destroy_ah = verbs_destroy_ah,
	.progress = verbs_progress,
};
