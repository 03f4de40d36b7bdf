/* SPDX-License-Identifier: MIT */
/*
 * RC READ and atomics between hosts (IBTA 9.4.3, 9.4.5, 9.7.5.1.3).
 *
 * Responder.  A READ request (RETH: address, rkey, length) is checked
 * once for its whole length against an MR allowing remote reads, then
 * answered by READ RESPONSE FIRST/MIDDLE/LAST (or ONLY) packets of the
 * path MTU, one PSN each, the first and last with an AETH.  A
 * CompareSwap or FetchAdd (AtomicETH) must name an 8-byte aligned
 * address an MR allows atomics on; it is done at once, atomically against
 * the client's CPU too where the memory is mapped, and answered by an
 * ATOMIC ACKNOWLEDGE carrying the original value (AtomicAckETH).  Each
 * takes one of the QP's max_dest_rd_atomic responder resources, reused
 * oldest first, which remember it: a READ sent again (its responses were
 * lost) is executed again, from the PSN the duplicate names and within
 * what the first asked; an atomic sent again is never done twice but
 * answered from the saved original value.  A duplicate no resource
 * remembers is dropped (the requester then retries out), as the spec
 * leaves it.
 *
 * Requester.  roce-rc.c keeps a READ or atomic WQE in flight like any
 * other and asks here for its request packets; a READ is asked in
 * requests of at most ROCE_RC_WINDOW response packets, aligned to it, so
 * that a responder's burst fits the peer's socket and a request asked
 * again after a loss lies within the first.  Responses land here in PSN
 * order straight into the WQE's SGEs, looked up again at each packet
 * (the MRs may change meanwhile).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

/* ------------------------------------------------------------ responder */

/* The resource a new READ or atomic takes: the oldest. */
static struct roce_res *roce_rd_res_new(struct roce_qp *q)
{
	struct roce_res *res = &q->res[q->res_next++ % q->res_cap];

	memset(res, 0, sizeof(*res));
	res->used = true;
	return res;
}

/* Send the READ responses for len bytes of seg from response PSN psn on
 * (npkts packets); a full batch stops it (the requester asks again). */
static void roce_rd_respond(struct roce_dev *r, struct roce_qp *q, const struct roce_flow *flow,
			    const struct mem_seg *seg, uint64_t len, uint32_t psn)
{
	uint32_t mtu = roce_qp_mtu(q->qp);
	uint32_t n = len ? (uint32_t)((len + mtu - 1) / mtu) : 1;

	for (uint32_t k = 0; k < n; k++) {
		uint64_t off = (uint64_t)k * mtu;
		uint32_t sz = (uint32_t)(len - off < mtu ? len - off : mtu);
		bool first = k == 0, last = k + 1 == n;
		struct roce_pkt p = { 0 };

		p.opcode = ROCE_TR_RC | (first && last ? ROCE_OP_READ_RESP_ONLY :
					 first ? ROCE_OP_READ_RESP_FIRST :
					 last ? ROCE_OP_READ_RESP_LAST : ROCE_OP_READ_RESP_MIDDLE);
		p.psn = (psn + k) & ROCE_PSN_MASK;
		p.aeth.syndrome = ROCE_AETH_ACK | 0x1f;
		p.aeth.msn = q->msn & ROCE_PSN_MASK;
		if (roce_rc_emit(r, q, flow->src, flow->dst, &p, seg, len ? 1 : 0, off, sz) < 0)
			return;
	}
}

