/* SPDX-License-Identifier: MIT */
/*
 * RC to and from other hosts (IBTA 9.7): SEND and WRITE (with immediate),
 * reliable.
 *
 * Requester.  A send WQE goes out as its packets (roce_req_packet(), cut
 * by the path MTU, AckReq on the last) and stays in flight, its
 * completion pending, until an ACK covers its last PSN; completions then
 * come in order (soft_comp_sq_retire).  What it sends is kept as the
 * WQE's SGEs (looked up again at each sending: the MRs may change) or
 * its inline bytes.  The local ACK timeout (4.096 us << timeout) resends
 * everything in flight from the oldest (go-back-N), retry_cnt times,
 * then the WQE completes with IBV_WC_RETRY_EXC_ERR and the QP errs; a
 * NAK for a PSN sequence error resends from there at once (counted
 * against retry_cnt too); an RNR NAK waits the responder's timer, then
 * resends, rnr_retry times (7: for ever); a NAK for an invalid request,
 * a remote access or a remote operational error completes the WQE with
 * that status and errs the QP.
 *
 * Responder.  Packets are taken in PSN order: one from before the
 * expected PSN is a duplicate, answered with an ACK of the last PSN
 * taken and otherwise ignored (a SEND or WRITE is never done twice); one
 * from after it gets one PSN sequence error NAK until the expected one
 * comes.  A SEND with no receive posted gets an RNR NAK with this QP's
 * min_rnr_timer and nothing of it is taken; a WRITE outside what its
 * rkey allows gets a remote access NAK and the QP errs; anything
 * malformed or not built (READ, atomics) an invalid request NAK.  Each
 * message's last packet is ACKed with the message sequence number.
 *
 * Not built: READ and atomics (the requester completes them with
 * IBV_WC_LOC_QP_OP_ERR), ACK coalescing beyond one ACK per message,
 * responder resources.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

static const uint32_t roce_rc_rnr_us[32] = {
	655360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960,
	1280, 1920, 2560, 3840, 5120, 7680, 10240, 15360, 20480, 30720,
	40960, 61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

/* The local ACK timeout of qp: 4.096 us << timeout, 0 (for ever) and
 * anything past 8 s as 8 s; at least 1 ms, a scheduling tick's worth. */
static uint64_t roce_rc_timeout_us(const struct soft_qp *qp)
{
	uint8_t t = qp->qp.attr.timeout;
	uint64_t us = t && t < 22 ? (UINT64_C(4096) << t) / 1000 : 8000000;

	return us < 1000 ? 1000 : us;
}

static void roce_rc_arm(struct roce_qp *q, uint64_t us)
{
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
			      .tv_usec = (suseconds_t)(us % 1000000) };

	evtimer_add(q->ev_retry, &tv);
}

static struct roce_fl *roce_rc_fl(struct roce_qp *q, uint32_t i)
{
	return &q->fl[(q->fl_head + i) % q->fl_cap];
}

/* The packets in flight not yet acknowledged, at most: what the peer's
 * socket takes in a burst (a 1 MiB message at once overflowed it, and
 * going back N then overflowed it again, for ever). */
#define ROCE_RC_WINDOW	64

/* The pieces of f's data (its SGEs looked up again), or -1 when an MR
 * went meanwhile (nothing is sent; the timeout ends the WQE). */
static int roce_rc_src(struct soft_qp *qp, struct roce_fl *f, struct mem_seg *src)
{
	int ns = 0;

	if (f->inline_len) {
		src[0] = (struct mem_seg){ .ptr = f->inline_data, .len = f->inline_len };
		return 1;
	}
	for (uint32_t i = 0; i < f->num_sge; i++) {
		if (!f->sge[i].length)
			continue;
		if (soft_mem_local(qp, &f->sge[i], 0, &src[ns]) != IBV_WC_SUCCESS)
			return -1;
		ns++;
	}
	return ns;
}

