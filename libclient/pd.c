/* SPDX-License-Identifier: MIT */
/*
 * Protection domains: the daemon's object, named by the handle it gave
 * this context's connection.  Also thread domains and parent domains,
 * which exist in the library alone: a thread domain is a promise that one
 * thread uses the objects made with it, which the broker has no use for;
 * a parent domain stands for its protection domain (same handle, so every
 * verb given it names that PD to the daemon) and carries pd_context.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "libclient/client.h"

struct rbc_td {
	struct ibv_td td;		/* must be first */
	unsigned int refcnt;		/* parent domains using it (rbc_pd_lock) */
};

struct rbc_pd {
	struct ibv_pd pd;		/* must be first */
	struct rbc_pd *protection;	/* a parent domain: its PD; else NULL */
	struct rbc_td *td;		/* a parent domain's, or NULL */
	void *pd_context;
	unsigned int refcnt;		/* parent domains over this PD (rbc_pd_lock) */
};

/* The reference counts; parent domains are made and freed rarely. */
static pthread_mutex_t rbc_pd_lock = PTHREAD_MUTEX_INITIALIZER;

RB_EXPORT struct ibv_pd *ibv_alloc_pd(struct ibv_context *context)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__PdAllocReq body = RDMABROKER__PD_ALLOC_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct rbc_pd *pd;
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
	pd->pd.context = context;
	pd->pd.handle = reply->pd_alloc->handle;
	rb_rpc_reply_free(reply);
	return &pd->pd;
}

RB_EXPORT int ibv_dealloc_pd(struct ibv_pd *ibpd)
{
	struct rbc_pd *pd = (struct rbc_pd *)ibpd;
	struct rbc_context *c = to_rbc_context(ibpd->context);
	Rdmabroker__PdDeallocReq body = RDMABROKER__PD_DEALLOC_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	int ret;

	pthread_mutex_lock(&rbc_pd_lock);
	if (pd->protection) {
		/* A parent domain: only ours to free. */
		pd->protection->refcnt--;
		if (pd->td)
			pd->td->refcnt--;
		pthread_mutex_unlock(&rbc_pd_lock);
		free(pd);
		return 0;
	}
	ret = pd->refcnt ? EBUSY : 0;	/* as mlx5: parent domains hold it */
	pthread_mutex_unlock(&rbc_pd_lock);
	if (ret)
		return ret;
	body.handle = ibpd->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_PD_DEALLOC;
	req.pd_dealloc = &body;
	ret = rbc_call_destroy(c, &req);
	if (ret)
		return ret;	/* EBUSY, EINVAL, EIO: the PD stays valid */
	free(pd);
	return 0;
}

struct ibv_td *rbc_alloc_td(struct ibv_context *context,
			    struct ibv_td_init_attr *attr)
{
	struct rbc_td *td;

	if (!attr || attr->comp_mask) {
		errno = EINVAL;
		return NULL;
	}
	td = calloc(1, sizeof(*td));
	if (!td) {
		errno = ENOMEM;
		return NULL;
	}
	td->td.context = context;
	return &td->td;
}

int rbc_dealloc_td(struct ibv_td *ibtd)
{
	struct rbc_td *td = (struct rbc_td *)ibtd;
	unsigned int refcnt;

	pthread_mutex_lock(&rbc_pd_lock);
	refcnt = td->refcnt;
	pthread_mutex_unlock(&rbc_pd_lock);
	if (refcnt)
		return EBUSY;
	free(td);
	return 0;
}

/*
 * Custom allocators are accepted and never called: they are for buffers
 * the provider allocates, and a broker's queues are memory the daemon
 * hands over.
 */
struct ibv_pd *rbc_alloc_parent_domain(struct ibv_context *context,
				       struct ibv_parent_domain_init_attr *attr)
{
	const uint32_t known = IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS |
			       IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT;
	struct rbc_pd *parent, *pd;

	if (!attr || !attr->pd || attr->pd->context != context ||
	    (attr->td && attr->td->context != context)) {
		errno = EINVAL;
		return NULL;
	}
	if (attr->comp_mask & ~known) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	pd = (struct rbc_pd *)attr->pd;
	if (pd->protection) {
		errno = EINVAL;		/* a parent domain of a parent domain */
		return NULL;
	}
	parent = calloc(1, sizeof(*parent));
	if (!parent) {
		errno = ENOMEM;
		return NULL;
	}
	parent->pd.context = context;
	parent->pd.handle = pd->pd.handle;
	parent->protection = pd;
	parent->td = (struct rbc_td *)attr->td;
	if (attr->comp_mask & IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT)
		parent->pd_context = attr->pd_context;
	pthread_mutex_lock(&rbc_pd_lock);
	pd->refcnt++;
	if (parent->td)
		parent->td->refcnt++;
	pthread_mutex_unlock(&rbc_pd_lock);
	return &parent->pd;
}

bool rbc_is_parent_domain(struct ibv_pd *pd)
{
	return pd && ((struct rbc_pd *)pd)->protection;
}
