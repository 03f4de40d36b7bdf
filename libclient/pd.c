/* SPDX-License-Identifier: MIT */
/*
 * Protection domains: the daemon's object, named by the handle it gave
 * this context's connection.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "libclient/client.h"

RB_EXPORT struct ibv_pd *ibv_alloc_pd(struct ibv_context *context)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__PdAllocReq body = RDMABROKER__PD_ALLOC_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct ibv_pd *pd;
	int ret;

	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_PD_ALLOC;
	req.pd_alloc = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret) {
		free(pd);
		errno = ret;
		return NULL;
	}
	pd->context = context;
	pd->handle = reply->pd_alloc->handle;
	rb_rpc_reply_free(reply);
	return pd;
}

RB_EXPORT int ibv_dealloc_pd(struct ibv_pd *pd)
{
	struct rbc_context *c = to_rbc_context(pd->context);
	Rdmabroker__PdDeallocReq body = RDMABROKER__PD_DEALLOC_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	int ret;

	body.handle = pd->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_PD_DEALLOC;
	req.pd_dealloc = &body;
	ret = rbc_call_destroy(c, &req);
	if (ret)
		return ret;	/* EBUSY, EINVAL, EIO: the PD stays valid */
	free(pd);
	return 0;
}
