/* SPDX-License-Identifier: MIT */
/*
 * The verbs driver's data path (drivers/verbs/verbs.h).
 *
 * A client posts into the same shared rings as on the soft device.  Each
 * pass of progress() takes the new WQEs of every active QP and SRQ, copies
 * each out of its ring before looking at it, checks it as the soft engine
 * does (opcode for the QP type, SGE count, inline length, and every SGE
 * against the client's own MRs: its lkey, the QP's PD, the bounds in the
 * MR's IOVA space, local write access where the device writes), and posts
 * it to the real queue with the real keys the client already holds.  A
 * WQE that fails a check never reaches the device: it completes with the
 * status a NIC gives (IBV_WC_LOC_PROT_ERR, ...) once everything posted
 * before it has completed, and the real QP goes to ERR so what follows
 * flushes, as on a NIC.
 *
 * The real wr_id of a WR names its queue and slot (kind, QP generation,
 * index); the client's wr_id stays here.  A send completion frees every
 * SQ slot up to its own (unsignaled WRs before it are done), a receive
 * completion its RQ slot, in order; SRQ slots come back in any order.
 *
 * Real CQs are either hot (polled each pass) or armed on the device's
 * completion channel; a CQ that had nothing for the idle budget is armed
 * and looked at once more, so no completion waits for an event that was
 * raised before the arm.
 *
 * Receive WQEs go to the device as soon as they are seen.  Send WQEs go
 * when verbs-sched.c says (users in turn, by bytes, within their caps):
 * a QP with send WQEs waiting is handed to its user's flow, and the flow
 * calls verbs_sq_take().  A send WR's bytes and WR go to its client's
 * counters (rdmactl stat) when it completes, as on the soft device;
 * receives and completions are counted where they are written (cq_push).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "daemon/ring.h"
#include "drivers/verbs/verbs.h"

/* The largest WQE slots the daemon makes (32 SGEs or 512 inline bytes). */
#define VERBS_MAX_SGE		32
#define SWQE_MAX		(sizeof(struct rb_send_wqe) + VERBS_MAX_SGE * sizeof(struct rb_sge))
#define RWQE_MAX		(sizeof(struct rb_recv_wqe) + VERBS_MAX_SGE * sizeof(struct rb_sge))
/*
 * A client's unsignaled send WRs complete on the device without a word,
 * and the scheduler's window (verbs-sched.c) frees bytes only at
 * completions: the driver signals one of them on the device itself
 * (its completion is not the client's) at the end of a batch or every
 * SIGNAL_BYTES, with at most one of its own in flight per QP, so the
 * real CQ holds at most one entry more per QP than the client asked for.
 */
#define SIGNAL_BYTES		(1024 * 1024)
/*
 * A client that gets a message often answers at once (a ping-pong, an
 * RPC).  After writing a receive completion the daemon keeps its core for
 * up to REPLY_SPIN_NS, so the answer is taken as soon as it is posted:
 * yielding instead handed the core to whichever client shares it, which
 * spins on its own empty CQ for ~5 us before yielding back (the library's
 * rule), and that was paid on every hop of a nested ping-pong.  But when
 * the client that answers shares the daemon's core, keeping it only
 * delays the answer: whether it pays is learnt per QP (proto/spin.h,
 * the time from the completion to the QP's next send WQE either way).
 * The core is given back as soon as something goes to the device, whose
 * engine may need it.  Sleeping for the answer instead (doorbells, CQs
 * armed) was measured and not kept: a wake-up from another core costs
 * 10-30 us on a virtual machine, more than the hand-off it saves
 * (docs/verbs-driver.md, "Latency, measured 2026-12-04").
 */
#define REPLY_SPIN_NS		5000
/*
 * A batch of sends this large keeps the device busy for a while (10 us or
 * more at 25 GB/s): its completion is far, so the daemon does not poll
 * for it.  Its QP asks for doorbells and its send CQ is armed as soon as
 * a pass finds nothing, and the daemon sleeps until the completion
 * channel or a doorbell wakes it.  Polling instead (for the idle budget,
 * spin_us, after every completion) kept a third process runnable beside
 * the client and the device's engine: on two cores it napped or yielded
 * ~2,000 times in a 4 GB stream of 1 MiB WRITEs, each wake-up preempting
 * the engine that moves the bytes (docs/verbs-driver.md, "Bandwidth").
 * A smaller batch (a ping-pong, an RPC) is polled for as before, and so
 * is any batch while another user's sends wait or a user is held by a
 * cap (verbs_sched_alone): their turns come at completions and timers,
 * and a daemon woken late on a loaded machine served a capped user 2-6 %
 * under its cap in tests/integration/verbs-sched.sh.
 */
#define VERBS_BULK_BYTES	(256 * 1024)
/* WQEs taken from one ring per pass, and completions polled per call. */
#define TAKE_BATCH		32
#define POLL_BATCH		16

/* glibc's sys/queue.h lacks it: a walk that may remove the element. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	     (var) && ((tvar) = TAILQ_NEXT(var, field), 1);		\
	     (var) = (tvar))
#endif

/* Real wr_id: kind in the top byte, the QP's generation, the index. */
enum { WR_SEND = 1, WR_RECV = 2, WR_SRQ = 3 };

static uint64_t wr_make(unsigned int kind, uint16_t gen, uint32_t index)
{
	return ((uint64_t)kind << 56) | ((uint64_t)gen << 32) | index;
}

uint64_t verbs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ poll sets */

/*
 * Ask the client for doorbells on both rings of the QP (nothing polls
 * them), or stop asking (polling again: posts need no doorbell).
 */
static void qp_doorbells(struct verbs_qp *vq, bool want)
{
	if (want) {
		__atomic_fetch_or(&vq->qp.sq->flags, RB_RING_NEED_WAKEUP, __ATOMIC_SEQ_CST);
		__atomic_fetch_or(&vq->qp.rq->flags, RB_RING_NEED_WAKEUP, __ATOMIC_SEQ_CST);
	} else {
		__atomic_fetch_and(&vq->qp.sq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP,
				   __ATOMIC_RELAXED);
		__atomic_fetch_and(&vq->qp.rq->flags, ~(uint32_t)RB_RING_NEED_WAKEUP,
				   __ATOMIC_RELAXED);
	}
}

