/* SPDX-License-Identifier: MIT */
/*
 * The soft device's poll set, by tenant (soft-int.h, daemon/sched.h).
 *
 * QPs being polled are grouped in flows, one per tenant (user) and
 * device.  progress() serves the flows by deficit round robin over bytes:
 * a flow whose turn comes gets a quantum in proportion to its weight
 * (SOFT_QUANTUM for the heaviest busy one) and its QPs, in turn, move
 * data until it is spent; a transfer larger than what is left is cut
 * (soft-req.c goes on from where it stopped at the QP's next turn).  A
 * work request costs at least SOFT_WR_COST, so that a flood of empty
 * messages pays too.  A flow whose tenant's bucket is empty (a bandwidth
 * or message rate cap) leaves the round until it refills: a timer brings
 * it back, and nothing is polled for it meanwhile.
 *
 * One call works for about SOFT_PASS_NS (at least SOFT_PASS_BYTES, at
 * most SOFT_PASS_MAX) and returns, the round where it stopped, so that
 * the daemon's loop answers control requests and
 * doorbells between calls (daemon/loop.c): a 1 GiB WRITE holds the engine
 * no longer than any other chunk, and an 8-byte message of another user
 * waits at most for the quanta of the flows ahead of it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon/sched.h"
#include "drivers/soft/soft-int.h"

/*
 * The heaviest flow's quantum while others are polled too: at 3-10 GB/s
 * (a copy of memory out of cache, on a busy machine) a copy of this size
 * takes 2-5 us, less than an 8-byte message costs end to end, so a
 * message of another user waits about one of its own hops per busy flow
 * ahead of it.  A flow alone in the round moves up to SOFT_PASS_MAX a turn.
 */
#define SOFT_QUANTUM		(16 * 1024)
/*
 * A progress() call returns after moving about this much (10-20 us), so
 * that a control request or a doorbell waits no longer in the loop; the
 * loop's own cost per call is a clock read and, every 20 us, a
 * non-blocking epoll_wait: a few per cent of a copy this size.
 */
#define SOFT_PASS_BYTES		(64 * 1024)
/*
 * ... and goes on past it for up to SOFT_PASS_NS (a copy in cache runs at
 * 20 GB/s and more: 64 KiB then took 3 us, and the loop's cost per call
 * was a tenth of it), never past SOFT_PASS_MAX.
 */
#define SOFT_PASS_NS		15000
#define SOFT_PASS_MAX		(1024 * 1024)
/*
 * A step (one soft_req_step) moves at most SOFT_PASS_BYTES, and a QP
 * alone in the round (one flow, one QP polled) up to SOFT_SOLO_STEP: every
 * step looks the WQE's keys up again, slices its SGEs and reads the clock,
 * and a stream alone cut in 64 KiB steps spent 15-20 % of the engine
 * outside its copies (perf, rdmab-perf write_bw at 1 MiB).  256 KiB: a
 * step still lasts 5-85 us (50 down to 3 GB/s), so that a doorbell or a
 * control request that lands meanwhile does not wait much longer for it
 * than for the loop's own poll (docs/performance.md, "Steps and system
 * calls in a stream").
 */
#ifndef SOFT_SOLO_STEP	/* -D: variants measured */
#define SOFT_SOLO_STEP		(256 * 1024)
#endif
_Static_assert(SOFT_SOLO_STEP <= SOFT_PASS_MAX, "a step is never longer than its pass");

void soft_sched_init(struct soft_dev *sd)
{
	TAILQ_INIT(&sd->round);
	LIST_INIT(&sd->flows);
	memset(&sd->flow0, 0, sizeof(sd->flow0));
	TAILQ_INIT(&sd->flow0.qps);
	sd->flow0.sd = sd;
	sd->flow0.refs = 1;		/* never freed: it is the device's */
}

/* ------------------------------------------------------------ flows */

static void flow_enter_round(struct soft_flow *f)
{
	if (f->in_round || f->parked || TAILQ_EMPTY(&f->qps))
		return;
	f->in_round = true;
	f->turn = false;
	TAILQ_INSERT_TAIL(&f->sd->round, f, link);
	rb_device_wake(f->dev);
}