/* Send what is in flight and not sent yet, within the window. */
static void roce_rc_pump(struct roce_qp *q)
{
	struct soft_qp *qp = q->qp;

	for (uint32_t i = 0; i < q->fl_n; i++) {
		struct roce_fl *f = roce_rc_fl(q, i);
		struct mem_seg src[RB_MAX_SGE];
		int ns;

		if (f->sent == f->npkts)
			continue;
		ns = roce_rc_src(qp, f, src);
		if (ns < 0)
			return;
		while (f->sent < f->npkts) {
			uint32_t psn = (f->first_psn + f->sent) & ROCE_PSN_MASK;

			if (roce_psn_diff(psn, q->una) >= ROCE_RC_WINDOW)
				return;
			roce_req_packet(qp, ROCE_TR_RC, f->opcode, f->remote_addr, f->rkey,
					f->imm, f->solicited, src, (uint32_t)ns, f->len,
					f->sent, psn);
			f->sent++;
		}
	}
}

/* Complete the oldest in flight with status (pending no more). */
static void roce_rc_pop(struct roce_qp *q, uint32_t status)
{
	struct roce_fl *f = roce_rc_fl(q, 0);

	f->d->status = status;
	f->d->pending = false;
	q->fl_head = (q->fl_head + 1) % q->fl_cap;
	q->fl_n--;
}

/* Everything in flight ends: the first with status, the rest flushed;
 * the QP errs (unless flushing already). */
static void roce_rc_fail(struct roce_qp *q, uint32_t status, bool to_error)
{
	bool first = true;

	evtimer_del(q->ev_retry);
	while (q->fl_n) {
		roce_rc_pop(q, first ? status : IBV_WC_WR_FLUSH_ERR);
		first = false;
	}
	if (to_error)
		soft_qp_to_error(q->qp, 0, false, 0);
	soft_comp_sq_retire(q->qp);
}

void roce_rc_flush(struct soft_qp *qp)
{
	struct roce_dev *r = soft_dev_of(qp)->roce;
	struct roce_qp *q = r ? roce_qp_find(r, qp->qp.qp_num) : NULL;

	if (q && q->fl_n)
		roce_rc_fail(q, IBV_WC_WR_FLUSH_ERR, false);
}

/* Resend everything in flight from from on (go-back-N). */
static void roce_rc_resend(struct roce_qp *q, uint32_t from)
{
	for (uint32_t i = 0; i < q->fl_n; i++) {
		struct roce_fl *f = roce_rc_fl(q, i);
		int32_t k = roce_psn_diff(from, f->first_psn);

		if (k <= 0)
			f->sent = 0;
		else if ((uint32_t)k < f->npkts)
			f->sent = (uint32_t)k;
	}
	if (roce_psn_diff(from, q->una) > 0)
		q->una = from;
	roce_rc_pump(q);
	roce_rc_arm(q, roce_rc_timeout_us(q->qp));
}

static void roce_rc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct roce_qp *q = arg;
	struct roce_dev *r = soft_dev_of(q->qp)->roce;

	(void)fd;
	(void)what;
	if (!q->fl_n)
		return;
	if (q->rnr_wait) {
		/* The responder's RNR timer ran out: try again. */
		q->rnr_wait = false;
		r->st.rnr_retries++;
		roce_rc_resend(q, q->resend_psn);
		return;
	}
	if (q->retry_left == 0) {
		r->st.retry_exceeded++;
		roce_rc_fail(q, IBV_WC_RETRY_EXC_ERR, true);
		return;
	}
	q->retry_left--;
	r->st.retries++;
	roce_rc_resend(q, q->una);
}

int roce_rc_init(struct roce_qp *q)
{
	struct soft_qp *qp = q->qp;

	q->fl_cap = qp->qp.sq_entries ? qp->qp.sq_entries : 1;
	q->fl = calloc(q->fl_cap, sizeof(*q->fl));
	q->ev_retry = evtimer_new(qp->qp.dev->base, roce_rc_timer_cb, q);
	if (!q->fl || !q->ev_retry)
		return -ENOMEM;
	q->next_psn = qp->qp.attr.sq_psn & ROCE_PSN_MASK;
	q->una = q->next_psn;
	q->retry_left = qp->qp.attr.retry_cnt;
	q->rnr_left = qp->qp.attr.rnr_retry;
	return 0;
}

void roce_rc_fini(struct roce_qp *q)
{
	if (q->ev_retry)
		event_free(q->ev_retry);
	free(q->fl);
}

/* ------------------------------------------------------------ requester */

