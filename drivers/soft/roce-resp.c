/* SPDX-License-Identifier: MIT */
/*
 * The responder of connected QPs whose peer is on another host: packets
 * put together into messages in PSN order (roce_resp_take(), for UC here
 * and for RC in roce-rc.c, which answers for it).  A SEND is put
 * together in a staging buffer and delivered at its last packet (a
 * receive completes only whole); a WRITE goes straight into place, its
 * rkey checked once for the length its RETH announces.  A SEND with
 * invalidate (IETH on its last packet) invalidates the window it names
 * as it is delivered.
 *
 * UC (IBTA 9.7.5.1): a packet whose PSN is not the one expected ends the
 * message in progress, which is dropped whole; a MIDDLE or LAST packet
 * with no message in progress is dropped; a message with no receive
 * posted is dropped; every drop counted.
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

int roce_resp_take(struct roce_dev *r, struct roce_qp *q, const struct roce_pkt *p)
{
	struct soft_qp *dest = q->qp;
	unsigned int h = p->hdrs;
	uint32_t mtu = roce_qp_mtu(dest);
	struct soft_recv_take t;
	bool need_recv;

	(void)r;
	if (!(h & ROCE_H_PAYLOAD))
		return -EINVAL;		/* READ, atomics: roce-rd.c */
	if (h & ROCE_H_FIRST) {
		bool write = h & ROCE_H_RETH;

		roce_resp_abort(q);	/* UC: one in progress lost its last packet */
		if (!write && !soft_resp_peek(dest, &t))
			return -EAGAIN;
		if (write && p->reth.len &&
		    !soft_mem_remote(dest, p->reth.rkey, p->reth.va, p->reth.len,
				     IBV_ACCESS_REMOTE_WRITE, &q->wseg))
			return -EACCES;
		q->in_msg = true;
		q->write = write;
		q->wlen = write ? p->reth.len : 0;
	} else if (!q->in_msg) {
		/* Nothing in progress: the rest of a message one of whose
		 * packets was lost (UC drops it until a FIRST or ONLY). */
		return -ENOMSG;
	} else if (q->write != roce_resp_is_write(p->opcode)) {
		/* A SEND's packet within a WRITE, or the reverse. */
		roce_resp_abort(q);
		return -EINVAL;
	}
	/* Every packet but the last carries a full path MTU. */
	if ((!(h & ROCE_H_LAST) && p->paylen != mtu) || p->paylen > mtu ||
	    (q->write && q->off + p->paylen > q->wlen) ||
	    (!q->write && q->off + p->paylen > ROCE_MSG_MAX)) {
		roce_resp_abort(q);
		return -EINVAL;
	}
	/* The last packet completes a receive: one must be there now (an
	 * SRQ's may have gone to another QP since the first). */
	need_recv = (h & ROCE_H_LAST) && (!q->write || (h & ROCE_H_IMM));
	if (need_recv && !soft_resp_peek(dest, &t))
		return -EAGAIN;		/* nothing of this packet taken */
	if (q->write) {
		struct mem_seg piece, in = { .ptr = (uint8_t *)p->payload, .len = p->paylen };
		bool dst_failed = false;

		if (p->paylen && (soft_mem_slice(&q->wseg, 1, q->off, p->paylen, &piece) != 1 ||
				  soft_mem_copy(&piece, 1, &in, 1, p->paylen, &dst_failed) < 0)) {
			roce_resp_abort(q);
			return -EACCES;
		}
	} else {
		if (!roce_resp_stage(q, p->paylen)) {
			roce_resp_abort(q);
			return -EINVAL;
		}
		memcpy(q->stage + q->off, p->payload, p->paylen);
	}
	q->off += p->paylen;
	if (!(h & ROCE_H_LAST))
		return 0;
	if (q->write && q->off != q->wlen) {
		roce_resp_abort(q);	/* shorter than its RETH said */
		return -EINVAL;
	}
	if (need_recv) {
		struct mem_seg src = { .ptr = q->stage, .len = q->off };
		struct soft_delivery dv = {
			.from = NULL, .src_qpn = dest->qp.attr.dest_qp_num,
			.src = &src, .ns = q->write ? 0 : 1, .len = q->off,
			.opcode = q->write ? IBV_WC_RECV_RDMA_WITH_IMM : IBV_WC_RECV,
			.scatter = !q->write, .with_imm = h & ROCE_H_IMM,
			.solicited = p->se,
			.with_inv = h & ROCE_H_IETH, .inv_rkey = p->ieth_rkey,
		};
		bool src_failed;
		uint32_t st;

		memcpy(&dv.imm, p->imm, 4);
		st = soft_resp_deliver(dest, &t, &dv, &src_failed);
		roce_resp_abort(q);
		/* As the local path tells the requester (soft-req.c). */
		if (st == IBV_WC_LOC_LEN_ERR || st == IBV_WC_REM_INV_REQ_ERR)
			return -EINVAL;
		if (st != IBV_WC_SUCCESS)
			return -EIO;
		return 0;
	}
	roce_resp_abort(q);
	return 0;
}

void roce_resp_recv(struct roce_dev *r, const struct roce_pkt *p,
		    const struct roce_flow *flow)
{
	struct soft_qp *dest = soft_qp_find(r->dev, p->dqpn);
	struct roce_qp *q;
	int ret;

	if (!dest || dest->qp.type != IBV_QPT_UC || !soft_qp_alive(dest)) {
		r->st.rx_unknown_qp++;
		return;
	}
	if (!roce_qp_from_peer(dest, flow)) {
		q = roce_qp_find(r, dest->qp.qp_num);
		ROCE_COUNT(r, q, rx_wrong_peer);
		return;
	}
	q = roce_qp_get(r, dest);
	if (!q) {
		r->st.rx_unknown_qp++;	/* out of memory: as if not there */
		return;
	}
	q->st.rx_packets++;
	if (p->psn != q->epsn && q->in_msg) {
		ROCE_COUNT(r, q, rx_seq_errors);
		roce_resp_abort(q);
	}
	q->epsn = (p->psn + 1) & ROCE_PSN_MASK;
	ret = roce_resp_take(r, q, p);
	if (ret == -EAGAIN) {
		ROCE_COUNT(r, q, rx_no_recv);
		roce_resp_abort(q);
	} else if (ret == -EACCES) {
		ROCE_COUNT(r, q, rx_access_errors);
	} else if (ret == -EIO) {
		/* The receive failed; the responder's QP is in ERR. */
	} else if (ret == -ENOMSG) {
		ROCE_COUNT(r, q, rx_uc_tail);
	} else if (ret < 0) {
		ROCE_COUNT(r, q, rx_malformed);
	}
}
