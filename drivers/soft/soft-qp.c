/* SPDX-License-Identifier: MIT */
/*
 * The soft device's QPs (soft-int.h): their numbers (per device, random
 * so that no client can guess another's), the poll set the daemon's loop
 * runs through soft_qp_progress(), going to sleep on doorbells, the RNR
 * and lost-peer timers, state changes and ERR.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "daemon/ring.h"
#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

void soft_qp_timer_add_us(struct event *ev, uint64_t us)
{
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
			      .tv_usec = (suseconds_t)(us % 1000000) };

	evtimer_add(ev, &tv);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ poll set */

void soft_qp_activate(struct soft_qp *qp)
{
	if (qp->active || res_owner_killed(&qp->qp.res))
		return;
	qp->active = true;
	qp->last_work_ns = now_ns();
	soft_sched_add(qp);
	/* Polling again: posts need no doorbell. */
	__atomic_fetch_and(&qp->qp.sq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP, __ATOMIC_RELAXED);
	__atomic_fetch_and(&qp->qp.rq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP, __ATOMIC_RELAXED);
}

void soft_qp_deactivate(struct soft_qp *qp)
{
	if (!qp->active)
		return;
	qp->active = false;
	soft_sched_remove(qp);
}

static bool qp_sq_has_work(struct soft_qp *qp)
{
	enum ibv_qp_state st = qp->qp.attr.qp_state;

	/* An XRC_RECV QP's rings are never used, whatever is written there. */
	if ((st != IBV_QPS_RTS && st != IBV_QPS_ERR) || qp->qp.type == IBV_QPT_XRC_RECV)
		return false;
	return soft_req_sq_prod(qp) != qp->sq_exec;
}

static bool qp_rq_has_work(struct soft_qp *qp)
{
	if (qp->qp.attr.qp_state == IBV_QPS_ERR && qp->claim)
		return true;
	return qp->qp.attr.qp_state == IBV_QPS_ERR && !soft_qp_srq(qp) &&
	       qp->qp.type != IBV_QPT_XRC_RECV &&
	       soft_comp_client_prod(qp->qp.rq, qp->rq_cons, qp->qp.rq_entries) != qp->rq_cons;
}

bool soft_qp_has_work(struct soft_qp *qp)
{
	return qp->xfer_off || qp->rd_count || qp_sq_has_work(qp) || qp_rq_has_work(qp);
}

/*
 * Leave the poll set: ask for doorbells, then look once more, since a
 * post may have landed before the client could see the flag (both sides
 * store, fence, then load: one of them sees the other).
 */
void soft_qp_try_sleep(struct soft_qp *qp)
{
	bool rq = qp->qp.attr.qp_state == IBV_QPS_ERR;

	if (qp->rd_count || qp->xfer_off)
		return;
	__atomic_fetch_or(&qp->qp.sq->flags, RB_RING_NEED_WAKEUP, __ATOMIC_SEQ_CST);
	if (rq)
		__atomic_fetch_or(&qp->qp.rq->flags, RB_RING_NEED_WAKEUP, __ATOMIC_SEQ_CST);
	if ((qp_sq_has_work(qp) && !qp->rnr_wait) || qp_rq_has_work(qp)) {
		__atomic_fetch_and(&qp->qp.sq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP,
				   __ATOMIC_RELAXED);
		__atomic_fetch_and(&qp->qp.rq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP,
				   __ATOMIC_RELAXED);
		return;
	}
	soft_qp_deactivate(qp);
}

/* ------------------------------------------------------------ errors */

/*
 * Move qp to ERR (an error completion, a responder error, a lost peer):
 * responses already executed land first; event, if not 0, goes to the
 * owner; the next WR to flush completes with first_status instead, if not 0.
 */
void soft_qp_to_error(struct soft_qp *qp, enum ibv_event_type event,
		      bool with_event, uint32_t first_status)
{
	if (qp->qp.attr.qp_state == IBV_QPS_ERR)
		return;
	if (qp->rd_count)
		soft_req_rd_land_all(qp, false);
	qp->qp.attr.qp_state = IBV_QPS_ERR;
	qp->qp.attr.cur_qp_state = IBV_QPS_ERR;
	qp->rnr_wait = false;
	soft_req_xfer_abort(qp);	/* a transfer cut short flushes, as on a NIC */
	evtimer_del(qp->ev_timer);
	/* Only a WR not yet executed can be the one that retried out. */
	qp->err_status = soft_req_sq_prod(qp) != qp->sq_exec ? first_status : 0;
	log_debug("QP %#" PRIx32 " (handle %#" PRIx32 ") moved to ERR by the engine",
		  qp->qp.qp_num, qp->qp.res.handle);
	if (with_event)
		qp_async_event(&qp->qp, event);
	soft_qp_activate(qp);
}