uint32_t roce_rc_post(struct soft_qp *qp, struct soft_swqe_done *d,
		      const struct rb_send_wqe *w, const void *sge_or_inline,
		      uint64_t len)
{
	struct roce_dev *r = soft_dev_of(qp)->roce;
	struct roce_qp *q = roce_qp_get(r, qp);
	uint32_t mtu = roce_qp_mtu(qp);
	struct roce_fl *f;

	if (w->opcode != IBV_WR_SEND && w->opcode != IBV_WR_SEND_WITH_IMM &&
	    w->opcode != IBV_WR_RDMA_WRITE && w->opcode != IBV_WR_RDMA_WRITE_WITH_IMM)
		return IBV_WC_LOC_QP_OP_ERR;	/* READ, atomics: not built */
	if (!q || q->fl_n == q->fl_cap)
		return IBV_WC_LOC_QP_OP_ERR;
	f = roce_rc_fl(q, q->fl_n);
	memset(f, 0, offsetof(struct roce_fl, sge));
	f->d = d;
	f->opcode = w->opcode;
	f->remote_addr = w->remote_addr;
	f->rkey = w->rkey;
	f->imm = w->imm_data;
	f->solicited = w->send_flags & IBV_SEND_SOLICITED;
	f->len = len;
	if (w->send_flags & IBV_SEND_INLINE) {
		f->inline_len = (uint32_t)len;
		memcpy(f->inline_data, sge_or_inline, len);
	} else {
		f->num_sge = w->num_sge;
		memcpy(f->sge, sge_or_inline, w->num_sge * sizeof(f->sge[0]));
	}
	f->first_psn = q->next_psn;
	f->npkts = len ? (uint32_t)((len + mtu - 1) / mtu) : 1;
	q->next_psn = (q->next_psn + f->npkts) & ROCE_PSN_MASK;
	if (q->fl_n++ == 0) {
		q->retry_left = qp->qp.attr.retry_cnt;
		roce_rc_arm(q, roce_rc_timeout_us(qp));
	}
	d->pending = true;
	f->sent = 0;
	if (!q->rnr_wait)
		roce_rc_pump(q);
	qp->qp.attr.sq_psn = q->next_psn;
	return IBV_WC_SUCCESS;
}

/* An ACK, RNR NAK or NAK for qp. */
static void roce_rc_ack(struct roce_dev *r, struct soft_qp *qp, const struct roce_pkt *p)
{
	struct roce_qp *q = roce_qp_find(r, qp->qp.qp_num);
	uint8_t type = p->aeth.syndrome & ROCE_AETH_TYPE_MASK;
	bool progress = false;

	if (!q || !q->fl_n) {
		r->st.rx_duplicates++;	/* nothing in flight: a late ACK */
		return;
	}
	/* An ACK of a PSN never sent is no ACK (a ghost); one from before
	 * what is acknowledged already is late, and says nothing new. */
	if (roce_psn_diff(p->psn, (q->next_psn - 1) & ROCE_PSN_MASK) > 0) {
		r->st.rx_wrong_peer++;
		return;
	}
	if (roce_psn_diff(p->psn, q->una) < -1) {
		r->st.rx_duplicates++;
		return;
	}
	/* Whatever ends before the PSN acknowledged (or NAKed) is done. */
	while (q->fl_n) {
		struct roce_fl *f = roce_rc_fl(q, 0);
		uint32_t last = (f->first_psn + f->npkts - 1) & ROCE_PSN_MASK;
		int32_t dd = roce_psn_diff(last, p->psn);

		if (dd > 0 || (dd == 0 && type != ROCE_AETH_ACK))
			break;
		roce_rc_pop(q, IBV_WC_SUCCESS);
		progress = true;
	}
	/* Acknowledged up to p (an ACK), or up to before it (a NAK). */
	{
		uint32_t una = type == ROCE_AETH_ACK ? (p->psn + 1) & ROCE_PSN_MASK : p->psn;

		if (roce_psn_diff(una, q->una) > 0 && roce_psn_diff(una, q->next_psn) <= 0) {
			q->una = una;
			progress = true;
		}
	}
	if (progress) {
		q->retry_left = qp->qp.attr.retry_cnt;
		q->rnr_left = qp->qp.attr.rnr_retry;
	}
	if (type == ROCE_AETH_ACK) {
		if (q->fl_n) {
			roce_rc_pump(q);	/* the window moved */
			roce_rc_arm(q, roce_rc_timeout_us(qp));
		} else {
			evtimer_del(q->ev_retry);
		}
	} else if (type == ROCE_AETH_RNR_NAK && q->fl_n) {
		r->st.rx_rnr_naks++;
		if (q->rnr_left == 0) {
			r->st.retry_exceeded++;
			roce_rc_fail(q, IBV_WC_RNR_RETRY_EXC_ERR, true);
			return;
		}
		if (qp->qp.attr.rnr_retry != 7)
			q->rnr_left--;
		q->rnr_wait = true;
		q->resend_psn = p->psn;
		roce_rc_arm(q, roce_rc_rnr_us[p->aeth.syndrome & 31]);
	} else if (type == ROCE_AETH_NAK && q->fl_n) {
		static const uint32_t status[] = {
			[ROCE_NAK_INVALID_REQ] = IBV_WC_REM_INV_REQ_ERR,
			[ROCE_NAK_REMOTE_ACCESS] = IBV_WC_REM_ACCESS_ERR,
			[ROCE_NAK_REMOTE_OP] = IBV_WC_REM_OP_ERR,
			[ROCE_NAK_INVALID_RD_REQ] = IBV_WC_REM_INV_RD_REQ_ERR,
		};
		uint8_t code = p->aeth.syndrome & 0x1f;

		r->st.rx_naks++;
		if (code == ROCE_NAK_PSN_SEQ) {
			if (q->retry_left == 0) {
				r->st.retry_exceeded++;
				roce_rc_fail(q, IBV_WC_RETRY_EXC_ERR, true);
				return;
			}
			q->retry_left--;
			r->st.retries++;
			roce_rc_resend(q, p->psn);
		} else {
			roce_rc_fail(q, code < sizeof(status) / sizeof(status[0]) && status[code] ?
					status[code] : IBV_WC_REM_OP_ERR, true);
			return;
		}
	}
	soft_comp_sq_retire(qp);
}

