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
 * malformed an invalid request NAK; a receive that fails (too short,
 * its buffers gone) a remote operational or invalid request NAK, as the
 * local path reports it.  READ and atomic requests go to roce-rd.c.  Each
 * message's last packet is ACKed with the message sequence number.
 *
 * READ and atomics (roce-rd.c) share the window and the retries: their
 * responses acknowledge everything before them, and an ACK or NAK past
 * a READ or atomic whose response has not come says it was lost (an
 * implied NAK): the requester asks again from there.  At most
 * max_rd_atomic of them are in flight; a WQE with IBV_SEND_FENCE waits
 * until those before it have their responses.
 *
 * Not built: ACK coalescing beyond one ACK per message, ATOMIC_WRITE and
 * FLUSH (completed with IBV_WC_LOC_QP_OP_ERR).
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

/* A READ of f: the next request, for response packets up to the next
 * multiple of the window (so that one asked again lies within it). */
static bool roce_rc_pump_read(struct roce_qp *q, struct roce_fl *f)
{
	uint32_t psn = (f->first_psn + f->sent) & ROCE_PSN_MASK;
	uint32_t end = (f->sent / ROCE_RC_WINDOW + 1) * ROCE_RC_WINDOW;

	if (f->sent != f->got || roce_psn_diff(psn, q->una) >= ROCE_RC_WINDOW)
		return false;	/* its last request is being answered */
	if (end > f->npkts)
		end = f->npkts;
	f->chunk = f->sent;
	roce_rd_ask(q->qp, f, f->sent, end - f->sent);
	f->sent = end;
	return true;
}

/* Send what is in flight and not sent yet, within the window, the
 * initiator depth (max_rd_atomic) and fences. */
static void roce_rc_pump(struct roce_qp *q)
{
	struct soft_qp *qp = q->qp;
	uint32_t nrd = 0, max_rd = qp->qp.attr.max_rd_atomic ? qp->qp.attr.max_rd_atomic : 1;

	for (uint32_t i = 0; i < q->fl_n; i++) {
		struct roce_fl *f = roce_rc_fl(q, i);
		struct mem_seg src[RB_MAX_SGE];
		int ns;

		if (f->sent == f->npkts) {
			nrd += f->rd;
			continue;
		}
		if ((f->fence && nrd) || (f->rd && !f->sent && nrd >= max_rd))
			return;
		if (f->rd) {
			nrd++;
			if (f->opcode != IBV_WR_RDMA_READ) {
				if (roce_psn_diff(f->first_psn, q->una) >= ROCE_RC_WINDOW)
					return;
				roce_rd_atomic_ask(qp, f);
				f->sent = 1;
				continue;
			}
			/* Nothing goes past a READ asked in part: its PSNs
			 * come first. */
			if (!roce_rc_pump_read(q, f) || f->sent < f->npkts)
				return;
			continue;
		}
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
	/* Retries out: the peer is lost, as the same-host path says it
	 * (IBV_EVENT_QP_FATAL, librdmabroker(7)). */
	if (to_error)
		soft_qp_to_error(q->qp, status == IBV_WC_RETRY_EXC_ERR ? IBV_EVENT_QP_FATAL : 0,
				 status == IBV_WC_RETRY_EXC_ERR, 0);
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

		if (f->rd)
			f->sent = f->got;	/* asked again from what landed */
		else if (k <= 0)
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
		ROCE_COUNT(r, q, rnr_retries);
		roce_rc_resend(q, q->resend_psn);
		return;
	}
	if (q->retry_left == 0) {
		ROCE_COUNT(r, q, retry_exceeded);
		roce_rc_fail(q, IBV_WC_RETRY_EXC_ERR, true);
		return;
	}
	q->retry_left--;
	ROCE_COUNT(r, q, retries);
	roce_rc_resend(q, q->una);
}

