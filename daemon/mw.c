/* SPDX-License-Identifier: MIT */
/*
 * Memory windows (ibv_alloc_mw, ibv_dealloc_mw).  The daemon keeps the
 * handle, the PD dependency, the device's count and the per-user [limits]
 * mws; the driver picks the rkey and owns what a window means: binding
 * (IBV_WR_BIND_MW, ibv_bind_mw) and invalidation are work on a send
 * queue, executed by the driver like any other WQE.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/objects.h"
#include "daemon/res.h"

static void mw_destroy(struct rb_res *r)
{
	struct rb_mw *mw = (struct rb_mw *)r;

	mw->dev->ops.dealloc_mw(mw);
	res_uncharge(r->owner, RB_LIMIT_MWS, 1);
	mw->dev->nmws--;
	free(mw);
}

int mw_alloc(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep)
{
	const Rdmabroker__MwAllocReq *q = req->mw_alloc;
	struct rb_device *dev = s->device;
	Rdmabroker__MwAllocReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *pd;
	struct rb_mw *mw;
	int ret;

	if (!m)
		return -ENOMEM;
	pd = res_lookup(s, q->pd, RB_RES_PD, rep);
	if (!pd)
		return -EINVAL;
	if (q->type != IBV_MW_TYPE_1 && q->type != IBV_MW_TYPE_2) {
		reply_error(rep, "no memory window type %" PRIu32, q->type);
		return -EINVAL;
	}
	if (dev->nmws >= dev->max_mw) {
		reply_error(rep, "%s has all its %" PRIu32 " MWs in use", dev->name,
			    dev->max_mw);
		return dev->max_mw ? -ENOMEM : -EOPNOTSUPP;
	}
	ret = res_charge(s, RB_LIMIT_MWS, 1, rep);
	if (ret < 0)
		return ret;
	mw = res_alloc(sizeof(*mw), dev->ops.mw_size);
	if (!mw) {
		res_uncharge(s, RB_LIMIT_MWS, 1);
		return -ENOMEM;
	}
	mw->dev = dev;
	mw->type = (enum ibv_mw_type)q->type;
	mw->res.type = RB_RES_MW;
	mw->res.deps[0] = pd;
	mw->res.destroy = mw_destroy;
	ret = dev->ops.alloc_mw(dev, mw);
	if (ret < 0) {
		free(mw);
		res_uncharge(s, RB_LIMIT_MWS, 1);
		reply_error(rep, "%s: alloc_mw: %s", dev->name, strerror(-ret));
		return ret;
	}
	ret = res_add(s, &mw->res);
	if (ret < 0) {
		dev->ops.dealloc_mw(mw);
		free(mw);
		res_uncharge(s, RB_LIMIT_MWS, 1);
		reply_error(rep, "this connection holds too many objects");
		return ret;
	}
	dev->nmws++;
	rdmabroker__mw_alloc_reply__init(m);
	m->handle = mw->res.handle;
	m->rkey = mw->rkey;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_MW_ALLOC;
	rep->msg.mw_alloc = m;
	return 0;
}

int mw_dealloc(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep)
{
	Rdmabroker__MwDeallocReply *m = reply_alloc(rep, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	ret = res_destroy(s, req->mw_dealloc->handle, RB_RES_MW, rep);
	if (ret < 0)
		return ret;
	rdmabroker__mw_dealloc_reply__init(m);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_MW_DEALLOC;
	rep->msg.mw_dealloc = m;
	return 0;
}