/* ------------------------------------------------------------ responder */

/* Send an ACK (syndrome ROCE_AETH_ACK | credits), RNR NAK or NAK to QP
 * dqpn at peer, from local. */
static void roce_rc_send_ack(struct roce_dev *r, uint32_t dqpn, uint32_t msn,
			     const uint8_t peer[16], const uint8_t local[16],
			     uint32_t psn, uint8_t syndrome)
{
	struct roce_tx *t = roce_io_tx_slot(r);
	struct roce_pkt a = { 0 };
	int hl;

	if (!t)
		return;
	a.opcode = ROCE_TR_RC | ROCE_OP_ACK;
	a.pkey = ROCE_PKEY_DEFAULT;
	a.dqpn = dqpn & ROCE_QPN_MASK;
	a.psn = psn & ROCE_PSN_MASK;
	a.aeth.syndrome = syndrome;
	a.aeth.msn = msn & ROCE_PSN_MASK;
	hl = roce_wire_build(t->buf, sizeof(t->buf), &a);
	if (hl < 0)
		return;
	t->len = (uint16_t)hl;
	memset(&t->to, 0, sizeof(t->to));
	t->to.sin6_family = AF_INET6;
	t->to.sin6_port = htons(ROCE_UDP_PORT);
	memcpy(&t->to.sin6_addr, peer, 16);
	memset(&t->from, 0, sizeof(t->from));
	memcpy(&t->from.ipi6_addr, local, 16);
	roce_io_tx_commit(r, t);
	r->st.tx_acks++;
}

static uint64_t roce_rc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void roce_rc_linger(struct roce_dev *r, const struct roce_qp *q)
{
	struct roce_ghost *g;

	if (!q->have_peer)
		return;		/* it never took a request */
	g = &r->ghost[r->ghost_next++ % ROCE_GHOSTS];
	g->until_ns = roce_rc_now_ns() + ROCE_GHOST_NS;
	g->qpn = q->qp->qp.qp_num;
	g->dest_qpn = q->qp->qp.attr.dest_qp_num;
	g->epsn = q->epsn;
	g->msn = q->msn;
	memcpy(g->peer, q->peer, 16);
	memcpy(g->local, q->local, 16);
}