static void flow_leave_round(struct soft_flow *f)
{
	if (!f->in_round)
		return;
	f->in_round = false;
	f->turn = false;
	TAILQ_REMOVE(&f->sd->round, f, link);
}

static void flow_unpark_cb(evutil_socket_t fd, short what, void *arg)
{
	struct soft_flow *f = arg;
	uint64_t now = sched_now_ns();
	struct soft_qp *qp;

	(void)fd;
	(void)what;
	f->parked = false;
	TAILQ_FOREACH(qp, &f->qps, active_link) {
		if (qp->held) {
			qp->held = false;
			sched_throttle_end(&qp->qp.res, now);
		}
	}
	flow_enter_round(f);
}

/*
 * Its tenant's bucket is empty for wait_ns: out of the round until then,
 * and its QPs with work count as held back.  false if no timer could be
 * had (it is then served anyway: a cap must not stop a user for ever).
 */
static bool flow_park(struct soft_flow *f, uint64_t wait_ns, uint64_t now)
{
	struct timeval tv = { .tv_sec = (time_t)(wait_ns / 1000000000u),
			      .tv_usec = (suseconds_t)(wait_ns % 1000000000u / 1000) };
	struct soft_qp *qp;

	if (!f->ev_unpark)
		f->ev_unpark = evtimer_new(f->dev->base, flow_unpark_cb, f);
	if (!f->ev_unpark || evtimer_add(f->ev_unpark, &tv) < 0)
		return false;
	flow_leave_round(f);
	f->parked = true;
	TAILQ_FOREACH(qp, &f->qps, active_link) {
		if (!qp->held && soft_qp_has_work(qp)) {
			qp->held = true;
			sched_throttle_begin(&qp->qp.res, now);
		}
	}
	return true;
}

struct soft_flow *soft_sched_flow_of(struct soft_qp *qp)
{
	struct soft_dev *sd = soft_dev_of(qp);
	struct rb_sched_tenant *t;
	struct soft_flow *f;

	if (qp->flow)
		return qp->flow;
	t = sched_tenant_of(&qp->qp.res);
	if (!t) {
		f = &sd->flow0;
		goto out;
	}
	LIST_FOREACH(f, &sd->flows, all)
		if (f->tenant == t)
			goto found;
	f = calloc(1, sizeof(*f));
	if (!f) {
		f = &sd->flow0;		/* served, only not apart from others */
		goto out;
	}
	TAILQ_INIT(&f->qps);
	f->sd = sd;
	f->tenant = t;
	LIST_INSERT_HEAD(&sd->flows, f, all);
found:
	f->refs++;
out:
	f->dev = qp->qp.dev;
	qp->flow = f;
	return f;
}

void soft_sched_add(struct soft_qp *qp)
{
	struct soft_flow *f = soft_sched_flow_of(qp);

	TAILQ_INSERT_TAIL(&f->qps, qp, active_link);
	flow_enter_round(f);
}

void soft_sched_remove(struct soft_qp *qp)
{
	struct soft_flow *f = qp->flow;

	TAILQ_REMOVE(&f->qps, qp, active_link);
	if (qp->held) {
		qp->held = false;
		sched_throttle_end(&qp->qp.res, sched_now_ns());
	}
	if (TAILQ_EMPTY(&f->qps))
		flow_leave_round(f);
}

void soft_sched_qp_gone(struct soft_qp *qp)
{
	struct soft_flow *f = qp->flow;

	qp->flow = NULL;
	if (!f || f == &f->sd->flow0 || --f->refs)
		return;
	/* No QP left, so none polled: it is in no round. */
	if (f->ev_unpark)
		event_free(f->ev_unpark);
	LIST_REMOVE(f, all);
	free(f);
}

/* ------------------------------------------------------------ progress */

static uint64_t flow_quantum(const struct soft_flow *f, uint64_t wmax, unsigned int nflows)
{
	uint64_t q = SOFT_QUANTUM * sched_weight(f->tenant) / (wmax ? wmax : 1);

	if (nflows < 2)
		return SOFT_PASS_MAX;

	return q < SOFT_CHUNK_MIN ? SOFT_CHUNK_MIN : q;
}

