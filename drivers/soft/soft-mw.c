/* SPDX-License-Identifier: MIT */
/*
 * The soft device's memory windows (soft-int.h), as the IB spec and rxe
 * have them.  A window lends part of an MR to remote requests under a key
 * of its own, and stops when invalidated, rebound or freed:
 *
 * - type 1: bound by ibv_bind_mw (a WQE on the send queue like any other),
 *   rebound at will, unbound by a zero-length bind; usable by any QP of
 *   its PD; never invalidated by LOCAL_INV or SEND_WITH_INV;
 * - type 2 (2B): allocated free, bound once by IBV_WR_BIND_MW on a QP of
 *   its PD, usable only through that QP; freed again by IBV_WR_LOCAL_INV
 *   on a QP of its PD or by a SEND_WITH_INV that arrives on its QP.
 *
 * A bind names the window's next rkey, whose index must stay the
 * window's; the MR must be of the QP's PD (type 1: also the window's) and
 * registered with IBV_ACCESS_MW_BIND, the range inside it, and remote
 * write or atomic access needs the MR's local write.  What fails is
 * IBV_WC_MW_BIND_ERR; a LOCAL_INV that names no type 2 window of the PD
 * is IBV_WC_LOC_QP_OP_ERR (rxe's statuses).  Deregistering the MR or
 * destroying a type 2 window's QP unbinds the window, so a key never
 * outlives the memory it lends.
 */
#include "config.h"

#include "daemon/res.h"
#include "drivers/soft/soft-int.h"

#define MW_REMOTE_ACCESS (IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE | \
			  IBV_ACCESS_REMOTE_ATOMIC)

static struct soft_mw *soft_mw_of(struct rb_mw *mw)
{
	return rb_container_of(mw, struct soft_mw, mw);
}

int soft_mw_alloc(struct rb_device *dev, struct rb_mw *mw)
{
	struct soft_dev *sd = dev->priv;
	int ret = soft_keys_alloc_mw(dev, mw);

	if (ret < 0)
		return ret;
	TAILQ_INSERT_TAIL(&sd->mw_list, soft_mw_of(mw), link);
	return 0;
}

void soft_mw_dealloc(struct rb_mw *mw)
{
	struct soft_dev *sd = mw->dev->priv;

	TAILQ_REMOVE(&sd->mw_list, soft_mw_of(mw), link);
	soft_keys_dealloc_mw(mw);
}

void soft_mw_unbind(struct soft_mw *mw)
{
	mw->mr = NULL;
	mw->qp = NULL;
	mw->addr = mw->length = 0;
	mw->access = 0;
}

/* [addr, addr + len) inside [base, base + size), without overflow. */
static bool mw_fits(uint64_t base, uint64_t size, uint64_t addr, uint64_t len)
{
	return addr >= base && len <= size && addr - base <= size - len;
}

uint32_t soft_mw_bind(struct soft_qp *qp, const struct rb_send_wqe *w)
{
	struct rb_res *pd = qp->qp.res.deps[0];
	struct rb_res *r = res_lookup(qp->qp.res.owner, w->mw_handle, RB_RES_MW, NULL);
	struct soft_mw *mw;
	struct rb_mr *mr;

	if (!r)
		return IBV_WC_MW_BIND_ERR;
	mw = soft_mw_of((struct rb_mw *)r);
	/* The index is the window's; only the key byte is the client's. */
	if ((w->rkey >> 8) != (mw->mw.rkey >> 8))
		return IBV_WC_MW_BIND_ERR;
	if (mw->mw.type == IBV_MW_TYPE_2 && (mw->mr || r->deps[0] != pd))
		return IBV_WC_MW_BIND_ERR;	/* bound already, or another PD */
	/* Local write means nothing to a window and is ignored, as rxe and
	 * mlx5 ignore it (pyverbs binds with it); zero-based is not offered. */
	if ((w->mw_access & ~(uint32_t)(MW_REMOTE_ACCESS | IBV_ACCESS_LOCAL_WRITE)))
		return IBV_WC_MW_BIND_ERR;
	if (mw->mw.type == IBV_MW_TYPE_1 && w->compare_add == 0) {
		soft_mw_unbind(mw);		/* a zero-length bind unbinds */
		mw->mw.rkey = w->rkey;
		return IBV_WC_SUCCESS;
	}
	mr = soft_keys_find_lkey(qp->qp.dev, (uint32_t)w->swap);
	if (!mr || mr->res.deps[0] != pd || !(mr->access & IBV_ACCESS_MW_BIND) ||
	    (mw->mw.type == IBV_MW_TYPE_1 && r->deps[0] != pd) ||
	    ((w->mw_access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	     !(mr->access & IBV_ACCESS_LOCAL_WRITE)) ||
	    !mw_fits(mr->iova, mr->length, w->remote_addr, w->compare_add))
		return IBV_WC_MW_BIND_ERR;
	mw->mr = mr;
	mw->qp = mw->mw.type == IBV_MW_TYPE_2 ? qp : NULL;
	mw->addr = w->remote_addr;
	mw->length = w->compare_add;
	mw->access = w->mw_access & MW_REMOTE_ACCESS;
	mw->mw.rkey = w->rkey;
	return IBV_WC_SUCCESS;
}

uint32_t soft_mw_local_inv(struct soft_qp *qp, uint32_t rkey)
{
	struct soft_mw *mw = soft_keys_find_mw(qp->qp.dev, rkey);

	/* MRs are not invalidated (no fast registration); nor type 1. */
	if (!mw || mw->mw.rkey != rkey || mw->mw.type != IBV_MW_TYPE_2 ||
	    mw->mw.res.deps[0] != qp->qp.res.deps[0])
		return IBV_WC_LOC_QP_OP_ERR;
	soft_mw_unbind(mw);
	return IBV_WC_SUCCESS;
}

struct soft_mw *soft_mw_remote_inv_check(const struct soft_qp *dest, uint32_t rkey)
{
	struct soft_mw *mw = soft_keys_find_mw(dest->qp.dev, rkey);

	if (!mw || mw->mw.rkey != rkey || mw->mw.type != IBV_MW_TYPE_2 ||
	    mw->qp != dest || mw->mw.res.deps[0] != dest->qp.res.deps[0])
		return NULL;
	return mw;
}

const struct rb_mr *soft_mw_remote(const struct soft_qp *dest, uint32_t rkey,
				   uint64_t addr, uint64_t len, uint32_t access)
{
	const struct soft_mw *mw = soft_keys_find_mw(dest->qp.dev, rkey);

	if (!mw || mw->mw.rkey != rkey || !mw->mr ||
	    mw->mw.res.deps[0] != dest->qp.res.deps[0] ||
	    (mw->mw.type == IBV_MW_TYPE_2 && mw->qp != dest) ||
	    !(mw->access & access) || !(dest->qp.attr.qp_access_flags & access) ||
	    !mw_fits(mw->addr, mw->length, addr, len))
		return NULL;
	return mw->mr;
}

void soft_mw_mr_gone(struct rb_mr *mr)
{
	struct soft_dev *sd = mr->dev->priv;
	struct soft_mw *mw;

	TAILQ_FOREACH(mw, &sd->mw_list, link)
		if (mw->mr == mr)
			soft_mw_unbind(mw);
}

void soft_mw_qp_gone(const struct soft_qp *qp)
{
	struct soft_dev *sd = soft_dev_of(qp);
	struct soft_mw *mw;

	TAILQ_FOREACH(mw, &sd->mw_list, link)
		if (mw->qp == qp)
			soft_mw_unbind(mw);
}