/* A request for no QP of ours: a ghost's duplicate is ACKed again. */
static bool roce_rc_ghost(struct roce_dev *r, const struct roce_pkt *p,
			  const struct roce_flow *flow)
{
	uint64_t now = roce_rc_now_ns();

	for (unsigned int i = 0; i < ROCE_GHOSTS; i++) {
		struct roce_ghost *g = &r->ghost[i];

		if (!g->until_ns || g->until_ns < now || g->qpn != p->dqpn ||
		    memcmp(g->peer, flow->src, 16) || roce_psn_diff(p->psn, g->epsn) >= 0)
			continue;
		r->st.rx_duplicates++;
		roce_rc_send_ack(r, g->dest_qpn, g->msn, g->peer, g->local,
				 g->epsn - 1, ROCE_AETH_ACK | 0x1f);
		return true;
	}
	return false;
}

/* Answer the peer of q (qp) that sent over flow. */
static void roce_rc_answer(struct roce_dev *r, const struct soft_qp *qp, const struct roce_qp *q,
			   const struct roce_flow *flow, uint32_t psn, uint8_t syndrome)
{
	roce_rc_send_ack(r, qp->qp.attr.dest_qp_num, q->msn, flow->src, flow->dst, psn, syndrome);
}

/* 0x1f: no credit count, as a responder without end-to-end flow control. */
#define ROCE_RC_ACK	(ROCE_AETH_ACK | 0x1f)

void roce_rc_recv(struct roce_dev *r, const struct roce_pkt *p, const struct roce_flow *flow)
{
	struct soft_qp *qp = soft_qp_find(r->dev, p->dqpn);
	struct roce_qp *q;
	int32_t dd;
	int ret;

	if (!qp || qp->qp.type != IBV_QPT_RC || !soft_qp_alive(qp)) {
		if (qp || !(p->hdrs & ROCE_H_REQ) || !roce_rc_ghost(r, p, flow))
			r->st.rx_unknown_qp++;
		return;
	}
	if (!roce_qp_from_peer(qp, flow)) {
		r->st.rx_wrong_peer++;
		return;
	}
	if (p->hdrs & ROCE_H_RESP) {
		roce_rc_ack(r, qp, p);
		return;
	}
	q = roce_qp_get(r, qp);
	if (!q) {
		r->st.rx_unknown_qp++;
		return;
	}
	q->have_peer = true;
	memcpy(q->peer, flow->src, 16);
	memcpy(q->local, flow->dst, 16);
	dd = roce_psn_diff(p->psn, q->epsn);
	if (dd < 0) {
		/* Sent again: it was taken; say so again. */
		r->st.rx_duplicates++;
		roce_rc_answer(r, qp, q, flow, q->epsn - 1, ROCE_RC_ACK);
		return;
	}
	if (dd > 0) {
		r->st.rx_seq_errors++;
		if (!q->nak_sent)
			roce_rc_answer(r, qp, q, flow, q->epsn, ROCE_AETH_NAK | ROCE_NAK_PSN_SEQ);
		q->nak_sent = true;
		return;
	}
	q->nak_sent = false;
	ret = roce_resp_take(r, q, p);
	if (ret == -EAGAIN) {
		/* No receive: RNR NAK; this packet is not taken. */
		r->st.tx_rnr_naks++;
		roce_rc_answer(r, qp, q, flow, p->psn,
				 ROCE_AETH_RNR_NAK | (qp->qp.attr.min_rnr_timer & 31));
		return;
	}
	if (ret == -EACCES || ret < 0) {
		roce_rc_answer(r, qp, q, flow, p->psn, ROCE_AETH_NAK |
				 (ret == -EACCES ? ROCE_NAK_REMOTE_ACCESS : ROCE_NAK_INVALID_REQ));
		soft_qp_to_error(qp, ret == -EACCES ? IBV_EVENT_QP_ACCESS_ERR :
				 IBV_EVENT_QP_REQ_ERR, true, 0);
		return;
	}
	q->epsn = (q->epsn + 1) & ROCE_PSN_MASK;
	if (p->hdrs & ROCE_H_LAST) {
		q->msn++;
		roce_rc_answer(r, qp, q, flow, p->psn, ROCE_RC_ACK);
	} else if (p->ackreq) {
		roce_rc_answer(r, qp, q, flow, p->psn, ROCE_RC_ACK);
	}
}