int roce_rc_init(struct roce_qp *q)
{
	struct soft_qp *qp = q->qp;

	q->fl_cap = qp->qp.sq_entries ? qp->qp.sq_entries : 1;
	q->fl = calloc(q->fl_cap, sizeof(*q->fl));
	q->ev_retry = evtimer_new(qp->qp.dev->base, roce_rc_timer_cb, q);
	q->res_cap = qp->qp.attr.max_dest_rd_atomic;
	q->res = q->res_cap ? calloc(q->res_cap, sizeof(*q->res)) : NULL;
	if (!q->fl || !q->ev_retry || (q->res_cap && !q->res))
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
	free(q->res);
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

	bool rd = w->opcode == IBV_WR_RDMA_READ || w->opcode == IBV_WR_ATOMIC_CMP_AND_SWP ||
		  w->opcode == IBV_WR_ATOMIC_FETCH_AND_ADD;

	if (!rd && w->opcode != IBV_WR_SEND && w->opcode != IBV_WR_SEND_WITH_IMM &&
	    w->opcode != IBV_WR_SEND_WITH_INV &&
	    w->opcode != IBV_WR_RDMA_WRITE && w->opcode != IBV_WR_RDMA_WRITE_WITH_IMM)
		return IBV_WC_LOC_QP_OP_ERR;	/* ATOMIC_WRITE, FLUSH: not built */
	if (!q || q->fl_n == q->fl_cap)
		return IBV_WC_LOC_QP_OP_ERR;
	if (rd) {
		/* Where the response lands must be writable, an atomic's
		 * one SGE of 8 bytes. */
		const struct rb_sge *sge = sge_or_inline;
		struct mem_seg seg;

		if (w->opcode != IBV_WR_RDMA_READ && (w->num_sge != 1 || sge[0].length != 8))
			return IBV_WC_LOC_LEN_ERR;
		for (uint32_t i = 0; i < w->num_sge; i++)
			if (sge[i].length && soft_mem_local(qp, &sge[i], IBV_ACCESS_LOCAL_WRITE,
							    &seg) != IBV_WC_SUCCESS)
				return IBV_WC_LOC_PROT_ERR;
	}
	f = roce_rc_fl(q, q->fl_n);
	memset(f, 0, offsetof(struct roce_fl, sge));
	f->rd = rd;
	f->fence = w->send_flags & IBV_SEND_FENCE;
	f->compare = w->compare_add;
	f->swap = w->swap;
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
	f->npkts = len && w->opcode != IBV_WR_ATOMIC_CMP_AND_SWP &&
		   w->opcode != IBV_WR_ATOMIC_FETCH_AND_ADD ?
		   (uint32_t)((len + mtu - 1) / mtu) : 1;
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

/*
 * An ACK or NAK past a READ or atomic whose response has not come: the
 * response was lost (an implied NAK, IBTA 9.7.5.1.5); ask again from
 * there, once for each place it stopped, against retry_cnt.
 */
static void roce_rc_implied(struct roce_dev *r, struct roce_qp *q)
{
	if (q->implied && q->implied_una == q->una)
		return;
	q->implied = true;
	q->implied_una = q->una;
	if (q->retry_left == 0) {
		ROCE_COUNT(r, q, retry_exceeded);
		roce_rc_fail(q, IBV_WC_RETRY_EXC_ERR, true);
		return;
	}
	q->retry_left--;
	ROCE_COUNT(r, q, retries);
	roce_rc_resend(q, q->una);
}

/* Progress: una moved to una. */
static void roce_rc_advance(struct roce_qp *q, uint32_t una)
{
	q->una = una;
	q->implied = false;
	q->retry_left = q->qp->qp.attr.retry_cnt;
	q->rnr_left = q->qp->qp.attr.rnr_retry;
}

/* Complete the WQEs before a READ or atomic with response PSN psn:
 * the response acknowledges them. */
static void roce_rc_pop_before(struct roce_qp *q, uint32_t psn)
{
	while (q->fl_n) {
		struct roce_fl *f = roce_rc_fl(q, 0);
		uint32_t last = (f->first_psn + f->npkts - 1) & ROCE_PSN_MASK;

		if (f->rd || roce_psn_diff(last, psn) >= 0)
			break;
		roce_rc_pop(q, IBV_WC_SUCCESS);
	}
}

/* A READ response or atomic ACK for qp (its PSN not before una). */
static void roce_rc_rd_resp(struct roce_dev *r, struct roce_qp *q, const struct roce_pkt *p)
{
	struct soft_qp *qp = q->qp;
	uint8_t op = p->opcode & 0x1f;
	bool atomic = op == ROCE_OP_ATOMIC_ACK;
	uint32_t mtu = roce_qp_mtu(qp), st;
	struct roce_fl *f;

	if (p->psn != q->una) {
		/* One before it was lost (or comes late): go back to it. */
		ROCE_COUNT(r, q, rx_seq_errors);
		roce_rc_implied(r, q);
		soft_comp_sq_retire(qp);
		return;
	}
	roce_rc_pop_before(q, p->psn);
	f = q->fl_n ? roce_rc_fl(q, 0) : NULL;
	if (!f || !f->rd || ((f->first_psn + f->got) & ROCE_PSN_MASK) != p->psn ||
	    atomic != (f->opcode != IBV_WR_RDMA_READ)) {
		ROCE_COUNT(r, q, rx_bad_resp);
		soft_comp_sq_retire(qp);
		return;
	}
	if (!atomic) {
		/* Every packet but a request's last carries the path MTU, the
		 * last what is left of the READ or of that request. */
		uint64_t left = f->len - (uint64_t)f->got * mtu;
		bool last = p->hdrs & ROCE_H_LAST;
		uint32_t end = f->got + 1;

		if (end > f->sent ||
		    (last && (end != f->sent ||
			      p->paylen != (end == f->npkts ? left : (uint64_t)mtu * 1))) ||
		    (!last && (end == f->sent || p->paylen != mtu))) {
			ROCE_COUNT(r, q, rx_bad_resp);
			soft_comp_sq_retire(qp);
			return;
		}
	}
	st = roce_rd_land(qp, f, p);
	if (st != IBV_WC_SUCCESS) {
		roce_rc_fail(q, st, true);
		return;
	}
	f->got++;
	roce_rc_advance(q, (p->psn + 1) & ROCE_PSN_MASK);
	if (f->got == f->npkts)
		roce_rc_pop(q, IBV_WC_SUCCESS);
	if (q->fl_n) {
		roce_rc_pump(q);
		roce_rc_arm(q, roce_rc_timeout_us(qp));
	} else {
		evtimer_del(q->ev_retry);
	}
	soft_comp_sq_retire(qp);
}

/* An ACK, RNR NAK or NAK for qp, or a READ response or atomic ACK. */
static void roce_rc_ack(struct roce_dev *r, struct soft_qp *qp, const struct roce_pkt *p)
{
	struct roce_qp *q = roce_qp_find(r, qp->qp.qp_num);
	uint8_t type = p->aeth.syndrome & ROCE_AETH_TYPE_MASK;
	uint8_t op = p->opcode & 0x1f;
	bool progress = false, implied = false;

	if (!q || !q->fl_n) {
		ROCE_COUNT(r, q, rx_duplicates);	/* nothing in flight: a late ACK */
		return;
	}
	/* An ACK of a PSN never sent is no ACK (a ghost); one from before
	 * what is acknowledged already is late, and says nothing new. */
	if (roce_psn_diff(p->psn, (q->next_psn - 1) & ROCE_PSN_MASK) > 0) {
		ROCE_COUNT(r, q, rx_wrong_peer);
		return;
	}
	if (op != ROCE_OP_ACK) {
		if (roce_psn_diff(p->psn, q->una) < 0)
			ROCE_COUNT(r, q, rx_duplicates);
		else
			roce_rc_rd_resp(r, q, p);
		return;
	}
	if (roce_psn_diff(p->psn, q->una) < -1) {
		ROCE_COUNT(r, q, rx_duplicates);
		return;
	}
	/* Whatever ends before the PSN acknowledged (or NAKed) is done,
	 * but a READ or atomic only by its response. */
	while (q->fl_n) {
		struct roce_fl *f = roce_rc_fl(q, 0);
		uint32_t last = (f->first_psn + f->npkts - 1) & ROCE_PSN_MASK;
		int32_t dd = roce_psn_diff(last, p->psn);

		if (dd > 0 || (dd == 0 && type != ROCE_AETH_ACK) || f->rd)
			break;
		roce_rc_pop(q, IBV_WC_SUCCESS);
		progress = true;
	}
	/* Acknowledged up to p (an ACK), or up to before it (a NAK); not
	 * past a READ or atomic still waiting for its response. */
	{
		uint32_t una = type == ROCE_AETH_ACK ? (p->psn + 1) & ROCE_PSN_MASK : p->psn;

		if (q->fl_n && roce_rc_fl(q, 0)->rd) {
			struct roce_fl *f = roce_rc_fl(q, 0);
			uint32_t at = (f->first_psn + f->got) & ROCE_PSN_MASK;

			if (roce_psn_diff(una, at) > 0) {
				una = at;
				implied = type == ROCE_AETH_ACK;
			}
		}
		if (roce_psn_diff(una, q->una) > 0 && roce_psn_diff(una, q->next_psn) <= 0) {
			roce_rc_advance(q, una);
			progress = true;
		}
	}
	if (progress) {
		q->retry_left = qp->qp.attr.retry_cnt;
		q->rnr_left = qp->qp.attr.rnr_retry;
	}
	if (type == ROCE_AETH_ACK) {
		if (implied) {
			roce_rc_implied(r, q);
		} else if (q->fl_n) {
			roce_rc_pump(q);	/* the window moved */
			roce_rc_arm(q, roce_rc_timeout_us(qp));
		} else {
			evtimer_del(q->ev_retry);
		}
	} else if (type == ROCE_AETH_RNR_NAK && q->fl_n) {
		ROCE_COUNT(r, q, rx_rnr_naks);
		if (q->rnr_left == 0) {
			ROCE_COUNT(r, q, retry_exceeded);
			roce_rc_fail(q, IBV_WC_RNR_RETRY_EXC_ERR, true);
			return;
		}
		if (qp->qp.attr.rnr_retry != 7)
			q->rnr_left--;
		q->rnr_wait = true;
		q->resend_psn = q->una;
		roce_rc_arm(q, roce_rc_rnr_us[p->aeth.syndrome & 31]);
	} else if (type == ROCE_AETH_NAK && q->fl_n) {
		static const uint32_t status[] = {
			[ROCE_NAK_INVALID_REQ] = IBV_WC_REM_INV_REQ_ERR,
			[ROCE_NAK_REMOTE_ACCESS] = IBV_WC_REM_ACCESS_ERR,
			[ROCE_NAK_REMOTE_OP] = IBV_WC_REM_OP_ERR,
			[ROCE_NAK_INVALID_RD_REQ] = IBV_WC_REM_INV_RD_REQ_ERR,
		};
		uint8_t code = p->aeth.syndrome & 0x1f;

		ROCE_COUNT(r, q, rx_naks);
		if (code == ROCE_NAK_PSN_SEQ && q->rnr_wait) {
			/* Behind an RNR NAK: its timer resends from there. */
		} else if (code == ROCE_NAK_PSN_SEQ) {
			if (q->retry_left == 0) {
				ROCE_COUNT(r, q, retry_exceeded);
				roce_rc_fail(q, IBV_WC_RETRY_EXC_ERR, true);
				return;
			}
			q->retry_left--;
			ROCE_COUNT(r, q, retries);
			roce_rc_resend(q, q->una);
		} else {
			roce_rc_fail(q, code < sizeof(status) / sizeof(status[0]) && status[code] ?
					status[code] : IBV_WC_REM_OP_ERR, true);
			return;
		}
	}
	soft_comp_sq_retire(qp);
}

/* ------------------------------------------------------------ responder */

/* Build p (to QP p->dqpn at peer, from local) with seg bytes of the ns
 * pieces src from off as its payload, and queue it. */
static int roce_rc_out(struct roce_dev *r, const uint8_t peer[16], const uint8_t local[16],
		       struct roce_pkt *p, const struct mem_seg *src, uint32_t ns,
		       uint64_t off, uint32_t seg)
{
	struct roce_tx *t = roce_io_tx_slot(r);
	struct mem_seg dst, piece[RB_MAX_SGE];
	bool dst_failed = false;
	uint32_t np;
	int hl;

	if (!t)
		return -ENOBUFS;
	p->pkey = ROCE_PKEY_DEFAULT;
	p->pad = (uint8_t)((4 - seg % 4) % 4);
	hl = roce_wire_build(t->buf, sizeof(t->buf), p);
	if (hl < 0 || (size_t)hl + seg + p->pad + ROCE_ICRC_LEN > sizeof(t->buf))
		return -EINVAL;
	if (seg) {
		dst = (struct mem_seg){ .ptr = t->buf + hl, .len = seg };
		np = soft_mem_slice(src, ns, off, seg, piece);
		if (soft_mem_copy(&dst, 1, piece, np, seg, &dst_failed) < 0)
			return -EFAULT;	/* the slot stays free */
	}
	memset(t->buf + hl + seg, 0, p->pad);
	t->len = (uint16_t)(hl + seg + p->pad);
	memset(&t->to, 0, sizeof(t->to));
	t->to.sin6_family = AF_INET6;
	t->to.sin6_port = htons(ROCE_UDP_PORT);
	memcpy(&t->to.sin6_addr, peer, 16);
	memset(&t->from, 0, sizeof(t->from));
	memcpy(&t->from.ipi6_addr, local, 16);
	roce_io_tx_commit(r, t);
	return 0;
}

int roce_rc_emit(struct roce_dev *r, struct roce_qp *q, const uint8_t peer[16],
		 const uint8_t local[16], struct roce_pkt *p, const struct mem_seg *src,
		 uint32_t ns, uint64_t off, uint32_t seg)
{
	p->dqpn = q->qp->qp.attr.dest_qp_num & ROCE_QPN_MASK;
	q->st.tx_packets++;
	return roce_rc_out(r, peer, local, p, src, ns, off, seg);
}

/* Send an ACK (syndrome ROCE_AETH_ACK | credits), RNR NAK or NAK to QP
 * dqpn at peer, from local. */
static void roce_rc_send_ack(struct roce_dev *r, uint32_t dqpn, uint32_t msn,
			     const uint8_t peer[16], const uint8_t local[16],
			     uint32_t psn, uint8_t syndrome)
{
	struct roce_pkt a = { 0 };

	a.opcode = ROCE_TR_RC | ROCE_OP_ACK;
	a.dqpn = dqpn & ROCE_QPN_MASK;
	a.psn = psn & ROCE_PSN_MASK;
	a.aeth.syndrome = syndrome;
	a.aeth.msn = msn & ROCE_PSN_MASK;
	if (roce_rc_out(r, peer, local, &a, NULL, 0, 0, 0) == 0)
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
static void roce_rc_answer(struct roce_dev *r, const struct soft_qp *qp, struct roce_qp *q,
			   const struct roce_flow *flow, uint32_t psn, uint8_t syndrome)
{
	q->st.tx_acks++;
	q->st.tx_packets++;
	roce_rc_send_ack(r, qp->qp.attr.dest_qp_num, q->msn, flow->src, flow->dst, psn, syndrome);
}

/* 0x1f: no credit count, as a responder without end-to-end flow control. */
#define ROCE_RC_ACK	(ROCE_AETH_ACK | 0x1f)

void roce_rc_recv(struct roce_dev *r, const struct roce_pkt *p, const struct roce_flow *flow)
{
	struct soft_qp *qp = soft_qp_find(r->dev, p->dqpn);
	struct roce_qp *q;
	int32_t dd;
	bool rd;
	int ret;

	if (!qp || qp->qp.type != IBV_QPT_RC || !soft_qp_alive(qp)) {
		if (qp || !(p->hdrs & ROCE_H_REQ) || !roce_rc_ghost(r, p, flow))
			r->st.rx_unknown_qp++;
		return;
	}
	q = roce_qp_find(r, qp->qp.qp_num);
	if (!roce_qp_from_peer(qp, flow)) {
		ROCE_COUNT(r, q, rx_wrong_peer);
		return;
	}
	if (q)
		q->st.rx_packets++;
	if (p->hdrs & ROCE_H_RESP) {
		roce_rc_ack(r, qp, p);
		return;
	}
	if (!q) {
		q = roce_qp_get(r, qp);
		if (!q) {
			r->st.rx_unknown_qp++;
			return;
		}
		q->st.rx_packets++;
	}
	q->have_peer = true;
	memcpy(q->peer, flow->src, 16);
	memcpy(q->local, flow->dst, 16);
	dd = roce_psn_diff(p->psn, q->epsn);
	rd = (p->opcode & 0x1f) == ROCE_OP_READ_REQ || (p->hdrs & ROCE_H_ATOMIC);
	if (dd < 0 && rd) {
		/* A READ again: done again; an atomic: its saved result. */
		roce_rd_duplicate(r, q, p, flow);
		return;
	}
	if (dd < 0) {
		/* Sent again: it was taken; say so again. */
		ROCE_COUNT(r, q, rx_duplicates);
		roce_rc_answer(r, qp, q, flow, q->epsn - 1, ROCE_RC_ACK);
		return;
	}
	if (dd > 0) {
		ROCE_COUNT(r, q, rx_seq_errors);
		if (!q->nak_sent)
			roce_rc_answer(r, qp, q, flow, q->epsn, ROCE_AETH_NAK | ROCE_NAK_PSN_SEQ);
		q->nak_sent = true;
		return;
	}
	q->nak_sent = false;
	ret = rd ? roce_rd_request(r, q, p, flow) : roce_resp_take(r, q, p);
	if (ret == -EAGAIN) {
		/* No receive: RNR NAK; this packet is not taken. */
		ROCE_COUNT(r, q, tx_rnr_naks);
		roce_rc_answer(r, qp, q, flow, p->psn,
				 ROCE_AETH_RNR_NAK | (qp->qp.attr.min_rnr_timer & 31));
		/* What follows it is dropped unanswered until it comes again:
		 * a sequence NAK would make the requester resend before the
		 * RNR timer ran out. */
		q->nak_sent = true;
		return;
	}
	if (ret < 0) {
		/* -EACCES: remote access; -EIO: the receive failed (remote
		 * operational error); else an invalid request. */
		uint8_t code = ret == -EACCES ? ROCE_NAK_REMOTE_ACCESS :
			       ret == -EIO ? ROCE_NAK_REMOTE_OP : ROCE_NAK_INVALID_REQ;

		if (ret == -EACCES)
			ROCE_COUNT(r, q, rx_access_errors);
		roce_rc_answer(r, qp, q, flow, p->psn, ROCE_AETH_NAK | code);
		soft_qp_to_error(qp, ret == -EACCES ? IBV_EVENT_QP_ACCESS_ERR :
				 IBV_EVENT_QP_REQ_ERR, true, 0);
		return;
	}
	if (rd)
		return;		/* answered, PSNs and MSN taken (roce-rd.c) */
	q->epsn = (q->epsn + 1) & ROCE_PSN_MASK;
	if (p->hdrs & ROCE_H_LAST) {
		q->msn++;
		roce_rc_answer(r, qp, q, flow, p->psn, ROCE_RC_ACK);
	} else if (p->ackreq) {
		roce_rc_answer(r, qp, q, flow, p->psn, ROCE_RC_ACK);
	}
}
