/* SPDX-License-Identifier: MIT */
/*
 * UD across hosts: a SEND_ONLY (with immediate) per message, a BTH and
 * a DETH (Q_Key, source QPN), as a RoCE NIC sends it.  Both directions
 * drop what they cannot deliver, as UD does: no receive posted, a wrong
 * Q_Key, no such QP, a full socket; each drop is counted (roce.h).
 * The receiver's first 40 bytes are the GRH as RoCEv2 defines it for
 * verbs: an IPv6 header, or for IPv4 20 unused bytes then the IPv4
 * header (with a valid checksum: ibv_init_ah_from_wc() tells the two
 * apart by it).
 */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

uint32_t roce_ud_send(struct soft_qp *qp, const union ibv_gid *dgid, int sgid_index,
		      uint32_t remote_qpn, uint32_t qkey, bool with_imm, uint32_t imm,
		      bool solicited, const struct mem_seg *src, uint32_t ns, uint64_t len)
{
	struct roce_dev *r = soft_dev_of(qp)->roce;
	struct roce_pkt p = { 0 };
	struct roce_tx *t;
	struct mem_seg dst;
	union ibv_gid sgid;
	bool dst_failed = false;
	int hl;

	if (!r || roce_gid_query(r, sgid_index, &sgid) < 0 ||
	    !memcmp(sgid.raw, (uint8_t[16]){ 0 }, 16) ||
	    roce_wire_gid_is_v4(sgid.raw) != roce_wire_gid_is_v4(dgid->raw)) {
		if (r)
			r->st.tx_dropped++;
		return IBV_WC_SUCCESS;	/* nowhere to go: lost, as UD is */
	}
	t = roce_io_tx_slot(r);
	if (!t)
		return IBV_WC_SUCCESS;
	p.opcode = ROCE_TR_UD | (with_imm ? ROCE_OP_SEND_ONLY_IMM : ROCE_OP_SEND_ONLY);
	p.se = solicited;
	p.pkey = ROCE_PKEY_DEFAULT;
	p.dqpn = remote_qpn & ROCE_QPN_MASK;
	/* UD numbers its packets too; the QP's sq_psn moves as on a NIC. */
	p.psn = qp->qp.attr.sq_psn & ROCE_PSN_MASK;
	qp->qp.attr.sq_psn = (p.psn + 1) & ROCE_PSN_MASK;
	p.pad = (uint8_t)((4 - len % 4) % 4);
	p.deth.qkey = qkey;
	p.deth.sqpn = qp->qp.qp_num;
	memcpy(p.imm, &imm, 4);		/* imm_data is kept in network order */
	hl = roce_wire_build(t->buf, sizeof(t->buf), &p);
	if (hl < 0 || (size_t)hl + len + p.pad + ROCE_ICRC_LEN > sizeof(t->buf)) {
		r->st.tx_dropped++;
		return IBV_WC_LOC_LEN_ERR;
	}
	dst.ptr = t->buf + hl;
	dst.mr = NULL;
	dst.addr = 0;
	dst.len = len;
	if (len && soft_mem_copy(&dst, 1, src, ns, len, &dst_failed) < 0)
		return IBV_WC_LOC_PROT_ERR;	/* the slot stays free */
	memset(t->buf + hl + len, 0, p.pad);
	t->len = (uint16_t)(hl + len + p.pad);
	memset(&t->to, 0, sizeof(t->to));
	t->to.sin6_family = AF_INET6;
	t->to.sin6_port = htons(ROCE_UDP_PORT);
	memcpy(&t->to.sin6_addr, dgid->raw, 16);
	memset(&t->from, 0, sizeof(t->from));
	memcpy(&t->from.ipi6_addr, sgid.raw, 16);
	roce_io_tx_commit(r, t);
	return IBV_WC_SUCCESS;
}

static uint16_t roce_ud_csum(const uint8_t *h, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The 40 bytes a UD receive gets first, from the packet's IP flow. */
static void roce_ud_grh(uint8_t grh[SOFT_GRH_LEN], const struct roce_flow *f,
			uint32_t paylen)
{
	uint32_t word;
	uint16_t v;

	memset(grh, 0, SOFT_GRH_LEN);
	if (f->v6) {
		word = htobe32(6u << 28);
		memcpy(grh, &word, 4);
		v = htobe16((uint16_t)(8 + paylen));
		memcpy(grh + 4, &v, 2);
		grh[6] = 17;		/* UDP */
		grh[7] = 64;
		memcpy(grh + 8, f->src, 16);
		memcpy(grh + 24, f->dst, 16);
		return;
	}
	grh[20] = 0x45;
	v = htobe16((uint16_t)(20 + 8 + paylen));
	memcpy(grh + 22, &v, 2);
	grh[26] = 0x40;			/* DF */
	grh[28] = 64;
	grh[29] = 17;
	memcpy(grh + 32, f->src + 12, 4);
	memcpy(grh + 36, f->dst + 12, 4);
	v = htobe16(roce_ud_csum(grh + 20, 20));
	memcpy(grh + 30, &v, 2);
}

void roce_ud_recv(struct roce_dev *r, const struct roce_pkt *p,
		  const struct roce_flow *flow)
{
	struct soft_qp *dest = soft_qp_find(r->dev, p->dqpn);
	struct soft_recv_take t;
	uint8_t grh[SOFT_GRH_LEN];
	struct mem_seg src = { .ptr = (uint8_t *)p->payload, .len = p->paylen };
	bool src_failed;

	if (!dest || dest->qp.type != IBV_QPT_UD || !soft_qp_alive(dest)) {
		r->st.rx_unknown_qp++;
		return;
	}
	if (dest->qp.attr.qkey != p->deth.qkey) {
		r->st.rx_qkey_errors++;
		return;
	}
	if (!soft_resp_peek(dest, &t)) {
		r->st.rx_no_recv++;
		return;
	}
	roce_ud_grh(grh, flow, p->paylen);
	{
		struct soft_delivery dv = {
			.from = NULL, .src_qpn = p->deth.sqpn, .grh = grh,
			.src = &src, .ns = 1, .len = p->paylen,
			.opcode = IBV_WC_RECV, .scatter = true,
			.with_imm = p->hdrs & ROCE_H_IMM,
			.solicited = p->se,
		};

		memcpy(&dv.imm, p->imm, 4);
		soft_resp_deliver(dest, &t, &dv, &src_failed);
	}
}