void verbs_qp_activate(struct verbs_qp *vq, uint64_t now)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);

	vq->last_ns = now;
	if (vq->active || res_owner_killed(&vq->qp.res))
		return;
	vq->active = true;
	TAILQ_INSERT_TAIL(&vd->active, vq, link);
	qp_doorbells(vq, false);
	rb_device_wake(vq->qp.dev);
}

void verbs_qp_deactivate(struct verbs_qp *vq)
{
	if (!vq->active)
		return;
	vq->active = false;
	TAILQ_REMOVE(&verbs_dev(vq->qp.dev)->active, vq, link);
}

void verbs_srq_activate(struct verbs_srq *vs, uint64_t now)
{
	struct verbs_dev *vd = verbs_dev(vs->srq.dev);

	vs->last_ns = now;
	if (vs->active || res_owner_killed(&vs->srq.res))
		return;
	vs->active = true;
	TAILQ_INSERT_TAIL(&vd->active_srqs, vs, link);
	__atomic_fetch_and(&vs->srq.ring->flags, ~(uint32_t)RB_RING_NEED_WAKEUP, __ATOMIC_RELAXED);
	rb_device_wake(vs->srq.dev);
}

void verbs_srq_deactivate(struct verbs_srq *vs)
{
	if (!vs->active)
		return;
	vs->active = false;
	TAILQ_REMOVE(&verbs_dev(vs->srq.dev)->active_srqs, vs, link);
}

/* Poll this CQ each pass (it has, or soon will have, completions). */
void verbs_cq_heat(struct verbs_cq *vc, uint64_t now)
{
	struct verbs_dev *vd = verbs_dev(vc->cq.dev);

	vc->last_ns = now;
	if (vc->hot)
		return;
	vc->hot = true;
	TAILQ_INSERT_TAIL(&vd->hot, vc, hot_link);
	rb_device_wake(vc->cq.dev);
}

void verbs_cq_cool(struct verbs_cq *vc)
{
	if (!vc->hot)
		return;
	vc->hot = false;
	TAILQ_REMOVE(&verbs_dev(vc->cq.dev)->hot, vc, hot_link);
}

/* ------------------------------------------------------------ completions */

static void cqe_from_wc(struct rb_cqe *e, const struct ibv_wc *wc, uint64_t wr_id,
			uint32_t opcode)
{
	memset(e, 0, sizeof(*e));
	e->wr_id = wr_id;
	e->status = wc->status;
	/* The opcode of an error completion is undefined: ours. */
	e->opcode = wc->status == IBV_WC_SUCCESS ? wc->opcode : opcode;
	e->vendor_err = wc->vendor_err;
	e->byte_len = wc->byte_len;
	e->imm_data = wc->imm_data;
	e->qp_num = wc->qp_num;
	e->src_qp = wc->src_qp;
	e->wc_flags = wc->wc_flags;
	e->pkey_index = wc->pkey_index;
	e->slid = wc->slid;
	e->sl = wc->sl;
	e->dlid_path_bits = wc->dlid_path_bits;
}

/* A receive completion went to vq's client: wait for its answer. */
static void reply_expect(struct verbs_qp *vq)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);
	uint64_t now = verbs_now_ns();

	vq->reply_t0 = now;
	vq->reply_polled = rb_spin_choose(&vq->reply_spin, REPLY_SPIN_NS);
	if (vq->reply_polled) {
		vd->reply_until = now + REPLY_SPIN_NS;
		vd->reply_qp = vq;
	}
}

/* vq's client posted (its answer, if it was waited for). */
static void reply_seen(struct verbs_qp *vq, uint64_t now)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);

	if (vq->reply_t0) {
		rb_spin_record(&vq->reply_spin, vq->reply_polled,
			       now > vq->reply_t0 ? now - vq->reply_t0 : 0, 4 * REPLY_SPIN_NS);
		vq->reply_t0 = 0;
	}
	/* Something goes to the device: its engine may need this core. */
	vd->reply_until = 0;
	vd->reply_qp = NULL;
}

/* No answer while the core was kept: that wait counts as the longest. */
static void reply_expired(struct verbs_dev *vd)
{
	struct verbs_qp *vq = vd->reply_qp;

	vd->reply_until = 0;
	vd->reply_qp = NULL;
	if (vq && vq->reply_t0 && vq->reply_polled) {
		rb_spin_record(&vq->reply_spin, true, 4 * REPLY_SPIN_NS, 4 * REPLY_SPIN_NS);
		vq->reply_t0 = 0;
	}
}

void verbs_reply_forget(struct verbs_qp *vq)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);

	vq->reply_t0 = 0;
	if (vd->reply_qp == vq) {
		vd->reply_until = 0;
		vd->reply_qp = NULL;
	}
}

/* A completion the driver makes itself: a WQE it refused. */
static void push_own(struct rb_cq *cq, uint64_t wr_id, uint32_t status,
		     uint32_t opcode, uint32_t qp_num)
{
	struct rb_cqe e;

	memset(&e, 0, sizeof(e));
	e.wr_id = wr_id;
	e.status = status;
	e.opcode = opcode;
	e.qp_num = qp_num;
	cq_push(cq, &e, true);
}

static struct rb_cq *qp_send_cq(struct verbs_qp *vq)
{
	return (struct rb_cq *)vq->qp.res.deps[1];
}

static struct rb_cq *qp_recv_cq(struct verbs_qp *vq)
{
	return (struct rb_cq *)vq->qp.res.deps[2];
}

static struct verbs_srq *qp_srq(struct verbs_qp *vq)
{
	return (struct verbs_srq *)vq->qp.res.deps[3];
}

static void sq_publish(struct verbs_qp *vq)
{
	/* Release: the slots up to cons were copied out; the client may
	 * write them again. */
	__atomic_store_n(&vq->qp.sq->cons, vq->sq_cons, __ATOMIC_RELEASE);
}

static void rq_publish(struct verbs_qp *vq)
{
	/* Release: as sq_publish. */
	__atomic_store_n(&vq->qp.rq->cons, vq->rq_cons, __ATOMIC_RELEASE);
}