/* A QP that answers: receiving, and its client not being disconnected. */
bool soft_qp_alive(const struct soft_qp *qp)
{
	return soft_state_receives(qp->qp.attr.qp_state) && !res_owner_killed(&qp->qp.res);
}

/* ------------------------------------------------------------ QPs */

static void qp_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct soft_qp *qp = arg;

	(void)fd;
	(void)what;
	/*
	 * The wait is over when the timer says so: libevent's clock (it may
	 * be CLOCK_MONOTONIC_COARSE) can fire it before our deadline by ours,
	 * and a QP that then waited for a deadline with no timer left slept
	 * for ever.
	 */
	qp->rnr_deadline_ns = 0;
	soft_qp_activate(qp);
}

/* The peer went away a transport timeout ago: what a NIC concludes. */
static void qp_lost_cb(evutil_socket_t fd, short what, void *arg)
{
	struct soft_qp *qp = arg;

	(void)fd;
	(void)what;
	if (soft_state_receives(qp->qp.attr.qp_state))
		soft_qp_to_error(qp, IBV_EVENT_QP_FATAL, true, IBV_WC_RETRY_EXC_ERR);
}

/*
 * How long a NIC takes to give up on a silent peer: the local ACK timeout
 * (4.096 us << timeout) times retry_cnt + 1, within 50 ms .. 4 s (timeout
 * 0, "wait forever", gets the 4 s).
 */
static uint64_t qp_lost_delay_us(const struct soft_qp *qp)
{
	uint64_t us = qp->qp.attr.timeout ? (4096ull << qp->qp.attr.timeout) / 1000 : 4000000;

	us *= (uint64_t)qp->qp.attr.retry_cnt + 1;
	if (us < 50000)
		us = 50000;
	return us > 4000000 ? 4000000 : us;
}

/* ------------------------------------------------------------ numbers */

struct soft_qp *soft_qp_find(const struct rb_device *dev, uint32_t qp_num)
{
	const struct soft_dev *sd = dev->priv;
	struct rb_hnode *n = hash_first(&sd->qpns, qp_num);

	return n ? container_of(n, struct soft_qp, node) : NULL;
}

/* A fresh QP number: random, 24 bits, never 0 or 1 (QP0, QP1). */
static uint32_t qp_new_number(const struct rb_device *dev)
{
	uint32_t n;

	for (;;) {
		n = soft_keys_random32() & 0xffffff;
		if (n < 2)
			continue;
		if (!soft_qp_find(dev, n))
			return n;
	}
}

/* ------------------------------------------------------------ ops */

