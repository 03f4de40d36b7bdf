/* SPDX-License-Identifier: MIT */
/*
 * Shared receive queues: a ring of receive WQEs the client produces into
 * (proto/shm.h), sized and limited like a QP's RQ, resized on request with
 * the WQEs not yet consumed moved over, and a limit that arms
 * IBV_EVENT_SRQ_LIMIT_REACHED once the data path consumes from it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/objects.h"
#include "daemon/res.h"
#include "proto/conv.h"
#include "daemon/ring.h"


/* A power of two >= max_wr; callers refuse what is past the device's. */
static uint32_t srq_entries(uint32_t max_wr)
{
	uint32_t n = 1;

	/* Past 2^31 n would wrap to 0 and the loop never end. */
	while (n < max_wr && n < (UINT32_C(1) << 31))
		n <<= 1;
	return n;
}

/* The client rang: the daemon drains it, the device hears it. */
static void srq_bell_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_srq *srq = arg;

	loop_drain(fd);
	srq->dev->ops.srq_doorbell(srq);
}

void srq_async_event(struct rb_srq *srq, enum ibv_event_type ev)
{
	if (session_async_event(srq->res.owner, ev, RB_ASYNC_SRQ, srq->res.handle))
		srq->events_reported++;
}

static void srq_destroy(struct rb_res *r)
{
	struct rb_srq *srq = (struct rb_srq *)r;

	srq->dev->ops.destroy_srq(srq);
	event_free(srq->ev_bell);
	close(srq->doorbell);
	ring_destroy(srq->ring, srq->ring_bytes);
	res_uncharge(r->owner, RB_LIMIT_MEMORY,
		     res_mem_bytes(sizeof(*srq), srq->dev->ops.srq_size, srq->ring_bytes));
	res_uncharge(r->owner, RB_LIMIT_SRQS, 1);
	srq->dev->nsrqs--;
	free(srq);
}