static int roce_rd_atomic_exec(const struct roce_pkt *p, const struct mem_seg *seg,
			       uint64_t *orig)
{
	bool cas = (p->opcode & 0x1f) == ROCE_OP_CMP_SWAP;
	uint64_t *ptr = (uint64_t *)(void *)seg->ptr;
	bool failed = false;

	if (ptr && !((uintptr_t)ptr & 7)) {
		/* Atomic against the client's CPU too, not only ours. */
		if (cas) {
			*orig = p->atomic.cmp;
			__atomic_compare_exchange_n(ptr, orig, p->atomic.swap_add, false,
						    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		} else {
			*orig = __atomic_fetch_add(ptr, p->atomic.swap_add, __ATOMIC_SEQ_CST);
		}
		return 0;
	}
	{
		/* Through /proc/PID/mem: one engine thread, so still atomic
		 * among the device's atomics. */
		uint64_t next;
		struct mem_seg val = { .ptr = (uint8_t *)orig, .len = 8 };
		struct mem_seg nv = { .ptr = (uint8_t *)&next, .len = 8 };

		if (soft_mem_copy(&val, 1, seg, 1, 8, &failed) < 0)
			return -EACCES;
		next = cas ? (*orig == p->atomic.cmp ? p->atomic.swap_add : *orig) :
			     *orig + p->atomic.swap_add;
		if (soft_mem_copy(seg, 1, &nv, 1, 8, &failed) < 0)
			return -EACCES;
	}
	return 0;
}

static void roce_rd_atomic_ack(struct roce_dev *r, struct roce_qp *q,
			       const struct roce_flow *flow, uint32_t psn, uint64_t orig)
{
	struct roce_pkt a = { 0 };

	a.opcode = ROCE_TR_RC | ROCE_OP_ATOMIC_ACK;
	a.psn = psn & ROCE_PSN_MASK;
	a.aeth.syndrome = ROCE_AETH_ACK | 0x1f;
	a.aeth.msn = q->msn & ROCE_PSN_MASK;
	a.atomic_orig = orig;
	roce_rc_emit(r, q, flow->src, flow->dst, &a, NULL, 0, 0, 0);
}

int roce_rd_request(struct roce_dev *r, struct roce_qp *q, const struct roce_pkt *p,
		    const struct roce_flow *flow)
{
	struct soft_qp *qp = q->qp;
	uint32_t mtu = roce_qp_mtu(qp);
	struct roce_res *res;
	struct mem_seg seg = { 0 };
	uint64_t orig;

	if (!q->res_cap)
		return -EINVAL;		/* no responder resources: max_dest_rd_atomic 0 */
	if ((p->opcode & 0x1f) == ROCE_OP_READ_REQ) {
		uint32_t len = p->reth.len;

		if (len > (1u << 31))
			return -EINVAL;
		if (len && !soft_mem_remote(qp, p->reth.rkey, p->reth.va, len,
					    IBV_ACCESS_REMOTE_READ, &seg))
			return -EACCES;
		res = roce_rd_res_new(q);
		res->psn = p->psn;
		res->npkts = len ? (len + mtu - 1) / mtu : 1;
		q->epsn = (q->epsn + res->npkts) & ROCE_PSN_MASK;
		q->msn++;
		ROCE_COUNT(r, q, rx_reads);
		roce_rd_respond(r, q, flow, &seg, len, p->psn);
		return 0;
	}
	if (p->atomic.va & 7)
		return -EINVAL;
	if (!soft_mem_remote(qp, p->atomic.rkey, p->atomic.va, 8, IBV_ACCESS_REMOTE_ATOMIC, &seg) ||
	    roce_rd_atomic_exec(p, &seg, &orig) < 0)
		return -EACCES;
	res = roce_rd_res_new(q);
	res->atomic = true;
	res->psn = p->psn;
	res->npkts = 1;
	res->orig = orig;
	q->epsn = (q->epsn + 1) & ROCE_PSN_MASK;
	q->msn++;
	ROCE_COUNT(r, q, rx_atomics);
	roce_rd_atomic_ack(r, q, flow, p->psn, orig);
	return 0;
}

void roce_rd_duplicate(struct roce_dev *r, struct roce_qp *q, const struct roce_pkt *p,
		       const struct roce_flow *flow)
{
	bool read = (p->opcode & 0x1f) == ROCE_OP_READ_REQ;
	uint32_t mtu = roce_qp_mtu(q->qp);

	for (uint32_t i = 0; i < q->res_cap; i++) {
		const struct roce_res *res = &q->res[i];
		int32_t k = roce_psn_diff(p->psn, res->psn);

		if (!res->used || res->atomic == read || k < 0 || (uint32_t)k >= res->npkts)
			continue;
		if (!read) {
			if (k)
				continue;
			ROCE_COUNT(r, q, rx_dup_atomics);
			roce_rd_atomic_ack(r, q, flow, p->psn, res->orig);
			return;
		}
		{
			uint32_t len = p->reth.len;
			uint32_t n = len ? (len + mtu - 1) / mtu : 1;
			struct mem_seg seg = { 0 };

			/* Within what the first asked, and still allowed. */
			if ((uint32_t)k + n > res->npkts ||
			    (len && !soft_mem_remote(q->qp, p->reth.rkey, p->reth.va, len,
						     IBV_ACCESS_REMOTE_READ, &seg)))
				break;
			ROCE_COUNT(r, q, rx_dup_reads);
			roce_rd_respond(r, q, flow, &seg, len, p->psn);
			return;
		}
	}
	ROCE_COUNT(r, q, rx_dup_dropped);
}

/* ------------------------------------------------------------ requester */

void roce_rd_ask(struct soft_qp *qp, const struct roce_fl *f, uint32_t k, uint32_t n)
{
	uint32_t mtu = roce_qp_mtu(qp);
	uint64_t off = (uint64_t)k * mtu, left = f->len > off ? f->len - off : 0;
	uint64_t want = (uint64_t)n * mtu;
	struct roce_pkt p = { 0 };
	struct roce_tx *t = roce_req_slot(qp);
	int hl;

	if (!t)
		return;		/* lost: the timeout asks again */
	p.opcode = ROCE_TR_RC | ROCE_OP_READ_REQ;
	p.pkey = ROCE_PKEY_DEFAULT;
	p.dqpn = qp->qp.attr.dest_qp_num & ROCE_QPN_MASK;
	p.psn = (f->first_psn + k) & ROCE_PSN_MASK;
	p.ackreq = true;
	p.reth.va = f->remote_addr + off;
	p.reth.rkey = f->rkey;
	p.reth.len = (uint32_t)(left < want ? left : want);
	hl = roce_wire_build(t->buf, sizeof(t->buf), &p);
	if (hl < 0)
		return;
	t->len = (uint16_t)hl;
	roce_io_tx_commit(soft_dev_of(qp)->roce, t);
}

void roce_rd_atomic_ask(struct soft_qp *qp, const struct roce_fl *f)
{
	bool cas = f->opcode == IBV_WR_ATOMIC_CMP_AND_SWP;
	struct roce_pkt p = { 0 };
	struct roce_tx *t = roce_req_slot(qp);
	int hl;

	if (!t)
		return;
	p.opcode = ROCE_TR_RC | (cas ? ROCE_OP_CMP_SWAP : ROCE_OP_FETCH_ADD);
	p.pkey = ROCE_PKEY_DEFAULT;
	p.dqpn = qp->qp.attr.dest_qp_num & ROCE_QPN_MASK;
	p.psn = f->first_psn & ROCE_PSN_MASK;
	p.ackreq = true;
	p.atomic.va = f->remote_addr;
	p.atomic.rkey = f->rkey;
	p.atomic.swap_add = cas ? f->swap : f->compare;
	p.atomic.cmp = cas ? f->compare : 0;
	hl = roce_wire_build(t->buf, sizeof(t->buf), &p);
	if (hl < 0)
		return;
	t->len = (uint16_t)hl;
	roce_io_tx_commit(soft_dev_of(qp)->roce, t);
}

uint32_t roce_rd_land(struct soft_qp *qp, struct roce_fl *f, const struct roce_pkt *p)
{
	struct mem_seg dst[RB_MAX_SGE], piece[RB_MAX_SGE];
	struct mem_seg in = { .ptr = (uint8_t *)p->payload, .len = p->paylen };
	uint64_t orig = p->atomic_orig;
	uint64_t off = (uint64_t)f->got * roce_qp_mtu(qp);
	bool dst_failed = false;
	uint32_t nd = 0, np;

	if (f->opcode != IBV_WR_RDMA_READ) {
		in = (struct mem_seg){ .ptr = (uint8_t *)&orig, .len = 8 };
		off = 0;
	}
	if (!in.len)
		return IBV_WC_SUCCESS;
	for (uint32_t i = 0; i < f->num_sge; i++) {
		if (!f->sge[i].length)
			continue;
		if (soft_mem_local(qp, &f->sge[i], IBV_ACCESS_LOCAL_WRITE, &dst[nd]) != IBV_WC_SUCCESS)
			return IBV_WC_LOC_PROT_ERR;
		nd++;
	}
	np = soft_mem_slice(dst, nd, off, in.len, piece);
	if (soft_mem_copy(piece, np, &in, 1, in.len, &dst_failed) < 0)
		return IBV_WC_LOC_PROT_ERR;
	return IBV_WC_SUCCESS;
}
