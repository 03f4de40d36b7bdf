/* SPDX-License-Identifier: MIT */
/*
 * Shared receive queues: the daemon's object, with a ring of receive
 * WQEs mapped here (proto/shm.h) and remapped when a modify resizes it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libclient/client.h"

/* An SRQ on pd; XRC: in xrcd, completing into cq. */
static struct ibv_srq *rbc_srq_create(struct ibv_pd *pd, struct ibv_srq_init_attr *attr,
				      struct ibv_xrcd *xrcd, struct ibv_cq *cq)
{
	struct rbc_context *c = to_rbc_context(pd->context);
	Rdmabroker__SrqCreateReq body = RDMABROKER__SRQ_CREATE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct rbc_srq *srq;
	int fds[2], fd, ret;

	srq = calloc(1, sizeof(*srq));
	if (!srq) {
		errno = ENOMEM;
		return NULL;
	}
	body.pd = pd->handle;
	body.max_wr = attr->attr.max_wr;
	body.max_sge = attr->attr.max_sge;
	body.srq_limit = attr->attr.srq_limit;
	if (xrcd) {
		body.has_xrcd = body.has_cq = 1;
		body.xrcd = ((struct rbc_xrcd *)xrcd)->handle;
		body.cq = cq->handle;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_SRQ_CREATE;
	req.srq_create = &body;
	ret = rbc_call_fds(c, &req, &reply, fds, 2);
	if (ret) {
		free(srq);
		errno = ret;
		return NULL;
	}
	fd = fds[0];
	srq->doorbell = fds[1];
	srq->ring_bytes = reply->srq_create->ring_bytes;
	srq->ring = rbc_map_ring(fd, srq->ring_bytes, RB_RING_SRQ);
	close(fd);
	if (!srq->ring) {
		ret = errno;
		close(srq->doorbell);
		rb_rpc_reply_free(reply);
		free(srq);	/* the daemon's SRQ goes with the context */
		errno = ret;
		return NULL;
	}
	/* As libibverbs: the caller learns what it was granted. */
	attr->attr.max_wr = reply->srq_create->max_wr;
	attr->attr.max_sge = reply->srq_create->max_sge;
	srq->max_sge = attr->attr.max_sge;
	srq->srq.context = pd->context;
	srq->srq.srq_context = attr->srq_context;
	srq->srq.pd = pd;
	srq->srq.handle = reply->srq_create->handle;
	srq->srq_num = reply->srq_create->srq_num;
	pthread_mutex_init(&srq->lock, NULL);
	pthread_mutex_init(&srq->srq.mutex, NULL);
	pthread_cond_init(&srq->srq.cond, NULL);
	rb_rpc_reply_free(reply);
	pthread_mutex_lock(&c->cq_lock);
	LIST_INSERT_HEAD(&c->srqs, srq, link);
	pthread_mutex_unlock(&c->cq_lock);
	return &srq->srq;
}

RB_EXPORT struct ibv_srq *ibv_create_srq(struct ibv_pd *pd,
					 struct ibv_srq_init_attr *attr)
{
	return rbc_srq_create(pd, attr, NULL, NULL);
}

/*
 * verbs_context.create_srq_ex, for what ibv_create_srq_ex() does not hand
 * to ibv_create_srq(): XRC SRQs, with their PD, XRCD and CQ.  Tag
 * matching is EOPNOTSUPP.
 */
struct ibv_srq *rbc_create_srq_ex(struct ibv_context *context,
				  struct ibv_srq_init_attr_ex *attr)
{
	const uint32_t xrc = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD |
			     IBV_SRQ_INIT_ATTR_XRCD | IBV_SRQ_INIT_ATTR_CQ;
	struct ibv_srq_init_attr basic;
	struct ibv_srq *srq;

	if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE) || attr->srq_type != IBV_SRQT_XRC ||
	    (attr->comp_mask & ~xrc)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if ((attr->comp_mask & xrc) != xrc || !attr->pd || !attr->xrcd || !attr->cq ||
	    attr->pd->context != context || attr->xrcd->context != context ||
	    attr->cq->context != context) {
		errno = EINVAL;
		return NULL;
	}
	memset(&basic, 0, sizeof(basic));
	basic.srq_context = attr->srq_context;
	basic.attr = attr->attr;
	srq = rbc_srq_create(attr->pd, &basic, attr->xrcd, attr->cq);
	if (srq)
		attr->attr = basic.attr;
	return srq;
}

int rbc_get_srq_num(struct ibv_srq *ibsrq, uint32_t *srq_num)
{
	struct rbc_srq *srq = (struct rbc_srq *)ibsrq;

	if (!srq->srq_num)
		return EINVAL;	/* not an XRC SRQ */
	*srq_num = srq->srq_num;
	return 0;
}

/*
 * ibv_open_xrcd: a domain of this context, or, with a file (attr->fd not
 * -1), the domain every process of this daemon that opens the same inode
 * shares, under O_CREAT / O_EXCL (daemon/xrcd.c has the rules).  The fd
 * itself goes to the daemon (SCM_RIGHTS): it is what proves this process
 * may name the file.
 */