int srq_create(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep)
{
	const Rdmabroker__SrqCreateReq *q = req->srq_create;
	struct rb_device *dev = s->device;
	Rdmabroker__SrqCreateReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *pd, *xrcd = NULL, *cq = NULL;
	struct rb_srq *srq;
	uint64_t mem;
	int fd, bell, ret;

	if (!m)
		return -ENOMEM;
	pd = res_lookup(s, q->pd, RB_RES_PD, rep);
	if (!pd)
		return -EINVAL;
	/* XRC: both its domain and the CQ its completions go to. */
	if (q->has_xrcd || q->has_cq) {
		xrcd = res_lookup(s, q->xrcd, RB_RES_XRCD, rep);
		if (!xrcd)
			return -EINVAL;
		cq = res_lookup(s, q->cq, RB_RES_CQ, rep);
		if (!cq)
			return -EINVAL;
	}
	if (q->max_wr == 0 || q->max_wr > dev->max_srq_wr ||
	    q->max_sge > dev->max_srq_sge || q->srq_limit > q->max_wr) {
		reply_error(rep, "max_wr %" PRIu32 " (1..%" PRIu32 "), max_sge %" PRIu32
			    " (..%" PRIu32 ") or srq_limit %" PRIu32 " out of range",
			    q->max_wr, dev->max_srq_wr, q->max_sge, dev->max_srq_sge,
			    q->srq_limit);
		return -EINVAL;
	}
	if (dev->nsrqs >= dev->max_srq) {
		reply_error(rep, "%s has all its %" PRIu32 " SRQs in use", dev->name,
			    dev->max_srq);
		return -ENOMEM;
	}
	ret = res_charge(s, RB_LIMIT_SRQS, 1, rep);
	if (ret < 0)
		return ret;
	mem = res_mem_bytes(sizeof(*srq), dev->ops.srq_size,
			    rb_ring_bytes(srq_entries(q->max_wr),
					  rb_recv_wqe_size(q->max_sge ? q->max_sge : 1)));
	ret = res_charge(s, RB_LIMIT_MEMORY, mem, rep);
	if (ret < 0) {
		res_uncharge(s, RB_LIMIT_SRQS, 1);
		return ret;
	}
	srq = res_alloc(sizeof(*srq), dev->ops.srq_size);
	if (!srq) {
		res_uncharge(s, RB_LIMIT_MEMORY, mem);
		res_uncharge(s, RB_LIMIT_SRQS, 1);
		return -ENOMEM;
	}
	srq->max_wr = srq_entries(q->max_wr);
	srq->max_sge = q->max_sge ? q->max_sge : 1;
	srq->srq_limit = q->srq_limit;
	srq->entry_size = rb_recv_wqe_size(srq->max_sge);
	ret = ring_create(RB_RING_SRQ, srq->max_wr, rb_recv_wqe_size(srq->max_sge),
			  &srq->ring, &srq->ring_bytes, &fd);
	if (ret < 0) {
		reply_error(rep, "SRQ ring: %s", strerror(-ret));
		goto err;
	}
	/* The doorbell: ours to poll, a copy for the client to ring. */
	srq->doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	bell = srq->doorbell >= 0 ? fcntl(srq->doorbell, F_DUPFD_CLOEXEC, 0) : -1;
	if (bell < 0) {
		ret = -errno;
		reply_error(rep, "SRQ doorbell: %s", strerror(-ret));
		if (srq->doorbell >= 0)
			close(srq->doorbell);
		close(fd);
		ring_destroy(srq->ring, srq->ring_bytes);
		goto err;
	}
	srq->dev = dev;
	srq->res.type = RB_RES_SRQ;
	srq->res.deps[0] = pd;
	srq->res.deps[1] = xrcd;
	srq->res.deps[2] = cq;
	srq->xrc = xrcd != NULL;
	/* What the engine compares with an XRC_RECV QP's: the shared domain
	 * the connection's handle names (res.h). */
	srq->xrcd = (struct rb_xrcd *)res_target(xrcd);
	srq->res.destroy = srq_destroy;
	srq->ev_bell = event_new(s->d->base, srq->doorbell, EV_READ | EV_PERSIST,
				 srq_bell_cb, srq);
	ret = srq->ev_bell && event_add(srq->ev_bell, NULL) == 0 ? 0 : -ENOMEM;
	if (ret == 0) {
		ret = dev->ops.create_srq(dev, srq);
		if (ret < 0)
			reply_error(rep, "%s: create_srq: %s", dev->name, strerror(-ret));
	}
	if (ret == 0) {
		ret = res_add(s, &srq->res);
		if (ret < 0) {
			dev->ops.destroy_srq(srq);
			reply_error(rep, "this connection holds too many objects");
		}
	}
	if (ret < 0) {
		if (srq->ev_bell)
			event_free(srq->ev_bell);
		close(fd);
		close(bell);
		close(srq->doorbell);
		ring_destroy(srq->ring, srq->ring_bytes);
		goto err;
	}
	dev->nsrqs++;
	rdmabroker__srq_create_reply__init(m);
	m->handle = srq->res.handle;
	m->max_wr = srq->max_wr;
	m->max_sge = srq->max_sge;
	m->ring_bytes = srq->ring_bytes;
	if (srq->xrc) {
		m->has_srq_num = 1;
		m->srq_num = srq->srq_num;
	}
	rep->fds[rep->nfds++] = fd;
	rep->fds[rep->nfds++] = bell;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_SRQ_CREATE;
	rep->msg.srq_create = m;
	return 0;

err:
	free(srq);
	res_uncharge(s, RB_LIMIT_MEMORY, mem);
	res_uncharge(s, RB_LIMIT_SRQS, 1);
	return ret;
}

