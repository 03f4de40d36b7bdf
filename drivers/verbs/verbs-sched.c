/* SPDX-License-Identifier: MIT */
/*
 * Which client's send WQEs the verbs driver hands to the device next
 * (drivers/verbs/verbs.h, daemon/sched.h).
 *
 * The device moves the data; what the driver decides is admission: which
 * WQE leaves its client's ring for the real queue, and when.  A device
 * serves what it was given in its own order (the soft device, a NIC: its
 * QPs in turn), so shares are only ours to set while little is posted to
 * it: the bytes posted and not yet completed are held under a window
 * (VERBS_WINDOW), and room in it goes to the users by deficit round robin
 * over bytes with their weights, as on the soft engine
 * (drivers/soft/soft-sched.c).  A WQE that does not fit stays in its
 * client's ring until its turn; a user whose bucket (bandwidth,
 * message_rate) is empty leaves the round until it refills, and its QPs
 * with WQEs waiting count as held back.
 *
 * Two exceptions keep this from costing what it protects:
 *  - a user with less than VERBS_BYPASS bytes on the device may post
 *    past a full window, out of turn, within its deficit: an 8-byte
 *    ping-pong beside another user's stream waits for neither the
 *    stream's completions nor its turn;
 *  - a window that stays full with no send completing for
 *    VERBS_STALL_NS (WRs a peer never answers: an RNR retry without end)
 *    is started afresh, so one user's stuck WRs cannot stop the others.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "daemon/sched.h"
#include "drivers/verbs/verbs.h"

/*
 * Bytes on the device, posted and not completed.  The window must keep
 * the device busy from one completion to the next post (a few us here):
 * 16 MiB is two 8 MiB WRITEs, or 1.2 ms of a 13 GB/s device; shares are
 * exact to within a window over any stretch of time.
 */
#define VERBS_WINDOW		(16ull << 20)
/* The heaviest flow's quantum while others wait too (one alone: a window). */
#define VERBS_QUANTUM		(256 * 1024)
#define VERBS_QUANTUM_MIN	4096
/* A flow with less than this on the device is never held by the window. */
#define VERBS_BYPASS		(64 * 1024)
/* A full window with no send completion for this long is reset. */
#define VERBS_STALL_NS		50000000ull
/* Turns looked at, and WRs posted, in one progress() call at most. */
#define VERBS_VISITS		256
#define VERBS_PASS_WRS		256

/* glibc's sys/queue.h lacks it: a walk that may remove the element. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	     (var) && ((tvar) = TAILQ_NEXT(var, field), 1);		\
	     (var) = (tvar))
#endif

/* Why a flow's QPs stopped posting (flow_serve). */
enum flow_stop {
	STOP_EMPTY,			/* nothing waiting: it left the round */
	STOP_DEFICIT,			/* the next WR is more than its deficit */
	STOP_WINDOW,			/* the window is full */
	STOP_PASS,			/* this call posted enough */
};

static void stall_cb(evutil_socket_t fd, short what, void *arg);

void verbs_sched_init(struct verbs_dev *vd)
{
	TAILQ_INIT(&vd->round);
	LIST_INIT(&vd->flows);
	memset(&vd->flow0, 0, sizeof(vd->flow0));
	TAILQ_INIT(&vd->flow0.qps);
	vd->flow0.vd = vd;
	vd->flow0.refs = 1;		/* never freed: it is the device's */
}

void verbs_sched_fini(struct verbs_dev *vd)
{
	struct verbs_flow *f;

	if (vd->ev_stall)
		event_free(vd->ev_stall);
	vd->ev_stall = NULL;
	if (vd->flow0.ev_unpark)
		event_free(vd->flow0.ev_unpark);
	vd->flow0.ev_unpark = NULL;
	/* Every QP is gone by now, so every flow was freed with its last. */
	while ((f = LIST_FIRST(&vd->flows))) {
		LIST_REMOVE(f, all);
		if (f->ev_unpark)
			event_free(f->ev_unpark);
		free(f);
	}
}

/* ------------------------------------------------------------ flows */

static void flow_enter_round(struct verbs_flow *f)
{
	if (f->in_round || f->parked || TAILQ_EMPTY(&f->qps))
		return;
	f->in_round = true;
	f->turn = false;
	TAILQ_INSERT_TAIL(&f->vd->round, f, link);
	rb_device_wake(&f->vd->dev);
}

static void flow_leave_round(struct verbs_flow *f)
{
	if (!f->in_round)
		return;
	f->in_round = false;
	f->turn = false;
	/* A flow with nothing left banks at most a quantum: enough for a
	 * ping-pong's next message, not a hoard for later. */
	if (f->deficit > (int64_t)f->quantum)
		f->deficit = (int64_t)f->quantum;
	TAILQ_REMOVE(&f->vd->round, f, link);
}

