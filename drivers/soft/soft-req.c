/* SPDX-License-Identifier: MIT */
/*
 * The soft device's requester (soft-int.h).
 *
 * What it does with a send WQE, in the order of the SQ, exactly once:
 * - copies it out of the shared ring first and validates the copy (opcode
 *   for the QP type, num_sge, inline length against the granted caps);
 * - checks every SGE against the MR tables: lkey of an MR of the QP's PD,
 *   inside its bounds, with IBV_ACCESS_LOCAL_WRITE where the engine writes;
 *   an rkey of an MR of the responder QP's PD, inside its bounds, with the
 *   remote access in both the MR and the responder QP's qp_access_flags
 *   (soft-mem.c);
 * - moves the data straight from one side's registered pages to the
 *   other's (zero-copy: the daemon maps both sides' memfds), or through
 *   the client's /proc/self/mem for memory it could not re-back;
 * - answers anything wrong with the completion status a NIC gives (see the
 *   COMPLETION ERRORS section of librdmabroker(7)), and moves the QP to
 *   ERR, after which every outstanding and new WR flushes (soft-comp.c).
 *
 * A transfer larger than the QP's turn (soft-sched.c) moves in parts, one
 * per turn: a WRITE or large READ straight into place, a SEND into the
 * receive WQE it took out of the responder's RQ or SRQ at its first part
 * (soft-resp.c: claims), which completes when the last part lands, or is
 * flushed if the SEND ends short.
 *
 * RDMA READ and atomic responses of up to SOFT_RD_STAGE_MAX bytes land in
 * the requester's memory one engine pass after the responder executed
 * them, as a response in flight does; a WR with IBV_SEND_FENCE waits for
 * them.  Completions of one SQ are always written in posting order.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "daemon/res.h"
#include "daemon/ring.h"
#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

/* The largest message (the device's max_msg_sz). */
#define MSG_MAX			(1ull << 31)
/* SENDs up to this size move whole, whatever is left of the turn. */
#define SOFT_SEND_WHOLE		(64u * 1024)
/* UD payload: the port's MTU. */
#define UD_MTU			4096u
/* The largest send WQE slot: header plus 32 SGEs or 512 inline bytes. */
#define SWQE_MAX		SOFT_SWQE_MAX

/*
 * Staging buffers for READ responses, all SOFT_RD_STAGE_MAX bytes, kept in a
 * small pool: a malloc and free per READ made glibc grow and trim the
 * heap every pass, and the TLB shootdowns of that cost ~100 us a READ.
 */
static void *stage_get(struct soft_dev *sd)
{
	return sd->nstage ? sd->stage_pool[--sd->nstage] : malloc(SOFT_RD_STAGE_MAX);
}

static void stage_put(struct soft_dev *sd, void *p)
{
	if (sd->nstage < SOFT_STAGE_POOL_MAX)
		sd->stage_pool[sd->nstage++] = p;
	else
		free(p);
}

void soft_req_stage_fini(struct soft_dev *sd)
{
	while (sd->nstage)
		free(sd->stage_pool[--sd->nstage]);
}

/*
 * The SQ's producer index as far as the engine takes it: within a ring
 * of our consumer, and never behind what we already took (a client that
 * moves prod back gets nothing new, not four billion WQEs).
 */
uint32_t soft_req_sq_prod(struct soft_qp *qp)
{
	uint32_t prod;

	if (ring_wild(qp->qp.sq, qp->sq_cons, qp->qp.sq_entries, &qp->qp.res, "an SQ"))
		return qp->sq_exec;
	prod = soft_comp_client_prod(qp->qp.sq, qp->sq_cons, qp->qp.sq_entries);

	return prod - qp->sq_cons < qp->sq_exec - qp->sq_cons ? qp->sq_exec : prod;
}

static struct soft_rd_resp *rd_push(struct soft_qp *qp)
{
	uint32_t want = qp->qp.attr.max_rd_atomic ? qp->qp.attr.max_rd_atomic : 1;

	if (qp->rd_cap < want && qp->rd_count == 0) {
		struct soft_rd_resp *rd = realloc(qp->rd, want * sizeof(*rd));

		if (!rd)
			return NULL;
		qp->rd = rd;
		qp->rd_cap = want;
		qp->rd_head = 0;
	}
	if (qp->rd_count >= qp->rd_cap)
		return NULL;
	return &qp->rd[(qp->rd_head + qp->rd_count++) % qp->rd_cap];
}

/* Land (or with flush, drop) every response in flight, in order. */
void soft_req_rd_land_all(struct soft_qp *qp, bool flush)
{
	while (qp->rd_count) {
		struct soft_rd_resp *r = &qp->rd[qp->rd_head];
		struct soft_swqe_done *d = &qp->done[r->index & (qp->qp.sq_entries - 1)];
		struct mem_seg dst[RB_MAX_SGE];
		struct mem_seg src = { .ptr = r->data, .len = r->len };
		uint32_t nd = 0;
		bool dst_failed = false;

		if (flush) {
			d->status = IBV_WC_WR_FLUSH_ERR;
		} else {
			/* The MRs may have changed since: look them up again. */
			for (uint32_t i = 0; i < r->num_sge && d->status == IBV_WC_SUCCESS; i++) {
				if (!r->sge[i].length)
					continue;
				d->status = (uint32_t)soft_mem_local(qp, &r->sge[i],
							       IBV_ACCESS_LOCAL_WRITE, &dst[nd++]);
			}
			if (d->status == IBV_WC_SUCCESS &&
			    soft_mem_copy(dst, nd, &src, 1, r->len, &dst_failed) < 0)
				d->status = IBV_WC_LOC_PROT_ERR;
			if (d->status != IBV_WC_SUCCESS)
				flush = true;	/* the QP errs: what follows flushes */
		}
		d->pending = false;
		if (r->len > sizeof(uint64_t))
			stage_put(soft_dev_of(qp), r->data);
		qp->rd_head = (qp->rd_head + 1) % qp->rd_cap;
		qp->rd_count--;
	}
	if (flush)
		soft_qp_to_error(qp, 0, false, 0);	/* a no-op when already in ERR */
}

