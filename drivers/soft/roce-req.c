/* SPDX-License-Identifier: MIT */
/*
 * The requester's packets for connected QPs whose peer is on another
 * host: a SEND or WRITE cut into packets of the path MTU (IBTA 9.7.2),
 * FIRST, MIDDLE and LAST, or ONLY, one PSN each; a WRITE's RETH rides on
 * its first packet, an immediate or the IETH of a SEND with invalidate
 * on its last.  UC (roce_req_send()): the
 * message is sent once and completes when it has left, as on a NIC; a
 * packet the socket cannot take is lost, and the responder drops the
 * message.  RC sends through roce-rc.c, which keeps it until ACKed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

/* The opcode of a packet: by operation, with an immediate or not, and
 * position (0 first, 1 middle, 2 last, 3 only). */
static const uint8_t roce_req_ops[2][2][4] = {
	/* SEND */
	{ { ROCE_OP_SEND_FIRST, ROCE_OP_SEND_MIDDLE, ROCE_OP_SEND_LAST, ROCE_OP_SEND_ONLY },
	  { ROCE_OP_SEND_FIRST, ROCE_OP_SEND_MIDDLE, ROCE_OP_SEND_LAST_IMM,
	    ROCE_OP_SEND_ONLY_IMM } },
	/* WRITE */
	{ { ROCE_OP_WRITE_FIRST, ROCE_OP_WRITE_MIDDLE, ROCE_OP_WRITE_LAST, ROCE_OP_WRITE_ONLY },
	  { ROCE_OP_WRITE_FIRST, ROCE_OP_WRITE_MIDDLE, ROCE_OP_WRITE_LAST_IMM,
	    ROCE_OP_WRITE_ONLY_IMM } },
};

struct roce_tx *roce_req_slot(struct soft_qp *qp)
{
	struct roce_dev *r = soft_dev_of(qp)->roce;
	const struct ibv_ah_attr *ah = &qp->qp.attr.ah_attr;
	union ibv_gid sgid;
	struct roce_qp *q;
	struct roce_tx *t;

	if (roce_gid_query(r, ah->grh.sgid_index, &sgid) < 0 ||
	    !memcmp(sgid.raw, (uint8_t[16]){ 0 }, 16) ||
	    roce_wire_gid_is_v4(sgid.raw) != roce_wire_gid_is_v4(ah->grh.dgid.raw)) {
		r->st.tx_dropped++;	/* no way there: lost */
		return NULL;
	}
	t = roce_io_tx_slot(r);
	if (!t)
		return NULL;	/* lost (counted) */
	q = roce_qp_find(r, qp->qp.qp_num);
	if (q)
		q->st.tx_packets++;
	memset(&t->to, 0, sizeof(t->to));
	t->to.sin6_family = AF_INET6;
	t->to.sin6_port = htons(ROCE_UDP_PORT);
	memcpy(&t->to.sin6_addr, ah->grh.dgid.raw, 16);
	memset(&t->from, 0, sizeof(t->from));
	memcpy(&t->from.ipi6_addr, sgid.raw, 16);
	return t;
}

uint32_t roce_req_packet(struct soft_qp *qp, uint8_t tr, uint32_t opcode,
			 uint64_t remote_addr, uint32_t rkey, uint32_t imm, bool solicited,
			 const struct mem_seg *src, uint32_t ns, uint64_t len, uint32_t k,
			 uint32_t psn)
{
	bool write = opcode == IBV_WR_RDMA_WRITE || opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	bool with_imm = opcode == IBV_WR_SEND_WITH_IMM || opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	uint32_t mtu = roce_qp_mtu(qp);
	uint64_t off = (uint64_t)k * mtu;
	uint64_t seg = len - off < mtu ? len - off : mtu;
	bool first = k == 0, last = off + seg == len;
	int pos = first && last ? 3 : first ? 0 : last ? 2 : 1;
	struct roce_pkt p = { 0 };
	struct mem_seg dst, piece[RB_MAX_SGE];
	struct roce_tx *t;
	bool dst_failed = false;
	uint32_t np;
	int hl;

	t = roce_req_slot(qp);
	if (!t)
		return IBV_WC_SUCCESS;	/* lost (counted) */
	p.opcode = (uint8_t)(tr | roce_req_ops[write][with_imm][pos]);
	if (opcode == IBV_WR_SEND_WITH_INV && last) {
		/* The rkey to invalidate rides in an IETH on the last packet. */
		p.opcode = (uint8_t)(tr | (first ? ROCE_OP_SEND_ONLY_INV : ROCE_OP_SEND_LAST_INV));
		p.ieth_rkey = imm;
	}
	p.se = last && solicited;
	p.pkey = ROCE_PKEY_DEFAULT;
	p.dqpn = qp->qp.attr.dest_qp_num & ROCE_QPN_MASK;
	p.psn = psn & ROCE_PSN_MASK;
	/* RC asks for an ACK at each message's end and every 16 packets
	 * within one, so that the window (roce-rc.c) moves on. */
	p.ackreq = tr == ROCE_TR_RC && (last || k % 16 == 15);
	p.pad = (uint8_t)((4 - seg % 4) % 4);
	p.reth.va = remote_addr;
	p.reth.rkey = rkey;
	p.reth.len = (uint32_t)len;
	memcpy(p.imm, &imm, 4);
	hl = roce_wire_build(t->buf, sizeof(t->buf), &p);
	if (hl < 0)
		return IBV_WC_LOC_QP_OP_ERR;
	dst = (struct mem_seg){ .ptr = t->buf + hl, .len = seg };
	np = soft_mem_slice(src, ns, off, seg, piece);
	if (seg && soft_mem_copy(&dst, 1, piece, np, seg, &dst_failed) < 0)
		return IBV_WC_LOC_PROT_ERR;	/* the slot stays free */
	memset(t->buf + hl + seg, 0, p.pad);
	t->len = (uint16_t)(hl + seg + p.pad);
	roce_io_tx_commit(soft_dev_of(qp)->roce, t);
	return IBV_WC_SUCCESS;
}

uint32_t roce_req_send(struct soft_qp *qp, uint32_t opcode, uint64_t remote_addr,
		       uint32_t rkey, uint32_t imm, bool solicited,
		       const struct mem_seg *src, uint32_t ns, uint64_t len)
{
	uint32_t mtu, n;

	roce_qp_get(soft_dev_of(qp)->roce, qp);	/* its path MTU (roce-qp.c) */
	mtu = roce_qp_mtu(qp);
	n = len ? (uint32_t)((len + mtu - 1) / mtu) : 1;
	if (opcode != IBV_WR_SEND && opcode != IBV_WR_SEND_WITH_IMM &&
	    opcode != IBV_WR_RDMA_WRITE && opcode != IBV_WR_RDMA_WRITE_WITH_IMM)
		return IBV_WC_LOC_QP_OP_ERR;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t psn = qp->qp.attr.sq_psn & ROCE_PSN_MASK;
		uint32_t st;

		qp->qp.attr.sq_psn = (psn + 1) & ROCE_PSN_MASK;
		st = roce_req_packet(qp, ROCE_TR_UC, opcode, remote_addr, rkey, imm,
				     solicited, src, ns, len, k, psn);
		if (st != IBV_WC_SUCCESS)
			return st;
	}
	return IBV_WC_SUCCESS;
}