/* The call began at t0 and moved spent: time to let the loop run. */
static bool pass_over(uint64_t spent, uint64_t t0)
{
	return spent >= SOFT_PASS_MAX ||
	       (spent >= SOFT_PASS_BYTES && sched_now_ns() - t0 >= SOFT_PASS_NS);
}

/*
 * One step of qp, a flow's, with a budget of give bytes: what it moved is
 * charged to the flow's deficit and to its tenant's bucket (*turn).
 */
static bool flow_step(struct soft_flow *f, struct soft_qp *qp, int64_t give, uint64_t now,
		      struct soft_turn *turn)
{
	bool did;

	*turn = (struct soft_turn){ .budget = give };
	did = soft_req_step(qp, turn);
	f->deficit -= give - turn->budget;
	if (turn->bytes || turn->wrs)
		sched_charge(f->tenant, turn->bytes, turn->wrs, now);
	return did;
}

/*
 * Its QPs in turn, while its deficit lasts and one of them did something
 * in the last sweep; what was moved is added to *spent.  *any: some QP
 * did something; returns whether the last sweep did (it may have more).
 * solo: f is the only flow of the round; a QP alone in it then moves up
 * to SOFT_SOLO_STEP a step.
 */
static bool flow_serve(struct soft_flow *f, bool solo, uint64_t now, uint64_t idle_ns,
		       uint64_t *spent, bool *any)
{
	bool swept;

	do {
		/* A step may append QPs (a peer put in ERR): one sweep is
		 * over the QPs there were when it began. */
		unsigned int n = 0;
		struct soft_qp *qp;
		int64_t step;

		TAILQ_FOREACH(qp, &f->qps, active_link)
			n++;
		step = n == 1 && solo ? SOFT_SOLO_STEP : SOFT_PASS_BYTES;
		swept = false;
		while (n-- && f->deficit > 0 && !pass_over(*spent, now) &&
		       (qp = TAILQ_FIRST(&f->qps))) {
			/* A copy is never longer than the pass it is part
			 * of (SOFT_SOLO_STEP <= SOFT_PASS_MAX, asserted). */
			int64_t give = f->deficit < step ? f->deficit : step;
			struct soft_turn turn;
			bool did = flow_step(f, qp, give, now, &turn);

			*spent += (uint64_t)turn.bytes + turn.wrs * SOFT_WR_COST;
			if (did) {
				qp->last_work_ns = now;
				swept = *any = true;
			} else if (now - qp->last_work_ns >= idle_ns) {
				soft_qp_try_sleep(qp);
			}
			/* Still polled and still first: the next one's go. */
			if (qp->active && TAILQ_FIRST(&f->qps) == qp && qp->flow == f) {
				TAILQ_REMOVE(&f->qps, qp, active_link);
				TAILQ_INSERT_TAIL(&f->qps, qp, active_link);
			}
		}
	} while (swept && f->deficit > 0 && !pass_over(*spent, now));
	return swept;
}

/*
 * Whether no QP of the round has anything to do (soft_req_idle; an owner
 * gone counts as something: the step deactivates its QPs).  Between two
 * messages nearly every pass is such a pass, and a message posted during
 * one waits for it to end: the round robin's bookkeeping below (about 120
 * instructions a QP) is then skipped, and each QP costs one load of its
 * producer index (docs/performance.md, "Cache lines and instructions
 * per message").
 */
static bool round_idle(const struct soft_dev *sd)
{
	const struct soft_flow *f;
	const struct soft_qp *qp;

	TAILQ_FOREACH(f, &sd->round, link)
		TAILQ_FOREACH(qp, &f->qps, active_link)
			if (res_owner_killed(&qp->qp.res) || !soft_req_idle(qp))
				return false;
	return true;
}

/* An idle round: the QPs idle for idle_ns leave the poll set, as in
 * flow_serve (soft_qp_try_sleep unlinks the QP, and its flow once empty:
 * the next ones are taken first). */