static void flow_unpark_cb(evutil_socket_t fd, short what, void *arg)
{
	struct verbs_flow *f = arg;
	uint64_t now = sched_now_ns();
	struct verbs_qp *vq;

	(void)fd;
	(void)what;
	f->parked = false;
	TAILQ_FOREACH(vq, &f->qps, flow_link) {
		if (vq->held) {
			vq->held = false;
			sched_throttle_end(&vq->qp.res, now);
		}
	}
	flow_enter_round(f);
}

/*
 * Its tenant's bucket is empty for wait_ns: out of the round until then,
 * its QPs with WQEs waiting held back.  false if no timer could be had
 * (it is then served anyway: a cap must not stop a user for ever).
 */
static bool flow_park(struct verbs_flow *f, uint64_t wait_ns, uint64_t now)
{
	struct timeval tv = { .tv_sec = (time_t)(wait_ns / 1000000000u),
			      .tv_usec = (suseconds_t)(wait_ns % 1000000000u / 1000) };
	struct verbs_qp *vq;

	if (!f->ev_unpark)
		f->ev_unpark = evtimer_new(f->vd->base, flow_unpark_cb, f);
	if (!f->ev_unpark || evtimer_add(f->ev_unpark, &tv) < 0)
		return false;
	/* What it did not spend is kept (its turn was cut short by the
	 * cap); back in the round it starts a new turn. */
	f->in_round = false;
	TAILQ_REMOVE(&f->vd->round, f, link);
	f->parked = true;
	TAILQ_FOREACH(vq, &f->qps, flow_link) {
		if (!vq->held) {
			vq->held = true;
			sched_throttle_begin(&vq->qp.res, now);
		}
	}
	return true;
}

static struct verbs_flow *flow_of(struct verbs_qp *vq)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);
	struct rb_sched_tenant *t;
	struct verbs_flow *f;

	if (vq->flow)
		return vq->flow;
	t = sched_tenant_of(&vq->qp.res);
	if (!t) {
		f = &vd->flow0;
		goto out;
	}
	LIST_FOREACH(f, &vd->flows, all)
		if (f->tenant == t)
			goto found;
	f = calloc(1, sizeof(*f));
	if (!f) {
		f = &vd->flow0;		/* served, only not apart from others */
		goto out;
	}
	TAILQ_INIT(&f->qps);
	f->vd = vd;
	f->tenant = t;
	LIST_INSERT_HEAD(&vd->flows, f, all);
found:
	f->refs++;
out:
	vq->flow = f;
	return f;
}

static void flow_dequeue(struct verbs_qp *vq)
{
	struct verbs_flow *f = vq->flow;

	if (!vq->queued)
		return;
	vq->queued = false;
	TAILQ_REMOVE(&f->qps, vq, flow_link);
	if (vq->held) {
		vq->held = false;
		sched_throttle_end(&vq->qp.res, sched_now_ns());
	}
	if (TAILQ_EMPTY(&f->qps))
		flow_leave_round(f);
}

void verbs_sched_enqueue(struct verbs_qp *vq)
{
	struct verbs_flow *f;

	if (vq->queued || res_owner_killed(&vq->qp.res))
		return;
	f = flow_of(vq);
	vq->queued = true;
	TAILQ_INSERT_TAIL(&f->qps, vq, flow_link);
	if (f->parked) {
		vq->held = true;
		sched_throttle_begin(&vq->qp.res, sched_now_ns());
	}
	flow_enter_round(f);
}

/* ------------------------------------------------------------ the window */

static void window_take(struct verbs_flow *f, uint64_t cost)
{
	f->vd->inflight += cost;
	f->inflight += cost;
}

static void window_give(struct verbs_flow *f, uint64_t cost)
{
	struct verbs_dev *vd = f->vd;

	vd->inflight = vd->inflight > cost ? vd->inflight - cost : 0;
	f->inflight = f->inflight > cost ? f->inflight - cost : 0;
	if (vd->full_since && vd->inflight < VERBS_WINDOW) {
		/* Room again: whoever waits for it goes on. */
		vd->full_since = 0;
		rb_device_wake(&vd->dev);
	}
}

/* Everything counted so far is forgotten: what it was never completes. */
static void window_reset(struct verbs_dev *vd)
{
	struct verbs_flow *f;

	log_debug("verbs: %s: the send window stayed full (%llu bytes) for %llu ms; it starts afresh",
		  vd->dev.name, (unsigned long long)vd->inflight,
		  (unsigned long long)(VERBS_STALL_NS / 1000000));
	vd->epoch++;
	vd->inflight = 0;
	vd->flow0.inflight = 0;
	LIST_FOREACH(f, &vd->flows, all)
		f->inflight = 0;
	vd->full_since = 0;
	rb_device_wake(&vd->dev);
}