/* A refused WQE whose turn has come: its completion, then the rest flush. */
static void sq_err_complete(struct verbs_qp *vq)
{
	struct verbs_swr *s;
	uint64_t wr_id;
	uint32_t opcode;

	if (!vq->sq_err || vq->sq_cons != vq->sq_err_at)
		return;
	s = &vq->sw[vq->sq_cons & (vq->qp.sq_entries - 1)];
	wr_id = s->wr_id;
	opcode = s->wc_opcode;
	/* The slot is free before the completion shows (complete_send). */
	vq->sq_cons++;
	vq->sq_err = false;
	sq_publish(vq);
	push_own(qp_send_cq(vq), wr_id, vq->sq_err_status, opcode, vq->qp.qp_num);
}

static void rq_err_complete(struct verbs_qp *vq)
{
	uint64_t wr_id;

	if (!vq->rq_err || vq->rq_cons != vq->rq_err_at)
		return;
	wr_id = vq->rw[vq->rq_cons & (vq->qp.rq_entries - 1)];

	vq->rq_cons++;
	vq->rq_err = false;
	rq_publish(vq);
	push_own(qp_recv_cq(vq), wr_id, vq->rq_err_status, IBV_WC_RECV, vq->qp.qp_num);
}

static void complete_send(struct verbs_qp *vq, const struct ibv_wc *wc, uint32_t idx)
{
	struct verbs_swr *s = &vq->sw[idx & (vq->qp.sq_entries - 1)];
	bool push = s->signaled || wc->status != IBV_WC_SUCCESS;
	struct rb_cqe e;

	/* Only what was taken and not yet completed. */
	if (idx - vq->sq_cons >= vq->sq_take - vq->sq_cons)
		return;
	if (s->extra) {
		s->extra = false;
		vq->extra_out = false;
	}
	/*
	 * The last WR signaled on the device: those posted after it will
	 * complete without a word (the client signals none of them, and one
	 * of ours was in flight when they went).  On an RC or UC QP they
	 * are on their way; they leave the window now, so it does not wait
	 * for them until it is found stuck.
	 */
	if (idx + 1 == vq->sig_end)
		for (uint32_t i = idx + 1; i != vq->sq_take; i++)
			verbs_sched_retired(vq, &vq->sw[i & (vq->qp.sq_entries - 1)]);
	if (push)
		cqe_from_wc(&e, wc, s->wr_id, s->wc_opcode);
	/* The unsignaled WRs before it are done too, and went well (a WR
	 * that fails completes, signaled or not). */
	for (uint32_t i = vq->sq_cons; i != idx + 1; i++) {
		struct verbs_swr *d = &vq->sw[i & (vq->qp.sq_entries - 1)];

		rb_stat_wr_sent(&vq->qp.res, d->bytes, i == idx ? (int)wc->status : IBV_WC_SUCCESS);
		verbs_sched_retired(vq, d);
	}
	/*
	 * The slot is free before its completion shows: a client that posts
	 * again as soon as it polls the completion finds room, as on the
	 * soft device.
	 */
	vq->sq_cons = idx + 1;
	sq_publish(vq);
	if (push)
		cq_push(qp_send_cq(vq), &e, false);
	if (wc->status != IBV_WC_SUCCESS && vq->qp.attr.qp_state != IBV_QPS_RESET)
		vq->qp.attr.qp_state = vq->qp.attr.cur_qp_state = IBV_QPS_ERR;
	sq_err_complete(vq);
}

static void complete_recv(struct verbs_qp *vq, const struct ibv_wc *wc, uint32_t idx)
{
	struct rb_cqe e;

	if (idx != vq->rq_cons || vq->rq_take == vq->rq_cons)
		return;
	cqe_from_wc(&e, wc, vq->rw[idx & (vq->qp.rq_entries - 1)], IBV_WC_RECV);
	/* The slot is free before the completion shows (complete_send). */
	vq->rq_cons++;
	rq_publish(vq);
	/* ibv_wc does not say whether the sender asked for a solicited
	 * event: every receive counts as one (an armed-for-solicited CQ may
	 * see an event early, never late). */
	cq_push(qp_recv_cq(vq), &e, true);
	if (e.status == IBV_WC_SUCCESS)
		reply_expect(vq);
	rq_err_complete(vq);
}

static void complete_srq(struct verbs_qp *vq, const struct ibv_wc *wc, uint32_t slot)
{
	struct verbs_srq *vs = qp_srq(vq);
	struct rb_cqe e;

	if (!vs || slot >= vs->nslots || vs->slot_wr[slot] == UINT64_MAX)
		return;
	cqe_from_wc(&e, wc, vs->slot_wr[slot], IBV_WC_RECV);
	vs->slot_wr[slot] = UINT64_MAX;
	vs->free[vs->nfree++] = slot;
	cq_push(qp_recv_cq(vq), &e, true);
	if (e.status == IBV_WC_SUCCESS)
		reply_expect(vq);
	/* A slot came back: WQEs left in the ring may go now. */
	if (__atomic_load_n(&vs->srq.ring->prod, __ATOMIC_ACQUIRE) != vs->take)
		verbs_srq_activate(vs, verbs_now_ns());
}

static void complete_one(struct verbs_dev *vd, const struct ibv_wc *wc)
{
	struct verbs_qp *vq = verbs_qp_find(vd, wc->qp_num);
	unsigned int kind = (unsigned int)(wc->wr_id >> 56);
	uint16_t gen = (uint16_t)(wc->wr_id >> 32);
	uint32_t idx = (uint32_t)wc->wr_id;

	/* A QP gone, or reset since: nobody waits for it. */
	if (!vq || res_owner_killed(&vq->qp.res))
		return;
	if (kind == WR_SRQ) {
		complete_srq(vq, wc, idx);
		return;
	}
	if (gen != vq->gen)
		return;
	if (kind == WR_SEND)
		complete_send(vq, wc, idx);
	else if (kind == WR_RECV)
		complete_recv(vq, wc, idx);
}

int (*verbs_engine_cpu)(struct ibv_cq *cq);