struct ibv_xrcd *rbc_open_xrcd(struct ibv_context *context,
			       struct ibv_xrcd_init_attr *attr)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__XrcdOpenReq body = RDMABROKER__XRCD_OPEN_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct rbc_xrcd *x;
	int fd = -1, ret;

	if (attr->comp_mask & ~(uint32_t)(IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS |
					  IBV_XRCD_INIT_ATTR_RESERVED) ||
	    (attr->comp_mask & IBV_XRCD_INIT_ATTR_RESERVED) ||
	    ((attr->comp_mask & IBV_XRCD_INIT_ATTR_OFLAGS) &&
	     (attr->oflags & ~(O_CREAT | O_EXCL)))) {
		errno = EINVAL;
		return NULL;
	}
	if (attr->comp_mask & IBV_XRCD_INIT_ATTR_FD)
		fd = attr->fd;
	/* As the kernel: a descriptor that is not open is EBADF (and must
	 * not reach sendmsg, which would fail the whole connection). */
	if (fd != -1 && (fd < 0 || fcntl(fd, F_GETFD) < 0)) {
		errno = EBADF;
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		errno = ENOMEM;
		return NULL;
	}
	if (fd != -1) {
		body.has_by_file = body.by_file = 1;
		if (attr->comp_mask & IBV_XRCD_INIT_ATTR_OFLAGS) {
			body.has_oflags = 1;
			body.oflags = (uint32_t)attr->oflags;
		}
	}
	req.body_case = RDMABROKER__REQUEST__BODY_XRCD_OPEN;
	req.xrcd_open = &body;
	ret = fd != -1 ? rbc_call_send_fds(c, &req, &reply, &fd, 1) :
			 rbc_call(c, &req, &reply);
	if (ret) {
		free(x);
		errno = ret;
		return NULL;
	}
	x->xrcd.context = context;
	x->handle = reply->xrcd_open->handle;
	rb_rpc_reply_free(reply);
	return &x->xrcd;
}

int rbc_close_xrcd(struct ibv_xrcd *xrcd)
{
	struct rbc_xrcd *x = (struct rbc_xrcd *)xrcd;
	struct rbc_context *c = to_rbc_context(xrcd->context);
	Rdmabroker__XrcdCloseReq body = RDMABROKER__XRCD_CLOSE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	int ret;

	body.handle = x->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_XRCD_CLOSE;
	req.xrcd_close = &body;
	ret = rbc_call_destroy(c, &req);
	if (ret)
		return ret;	/* EBUSY while SRQs or QPs use it */
	free(x);
	return 0;
}

RB_EXPORT int ibv_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr,
			     int attr_mask)
{
	struct rbc_srq *srq = (struct rbc_srq *)ibsrq;
	struct rbc_context *c = to_rbc_context(ibsrq->context);
	Rdmabroker__SrqModifyReq body = RDMABROKER__SRQ_MODIFY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	bool resize = attr_mask & IBV_SRQ_MAX_WR;
	int fd = -1, ret;

	body.handle = ibsrq->handle;
	body.attr_mask = (uint32_t)attr_mask;
	body.max_wr = attr->max_wr;
	body.srq_limit = attr->srq_limit;
	req.body_case = RDMABROKER__REQUEST__BODY_SRQ_MODIFY;
	req.srq_modify = &body;
	pthread_mutex_lock(&srq->lock);
	ret = rbc_call_fds(c, &req, &reply, &fd, resize ? 1 : 0);
	if (ret) {
		pthread_mutex_unlock(&srq->lock);
		return ret;
	}
	if (resize) {
		size_t bytes = reply->srq_modify->ring_bytes;
		struct rb_ring *ring = rbc_map_ring(fd, bytes, RB_RING_SRQ);

		close(fd);
		if (!ring) {
			ret = errno;
			rb_rpc_reply_free(reply);
			pthread_mutex_unlock(&srq->lock);
			return ret;
		}
		munmap(srq->ring, srq->ring_bytes);
		srq->ring = ring;
		srq->ring_bytes = bytes;
	}
	rb_rpc_reply_free(reply);
	pthread_mutex_unlock(&srq->lock);
	return 0;
}

RB_EXPORT int ibv_query_srq(struct ibv_srq *srq, struct ibv_srq_attr *attr)
{
	struct rbc_context *c = to_rbc_context(srq->context);
	Rdmabroker__SrqQueryReq body = RDMABROKER__SRQ_QUERY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	int ret;

	body.handle = srq->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_SRQ_QUERY;
	req.srq_query = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret)
		return ret;
	rb_conv_srq_attr_from_pb(attr, reply->srq_query);
	rb_rpc_reply_free(reply);
	return 0;
}

RB_EXPORT int ibv_destroy_srq(struct ibv_srq *ibsrq)
{
	struct rbc_srq *srq = (struct rbc_srq *)ibsrq;
	struct rbc_context *c = to_rbc_context(ibsrq->context);
	Rdmabroker__SrqDestroyReq body = RDMABROKER__SRQ_DESTROY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	uint32_t reported;
	int ret;

	body.handle = ibsrq->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_SRQ_DESTROY;
	req.srq_destroy = &body;
	ret = rbc_call_destroy(c, &req);
	if (ret)
		return ret;	/* EBUSY while a QP uses it */
	pthread_mutex_lock(&c->cq_lock);
	LIST_REMOVE(srq, link);
	reported = srq->async_handed;
	pthread_mutex_unlock(&c->cq_lock);
	pthread_mutex_lock(&ibsrq->mutex);
	while (ibsrq->events_completed < reported)
		pthread_cond_wait(&ibsrq->cond, &ibsrq->mutex);
	pthread_mutex_unlock(&ibsrq->mutex);
	munmap(srq->ring, srq->ring_bytes);
	close(srq->doorbell);
	pthread_mutex_destroy(&srq->lock);
	pthread_mutex_destroy(&ibsrq->mutex);
	pthread_cond_destroy(&ibsrq->cond);
	free(srq);
	return 0;
}