static void stall_arm(struct verbs_dev *vd, uint64_t ns)
{
	struct timeval tv = { .tv_sec = (time_t)(ns / 1000000000u),
			      .tv_usec = (suseconds_t)(ns % 1000000000u / 1000) + 1 };

	if (!vd->ev_stall)
		vd->ev_stall = evtimer_new(vd->base, stall_cb, vd);
	/* Without a timer a stuck window lasts until a completion: logged. */
	if (!vd->ev_stall || evtimer_add(vd->ev_stall, &tv) < 0)
		log_warn("verbs: %s: no timer for a full send window", vd->dev.name);
}

static void stall_cb(evutil_socket_t fd, short what, void *arg)
{
	struct verbs_dev *vd = arg;
	uint64_t now = sched_now_ns();

	(void)fd;
	(void)what;
	if (!vd->full_since)
		return;
	if (now - vd->full_since >= VERBS_STALL_NS)
		window_reset(vd);
	else
		stall_arm(vd, VERBS_STALL_NS - (now - vd->full_since));
}

/* May f post a WR of this cost now?  Taken from its deficit and the window. */
static bool flow_admit(struct verbs_flow *f, uint64_t cost)
{
	struct verbs_dev *vd = f->vd;

	if ((int64_t)cost > f->deficit)
		return false;
	if (vd->inflight >= VERBS_WINDOW && f->inflight + cost > VERBS_BYPASS) {
		vd->window_hit = true;
		return false;
	}
	f->deficit -= (int64_t)cost;
	window_take(f, cost);
	return true;
}

void verbs_sched_unadmit(struct verbs_qp *vq, uint64_t cost)
{
	/* Never posted: back to the deficit and out of the window. */
	vq->flow->deficit += (int64_t)cost;
	window_give(vq->flow, cost);
}

void verbs_sched_posted(struct verbs_qp *vq, struct verbs_swr *s, uint64_t cost,
			uint64_t bytes, uint64_t now)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);

	s->cost = (uint32_t)cost;
	s->epoch = vd->epoch;
	s->bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
	sched_charge(vq->flow->tenant, bytes, 1, now);
}

void verbs_sched_retired(struct verbs_qp *vq, struct verbs_swr *s)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);

	if (s->cost && s->epoch == vd->epoch)
		window_give(vq->flow, s->cost);
	s->cost = 0;
}

void verbs_sched_forget(struct verbs_qp *vq)
{
	if (!vq->sw)
		return;
	flow_dequeue(vq);
	/* What it had on the device completes for no one now. */
	for (uint32_t i = vq->sq_cons; i != vq->sq_take; i++)
		verbs_sched_retired(vq, &vq->sw[i & (vq->qp.sq_entries - 1)]);
}

void verbs_sched_qp_gone(struct verbs_qp *vq)
{
	struct verbs_flow *f = vq->flow;

	verbs_sched_forget(vq);
	vq->flow = NULL;
	if (!f || f == &f->vd->flow0 || --f->refs)
		return;
	/* No QP left, so none queued: it is in no round. */
	if (f->ev_unpark)
		event_free(f->ev_unpark);
	LIST_REMOVE(f, all);
	free(f);
}

/* Out of turn and past the window: verbs_sched_take_posted. */
static bool take_admit(struct verbs_flow *f, uint64_t cost)
{
	f->deficit -= (int64_t)cost;	/* paid back at its next turns */
	window_take(f, cost);
	return true;
}

void verbs_sched_take_posted(struct verbs_qp *vq, uint64_t now)
{
	struct verbs_flow *f = flow_of(vq);

	if (sched_wait(f->tenant, now))
		return;		/* held back by its cap: it flushes */
	/* Each batch moves sq_take on, and no further than the ring holds
	 * (nothing completes meanwhile): this ends. */
	while (verbs_sq_take(vq, now, take_admit) == VERBS_TAKE_BATCH)
		;
}

bool verbs_sched_alone(const struct verbs_qp *vq)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);
	const struct verbs_flow *f;

	TAILQ_FOREACH(f, &vd->round, link)
		if (f != vq->flow)
			return false;
	LIST_FOREACH(f, &vd->flows, all)
		if (f->parked)
			return false;
	return true;
}

/* ------------------------------------------------------------ progress */

static uint64_t flow_quantum(const struct verbs_flow *f, uint64_t wmax, unsigned int nflows)
{
	uint64_t q = VERBS_QUANTUM * sched_weight(f->tenant) / (wmax ? wmax : 1);

	if (nflows < 2)
		return VERBS_WINDOW;
	return q < VERBS_QUANTUM_MIN ? VERBS_QUANTUM_MIN : q;
}