static void round_sleep_idle(struct soft_dev *sd, uint64_t now, uint64_t idle_ns)
{
	struct soft_flow *f, *fnext;
	struct soft_qp *qp, *qnext;

	for (f = TAILQ_FIRST(&sd->round); f; f = fnext) {
		fnext = TAILQ_NEXT(f, link);
		for (qp = TAILQ_FIRST(&f->qps); qp; qp = qnext) {
			qnext = TAILQ_NEXT(qp, active_link);
			if (now - qp->last_work_ns >= idle_ns)
				soft_qp_try_sleep(qp);
		}
	}
}

/*
 * One call: the flows of the round in turn from where the last call
 * stopped, until each had its go or the pass is over (pass_over).
 */
unsigned int soft_sched_progress(struct rb_device *dev, uint64_t now_ns, uint64_t idle_ns)
{
	struct soft_dev *sd = dev->priv;
	struct soft_flow *f;
	uint64_t spent = 0, wmax = 1;
	unsigned int n = 0, nflows;
	bool any = false;

	sd->now = now_ns;
	if (round_idle(sd)) {
		round_sleep_idle(sd, now_ns, idle_ns);
		return TAILQ_EMPTY(&sd->round) ? 0 : RB_PROGRESS_BUSY;
	}
	TAILQ_FOREACH(f, &sd->round, link) {
		if (sched_weight(f->tenant) > wmax)
			wmax = sched_weight(f->tenant);
		n++;
	}
	nflows = n;
	while (n-- && !pass_over(spent, now_ns) && (f = TAILQ_FIRST(&sd->round))) {
		uint64_t wait = sched_wait(f->tenant, now_ns);
		bool more;

		if (wait && flow_park(f, wait, now_ns))
			continue;
		if (!f->turn) {
			f->turn = true;
			f->deficit += (int64_t)flow_quantum(f, wmax, nflows);
		}
		more = flow_serve(f, nflows == 1, now_ns, idle_ns, &spent, &any);
		if (!f->in_round)
			continue;		/* its QPs all went to sleep */
		if (more && f->deficit > 0)
			break;			/* the pass is over, not its turn */
		/* Its turn is over: a flow with nothing left banks nothing. */
		if (!more && f->deficit > 0)
			f->deficit = 0;
		f->turn = false;
		if (TAILQ_FIRST(&sd->round) == f) {
			TAILQ_REMOVE(&sd->round, f, link);
			TAILQ_INSERT_TAIL(&sd->round, f, link);
		}
	}
	return (any ? RB_PROGRESS_DID_WORK : 0) |
	       (TAILQ_EMPTY(&sd->round) ? 0 : RB_PROGRESS_BUSY);
}

/*
 * Before a modify from RTS to ERR a holder asked for: one step of what
 * qp has posted.  Without it, a SEND posted just before rdma_disconnect
 * was flushed whenever the daemon read its doorbell and the request in
 * one poll of libevent (both are dispatched before the engine's next
 * pass), where a NIC would have sent it
 * (docs/cm.md, "libfabric's rxm at teardown").  Within the tenant's cap
 * and charged as any step (flow_step): to the tenant and to the flow's
 * deficit, which its next turns pay back (a flow out of the round keeps
 * its deficit, and a turn adds its quantum to it), so that a flow that
 * turns its QPs to ERR one after another gets no more of the round than
 * one that does not; SOFT_PASS_BYTES at most, and nothing if a
 * transfer is in progress or responses are in flight: those the modify
 * cuts short and flushes, as before.
 */
void soft_sched_take_posted(struct rb_qp *rqp)
{
	struct soft_qp *qp = soft_qp_of(rqp);
	struct soft_turn turn;
	uint64_t now = sched_now_ns();
	struct soft_flow *f;

	if (qp->qp.attr.qp_state != IBV_QPS_RTS || qp->qp.type == IBV_QPT_XRC_RECV ||
	    qp->xfer_off || qp->rd_count || soft_req_idle(qp) ||
	    res_owner_killed(&qp->qp.res))
		return;
	f = soft_sched_flow_of(qp);
	if (sched_wait(f->tenant, now))
		return;		/* held back by its cap: it flushes */
	soft_dev_of(qp)->now = now;
	(void)flow_step(f, qp, SOFT_PASS_BYTES, now, &turn);
}