/* Outcome of one send WQE. */
/* X_PART: part of a large transfer moved; the rest at the QP's next turn. */
enum exec_result { X_DONE, X_DEFER, X_RNR, X_PART };

/*
 * The part of a transfer of len bytes this turn allows (cap), from where
 * qp left it (qp->xfer_off): 0 with *more saying whether some is left
 * (qp->xfer_off then says how much was moved), or -1 with *dst_failed.
 * Each part is checked again by the caller first (keys, bounds, the
 * peer): what a client deregisters between two parts is never touched.
 */
static int xfer_part(struct soft_qp *qp, const struct mem_seg *dst, uint32_t nd,
		     const struct mem_seg *src, uint32_t ns, uint64_t len, uint64_t cap,
		     bool *dst_failed, bool *more)
{
	struct mem_seg ds[RB_MAX_SGE], ss[RB_MAX_SGE];
	uint64_t off = qp->xfer_off, n = len - off;
	uint32_t nd2, ns2;

	if (n > cap)
		n = cap;
	if (!off) {
		/* From the start: the first n bytes of the pieces as they are. */
		if (soft_mem_copy(dst, nd, src, ns, n, dst_failed) < 0)
			return -1;
	} else {
		nd2 = soft_mem_slice(dst, nd, off, n, ds);
		ns2 = soft_mem_slice(src, ns, off, n, ss);
		if (soft_mem_copy(ds, nd2, ss, ns2, n, dst_failed) < 0)
			return -1;
	}
	*more = off + n < len;
	qp->xfer_off = *more ? off + n : 0;
	return 0;
}