/*
 * Nested over another rdmabrokerd on this machine, the device is that
 * daemon's engine, a process that moves the bytes on one of our CPUs.
 * This daemon keeps off the core that engine last ran on (its library
 * says which, verbs_engine_cpu): its affinity becomes the mask it had
 * without that core, for as long as the engine stays there.  Left to the
 * scheduler, the daemon woke (completion channel, doorbells) on the
 * engine's core, the waker's, while a client spun on the other: the two
 * daemons shared one core, and in a stream of 1 MiB WRITEs the engine
 * waited runnable a third as long as it ran.  Kept off, the engine has a
 * core to itself: 1 MiB WRITEs through both daemons went from 0.65-0.88
 * of the outer daemon's bandwidth alone (median 0.74) to 0.76-1.09
 * (median 0.89) on 2 vCPUs (docs/verbs-driver.md, "Bandwidth and
 * placement").  Looked at every KEEP_LOOK_NS at most, when completions
 * come.  A mask set by someone else meanwhile (taskset -p, a cpuset) is
 * the one kept from then on; a mask of one core, or an engine on a core
 * outside it, keeps nothing off; a device that dies gives the mask back
 * (verbs_keep_release).  A NIC's libibverbs has no such function.
 */
#define KEEP_LOOK_NS		1000000ull

static struct {
	uint64_t looked;
	int off;		/* the CPU kept off, -1: none */
	cpu_set_t mask;		/* the mask before, with it */
} keep = { .off = -1 };

/* Keep off CPU e (-1: none), cur being the mask now. */
static void keep_set(int e, const cpu_set_t *cur)
{
	cpu_set_t base = *cur, away;

	if (keep.off >= 0) {
		away = keep.mask;
		CPU_CLR(keep.off, &away);
		if (CPU_EQUAL(&away, cur))	/* ours: from the mask before */
			base = keep.mask;
	}
	away = base;
	if (e >= 0 && CPU_ISSET(e, &base) && CPU_COUNT(&base) >= 2)
		CPU_CLR(e, &away);
	if (!CPU_EQUAL(&away, cur) && rb_daemon_set_cpu_mask(&away) < 0) {
		log_debug("[verbs] affinity not set: %s", strerror(errno));
		return;
	}
	if (!CPU_EQUAL(&away, &base)) {
		keep.mask = base;
		keep.off = e;
		log_debug("[verbs] keeps off CPU %d, where the device's engine runs", e);
		return;
	}
	if (keep.off >= 0 && !CPU_EQUAL(&away, cur))
		log_debug("[verbs] may run on every CPU of its mask again");
	keep.off = -1;
}

static void keep_off_engine(struct verbs_cq *vc)
{
	uint64_t now = verbs_now_ns();
	cpu_set_t cur;
	int e;

	if (!verbs_engine_cpu || now - keep.looked < KEEP_LOOK_NS)
		return;
	keep.looked = now;
	e = verbs_engine_cpu(vc->real);
	if (e < 0 || e == keep.off)
		return;
	rb_daemon_cpu_mask(&cur);	/* not a core the loop holds */
	if (CPU_COUNT(&cur))
		keep_set(e, &cur);
}

void verbs_keep_release(void)
{
	cpu_set_t cur;

	if (keep.off < 0)
		return;
	rb_daemon_cpu_mask(&cur);
	keep_set(-1, &cur);
}

/* Poll one real CQ dry (bounded); true if anything came. */
static bool cq_poll(struct verbs_dev *vd, struct verbs_cq *vc)
{
	struct ibv_wc wc[POLL_BATCH];
	bool got = false;
	int n;

	for (int round = 0; round < 8; round++) {
		n = ibv_poll_cq(vc->real, POLL_BATCH, wc);
		if (n <= 0)
			break;
		got = true;
		for (int i = 0; i < n; i++)
			complete_one(vd, &wc[i]);
		if (n < POLL_BATCH)
			break;
	}
	if (got)
		keep_off_engine(vc);
	return got;
}

/* The completion channel: a CQ armed before has something. */
void verbs_chan_cb(int fd, short what, void *arg)
{
	struct verbs_dev *vd = arg;
	struct ibv_cq *cq;
	void *ctx;
	uint64_t now = verbs_now_ns();

	(void)fd;
	(void)what;
	/* The channel fd is non-blocking: read every event there is. */
	for (;;) {
		if (ibv_get_cq_event(vd->chan, &cq, &ctx)) {
			/* A channel that fails for good (the device went
			 * away) would stay readable: the device is dead. */
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				verbs_dev_fatal(vd, "its completion channel failed");
			return;
		}
		ibv_ack_cq_events(cq, 1);
		if (ctx)
			verbs_cq_heat(ctx, now);
	}
}

/* ------------------------------------------------------------ WQEs */

/* A local SGE of this PD: IBV_WC_SUCCESS or IBV_WC_LOC_PROT_ERR. */
static uint32_t sge_check(struct verbs_dev *vd, const struct rb_res *pd,
			  const struct rb_sge *sge, uint32_t access)
{
	struct verbs_mr *m = verbs_mr_find(vd, sge->lkey);
	const struct rb_mr *mr;

	if (!m)
		return IBV_WC_LOC_PROT_ERR;
	mr = &m->mr;
	/* Addresses of an SGE are in the MR's IOVA space, as a NIC sees. */
	if (mr->res.deps[0] != pd || (mr->access & access) != access ||
	    sge->addr < mr->iova || sge->length > mr->length ||
	    sge->addr - mr->iova > mr->length - sge->length)
		return IBV_WC_LOC_PROT_ERR;
	return IBV_WC_SUCCESS;
}

