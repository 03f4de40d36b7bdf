/* SPDX-License-Identifier: MIT */
/*
 * Protection domains: the object other objects name and depend on,
 * counted against the user's `pds` limit and the device's max_pd; the
 * driver's alloc_pd/dealloc_pd make whatever the device needs of it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/objects.h"
#include "daemon/res.h"

static void pd_destroy(struct rb_res *r)
{
	struct rb_pd *pd = (struct rb_pd *)r;

	pd->dev->ops.dealloc_pd(pd);
	pd->dev->npds--;
	res_uncharge(r->owner, RB_LIMIT_PDS, 1);
	free(pd);
}

int pd_alloc(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep)
{
	struct rb_device *dev = s->device;
	Rdmabroker__PdAllocReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_pd *pd;
	int ret;

	(void)req;
	if (!m)
		return -ENOMEM;
	if (dev->npds >= dev->max_pd) {
		reply_error(rep, "%s has all its %" PRIu32 " protection domains in use",
			    dev->name, dev->max_pd);
		return -ENOMEM;
	}
	ret = res_charge(s, RB_LIMIT_PDS, 1, rep);
	if (ret < 0)
		return ret;
	pd = res_alloc(sizeof(*pd), dev->ops.pd_size);
	if (!pd) {
		res_uncharge(s, RB_LIMIT_PDS, 1);
		return -ENOMEM;
	}
	pd->res.type = RB_RES_PD;
	pd->res.destroy = pd_destroy;
	pd->dev = dev;
	ret = dev->ops.alloc_pd(dev, pd);
	if (ret < 0) {
		res_uncharge(s, RB_LIMIT_PDS, 1);
		free(pd);
		reply_error(rep, "%s: alloc_pd: %s", dev->name, strerror(-ret));
		return ret;
	}
	ret = res_add(s, &pd->res);
	if (ret < 0) {
		dev->ops.dealloc_pd(pd);
		res_uncharge(s, RB_LIMIT_PDS, 1);
		free(pd);
		reply_error(rep, "this connection holds too many objects");
		return ret;
	}
	dev->npds++;
	rdmabroker__pd_alloc_reply__init(m);
	m->handle = pd->res.handle;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_PD_ALLOC;
	rep->msg.pd_alloc = m;
	return 0;
}

int pd_dealloc(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep)
{
	Rdmabroker__PdDeallocReply *m = reply_alloc(rep, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	ret = res_destroy(s, req->pd_dealloc->handle, RB_RES_PD, rep);
	if (ret < 0)
		return ret;
	rdmabroker__pd_dealloc_reply__init(m);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_PD_DEALLOC;
	rep->msg.pd_dealloc = m;
	return 0;
}
