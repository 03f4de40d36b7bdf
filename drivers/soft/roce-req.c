/* SPDX-License-Identifier: MIT */
/*
 * The requester of connected QPs whose peer is on another host: a SEND
 * or WRITE cut into packets of the path MTU (IBTA 9.7.2), FIRST, MIDDLE
 * and LAST, or ONLY, one PSN each; a WRITE's RETH rides on its first
 * packet, an immediate on its last.  UC: the message is sent once and
 * completes when it has left, as on a NIC; a packet the socket cannot
 * take is lost, and the responder drops the message.
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

uint32_t roce_req_send(struct soft_qp *qp, uint32_t opcode, uint64_t remote_addr,
		       uint32_t rkey, uint32_t imm, bool solicited,
		       const struct mem_seg *src, uint32_t ns, uint64_t len)
{
	struct roce_dev *r = soft_dev_of(qp)->roce;
	const struct ibv_ah_attr *ah = &qp->qp.attr.ah_attr;
	bool write = opcode == IBV_WR_RDMA_WRITE || opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	bool with_imm = opcode == IBV_WR_SEND_WITH_IMM || opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	uint32_t mtu = 256u << (qp->qp.attr.path_mtu ? qp->qp.attr.path_mtu - 1 : 0);
	union ibv_gid sgid;
	uint64_t off = 0;

	if (opcode != IBV_WR_SEND && opcode != IBV_WR_SEND_WITH_IMM && !write)
		return IBV_WC_LOC_QP_OP_ERR;
	if (mtu > 4096)
		mtu = 4096;
	if (roce_gid_query(r, ah->grh.sgid_index, &sgid) < 0 ||
	    !memcmp(sgid.raw, (uint8_t[16]){ 0 }, 16) ||
	    roce_wire_gid_is_v4(sgid.raw) != roce_wire_gid_is_v4(ah->grh.dgid.raw)) {
		r->st.tx_dropped++;
		return IBV_WC_SUCCESS;	/* UC: no way there, the message is lost */
	}
	do {
		uint64_t seg = len - off < mtu ? len - off : mtu;
		bool first = off == 0, last = off + seg == len;
		int pos = first && last ? 3 : first ? 0 : last ? 2 : 1;
		struct roce_pkt p = { 0 };
		struct mem_seg dst, piece[RB_MAX_SGE];
		struct roce_tx *t = roce_io_tx_slot(r);
		bool dst_failed = false;
		uint32_t np;
		int hl;

		p.opcode = (uint8_t)(ROCE_TR_UC | roce_req_ops[write][with_imm][pos]);
		p.se = last && solicited;
		p.pkey = ROCE_PKEY_DEFAULT;
		p.dqpn = qp->qp.attr.dest_qp_num & ROCE_QPN_MASK;
		p.psn = qp->qp.attr.sq_psn & ROCE_PSN_MASK;
		qp->qp.attr.sq_psn = (p.psn + 1) & ROCE_PSN_MASK;
		p.pad = (uint8_t)((4 - seg % 4) % 4);
		p.reth.va = remote_addr;
		p.reth.rkey = rkey;
		p.reth.len = (uint32_t)len;
		memcpy(p.imm, &imm, 4);
		if (!t)
			continue;	/* lost (counted); the PSN is spent */
		hl = roce_wire_build(t->buf, sizeof(t->buf), &p);
		if (hl < 0)
			return IBV_WC_LOC_QP_OP_ERR;
		dst = (struct mem_seg){ .ptr = t->buf + hl, .len = seg };
		np = soft_mem_slice(src, ns, off, seg, piece);
		if (seg && soft_mem_copy(&dst, 1, piece, np, seg, &dst_failed) < 0)
			return IBV_WC_LOC_PROT_ERR;
		memset(t->buf + hl + seg, 0, p.pad);
		t->len = (uint16_t)(hl + seg + p.pad);
		memset(&t->to, 0, sizeof(t->to));
		t->to.sin6_family = AF_INET6;
		t->to.sin6_port = htons(ROCE_UDP_PORT);
		memcpy(&t->to.sin6_addr, ah->grh.dgid.raw, 16);
		memset(&t->from, 0, sizeof(t->from));
		memcpy(&t->from.ipi6_addr, sgid.raw, 16);
		roce_io_tx_commit(r, t);
	} while ((off += (len - off < mtu ? len - off : mtu)) < len);
	return IBV_WC_SUCCESS;
}