static bool op_writes_local(uint32_t op)
{
	return op == IBV_WR_RDMA_READ || op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       op == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/*
 * What a send WQE (copied out, size bytes of it) moves: its bytes for the
 * scheduler and rdmactl stat (a READ the bytes it reads, an atomic 8),
 * read before it is checked; a WQE that fails its check moves nothing.
 */
static uint64_t swqe_bytes(const uint8_t *raw, uint32_t size)
{
	const struct rb_send_wqe *h = (const struct rb_send_wqe *)raw;
	const struct rb_sge *sge = (const struct rb_sge *)(raw + sizeof(*h));
	uint32_t body = size - (uint32_t)sizeof(*h), nsge = body / (uint32_t)sizeof(*sge);
	uint64_t n = 0;

	if (h->opcode == IBV_WR_ATOMIC_CMP_AND_SWP || h->opcode == IBV_WR_ATOMIC_FETCH_AND_ADD)
		return 8;
	if (h->send_flags & IBV_SEND_INLINE)
		return h->inline_len < body ? h->inline_len : body;
	for (uint32_t i = 0; i < h->num_sge && i < nsge; i++)
		n += sge[i].length;
	return n;
}

/*
 * Check a send WQE (copied out) and build its real WR; IBV_WC_SUCCESS or
 * the status its completion gets.
 */
static uint32_t swqe_build(struct verbs_qp *vq, const uint8_t *raw,
			   struct ibv_send_wr *wr, struct ibv_sge *sg)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);
	const struct rb_send_wqe *h = (const struct rb_send_wqe *)raw;
	const struct rb_sge *sge = (const struct rb_sge *)(raw + sizeof(*h));
	uint32_t body = vq->qp.sq_entry_size - (uint32_t)sizeof(*h);
	uint32_t op = h->opcode, st;

	memset(wr, 0, sizeof(*wr));
	/* ATOMIC_WRITE and memory windows are the soft device's: not
	 * relayed (this driver has no windows, its NIC maybe no
	 * ATOMIC_WRITE). */
	if (!rb_send_opcode_ok(vq->qp.type, op) || op == IBV_WR_ATOMIC_WRITE || op == RB_WR_FLUSH ||
	    op == IBV_WR_BIND_MW || op == IBV_WR_LOCAL_INV || op == IBV_WR_SEND_WITH_INV)
		return IBV_WC_LOC_QP_OP_ERR;
	wr->opcode = (enum ibv_wr_opcode)op;
	wr->send_flags = h->send_flags & (IBV_SEND_FENCE | IBV_SEND_SIGNALED |
					  IBV_SEND_SOLICITED | IBV_SEND_INLINE);
	wr->imm_data = h->imm_data;
	wr->sg_list = sg;
	if (h->send_flags & IBV_SEND_INLINE) {
		if (op_writes_local(op) || h->inline_len > vq->qp.cap.max_inline_data ||
		    h->inline_len > body)
			return IBV_WC_LOC_LEN_ERR;
		/* The device copies inline data at post time, from our copy. */
		sg[0].addr = (uintptr_t)sge;
		sg[0].length = h->inline_len;
		sg[0].lkey = 0;
		wr->num_sge = h->inline_len ? 1 : 0;
	} else {
		if (h->num_sge > vq->qp.cap.max_send_sge || h->num_sge > VERBS_MAX_SGE)
			return IBV_WC_LOC_QP_OP_ERR;
		for (uint32_t i = 0; i < h->num_sge; i++) {
			if (sge[i].length) {
				st = sge_check(vd, vq->qp.res.deps[0], &sge[i],
					       op_writes_local(op) ? IBV_ACCESS_LOCAL_WRITE : 0);
				if (st != IBV_WC_SUCCESS)
					return st;
			}
			sg[i].addr = sge[i].addr;
			sg[i].length = sge[i].length;
			sg[i].lkey = sge[i].lkey;
		}
		wr->num_sge = (int)h->num_sge;
	}
	switch (op) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
	case IBV_WR_RDMA_READ:
		wr->wr.rdma.remote_addr = h->remote_addr;
		wr->wr.rdma.rkey = h->rkey;
		break;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		wr->wr.atomic.remote_addr = h->remote_addr;
		wr->wr.atomic.rkey = h->rkey;
		wr->wr.atomic.compare_add = h->compare_add;
		wr->wr.atomic.swap = h->swap;
		break;
	default:
		break;
	}
	/*
	 * A responder on this device: its checks here, before the device
	 * sees the WR (verbs_rkey_check); other peers check for themselves.
	 * The requester's own checks come first on a device: an atomic
	 * without its one 8-byte SGE is the device's local error.
	 */
	if (vq->peer_local && (op == IBV_WR_RDMA_WRITE || op == IBV_WR_RDMA_WRITE_WITH_IMM ||
			       op == IBV_WR_RDMA_READ ||
			       ((op == IBV_WR_ATOMIC_CMP_AND_SWP || op == IBV_WR_ATOMIC_FETCH_AND_ADD) &&
				wr->num_sge == 1 && sg[0].length == 8))) {
		uint64_t len = 0;
		bool drop;

		for (int i = 0; i < wr->num_sge; i++)
			len += sg[i].length;
		st = verbs_rkey_check(vq, op, h->rkey, h->remote_addr, len, &drop);
		if (st != IBV_WC_SUCCESS)
			return st;
		/* UC: the responder would drop it; a WRITE of nothing to the
		 * same place completes as that does and touches nothing. */
		if (drop && op == IBV_WR_RDMA_WRITE)
			wr->num_sge = 0;
	}
	if (vq->qp.type == IBV_QPT_UD) {
		struct rb_res *r = res_lookup(vq->qp.res.owner, h->ah_handle,
					      RB_RES_AH, NULL);
		struct verbs_ah *ah = (struct verbs_ah *)r;

		/* Only an AH of the client's, on this device, in the QP's PD. */
		if (!ah || ah->ah.dev != vq->qp.dev || r->deps[0] != vq->qp.res.deps[0])
			return IBV_WC_LOC_QP_OP_ERR;
		wr->wr.ud.ah = ah->real;
		wr->wr.ud.remote_qpn = h->remote_qpn & 0xffffff;
		wr->wr.ud.remote_qkey = h->remote_qkey;
	}
	return IBV_WC_SUCCESS;
}

/* Refuse a WQE: the real QP goes to ERR, what follows flushes there. */
static void qp_refuse(struct verbs_qp *vq)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_ERR };

	if (ibv_modify_qp(vq->real, &a, IBV_QP_STATE))
		log_warn("verbs: QP %#x: could not move the real QP to ERR",
			 vq->qp.qp_num);
	vq->qp.attr.qp_state = vq->qp.attr.cur_qp_state = IBV_QPS_ERR;
}

/* A ring's producer as far as we take it (never more than a ring ahead). */
static bool ring_prod(struct rb_ring *r, uint32_t cons, uint32_t entries,
		      struct rb_res *owner, const char *what, uint32_t *prod)
{
	if (ring_wild(r, cons, entries, owner, what))
		return false;
	*prod = cons + ring_pending(r, cons, entries);
	return true;
}

static bool sq_takes(enum ibv_qp_state s)
{
	return s == IBV_QPS_RTS || s == IBV_QPS_SQD || s == IBV_QPS_ERR ||
	       s == IBV_QPS_SQE;
}

static bool rq_takes(enum ibv_qp_state s)
{
	return s != IBV_QPS_RESET;
}