int srq_modify(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep)
{
	const Rdmabroker__SrqModifyReq *q = req->srq_modify;
	Rdmabroker__SrqModifyReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_srq *srq;
	struct rb_res *r;
	uint32_t max_wr;

	if (!m)
		return -ENOMEM;
	r = res_lookup(s, q->handle, RB_RES_SRQ, rep);
	if (!r)
		return -EINVAL;
	srq = (struct rb_srq *)r;
	if (q->attr_mask & ~(uint32_t)(IBV_SRQ_MAX_WR | IBV_SRQ_LIMIT)) {
		reply_error(rep, "unknown bits in attr_mask %#" PRIx32, q->attr_mask);
		return -EINVAL;
	}
	max_wr = (q->attr_mask & IBV_SRQ_MAX_WR) ? srq_entries(q->max_wr) : srq->max_wr;
	if ((q->attr_mask & IBV_SRQ_MAX_WR) &&
	    (q->max_wr == 0 || q->max_wr > srq->dev->max_srq_wr ||
	     max_wr < ring_pending(srq->ring, srq->cons, srq->max_wr))) {
		reply_error(rep, "max_wr %" PRIu32 " out of range (%" PRIu32 " posted, at most %"
			    PRIu32 ")", q->max_wr, ring_pending(srq->ring, srq->cons, srq->max_wr),
			    srq->dev->max_srq_wr);
		return -EINVAL;
	}
	if ((q->attr_mask & IBV_SRQ_LIMIT) && q->srq_limit > max_wr) {
		reply_error(rep, "srq_limit %" PRIu32 " is more than max_wr %" PRIu32,
			    q->srq_limit, max_wr);
		return -EINVAL;
	}
	rdmabroker__srq_modify_reply__init(m);
	if (q->attr_mask & IBV_SRQ_MAX_WR) {
		struct rb_ring *ring;
		uint32_t pending = ring_pending(srq->ring, srq->cons, srq->max_wr);
		uint32_t cons = srq->cons;
		size_t bytes;
		int fd, ret;

		uint64_t mem = res_mem_bytes(0, 0, rb_ring_bytes(max_wr, srq->entry_size));

		ret = res_charge(s, RB_LIMIT_MEMORY, mem, rep);
		if (ret < 0)
			return ret;
		ret = ring_create(RB_RING_SRQ, max_wr, srq->entry_size, &ring,
				  &bytes, &fd);
		if (ret < 0) {
			res_uncharge(s, RB_LIMIT_MEMORY, mem);
			reply_error(rep, "SRQ ring: %s", strerror(-ret));
			return ret;
		}
		/* The posted WQEs not consumed yet, oldest first. */
		for (uint32_t i = 0; i < pending; i++)
			memcpy(ring_slot(ring, max_wr, srq->entry_size, i),
			       ring_slot(srq->ring, srq->max_wr, srq->entry_size, cons + i),
			       srq->entry_size);
		__atomic_store_n(&ring->prod, pending, __ATOMIC_RELEASE);
		ring_destroy(srq->ring, srq->ring_bytes);
		res_uncharge(s, RB_LIMIT_MEMORY, res_mem_bytes(0, 0, srq->ring_bytes));
		srq->ring = ring;
		srq->ring_bytes = bytes;
		srq->max_wr = max_wr;
		srq->cons = 0;
		m->has_ring_bytes = 1;
		m->ring_bytes = bytes;
		rep->fds[rep->nfds++] = fd;
	}
	if (q->attr_mask & IBV_SRQ_LIMIT)
		srq->srq_limit = q->srq_limit;
	{
		struct ibv_srq_attr a = {
			.max_wr = q->max_wr, .srq_limit = q->srq_limit,
		};
		int ret = srq->dev->ops.modify_srq(srq, &a, (int)q->attr_mask);

		if (ret < 0) {
			reply_error(rep, "%s: modify_srq: %s", srq->dev->name,
				    strerror(-ret));
			return ret;
		}
	}
	m->max_wr = srq->max_wr;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_SRQ_MODIFY;
	rep->msg.srq_modify = m;
	return 0;
}

int srq_query(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	Rdmabroker__SrqQueryReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_srq *srq;
	struct rb_res *r;
	int ret;

	if (!m)
		return -ENOMEM;
	r = res_lookup(s, req->srq_query->handle, RB_RES_SRQ, rep);
	if (!r)
		return -EINVAL;
	srq = (struct rb_srq *)r;
	ret = srq->dev->ops.query_srq(srq);
	if (ret < 0) {
		reply_error(rep, "%s: query_srq: %s", srq->dev->name, strerror(-ret));
		return ret;
	}
	rdmabroker__srq_query_reply__init(m);
	rb_conv_srq_attr_to_pb(m, &(struct ibv_srq_attr){
		.max_wr = srq->max_wr, .max_sge = srq->max_sge,
		.srq_limit = srq->srq_limit });
	rep->msg.body_case = RDMABROKER__REPLY__BODY_SRQ_QUERY;
	rep->msg.srq_query = m;
	return 0;
}

int srq_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
		    struct rb_reply *rep)
{
	Rdmabroker__SrqDestroyReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *r;
	uint32_t reported;
	int ret;

	if (!m)
		return -ENOMEM;
	r = res_lookup(s, req->srq_destroy->handle, RB_RES_SRQ, rep);
	if (!r)
		return -EINVAL;
	reported = ((struct rb_srq *)r)->events_reported;
	ret = res_remove(r, rep);
	if (ret < 0)
		return ret;
	rdmabroker__srq_destroy_reply__init(m);
	m->events_reported = reported;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_SRQ_DESTROY;
	rep->msg.srq_destroy = m;
	return 0;
}