static const uint32_t rnr_timer_us[32] = {
	655360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960,
	1280, 1920, 2560, 3840, 5120, 7680, 10240, 15360, 20480, 30720,
	40960, 61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

/* No receive at the responder: wait its RNR timer, or give up. */
static enum exec_result exec_rnr(struct soft_qp *qp, const struct soft_qp *dest,
				 struct soft_swqe_done *d)
{
	uint64_t us;

	if (qp->rnr_left == 0) {
		d->status = IBV_WC_RNR_RETRY_EXC_ERR;
		return X_DONE;
	}
	if (qp->qp.attr.rnr_retry != 7)	/* 7: retry forever */
		qp->rnr_left--;
	us = rnr_timer_us[dest->qp.attr.min_rnr_timer & 31];
	qp->rnr_wait = true;
	qp->rnr_deadline_ns = soft_dev_of(qp)->now + us * 1000;
	soft_qp_timer_add_us(qp->ev_timer, us);
	return X_RNR;
}

/*
 * The peer QP exists but does not receive yet (RESET or INIT: it has not
 * been brought to RTR): a NIC's request is dropped there, and the
 * requester sends it again after its transport timeout, retry_cnt times,
 * so a peer that reaches RTR meanwhile gets it (ibv_xsrq_pingpong sends
 * before its peer is ready).  The timeout is 4.096 us << timeout; 0
 * (wait for ever) and anything past a second wait a second.
 */
static enum exec_result exec_retry(struct soft_qp *qp, struct soft_swqe_done *d)
{
	uint8_t t = qp->qp.attr.timeout;
	uint64_t us = t && t < 18 ? (UINT64_C(4096) << t) / 1000 : 1000000;

	if (qp->retry_left == 0) {
		d->status = IBV_WC_RETRY_EXC_ERR;
		return X_DONE;
	}
	qp->retry_left--;
	qp->rnr_wait = true;
	qp->rnr_deadline_ns = soft_dev_of(qp)->now + us * 1000;
	soft_qp_timer_add_us(qp->ev_timer, us);
	return X_RNR;
}

/*
 * The connected peer was destroyed and the QP's transport timeout runs
 * (soft_qp_destroy): a NIC sends on unanswered until that timeout, and
 * only then fails the WR with IBV_WC_RETRY_EXC_ERR (qp_lost_cb in
 * soft-qp.c).  Failing it at once instead would fail a ping-pong whose
 * partner exits with a reply of ours unneeded but still posted
 * (ibv_srq_pingpong -q N posts up to N-1 more than it counts).
 */
static enum exec_result exec_lost(struct soft_qp *qp)
{
	qp->rnr_wait = true;
	qp->rnr_deadline_ns = UINT64_MAX;
	return X_RNR;
}

static bool op_is_rd_atomic(uint32_t op)
{
	return op == IBV_WR_RDMA_READ || op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       op == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/* A WQE as copied out of the SQ. */
union swqe {
	struct rb_send_wqe hdr;
	uint8_t raw[SWQE_MAX];
};

static const struct rb_sge *swqe_sge(const union swqe *w)
{
	return (const struct rb_sge *)(w->raw + sizeof(w->hdr));
}

/*
 * Copy the WQE in slot (size bytes at most) into w: the header, then
 * only the SGEs or inline bytes it says it has, not the whole slot.  A
 * slot is sized for the QP's max_send_sge and max_inline_data (perftest's
 * latency tests: 320 bytes, five cache lines), and each line the client
 * wrote is one more to pull across cores per message; an 8-byte inline
 * WRITE uses two.  What exec_wqe reads of w is bounded by the same
 * header fields, checked there against the QP's caps, which the slot
 * holds; what the header claims beyond size is not copied (nor read:
 * the checks refuse it).  Returns the bytes copied.
 */
static uint32_t swqe_take(union swqe *w, const void *slot, uint32_t size)
{
	uint32_t hdr = (uint32_t)sizeof(w->hdr), body, sges;

	memcpy(&w->hdr, slot, hdr);
	/*
	 * Both bodies, whichever the flags name: READ and atomics read
	 * their SGEs whatever IBV_SEND_INLINE says (the library clears it
	 * for them; a client writing its ring by hand may not), and no
	 * path may read stack bytes this copy left as they were.
	 */
	sges = (w->hdr.num_sge > RB_MAX_SGE ? RB_MAX_SGE : w->hdr.num_sge) *
	       (uint32_t)sizeof(struct rb_sge);
	body = w->hdr.send_flags & IBV_SEND_INLINE && w->hdr.inline_len > sges ?
	       w->hdr.inline_len : sges;
	if (body > size - hdr)
		body = size - hdr;
	memcpy(w->raw + hdr, (const uint8_t *)slot + hdr, body);
	return hdr + body;
}


/* One UD SEND on its way: what each receiver's copy is made of. */
struct ud_send {
	struct soft_qp *qp;
	const struct rb_ah *ah;
	const union swqe *w;
	struct soft_swqe_done *d;
	const struct mem_seg *src;
	uint32_t ns;
	uint64_t len;
	union ibv_gid sgid;
};

/* Deliver u to dest if it takes it (UD, alive, its Q_Key, a receive). */
static void ud_deliver(struct soft_qp *dest, void *arg)
{
	struct ud_send *u = arg;
	const struct rb_ah *ah = u->ah;
	struct soft_recv_take t;
	uint8_t grh[SOFT_GRH_LEN];
	uint32_t qkey, word;
	uint16_t paylen;
	bool src_failed;

	if (dest->qp.type != IBV_QPT_UD || dest->qp.dev != u->qp->qp.dev ||
	    !soft_qp_alive(dest))
		return;
	qkey = (u->w->hdr.remote_qkey & 0x80000000u) ? u->qp->qp.attr.qkey :
	       u->w->hdr.remote_qkey;
	if (dest->qp.attr.qkey != qkey || !soft_resp_peek(dest, &t))
		return;
	/* An IBA GRH, as a NIC writes into the first 40 bytes. */
	word = htobe32((6u << 28) | ((uint32_t)ah->attr.grh.traffic_class << 20) |
		       (ah->attr.grh.flow_label & 0xfffff));
	memcpy(grh, &word, 4);
	paylen = htobe16((uint16_t)u->len);
	memcpy(grh + 4, &paylen, 2);
	grh[6] = 0x1b;
	grh[7] = ah->attr.grh.hop_limit;
	memcpy(grh + 8, u->sgid.raw, 16);
	memcpy(grh + 24, ah->attr.grh.dgid.raw, 16);
	{
		struct soft_delivery dv = {
			.from = u->qp, .grh = grh, .src = u->src, .ns = u->ns,
			.len = u->len, .opcode = IBV_WC_RECV, .scatter = true,
			.with_imm = u->w->hdr.opcode == IBV_WR_SEND_WITH_IMM,
			.imm = u->w->hdr.imm_data,
			.solicited = u->w->hdr.send_flags & IBV_SEND_SOLICITED,
		};

		soft_resp_deliver(dest, &t, &dv, &src_failed);
	}
	if (src_failed)
		u->d->status = IBV_WC_LOC_PROT_ERR;
}

/* A UD SEND: to whichever QP the AH and remote_qpn name, to every QP
 * attached to the group a multicast GID names (soft-mcast.c), or
 * nowhere. */
static enum exec_result exec_ud(struct soft_qp *qp, const union swqe *w,
				struct soft_swqe_done *d, const struct mem_seg *src,
				uint32_t ns, uint64_t len)
{
	struct ud_send u = { .qp = qp, .w = w, .d = d, .src = src, .ns = ns,
			     .len = len };
	struct rb_res *r;
	struct soft_qp *dest;
	enum ibv_gid_type gid_type;

	if (len > UD_MTU) {
		d->status = IBV_WC_LOC_LEN_ERR;
		return X_DONE;
	}
	r = res_lookup(qp->qp.res.owner, w->hdr.ah_handle, RB_RES_AH, NULL);
	u.ah = (const struct rb_ah *)r;
	if (!u.ah || r->deps[0] != qp->qp.res.deps[0]) {
		d->status = IBV_WC_LOC_QP_OP_ERR;
		return X_DONE;
	}
	if (qp->qp.dev->ops.query_gid(qp->qp.dev, 1, u.ah->attr.grh.sgid_index,
				      &u.sgid, &gid_type) < 0)
		return X_DONE;
	if (soft_mcast_send(qp, &u.ah->attr.grh.dgid, ud_deliver, &u))
		return X_DONE;
	/* Addressed to another host: RoCEv2 on the wire (roce-ud.c). */
	if (roce_remote(soft_dev_of(qp)->roce, &u.ah->attr.grh.dgid)) {
		d->status = roce_ud_send(qp, &u.ah->attr.grh.dgid, u.ah->attr.grh.sgid_index,
					 w->hdr.remote_qpn,
					 (w->hdr.remote_qkey & 0x80000000u) ?
					 qp->qp.attr.qkey : w->hdr.remote_qkey,
					 w->hdr.opcode == IBV_WR_SEND_WITH_IMM, w->hdr.imm_data,
					 w->hdr.send_flags & IBV_SEND_SOLICITED, src, ns, len);
		return X_DONE;
	}
	/* Anything else not addressed to this device: gone. */
	if (!roce_local(soft_dev_of(qp)->roce, &u.ah->attr.grh.dgid))
		return X_DONE;
	dest = soft_qp_find(qp->qp.dev, w->hdr.remote_qpn & 0xffffff);
	if (dest)
		ud_deliver(dest, &u);
	return X_DONE;
}

/* Execute the READ or atomic at the responder; its response lands later. */
static enum exec_result exec_rd_atomic(struct soft_qp *qp, struct soft_qp *dest,
				       const union swqe *w, struct soft_swqe_done *d,
				       uint64_t cap)
{
	const struct rb_sge *sge = swqe_sge(w);
	uint32_t op = w->hdr.opcode;
	struct mem_seg local[RB_MAX_SGE], rseg;
	struct soft_rd_resp *resp;
	uint32_t nl = 0;
	uint64_t len = 0;
	bool dst_failed = false;

	if (w->hdr.num_sge > qp->qp.cap.max_send_sge) {
		d->status = IBV_WC_LOC_QP_OP_ERR;
		return X_DONE;
	}
	if (op != IBV_WR_RDMA_READ && (w->hdr.num_sge != 1 || sge[0].length != 8)) {
		d->status = IBV_WC_LOC_LEN_ERR;
		return X_DONE;
	}
	for (uint32_t i = 0; i < w->hdr.num_sge; i++) {
		if (!sge[i].length)
			continue;
		d->status = (uint32_t)soft_mem_local(qp, &sge[i], IBV_ACCESS_LOCAL_WRITE,
					       &local[nl]);
		if (d->status)
			return X_DONE;
		len += local[nl++].len;
	}
	if (len > MSG_MAX) {
		d->status = IBV_WC_LOC_LEN_ERR;
		return X_DONE;
	}
	d->byte_len = (uint32_t)len;
	if (op != IBV_WR_RDMA_READ && (w->hdr.remote_addr & 7)) {
		d->status = IBV_WC_REM_INV_REQ_ERR;
		soft_qp_to_error(dest, IBV_EVENT_QP_REQ_ERR, true, 0);
		return X_DONE;
	}
	if (len && !soft_mem_remote(dest, w->hdr.rkey, w->hdr.remote_addr, len,
			       op == IBV_WR_RDMA_READ ? IBV_ACCESS_REMOTE_READ :
							IBV_ACCESS_REMOTE_ATOMIC, &rseg)) {
		d->status = IBV_WC_REM_ACCESS_ERR;
		soft_qp_to_error(dest, IBV_EVENT_QP_ACCESS_ERR, true, 0);
		return X_DONE;
	}
	if (op == IBV_WR_RDMA_READ && len > SOFT_RD_STAGE_MAX) {
		/* Large: straight into place, as if the response were here,
		 * a part per turn. */
		bool more = false;

		if (xfer_part(qp, local, nl, &rseg, 1, len, cap, &dst_failed, &more) < 0)
			d->status = dst_failed ? IBV_WC_LOC_PROT_ERR : IBV_WC_REM_ACCESS_ERR;
		return more ? X_PART : X_DONE;
	}
	resp = rd_push(qp);
	if (!resp) {
		d->status = IBV_WC_LOC_QP_OP_ERR;	/* out of memory */
		return X_DONE;
	}
	resp->num_sge = w->hdr.num_sge;
	memcpy(resp->sge, sge, w->hdr.num_sge * sizeof(*sge));
	resp->len = (uint32_t)len;
	if (op == IBV_WR_RDMA_READ && len > sizeof(uint64_t)) {
		resp->data = stage_get(soft_dev_of(qp));
		if (!resp->data) {
			qp->rd_count--;
			d->status = IBV_WC_LOC_QP_OP_ERR;
			return X_DONE;
		}
	} else {
		resp->data = (uint8_t *)&resp->small;
	}
	if (op == IBV_WR_RDMA_READ) {
		struct mem_seg stage = { .ptr = resp->data, .len = len };

		if (len && soft_mem_copy(&stage, 1, &rseg, 1, len, &dst_failed) < 0) {
			if (len > sizeof(uint64_t))
				stage_put(soft_dev_of(qp), resp->data);
			qp->rd_count--;
			d->status = IBV_WC_REM_ACCESS_ERR;
			return X_DONE;
		}
	} else {
		uint64_t orig, *p = (uint64_t *)(void *)rseg.ptr;
		bool cas = op == IBV_WR_ATOMIC_CMP_AND_SWP;

		if (p && !((uintptr_t)p & 7)) {
			/* Atomic against the client's CPU too, not only ours. */
			if (cas) {
				orig = w->hdr.compare_add;
				__atomic_compare_exchange_n(p, &orig, w->hdr.swap, false,
							    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			} else {
				orig = __atomic_fetch_add(p, w->hdr.compare_add,
							  __ATOMIC_SEQ_CST);
			}
		} else {
			/* One engine thread: still atomic among the device's atomics. */
			struct mem_seg val = { .ptr = (uint8_t *)&orig, .len = 8 };
			uint64_t next;
			struct mem_seg nv = { .ptr = (uint8_t *)&next, .len = 8 };

			if (soft_mem_copy(&val, 1, &rseg, 1, 8, &dst_failed) < 0) {
				qp->rd_count--;
				d->status = IBV_WC_REM_ACCESS_ERR;
				return X_DONE;
			}
			next = cas ? (orig == w->hdr.compare_add ? w->hdr.swap : orig) :
				     orig + w->hdr.compare_add;
			if (soft_mem_copy(&rseg, 1, &nv, 1, 8, &dst_failed) < 0) {
				qp->rd_count--;
				d->status = IBV_WC_REM_ACCESS_ERR;
				return X_DONE;
			}
		}
		memcpy(resp->data, &orig, 8);
	}
	resp->index = qp->sq_exec;
	d->pending = true;
	return X_DEFER;
}

/*
 * IBV_WR_ATOMIC_WRITE (as rxe): the WQE's 8 bytes land at once at an
 * aligned remote address the rkey lets the requester write, or not at all:
 * misaligned is IBV_WC_REM_INV_REQ_ERR and a bad rkey, bounds or access
 * IBV_WC_REM_ACCESS_ERR, each moving the responder to ERR too, as a NIC's
 * NAK does.  No receive is taken; nothing completes at the responder.
 */
static enum exec_result exec_atomic_write(struct soft_qp *qp, struct soft_qp *dest,
					  const union swqe *w, struct soft_swqe_done *d)
{
	struct mem_seg rseg, val = { .ptr = (uint8_t *)&w->hdr.compare_add, .len = 8 };
	bool dst_failed = false;
	uint64_t *p;

	(void)qp;
	d->byte_len = 8;
	if (w->hdr.remote_addr & 7) {
		d->status = IBV_WC_REM_INV_REQ_ERR;
		soft_qp_to_error(dest, IBV_EVENT_QP_REQ_ERR, true, 0);
		return X_DONE;
	}
	if (!soft_mem_remote(dest, w->hdr.rkey, w->hdr.remote_addr, 8,
			     IBV_ACCESS_REMOTE_WRITE, &rseg)) {
		d->status = IBV_WC_REM_ACCESS_ERR;
		soft_qp_to_error(dest, IBV_EVENT_QP_ACCESS_ERR, true, 0);
		return X_DONE;
	}
	p = (uint64_t *)(void *)rseg.ptr;
	if (p && !((uintptr_t)p & 7)) {
		uint64_t v;

		/* One store: no reader on any CPU sees half of it. */
		memcpy(&v, &w->hdr.compare_add, 8);
		__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
	} else if (soft_mem_copy(&rseg, 1, &val, 1, 8, &dst_failed) < 0) {
		/* /proc/PID/mem: one 8-byte pwrite, whole or not at all. */
		d->status = IBV_WC_REM_ACCESS_ERR;
	}
	return X_DONE;
}

/*
 * IBV_WR_FLUSH (as rxe): the responder QP must allow the placement type
 * (IBV_ACCESS_FLUSH_GLOBAL / _PERSISTENT in qp_access_flags, else
 * IBV_WC_REM_INV_REQ_ERR), and the rkey name an MR of its PD with that
 * access holding the range (IBV_FLUSH_RANGE; IBV_FLUSH_MR: the whole MR),
 * else IBV_WC_REM_ACCESS_ERR; both move the responder to ERR.  What the
 * engine placed went straight into the memory the client maps (or through
 * its /proc/PID/mem): it is globally visible once this fence passes.
 */
static enum exec_result exec_flush(struct soft_qp *dest, const union swqe *w,
				   struct soft_swqe_done *d)
{
	uint32_t type = w->hdr.imm_data & 0xff, level = (w->hdr.imm_data >> 8) & 0xff;
	uint32_t access = ((type & RB_FLUSH_GLOBAL) ? RB_ACCESS_FLUSH_GLOBAL : 0) |
			  ((type & RB_FLUSH_PERSISTENT) ? RB_ACCESS_FLUSH_PERSISTENT : 0);
	const struct rb_mr *mr;

	if (!type || (type & ~(RB_FLUSH_GLOBAL | RB_FLUSH_PERSISTENT)) ||
	    level > RB_FLUSH_MR || (dest->qp.attr.qp_access_flags & access) != access) {
		d->status = IBV_WC_REM_INV_REQ_ERR;
		soft_qp_to_error(dest, IBV_EVENT_QP_REQ_ERR, true, 0);
		return X_DONE;
	}
	mr = soft_keys_find_rkey(dest->qp.dev, w->hdr.rkey);
	if (!mr || mr->res.deps[0] != dest->qp.res.deps[0] || (mr->access & access) != access ||
	    (level == RB_FLUSH_RANGE &&
	     (w->hdr.remote_addr < mr->iova || w->hdr.compare_add > mr->length ||
	      w->hdr.remote_addr - mr->iova > mr->length - w->hdr.compare_add))) {
		d->status = IBV_WC_REM_ACCESS_ERR;
		soft_qp_to_error(dest, IBV_EVENT_QP_ACCESS_ERR, true, 0);
		return X_DONE;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return X_DONE;
}

/*
 * The next part of a SEND into the receive it claimed at dest (soft-resp.c):
 * X_PART while some is left, else X_DONE with the completion both sides
 * get.  A receive that fails (its buffers deregistered meanwhile) fails
 * the SEND as a whole delivery's would; the sender's own memory failing
 * fails only the sender here, and its claim is flushed (soft_req_step).
 */
static enum exec_result exec_send_part(struct soft_qp *qp, struct soft_qp *dest,
				       const struct soft_delivery *dv,
				       struct soft_swqe_done *d, uint64_t cap, bool rc)
{
	struct mem_seg dst[RB_MAX_SGE];
	uint32_t nd, st;
	bool dst_failed = false, more = false;

	st = soft_resp_claim_segs(dest, dv->len, dst, &nd);
	if (!st && xfer_part(qp, dst, nd, dv->src, dv->ns, dv->len, cap, &dst_failed,
			     &more) < 0) {
		if (!dst_failed) {
			d->status = IBV_WC_LOC_PROT_ERR;
			return X_DONE;
		}
		st = IBV_WC_LOC_PROT_ERR;
	}
	if (!st && more)
		return X_PART;
	st = soft_resp_claim_end(dest, dv, st);
	if (rc && (st == IBV_WC_LOC_LEN_ERR || st == IBV_WC_REM_INV_REQ_ERR))
		d->status = IBV_WC_REM_INV_REQ_ERR;
	else if (rc && st != IBV_WC_SUCCESS)
		d->status = IBV_WC_REM_OP_ERR;
	return X_DONE;
}

/*
 * Execute the WQE at sq_exec, a WRITE or large READ at most cap bytes of
 * it at a time (X_PART); d holds its completion-to-be.
 */
static enum exec_result exec_wqe(struct soft_qp *qp, const union swqe *w,
				 struct soft_swqe_done *d, uint64_t cap)
{
	uint32_t op = w->hdr.opcode;
	const struct rb_sge *sge = swqe_sge(w);
	struct mem_seg src[RB_MAX_SGE], rseg;
	struct soft_qp *dest;
	struct soft_recv_take t;
	struct soft_delivery dv;
	uint32_t ns = 0;
	uint64_t len = 0;
	bool rc = qp->qp.type == IBV_QPT_RC, failed = false, is_send;

	if (!rb_send_opcode_ok(qp->qp.type, op)) {
		d->status = IBV_WC_LOC_QP_OP_ERR;
		return X_DONE;
	}
	/* Local operations: on this QP's PD, in SQ order (soft-mw.c). */
	if (op == IBV_WR_BIND_MW) {
		d->status = soft_mw_bind(qp, &w->hdr);
		return X_DONE;
	}
	if (op == IBV_WR_LOCAL_INV) {
		d->status = soft_mw_local_inv(qp, w->hdr.imm_data);
		return X_DONE;
	}
	if (qp->qp.type != IBV_QPT_UD && !roce_qp_remote(qp)) {
		/* XRC_SEND talks to an XRC_RECV QP; the rest to their own type. */
		enum ibv_qp_type peer = qp->qp.type == IBV_QPT_XRC_SEND ? IBV_QPT_XRC_RECV :
									qp->qp.type;

		dest = soft_qp_find(qp->qp.dev, qp->qp.attr.dest_qp_num);
		if ((rc || qp->qp.type == IBV_QPT_XRC_SEND) && dest && dest->qp.type == peer &&
		    dest->qp.dev == qp->qp.dev && !res_owner_killed(&dest->qp.res) &&
		    (dest->qp.attr.qp_state == IBV_QPS_RESET ||
		     dest->qp.attr.qp_state == IBV_QPS_INIT))
			return exec_retry(qp, d);
		if (!dest || dest->qp.type != peer || dest->qp.dev != qp->qp.dev ||
		    !soft_qp_alive(dest) || dest->qp.attr.dest_qp_num != qp->qp.qp_num) {
			/* Nobody answers: RC retries out, UC's packets vanish. */
			if (rc && evtimer_pending(qp->ev_lost, NULL))
				return exec_lost(qp);
			if (rc || qp->qp.type == IBV_QPT_XRC_SEND)
				d->status = IBV_WC_RETRY_EXC_ERR;
			return X_DONE;
		}
		if (op_is_rd_atomic(op))
			return exec_rd_atomic(qp, dest, w, d, cap);
		if (op == IBV_WR_ATOMIC_WRITE)
			return exec_atomic_write(qp, dest, w, d);
		if (op == RB_WR_FLUSH)
			return exec_flush(dest, w, d);
	} else {
		dest = NULL;
	}
	/* The data of a SEND or WRITE: inline, or gathered from MRs. */
	if (w->hdr.send_flags & IBV_SEND_INLINE) {
		if (w->hdr.inline_len > qp->qp.cap.max_inline_data ||
		    w->hdr.inline_len > sizeof(w->raw) - sizeof(w->hdr)) {
			d->status = IBV_WC_LOC_LEN_ERR;
			return X_DONE;
		}
		src[0] = (struct mem_seg){ .ptr = (uint8_t *)sge, .len = w->hdr.inline_len };
		ns = w->hdr.inline_len ? 1 : 0;
		len = w->hdr.inline_len;
	} else {
		if (w->hdr.num_sge > qp->qp.cap.max_send_sge) {
			d->status = IBV_WC_LOC_QP_OP_ERR;
			return X_DONE;
		}
		for (uint32_t i = 0; i < w->hdr.num_sge; i++) {
			if (!sge[i].length)
				continue;
			d->status = (uint32_t)soft_mem_local(qp, &sge[i], 0, &src[ns]);
			if (d->status)
				return X_DONE;
			len += src[ns++].len;
		}
	}
	if (len > MSG_MAX) {
		d->status = IBV_WC_LOC_LEN_ERR;
		return X_DONE;
	}
	d->byte_len = (uint32_t)len;
	dv = (struct soft_delivery){
		.from = qp, .src = src, .ns = ns, .len = len,
		.opcode = op == IBV_WR_RDMA_WRITE_WITH_IMM ?
			  IBV_WC_RECV_RDMA_WITH_IMM : IBV_WC_RECV,
		.scatter = op != IBV_WR_RDMA_WRITE_WITH_IMM,
		.with_imm = op == IBV_WR_SEND_WITH_IMM || op == IBV_WR_RDMA_WRITE_WITH_IMM,
		.imm = w->hdr.imm_data,
		.solicited = w->hdr.send_flags & IBV_SEND_SOLICITED,
		.with_inv = op == IBV_WR_SEND_WITH_INV,
		.inv_rkey = w->hdr.imm_data,
	};
	if (!dest && qp->qp.type != IBV_QPT_UD) {
		/* To another host: on the wire (roce-req.c, roce-rc.c). */
		d->status = rc ? roce_rc_post(qp, d, &w->hdr, sge, len) :
			    roce_req_send(qp, op, w->hdr.remote_addr, w->hdr.rkey,
					  w->hdr.imm_data, w->hdr.send_flags & IBV_SEND_SOLICITED,
					  src, ns, len);
		return X_DONE;
	}
	if (!dest)
		return exec_ud(qp, w, d, src, ns, len);

	is_send = op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM || op == IBV_WR_SEND_WITH_INV;
	if (is_send && qp->xfer_off) {
		/* A later part: into the receive taken at the first, if the
		 * responder still holds it for us (else it went to ERR, was
		 * reset or destroyed meanwhile: nobody answers). */
		if (qp->xfer_dest != dest) {
			if (rc || qp->qp.type == IBV_QPT_XRC_SEND)
				d->status = IBV_WC_RETRY_EXC_ERR;
			return X_DONE;
		}
		return exec_send_part(qp, dest, &dv, d, cap,
				      rc || qp->qp.type == IBV_QPT_XRC_SEND);
	}
	if (qp->qp.type == IBV_QPT_XRC_SEND) {
		/* The receive comes from the XRC SRQ the WR names, which must
		 * be of the receiving QP's domain: else an invalid request. */
		int got = soft_resp_peek_xrc(dest, w->hdr.remote_qpn & 0xffffff, &t);

		if (got < 0) {
			d->status = IBV_WC_REM_INV_REQ_ERR;
			soft_qp_to_error(dest, IBV_EVENT_QP_REQ_ERR, true, 0);
			return X_DONE;
		}
		if (!got)
			return exec_rnr(qp, dest, d);
		rc = true;	/* reliable from here on, as RC */
	} else if (op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM ||
		   op == IBV_WR_SEND_WITH_INV || op == IBV_WR_RDMA_WRITE_WITH_IMM) {
		if (!soft_resp_peek(dest, &t))
			return rc ? exec_rnr(qp, dest, d) : X_DONE;
	}
	if (op == IBV_WR_RDMA_WRITE || op == IBV_WR_RDMA_WRITE_WITH_IMM) {
		bool dst_failed = false;

		if (len && !soft_mem_remote(dest, w->hdr.rkey, w->hdr.remote_addr, len,
				       IBV_ACCESS_REMOTE_WRITE, &rseg)) {
			if (rc) {
				d->status = IBV_WC_REM_ACCESS_ERR;
				soft_qp_to_error(dest, IBV_EVENT_QP_ACCESS_ERR, true, 0);
			}
			return X_DONE;
		}
		if (len) {
			bool more = false;

			if (xfer_part(qp, &rseg, 1, src, ns, len, cap, &dst_failed, &more) < 0) {
				d->status = dst_failed ? IBV_WC_REM_ACCESS_ERR : IBV_WC_LOC_PROT_ERR;
				return X_DONE;
			}
			if (more)
				return X_PART;
		}
		if (op == IBV_WR_RDMA_WRITE)
			return X_DONE;
	}
	/*
	 * Too large for this turn: it takes the receive and lands in parts.
	 * Up to SOFT_SEND_WHOLE it moves whole all the same (a turn's
	 * overdraft is bounded by it): a message that small costs less than
	 * a claim, and lands in one piece, as before, after the READ
	 * responses in flight (an unfenced SEND of what a READ is fetching
	 * carries the old bytes, not a mix).
	 */
	if (is_send && len > cap && len > SOFT_SEND_WHOLE &&
	    !soft_resp_claim(dest, &t, &dv, qp))
		return exec_send_part(qp, dest, &dv, d, cap, rc);
	{
		uint32_t st = soft_resp_deliver(dest, &t, &dv, &failed);

		if (failed)
			d->status = IBV_WC_LOC_PROT_ERR;
		else if (rc && (st == IBV_WC_LOC_LEN_ERR || st == IBV_WC_REM_INV_REQ_ERR))
			d->status = IBV_WC_REM_INV_REQ_ERR;
		else if (rc && st != IBV_WC_SUCCESS)
			d->status = IBV_WC_REM_OP_ERR;
	}
	return X_DONE;
}

/*
 * What the WQE just executed moved and cost: its bytes (from where it
 * was, for a transfer in parts), and a WR's worth if it was new.
 */
static void step_account(struct soft_turn *turn, uint64_t bytes, bool new_wr)
{
	turn->bytes += bytes;
	turn->budget -= (int64_t)bytes;
	if (new_wr) {
		turn->wrs++;
		turn->budget -= SOFT_WR_COST;
	}
}

/* One pass over one QP, within turn; true if it did anything. */
bool soft_req_step(struct soft_qp *qp, struct soft_turn *turn)
{
	bool progress = false;
	uint32_t prod, max_rd;
	uint64_t off0;

	/* Its session goes, and the QP with it; an XRC_RECV QP has no
	 * queues of its own (nor CQs to complete into). */
	if (res_owner_killed(&qp->qp.res) || qp->qp.type == IBV_QPT_XRC_RECV) {
		soft_qp_deactivate(qp);
		return false;
	}
	/*
	 * Nothing posted, nothing in flight, nothing to retire: what the
	 * steps below would find, in one load of prod.  Most steps are this
	 * one (a polled QP between messages), and the empty pass is what a
	 * message landing meanwhile waits out (docs/performance.md, "Cache
	 * lines and instructions per message").
	 */
	if (soft_req_idle(qp))
		return false;
	if (qp->rd_count && qp->qp.attr.qp_state != IBV_QPS_ERR) {
		uint64_t landed = 0;

		/* A response's bytes count when it lands (as on a wire). */
		for (uint32_t i = 0; i < qp->rd_count; i++)
			landed += qp->rd[(qp->rd_head + i) % qp->rd_cap].len;
		soft_req_rd_land_all(qp, false);
		step_account(turn, landed, false);
		progress = true;
	}
	if (qp->qp.attr.qp_state == IBV_QPS_ERR)
		return soft_comp_flush(qp) || progress;
	if (qp->qp.attr.qp_state != IBV_QPS_RTS) {
		soft_comp_sq_retire(qp);
		return progress;
	}
	max_rd = qp->qp.attr.max_rd_atomic ? qp->qp.attr.max_rd_atomic : 1;
	prod = soft_req_sq_prod(qp);
	while (qp->sq_exec != prod) {
		union swqe w;
		struct soft_swqe_done *d = &qp->done[qp->sq_exec & (qp->qp.sq_entries - 1)];
		enum exec_result x;
		uint32_t size = qp->qp.sq_entry_size < sizeof(w) ? qp->qp.sq_entry_size :
								sizeof(w);

		if (turn->budget <= 0)
			break;		/* the rest at its next turn */
		if (qp->rnr_wait && soft_dev_of(qp)->now < qp->rnr_deadline_ns)
			break;
		off0 = qp->xfer_off;
		if (off0) {
			/* Taken already: the copy we took, admitted already. */
			memcpy(w.raw, qp->xfer_w, size);
		} else {
			/* Copy first: the client may change the slot under us. */
			size = swqe_take(&w, ring_slot(qp->qp.sq, qp->qp.sq_entries,
						       qp->qp.sq_entry_size, qp->sq_exec), size);
			if ((w.hdr.send_flags & IBV_SEND_FENCE) && qp->rd_count)
				break;	/* after the responses in flight land */
			if (op_is_rd_atomic(w.hdr.opcode) &&
			    (qp->rd_count >= max_rd ||
			     (qp->rd_count && qp->rd_count >= qp->rd_cap)))
				break;	/* initiator depth reached */
		}
		*d = (struct soft_swqe_done){
			.wr_id = w.hdr.wr_id, .opcode = rb_wc_opcode(w.hdr.opcode),
			.signaled = qp->qp.sq_sig_all ||
				    (w.hdr.send_flags & IBV_SEND_SIGNALED),
		};
		if (!qp->rnr_wait) {
			qp->rnr_left = qp->qp.attr.rnr_retry;
			qp->retry_left = qp->qp.attr.retry_cnt;
		}
		x = exec_wqe(qp, &w, d, turn->budget > SOFT_CHUNK_MIN ?
					 (uint64_t)turn->budget : SOFT_CHUNK_MIN);
		if (x == X_RNR)
			break;
		/* A SEND in parts that ended short: its receive is flushed. */
		if (x == X_DONE && qp->xfer_dest)
			soft_resp_claim_drop(qp->xfer_dest, true);
		qp->rnr_wait = false;
		if (x == X_PART) {
			if (!off0)
				memcpy(qp->xfer_w, w.raw, size);
			step_account(turn, qp->xfer_off - off0, !off0);
			progress = true;
			break;
		}
		qp->xfer_off = 0;
		/* A READ or atomic's response counts when it lands. */
		step_account(turn, x == X_DONE && d->status == IBV_WC_SUCCESS &&
				   d->byte_len > off0 ? d->byte_len - off0 : 0, !off0);
		qp->sq_exec++;
		progress = true;
		if (d->status != IBV_WC_SUCCESS) {
			soft_qp_to_error(qp, 0, false, 0);
			break;
		}
	}
	soft_comp_sq_retire(qp);
	if (qp->qp.attr.qp_state == IBV_QPS_ERR)
		soft_comp_flush(qp);
	return progress;
}

void soft_req_xfer_abort(struct soft_qp *qp)
{
	qp->xfer_off = 0;
	if (qp->xfer_dest)
		soft_resp_claim_drop(qp->xfer_dest, true);
}

/* Forget the responses in flight: RESET, or the QP going away. */
void soft_req_rd_discard(struct soft_qp *qp)
{
	while (qp->rd_count) {
		struct soft_rd_resp *r = &qp->rd[qp->rd_head];

		if (r->len > sizeof(uint64_t))
			stage_put(soft_dev_of(qp), r->data);
		qp->rd_head = (qp->rd_head + 1) % qp->rd_cap;
		qp->rd_count--;
	}
}