/*
 * Its QPs in turn, a batch each, while one of them posted in the last
 * sweep; *posted counts the WRs (of this call).
 */
static enum flow_stop flow_serve(struct verbs_flow *f, uint64_t now, unsigned int *posted)
{
	struct verbs_dev *vd = f->vd;
	bool swept;

	do {
		unsigned int n = 0;
		struct verbs_qp *vq;

		TAILQ_FOREACH(vq, &f->qps, flow_link)
			n++;
		swept = false;
		vd->window_hit = false;
		while (n-- && (vq = TAILQ_FIRST(&f->qps))) {
			uint32_t before = vq->sq_take;
			enum verbs_take r;

			if (*posted >= VERBS_PASS_WRS)
				return STOP_PASS;
			if (res_owner_killed(&vq->qp.res)) {
				flow_dequeue(vq);
				continue;
			}
			r = verbs_sq_take(vq, now, flow_admit);
			*posted += vq->sq_take - before;
			if (r == VERBS_TAKE_EMPTY) {
				flow_dequeue(vq);
				continue;
			}
			if (r == VERBS_TAKE_BATCH)
				swept = true;
			/* The next QP's go. */
			if (TAILQ_FIRST(&f->qps) == vq) {
				TAILQ_REMOVE(&f->qps, vq, flow_link);
				TAILQ_INSERT_TAIL(&f->qps, vq, flow_link);
			}
		}
	} while (swept && f->in_round);
	if (!f->in_round)
		return STOP_EMPTY;
	return vd->window_hit ? STOP_WINDOW : STOP_DEFICIT;
}

/*
 * The flows of the round in turn from where the last call stopped, until
 * the window is full or the call did enough; then the flows with little
 * on the device, out of turn.
 */
unsigned int verbs_sched_progress(struct verbs_dev *vd, uint64_t now)
{
	struct verbs_flow *f, *next;
	uint64_t wmax = 1;
	unsigned int nflows = 0, posted = 0, visits = VERBS_VISITS;
	bool full = false;

	TAILQ_FOREACH(f, &vd->round, link) {
		if (sched_weight(f->tenant) > wmax)
			wmax = sched_weight(f->tenant);
		nflows++;
	}
	while (visits-- && (f = TAILQ_FIRST(&vd->round))) {
		uint64_t wait = sched_wait(f->tenant, now);
		enum flow_stop why;

		if (wait && flow_park(f, wait, now))
			continue;
		if (!f->turn) {
			f->turn = true;
			f->quantum = flow_quantum(f, wmax, nflows);
			f->deficit += (int64_t)f->quantum;
			vd->turn_seq++;
		}
		why = flow_serve(f, now, &posted);
		if (why == STOP_EMPTY)
			continue;
		if (why == STOP_WINDOW) {
			full = true;
			break;			/* its turn goes on when there is room */
		}
		if (why == STOP_PASS)
			break;
		/* Its turn is over; what it did not spend is kept (DRR). */
		f->turn = false;
		TAILQ_REMOVE(&vd->round, f, link);
		TAILQ_INSERT_TAIL(&vd->round, f, link);
	}
	if (!full)
		return (posted ? RB_PROGRESS_DID_WORK : 0) |
		       (TAILQ_EMPTY(&vd->round) ? 0 : RB_PROGRESS_BUSY);
	/*
	 * The head waits for room.  Light users go past the full window
	 * (flow_admit), within their caps and deficits; one that has not
	 * had its quantum since this turn began gets it now rather than
	 * after the turn, and no second one until the next turn.
	 */
	TAILQ_FOREACH_SAFE(f, &vd->round, link, next) {
		if (f == TAILQ_FIRST(&vd->round) || f->inflight >= VERBS_BYPASS ||
		    sched_wait(f->tenant, now))
			continue;
		if (!f->turn && f->early_seq != vd->turn_seq) {
			f->early_seq = vd->turn_seq;
			f->quantum = flow_quantum(f, wmax, nflows);
			f->deficit += (int64_t)f->quantum;
		}
		flow_serve(f, now, &posted);
	}
	if (!vd->full_since)
		vd->full_since = now;
	if (now - vd->full_since >= VERBS_STALL_NS) {
		window_reset(vd);
		return RB_PROGRESS_BUSY;
	}
	if (posted)
		return RB_PROGRESS_DID_WORK | RB_PROGRESS_BUSY;
	/* Nothing to do until a send completes (window_give wakes the
	 * device) or the window is found stuck. */
	stall_arm(vd, VERBS_STALL_NS - (now - vd->full_since));
	return 0;
}
