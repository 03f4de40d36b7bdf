/* SPDX-License-Identifier: MIT */
/*
 * Memory windows: ibv_alloc_mw and ibv_dealloc_mw ask the daemon, which
 * keeps the handle and the [limits] mws and has the device pick the rkey.
 * Binding is work on a send queue (ibv_bind_mw, IBV_WR_BIND_MW: post.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "libclient/client.h"

struct ibv_mw *rbc_alloc_mw(struct ibv_pd *pd, enum ibv_mw_type type)
{
	struct rbc_context *c = to_rbc_context(pd->context);
	Rdmabroker__MwAllocReq body = RDMABROKER__MW_ALLOC_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct ibv_mw *mw;
	int ret;

	mw = calloc(1, sizeof(*mw));
	if (!mw) {
		errno = ENOMEM;
		return NULL;
	}
	body.pd = pd->handle;
	body.type = type;
	req.body_case = RDMABROKER__REQUEST__BODY_MW_ALLOC;
	req.mw_alloc = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret) {
		free(mw);
		errno = ret;
		return NULL;
	}
	mw->context = pd->context;
	mw->pd = pd;
	mw->type = type;
	mw->handle = reply->mw_alloc->handle;
	mw->rkey = reply->mw_alloc->rkey;
	rb_rpc_reply_free(reply);
	return mw;
}

int rbc_dealloc_mw(struct ibv_mw *mw)
{
	struct rbc_context *c = to_rbc_context(mw->context);
	Rdmabroker__MwDeallocReq body = RDMABROKER__MW_DEALLOC_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	int ret;

	body.handle = mw->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_MW_DEALLOC;
	req.mw_dealloc = &body;
	ret = rbc_call_destroy(c, &req);
	if (ret)
		return ret;
	free(mw);
	return 0;
}