/*
 * One pass's send WQEs, copied out and built into one chain of real WRs:
 * one ibv_post_send a pass, and WRs a client posted together reach the
 * device together (an unfenced SEND behind a READ may overtake its
 * response there, as on the soft device).  The daemon has one thread.
 */
static struct {
	struct ibv_send_wr wr[TAKE_BATCH];
	struct ibv_sge sg[TAKE_BATCH][VERBS_MAX_SGE];
	uint8_t raw[TAKE_BATCH][SWQE_MAX];
} sq_batch;

/* The WQE at idx was refused with st: the QP goes to ERR behind it. */
static void sq_fail(struct verbs_qp *vq, uint32_t idx, uint32_t st)
{
	vq->sq_err = true;
	vq->sq_err_at = idx;
	vq->sq_err_status = st;
	qp_refuse(vq);
	sq_err_complete(vq);
}

/* Which of the batch's nb WRs (from first) are signaled on the device. */
static void sq_signal(struct verbs_qp *vq, uint32_t first, uint32_t nb, const uint64_t *bytes)
{
	for (uint32_t j = 0; j < nb; j++) {
		struct verbs_swr *s = &vq->sw[(first + j) & (vq->qp.sq_entries - 1)];

		s->extra = false;
		if (s->signaled || vq->qp.sq_sig_all) {
			vq->sig_end = first + j + 1;
			vq->unsig_bytes = 0;
			continue;
		}
		vq->unsig_bytes += bytes[j];
		if (vq->extra_out || (vq->unsig_bytes < SIGNAL_BYTES && j != nb - 1))
			continue;
		sq_batch.wr[j].send_flags |= IBV_SEND_SIGNALED;
		s->extra = true;
		vq->extra_out = true;
		vq->sig_end = first + j + 1;
		vq->unsig_bytes = 0;
	}
}

bool verbs_sq_pending(struct verbs_qp *vq, uint32_t *prod)
{
	if (vq->sq_err || !sq_takes(vq->qp.attr.qp_state) ||
	    !ring_prod(vq->qp.sq, vq->sq_cons, vq->qp.sq_entries, &vq->qp.res,
		       "an SQ", prod))
		return false;
	return *prod != vq->sq_take && *prod - vq->sq_cons > vq->sq_take - vq->sq_cons;
}

/*
 * Move the QP's next send WQEs to the device, one batch, each once
 * admit() lets it go (verbs-sched.c: its user's turn, the window); one
 * it does not stays in the ring.
 */
enum verbs_take verbs_sq_take(struct verbs_qp *vq, uint64_t now, verbs_admit_fn *admit)
{
	struct ibv_send_wr *bad;
	uint32_t prod, nb = 0, st = IBV_WC_SUCCESS, size = vq->qp.sq_entry_size;
	uint32_t first = vq->sq_take, err_idx = 0;
	uint64_t bytes[TAKE_BATCH], cost[TAKE_BATCH], err_cost = 0, sum = 0;
	struct verbs_cq *scq = (struct verbs_cq *)qp_send_cq(vq);
	bool refused = false;

	if (!verbs_sq_pending(vq, &prod))
		return VERBS_TAKE_EMPTY;
	if (size > SWQE_MAX)
		size = SWQE_MAX;
	while (vq->sq_take != prod && nb < TAKE_BATCH) {
		uint32_t idx = vq->sq_take;
		struct verbs_swr *s = &vq->sw[idx & (vq->qp.sq_entries - 1)];
		uint8_t *raw = sq_batch.raw[nb];
		const struct rb_send_wqe *h = (const struct rb_send_wqe *)raw;

		/* Copy first: the client may rewrite the slot under us. */
		memcpy(raw, ring_slot(vq->qp.sq, vq->qp.sq_entries, vq->qp.sq_entry_size, idx),
		       size);
		bytes[nb] = swqe_bytes(raw, size);
		cost[nb] = bytes[nb] < VERBS_WR_COST ? VERBS_WR_COST : bytes[nb];
		if (!admit(vq->flow, cost[nb])) {
			refused = true;
			break;
		}
		s->wr_id = h->wr_id;
		s->wc_opcode = rb_wc_opcode(h->opcode);
		s->signaled = vq->qp.sq_sig_all || (h->send_flags & IBV_SEND_SIGNALED);
		s->bytes = 0;
		s->cost = 0;
		vq->sq_take++;
		st = swqe_build(vq, raw, &sq_batch.wr[nb], sq_batch.sg[nb]);
		if (st != IBV_WC_SUCCESS) {
			err_idx = idx;
			err_cost = cost[nb];
			break;
		}
		sq_batch.wr[nb].wr_id = wr_make(WR_SEND, vq->gen, idx);
		sq_batch.wr[nb].next = NULL;
		if (nb)
			sq_batch.wr[nb - 1].next = &sq_batch.wr[nb];
		nb++;
	}
	if (vq->sq_take == first)
		return refused ? VERBS_TAKE_REFUSED : VERBS_TAKE_EMPTY;
	/* A WQE refused by its check never reaches the device. */
	if (err_cost)
		verbs_sched_unadmit(vq, err_cost);
	sq_signal(vq, first, nb, bytes);
	reply_seen(vq, now);
	if (nb && ibv_post_send(vq->real, sq_batch.wr, &bad)) {
		/* The device refused a WR we checked (a length or resource it
		 * lacks): it fails, those behind it are taken again later
		 * and flush on the QP in ERR. */
		uint32_t i = bad >= sq_batch.wr && bad < sq_batch.wr + nb ?
			     (uint32_t)(bad - sq_batch.wr) : 0;

		for (uint32_t j = 0; j < nb; j++) {
			struct verbs_swr *s = &vq->sw[(first + j) & (vq->qp.sq_entries - 1)];

			if (j < i) {
				verbs_sched_posted(vq, s, cost[j], bytes[j], now);
				continue;
			}
			verbs_sched_unadmit(vq, cost[j]);
			/* Not on the device: it signals nothing.  The QP goes
			 * to ERR, where every WR completes (flushed). */
			if (s->extra)
				vq->extra_out = false;
			s->extra = false;
		}
		vq->sq_take = first + i + 1;
		sq_fail(vq, first + i, IBV_WC_LOC_QP_OP_ERR);
	} else {
		for (uint32_t j = 0; j < nb; j++)
			verbs_sched_posted(vq, &vq->sw[(first + j) & (vq->qp.sq_entries - 1)],
					   cost[j], bytes[j], now);
		if (st != IBV_WC_SUCCESS)
			/* In ERR a NIC flushes what is posted, good or bad. */
			sq_fail(vq, err_idx, vq->qp.attr.qp_state == IBV_QPS_ERR ?
				IBV_WC_WR_FLUSH_ERR : st);
	}
	/* Polled again for a while (its client may post more at once), or
	 * only once more after a bulk batch (VERBS_BULK_BYTES). */
	for (uint32_t j = 0; j < nb; j++)
		sum += bytes[j];
	vq->bulk = scq->bulk = sum >= VERBS_BULK_BYTES && verbs_sched_alone(vq);
	verbs_qp_activate(vq, now);
	verbs_cq_heat(scq, now);
	return refused ? VERBS_TAKE_REFUSED : VERBS_TAKE_BATCH;
}

