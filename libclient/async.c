/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous events: the daemon writes struct rb_async_event datagrams
 * (proto/shm.h) to the socket that is the context's async_fd, so the fd
 * works with poll() and O_NONBLOCK as libibverbs documents.  A daemon that
 * goes away leaves end of file there, reported once as
 * IBV_EVENT_DEVICE_FATAL.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "libclient/client.h"

/*
 * Fill event's element from ev (under cq_lock), counting the event as
 * handed out; 1 when its object is gone, -1 for an unknown element.
 */
static int async_element(struct rbc_context *c, const struct rb_async_event *ev,
			 struct ibv_async_event *event)
{
	switch (ev->element) {
	case RB_ASYNC_DEVICE:
		event->element.port_num = 0;
		if (ev->event_type == IBV_EVENT_DEVICE_FATAL) {
			c->fatal_reported = true;
			rbc_mark_dead(c);	/* the daemon is stopping */
		}
		return 0;
	case RB_ASYNC_PORT:
		event->element.port_num = (int)ev->handle;
		return 0;
	case RB_ASYNC_CQ: {
		struct rbc_cq *p;

		LIST_FOREACH(p, &c->cqs, link)
			if (p->cq.handle == ev->handle)
				break;
		if (!p)
			return 1;
		p->async_handed++;
		event->element.cq = rbc_ibv_cq(p);
		return 0;
	}
	case RB_ASYNC_QP: {
		struct rbc_qp *p;

		LIST_FOREACH(p, &c->qps, link)
			if (p->qp.handle == ev->handle)
				break;
		if (!p)
			return 1;
		p->async_handed++;
		event->element.qp = &p->qp;
		return 0;
	}
	case RB_ASYNC_SRQ: {
		struct rbc_srq *p;

		LIST_FOREACH(p, &c->srqs, link)
			if (p->srq.handle == ev->handle)
				break;
		if (!p)
			return 1;
		p->async_handed++;
		event->element.srq = &p->srq;
		return 0;
	}
	default:
		return -1;
	}
}

RB_EXPORT int ibv_get_async_event(struct ibv_context *context,
				  struct ibv_async_event *event)
{
	struct rbc_context *c = to_rbc_context(context);
	struct rb_async_event ev;
	ssize_t n;
	int ret;

	/* An event for an object destroyed since is dropped, as uverbs does. */
	do {
		n = read(context->async_fd, &ev, sizeof(ev));
		if (n < 0)
			return -1;	/* errno: EAGAIN when O_NONBLOCK, ... */
		if (n == 0) {
			/* The daemon is gone: the device is, for this context. */
			rbc_mark_dead(c);
			pthread_mutex_lock(&c->cq_lock);
			ret = c->fatal_reported ? -1 : 0;
			c->fatal_reported = true;
			pthread_mutex_unlock(&c->cq_lock);
			if (ret) {
				errno = EIO;
				return -1;
			}
			event->event_type = IBV_EVENT_DEVICE_FATAL;
			event->element.port_num = 0;
			return 0;
		}
		if (n != (ssize_t)sizeof(ev)) {
			errno = EIO;
			return -1;
		}
		event->event_type = (enum ibv_event_type)ev.event_type;
		pthread_mutex_lock(&c->cq_lock);
		ret = async_element(c, &ev, event);
		pthread_mutex_unlock(&c->cq_lock);
	} while (ret == 1);
	if (ret)
		errno = EIO;	/* an event of a kind we do not know */
	return ret;
}

RB_EXPORT void ibv_ack_async_event(struct ibv_async_event *event)
{
	pthread_mutex_t *mutex = NULL;
	pthread_cond_t *cond = NULL;
	uint32_t *count = NULL;

	switch (event->event_type) {
	case IBV_EVENT_CQ_ERR:
		mutex = &event->element.cq->mutex;
		cond = &event->element.cq->cond;
		count = &event->element.cq->async_events_completed;
		break;
	case IBV_EVENT_QP_FATAL:
	case IBV_EVENT_QP_REQ_ERR:
	case IBV_EVENT_QP_ACCESS_ERR:
	case IBV_EVENT_COMM_EST:
	case IBV_EVENT_SQ_DRAINED:
	case IBV_EVENT_PATH_MIG:
	case IBV_EVENT_PATH_MIG_ERR:
	case IBV_EVENT_QP_LAST_WQE_REACHED:
		mutex = &event->element.qp->mutex;
		cond = &event->element.qp->cond;
		count = &event->element.qp->events_completed;
		break;
	case IBV_EVENT_SRQ_ERR:
	case IBV_EVENT_SRQ_LIMIT_REACHED:
		mutex = &event->element.srq->mutex;
		cond = &event->element.srq->cond;
		count = &event->element.srq->events_completed;
		break;
	default:
		return;		/* device and port events need no ack */
	}
	pthread_mutex_lock(mutex);
	(*count)++;
	pthread_cond_signal(cond);
	pthread_mutex_unlock(mutex);
}