int soft_qp_create(struct rb_device *dev, struct rb_qp *rqp)
{
	struct soft_dev *sd = dev->priv;
	struct soft_qp *qp = soft_qp_of(rqp);

	rqp->qp_num = qp_new_number(dev);
	qp->done = calloc(rqp->sq_entries, sizeof(*qp->done));
	qp->xfer_w = malloc(SOFT_SWQE_MAX);
	qp->ev_timer = evtimer_new(dev->base, qp_timer_cb, qp);
	qp->ev_lost = evtimer_new(dev->base, qp_lost_cb, qp);
	if (!qp->done || !qp->xfer_w || !qp->ev_timer || !qp->ev_lost ||
	    hash_insert(&sd->qpns, &qp->node, rqp->qp_num) < 0) {
		free(qp->done);
		free(qp->xfer_w);
		qp->xfer_w = NULL;
		if (qp->ev_timer)
			event_free(qp->ev_timer);
		if (qp->ev_lost)
			event_free(qp->ev_lost);
		qp->done = NULL;
		qp->ev_timer = qp->ev_lost = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Forget what is in flight: RESET, or the QP going away. */
static void qp_discard(struct soft_qp *qp)
{
	soft_req_rd_discard(qp);
	qp->rnr_wait = false;
	evtimer_del(qp->ev_timer);
	evtimer_del(qp->ev_lost);
	qp->err_status = 0;
	soft_req_xfer_abort(qp);
	/* Without completions, as everything posted there. */
	soft_resp_claim_drop(qp, false);
}

void soft_qp_destroy(struct rb_qp *rqp)
{
	struct soft_qp *qp = soft_qp_of(rqp), *peer;

	if (!qp->done)
		return;		/* never created */
	roce_qp_gone(qp);	/* its state for a peer on another host */
	soft_mw_qp_gone(qp);	/* its type 2 windows lend nothing any more */
	soft_mcast_qp_gone(qp);
	/*
	 * Its RC peer: a send it posts waits (nobody answers), and after its
	 * transport timeout it goes to ERR, the first WR not executed
	 * completing IBV_WC_RETRY_EXC_ERR, as a NIC gives up on the silence
	 * (exec_lost in soft-req.c); until then the completions it has not
	 * polled yet, and its posted receives, are left alone, as on a NIC
	 * (a ping-pong that exits first must not fail its partner's last poll).
	 */
	if (qp->qp.type == IBV_QPT_RC && soft_state_receives(qp->qp.attr.qp_state)) {
		peer = soft_qp_find(qp->qp.dev, qp->qp.attr.dest_qp_num);
		if (peer && peer != qp && peer->qp.type == IBV_QPT_RC &&
		    peer->qp.attr.dest_qp_num == qp->qp.qp_num &&
		    soft_state_receives(peer->qp.attr.qp_state)) {
			soft_qp_timer_add_us(peer->ev_lost, qp_lost_delay_us(peer));
			/* No more RNR NAKs come: a send waiting on one now
			 * waits for the transport timeout like the rest. */
			if (peer->rnr_wait) {
				evtimer_del(peer->ev_timer);
				peer->rnr_deadline_ns = UINT64_MAX;
			}
		}
	}
	soft_qp_deactivate(qp);
	soft_sched_qp_gone(qp);
	qp_discard(qp);
	hash_remove(&soft_dev_of(qp)->qpns, &qp->node);
	event_free(qp->ev_timer);
	event_free(qp->ev_lost);
	free(qp->done);
	free(qp->rd);
	free(qp->xfer_w);
	qp->done = NULL;
	qp->rd = NULL;
	qp->xfer_w = NULL;
}

/* After the daemon applied a modify: what the new state means here. */
int soft_qp_modify(struct rb_qp *rqp, const struct ibv_qp_attr *attr, int mask,
		   enum ibv_qp_state from)
{
	struct soft_qp *qp = soft_qp_of(rqp);
	int ret = roce_qp_modify(qp);	/* a peer on another host */

	if (ret < 0)
		return ret;
	switch (qp->qp.attr.qp_state) {
	case IBV_QPS_RESET:
		/* What was posted is gone, without completions. */
		soft_qp_deactivate(qp);
		qp_discard(qp);
		qp->sq_cons = qp->sq_exec = __atomic_load_n(&qp->qp.sq->prod, __ATOMIC_ACQUIRE);
		qp->rq_cons = __atomic_load_n(&qp->qp.rq->prod, __ATOMIC_ACQUIRE);
		__atomic_store_n(&qp->qp.sq->cons, qp->sq_cons, __ATOMIC_RELEASE);
		__atomic_store_n(&qp->qp.rq->cons, qp->rq_cons, __ATOMIC_RELEASE);
		break;
	case IBV_QPS_ERR:
		if (from != IBV_QPS_ERR) {
			/* Asked for: responses in flight flush too. */
			qp->rnr_wait = false;
			evtimer_del(qp->ev_timer);
			if (qp->rd_count)
				soft_req_rd_land_all(qp, true);
			soft_req_xfer_abort(qp);
		}
		soft_qp_activate(qp);
		break;
	case IBV_QPS_RTS:
		soft_qp_activate(qp);
		break;
	default:
		break;
	}
	return 0;
}

/* The client rang: poll its queues again. */
void soft_qp_doorbell(struct rb_qp *qp)
{
	soft_qp_activate(soft_qp_of(qp));
}

void soft_qp_expire_timers(struct rb_qp *rqp)
{
	struct soft_qp *qp = soft_qp_of(rqp);

	if (evtimer_pending(qp->ev_timer, NULL)) {
		evtimer_del(qp->ev_timer);
		qp_timer_cb(-1, EV_TIMEOUT, qp);
	}
	if (evtimer_pending(qp->ev_lost, NULL)) {
		evtimer_del(qp->ev_lost);
		qp_lost_cb(-1, EV_TIMEOUT, qp);
	}
}