/* Check a receive WQE's SGEs and build its real WR. */
static uint32_t rwqe_build(struct verbs_dev *vd, const struct rb_res *pd,
			   uint32_t max_sge, const uint8_t *raw,
			   struct ibv_recv_wr *wr, struct ibv_sge *sg)
{
	const struct rb_recv_wqe *h = (const struct rb_recv_wqe *)raw;
	const struct rb_sge *sge = (const struct rb_sge *)(raw + sizeof(*h));
	uint32_t st;

	memset(wr, 0, sizeof(*wr));
	if (h->num_sge > max_sge || h->num_sge > VERBS_MAX_SGE)
		return IBV_WC_LOC_LEN_ERR;
	for (uint32_t i = 0; i < h->num_sge; i++) {
		if (sge[i].length) {
			st = sge_check(vd, pd, &sge[i], IBV_ACCESS_LOCAL_WRITE);
			if (st != IBV_WC_SUCCESS)
				return st;
		}
		sg[i].addr = sge[i].addr;
		sg[i].length = sge[i].length;
		sg[i].lkey = sge[i].lkey;
	}
	wr->sg_list = sg;
	wr->num_sge = (int)h->num_sge;
	return IBV_WC_SUCCESS;
}

static bool rq_take(struct verbs_qp *vq, uint64_t now)
{
	struct verbs_dev *vd = verbs_dev(vq->qp.dev);
	struct ibv_recv_wr wr, *bad;
	struct ibv_sge sg[VERBS_MAX_SGE];
	uint8_t raw[RWQE_MAX];
	uint32_t prod, n = 0, st, size = vq->qp.rq_entry_size;
	bool moved = false;

	if (qp_srq(vq) || vq->rq_err || !rq_takes(vq->qp.attr.qp_state) ||
	    !ring_prod(vq->qp.rq, vq->rq_cons, vq->qp.rq_entries, &vq->qp.res,
		       "an RQ", &prod))
		return false;
	if (size > sizeof(raw))
		size = sizeof(raw);
	while (vq->rq_take != prod && prod - vq->rq_cons > vq->rq_take - vq->rq_cons &&
	       n++ < TAKE_BATCH) {
		uint32_t idx = vq->rq_take;

		memcpy(raw, ring_slot(vq->qp.rq, vq->qp.rq_entries, vq->qp.rq_entry_size, idx),
		       size);
		vq->rw[idx & (vq->qp.rq_entries - 1)] = ((const struct rb_recv_wqe *)raw)->wr_id;
		vq->rq_take++;
		moved = true;
		st = rwqe_build(vd, vq->qp.res.deps[0], vq->qp.cap.max_recv_sge, raw, &wr, sg);
		if (st == IBV_WC_SUCCESS) {
			wr.wr_id = wr_make(WR_RECV, vq->gen, idx);
			if (ibv_post_recv(vq->real, &wr, &bad) == 0)
				continue;
			st = IBV_WC_LOC_QP_OP_ERR;
		}
		vq->rq_err = true;
		vq->rq_err_at = idx;
		vq->rq_err_status = st;
		qp_refuse(vq);
		rq_err_complete(vq);
		break;
	}
	if (moved) {
		vq->last_ns = now;
		verbs_cq_heat((struct verbs_cq *)qp_recv_cq(vq), now);
	}
	return moved;
}

/*
 * An SRQ's WQEs go to the device as long as it has slots; the ring's
 * consumer index follows what was taken (completions come in any order).
 */
static bool srq_take(struct verbs_srq *vs, uint64_t now)
{
	struct verbs_dev *vd = verbs_dev(vs->srq.dev);
	struct ibv_recv_wr wr, *bad;
	struct ibv_sge sg[VERBS_MAX_SGE];
	uint8_t raw[RWQE_MAX];
	/* The ring has max_wr slots (a power of two), as created. */
	uint32_t prod, n = 0, size = vs->srq.entry_size, entries = vs->srq.max_wr;
	bool moved = false;

	if (!ring_prod(vs->srq.ring, vs->take, entries, &vs->srq.res, "an SRQ", &prod))
		return false;
	if (size > sizeof(raw))
		size = sizeof(raw);
	while (vs->take != prod && vs->nfree && n++ < TAKE_BATCH) {
		uint32_t slot;

		memcpy(raw, ring_slot(vs->srq.ring, entries, vs->srq.entry_size, vs->take), size);
		vs->take++;
		moved = true;
		if (rwqe_build(vd, vs->srq.res.deps[0], vs->srq.max_sge, raw, &wr, sg) !=
		    IBV_WC_SUCCESS) {
			/* No QP to fail yet: a NIC would fail the QP that
			 * takes it; the client broke its own SRQ. */
			res_kill_owner(&vs->srq.res, "an SRQ WQE with an SGE outside its MRs");
			break;
		}
		slot = vs->free[--vs->nfree];
		vs->slot_wr[slot] = ((const struct rb_recv_wqe *)raw)->wr_id;
		wr.wr_id = wr_make(WR_SRQ, 0, slot);
		if (ibv_post_srq_recv(vs->real, &wr, &bad)) {
			vs->slot_wr[slot] = UINT64_MAX;
			vs->free[vs->nfree++] = slot;
			vs->take--;
			break;
		}
	}
	if (moved) {
		vs->last_ns = now;
		/* Release: the slots up to take were copied out. */
		__atomic_store_n(&vs->srq.ring->cons, vs->take, __ATOMIC_RELEASE);
	}
	return moved;
}

