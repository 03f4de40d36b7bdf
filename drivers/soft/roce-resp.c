/* SPDX-License-Identifier: MIT */
/*
 * The responder of connected QPs whose peer is on another host: packets
 * put together into messages in PSN order.  UC (IBTA 9.7.5.1): a packet
 * whose PSN is not the one expected ends the message in progress, which
 * is dropped whole; a MIDDLE or LAST packet with no message in progress
 * is dropped; a message with no receive posted is dropped; every drop
 * counted.  A SEND is put together in a staging buffer and delivered at
 * its last packet (a receive completes only whole); a WRITE goes
 * straight into place, its rkey checked once for the length its RETH
 * announces.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

static bool roce_resp_is_write(uint8_t opcode)
{
	uint8_t op = opcode & 0x1f;

	return op >= ROCE_OP_WRITE_FIRST && op <= ROCE_OP_WRITE_ONLY_IMM;
}

static void roce_resp_abort(struct roce_qp *q)
{
	q->in_msg = false;
	q->off = 0;
}

/* Room for len more bytes of a SEND in q's staging buffer. */
static bool roce_resp_stage(struct roce_qp *q, uint64_t len)
{
	size_t want = q->stage_cap ? q->stage_cap : 4096;
	uint8_t *b;

	if (q->off + len > ROCE_MSG_MAX)
		return false;
	while (want < q->off + len)
		want *= 2;
	if (want == q->stage_cap)
		return true;
	b = realloc(q->stage, want);
	if (!b)
		return false;
	q->stage = b;
	q->stage_cap = want;
	return true;
}

/* The last packet: a SEND's receive completes, a WRITE's immediate. */
static void roce_resp_complete(struct roce_dev *r, struct roce_qp *q,
			       const struct roce_pkt *p)
{
	struct soft_qp *dest = q->qp;
	struct soft_recv_take t;
	struct mem_seg src = { .ptr = q->stage, .len = q->off };
	bool with_imm = p->hdrs & ROCE_H_IMM, src_failed;

	if (q->write && !with_imm)
		return;
	if (!soft_resp_peek(dest, &t)) {
		r->st.rx_no_recv++;
		return;
	}
	{
		struct soft_delivery dv = {
			.from = NULL, .src_qpn = dest->qp.attr.dest_qp_num,
			.src = &src, .ns = q->write ? 0 : 1, .len = q->off,
			.opcode = q->write ? IBV_WC_RECV_RDMA_WITH_IMM : IBV_WC_RECV,
			.scatter = !q->write, .with_imm = with_imm,
			.solicited = p->se,
		};

		memcpy(&dv.imm, p->imm, 4);
		soft_resp_deliver(dest, &t, &dv, &src_failed);
	}
}

void roce_resp_recv(struct roce_dev *r, const struct roce_pkt *p,
		    const struct roce_flow *flow)
{
	struct soft_qp *dest = soft_qp_find(r->dev, p->dqpn);
	unsigned int h = p->hdrs;
	uint32_t mtu;
	struct roce_qp *q;

	(void)flow;
	if (!dest || dest->qp.type != IBV_QPT_UC || !soft_qp_alive(dest) ||
	    !(h & ROCE_H_REQ)) {
		r->st.rx_unknown_qp++;
		return;
	}
	q = roce_qp_get(r, dest);
	if (!q) {
		r->st.rx_unknown_qp++;	/* out of memory: as if not there */
		return;
	}
	mtu = 256u << (dest->qp.attr.path_mtu ? dest->qp.attr.path_mtu - 1 : 0);
	if (p->psn != q->epsn && q->in_msg) {
		r->st.rx_seq_errors++;
		roce_resp_abort(q);
	}
	q->epsn = (p->psn + 1) & ROCE_PSN_MASK;
	if (h & ROCE_H_FIRST) {
		if (q->in_msg) {
			r->st.rx_seq_errors++;	/* the last packet went missing */
			roce_resp_abort(q);
		}
		q->in_msg = true;
		q->write = h & ROCE_H_RETH;
		q->off = 0;
		q->wlen = q->write ? p->reth.len : 0;
		if (q->write && q->wlen &&
		    !soft_mem_remote(dest, p->reth.rkey, p->reth.va, q->wlen,
				     IBV_ACCESS_REMOTE_WRITE, &q->wseg)) {
			r->st.rx_access_errors++;
			roce_resp_abort(q);
			return;
		}
	} else if (!q->in_msg || q->write != roce_resp_is_write(p->opcode)) {
		/* Nothing in progress (its first packet was lost or refused),
		 * or a SEND's packet within a WRITE: dropped. */
		if (q->in_msg) {
			r->st.rx_seq_errors++;
			roce_resp_abort(q);
		}
		return;
	}
	/* Every packet but the last of a message carries a full MTU. */
	if ((!(h & ROCE_H_LAST) && p->paylen != mtu) || p->paylen > mtu) {
		r->st.rx_malformed++;
		roce_resp_abort(q);
		return;
	}
	if (q->write) {
		struct mem_seg piece, in = { .ptr = (uint8_t *)p->payload, .len = p->paylen };
		bool dst_failed = false;

		if (q->off + p->paylen > q->wlen) {
			r->st.rx_access_errors++;
			roce_resp_abort(q);
			return;
		}
		if (p->paylen && (soft_mem_slice(&q->wseg, 1, q->off, p->paylen, &piece) != 1 ||
				  soft_mem_copy(&piece, 1, &in, 1, p->paylen, &dst_failed) < 0)) {
			r->st.rx_access_errors++;
			roce_resp_abort(q);
			return;
		}
	} else {
		if (!roce_resp_stage(q, p->paylen)) {
			r->st.rx_malformed++;	/* larger than we put together */
			roce_resp_abort(q);
			return;
		}
		memcpy(q->stage + q->off, p->payload, p->paylen);
	}
	q->off += p->paylen;
	if (h & ROCE_H_LAST) {
		if (q->write && q->off != q->wlen)
			r->st.rx_malformed++;	/* shorter than its RETH said */
		else
			roce_resp_complete(r, q, p);
		roce_resp_abort(q);
	}
}