/* ------------------------------------------------------------ sleeping */

/* Ask for doorbells on every ring of the QP, then look once more. */
static void qp_try_sleep(struct verbs_qp *vq)
{
	uint32_t sp, rp;

	qp_doorbells(vq, true);
	/* Both sides store, fence, then load: one of them sees the other. */
	sp = __atomic_load_n(&vq->qp.sq->prod, __ATOMIC_ACQUIRE);
	rp = __atomic_load_n(&vq->qp.rq->prod, __ATOMIC_ACQUIRE);
	/* Send WQEs already waiting in its flow are the flow's to post. */
	if ((sp != vq->sq_take && sq_takes(vq->qp.attr.qp_state) && !vq->sq_err &&
	     !vq->queued) ||
	    (rp != vq->rq_take && rq_takes(vq->qp.attr.qp_state) && !vq->rq_err &&
	     !qp_srq(vq))) {
		qp_doorbells(vq, false);
		return;
	}
	verbs_qp_deactivate(vq);
}

static void srq_try_sleep(struct verbs_srq *vs)
{
	__atomic_fetch_or(&vs->srq.ring->flags, RB_RING_NEED_WAKEUP, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&vs->srq.ring->prod, __ATOMIC_ACQUIRE) != vs->take && vs->nfree) {
		__atomic_fetch_and(&vs->srq.ring->flags, ~(uint32_t)RB_RING_NEED_WAKEUP,
				   __ATOMIC_RELAXED);
		return;
	}
	verbs_srq_deactivate(vs);
}

/* Arm a CQ that had nothing for a while, then look once more. */
static void cq_try_cool(struct verbs_dev *vd, struct verbs_cq *vc)
{
	if (ibv_req_notify_cq(vc->real, 0)) {
		log_warn("verbs: %s: could not arm a CQ; polling it", vd->dev.name);
		return;
	}
	verbs_cq_cool(vc);
	/* A completion that landed before the arm raised no event. */
	if (cq_poll(vd, vc))
		verbs_cq_heat(vc, verbs_now_ns());
}

/* ------------------------------------------------------------ the pass */

void verbs_qp_restart(struct verbs_qp *vq)
{
	verbs_qp_deactivate(vq);
	verbs_sched_forget(vq);
	verbs_reply_forget(vq);
	vq->gen++;
	vq->peer_local = false;
	vq->sq_err = vq->rq_err = false;
	vq->sq_cons = vq->sq_take = __atomic_load_n(&vq->qp.sq->prod, __ATOMIC_ACQUIRE);
	vq->sig_end = vq->sq_take;
	vq->extra_out = false;
	vq->unsig_bytes = 0;
	vq->bulk = false;
	vq->rq_cons = vq->rq_take = __atomic_load_n(&vq->qp.rq->prod, __ATOMIC_ACQUIRE);
	sq_publish(vq);
	rq_publish(vq);
	qp_doorbells(vq, true);
}

/*
 * QPs change state in modify_qp: a QP leaving RESET may take its RQ, a QP
 * entering RTS or ERR its SQ; RESET forgets what was posted.
 */
void verbs_qp_state(struct verbs_qp *vq, enum ibv_qp_state from)
{
	(void)from;
	if (vq->qp.attr.qp_state == IBV_QPS_RESET)
		verbs_qp_restart(vq);
	else
		verbs_qp_activate(vq, verbs_now_ns());
}

void verbs_qp_take_posted(struct rb_qp *qp)
{
	struct verbs_qp *vq = (struct verbs_qp *)qp;
	uint64_t now = verbs_now_ns();

	if (verbs_dev(qp->dev)->fatal || res_owner_killed(&qp->res))
		return;
	rq_take(vq, now);
	verbs_sched_take_posted(vq, now);
}

unsigned int verbs_progress(struct rb_device *dev, uint64_t now, uint64_t idle_ns)
{
	struct verbs_dev *vd = verbs_dev(dev);
	struct verbs_qp *vq, *vq_next;
	struct verbs_srq *vs, *vs_next;
	struct verbs_cq *vc, *vc_next;
	unsigned int ret = 0;
	uint32_t prod;
	bool moved;

	if (vd->fatal)
		return 0;
	TAILQ_FOREACH_SAFE(vq, &vd->active, link, vq_next) {
		if (res_owner_killed(&vq->qp.res)) {
			verbs_qp_deactivate(vq);
			continue;
		}
		/* Receives go at once; sends wait for their user's turn
		 * (verbs-sched.c, run below in this pass). */
		moved = rq_take(vq, now);
		if (!vq->queued && verbs_sq_pending(vq, &prod)) {
			verbs_sched_enqueue(vq);
			moved = true;
		}
		if (moved)
			ret |= RB_PROGRESS_DID_WORK;
		else if (vq->bulk || now - vq->last_ns > idle_ns)
			qp_try_sleep(vq);
	}
	TAILQ_FOREACH_SAFE(vs, &vd->active_srqs, link, vs_next) {
		if (res_owner_killed(&vs->srq.res)) {
			verbs_srq_deactivate(vs);
			continue;
		}
		if (srq_take(vs, now))
			ret |= RB_PROGRESS_DID_WORK;
		else if (now - vs->last_ns > idle_ns || !vs->nfree)
			srq_try_sleep(vs);
	}
	ret |= verbs_sched_progress(vd, now);
	TAILQ_FOREACH_SAFE(vc, &vd->hot, hot_link, vc_next) {
		if (cq_poll(vd, vc)) {
			vc->last_ns = now;
			ret |= RB_PROGRESS_DID_WORK;
		} else if (vc->bulk || now - vc->last_ns > idle_ns) {
			cq_try_cool(vd, vc);
		}
	}
	if (!TAILQ_EMPTY(&vd->active) || !TAILQ_EMPTY(&vd->active_srqs) ||
	    !TAILQ_EMPTY(&vd->hot))
		ret |= RB_PROGRESS_BUSY;
	/* Waiting for an answer: keep the core (no yield, reply_expect). */
	if (vd->reply_until) {
		if (now < vd->reply_until)
			ret |= RB_PROGRESS_DID_WORK | RB_PROGRESS_BUSY;
		else
			reply_expired(vd);
	}
	return ret;
}
